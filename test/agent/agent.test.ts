import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Agent, EMPTY_POD_RESOURCES_CONFIRM_MS } from '../../src/agent/agent.js';
import { AgentMetrics, metricsServer } from '../../src/agent/metrics.js';
import { nvidiaSmiRunner } from '../../src/agent/nvidia-smi.js';
import { parseGpuNode } from '../../src/cluster/gpunode.js';
import { bindUnix, shutdownServer } from '../../src/kubelet/grpc.js';
import { podResourcesClient, podResourcesService } from '../../src/kubelet/pod-resources-client.js';
import { validate, type Schema } from '../support/openapi-check.js';
import { cliPath, hasShared, repoRoot, requireBuilt, sharedFixture } from '../support/paths.js';
import { DRIVER_NOT_LOADED, makeFakeSmi, type FakeSmi } from './fake-smi.js';

const run = promisify(execFile);
const crdSchema = (): Schema => {
  const doc = parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/crds/gpunodes.linkpack.io.yaml'), 'utf8'));
  return (Array.isArray(doc) ? doc[0] : doc).toJS().spec.versions[0].schema.openAPIV3Schema as Schema;
};

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const made: FakeSmi[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  made.splice(0).forEach((f) => f.remove());
  for (const c of cleanups.splice(0)) await c();
});

/** Rows for the agent's own --query-gpu field list, as a driver-535 nvidia-smi prints them (nounits). */
const row = (i: number, o: { ecc?: number } = {}) =>
  `${i}, GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd, NVIDIA A100-SXM4-40GB, 00000000:${(0x07 + i * 0x10).toString(16).toUpperCase()}:00.0, 535.183.06, 40960, 3, 40337, 0, 0, 33, 45, 55.12, 1410, 1215, ${o.ecc ?? 0}, [N/A], Not Active, Not Active, Not Active`;

describe('linkpack agent --once --dry-run (needs npm run build)', () => {
  requireBuilt(path.join(repoRoot, 'dist/src/agent/fake-nvidia-smi.js'));
  it('prints a GPUNode from the built-in fake that the extender parser and the CRD schema accept', async () => {
    const r = await cli(['agent', '--node-name', 'gpu-a', '--fake', 'dgx-a100', '--once', '--dry-run', '--log-level', 'warn', '--pod-resources-socket', '/nonexistent.sock']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout);
    const parsed = parseGpuNode(obj);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.record.topology.gpus).toHaveLength(8);
    expect(parsed.value.record.topology.nvlinkGBpsPerLink).toBe(25);
    expect(parsed.value.record.unhealthy).toEqual({});
    expect(validate(obj, crdSchema())).toEqual([]);
  });

  it.skipIf(!hasShared)('reads a real recorded DGX A100 topo -m through --nvidia-smi (needs ../shared fixtures)', async () => {
    const f = makeFakeSmi([
      { when: 'topo -m', stdoutFile: sharedFixture('topo-dgx-a100-8gpu-nv12-10nic.txt') },
      { when: 'nvlink -s', stderr: 'not in this fake', exit: 3 },
      { when: '--query-remapped-rows=*', stdout: 'Invalid combination of input arguments.\n', exit: 2 },
      { when: '--query-gpu=*', stdout: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => row(i, { ecc: i === 5 ? 1 : 0 })).join('\n') + '\n' },
    ]);
    made.push(f);
    const r = await cli(['agent', '--node-name', 'dgx', '--nvidia-smi', f.path, '--once', '--dry-run', '--log-level', 'warn', '--pod-resources-socket', '/nonexistent.sock']);
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout);
    expect(obj.status.gpus[5]).toMatchObject({ health: 'Unhealthy', reasons: ['uncorrected ECC errors since driver load: 1'] });
    expect(obj.status.links[0][1]).toBe('NV12');
    const parsed = parseGpuNode(obj);
    expect(parsed.ok).toBe(true);
    expect(validate(obj, crdSchema())).toEqual([]);
  });

  it('exits non-zero with the reason when the driver is not loaded (exit 9)', async () => {
    const f = makeFakeSmi([{ when: '*', stdout: DRIVER_NOT_LOADED, exit: 9 }]);
    made.push(f);
    const r = await cli(['agent', '--node-name', 'n', '--nvidia-smi', f.path, '--once', '--dry-run', '--log-level', 'warn', '--pod-resources-socket', '/nonexistent.sock']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^linkpack agent: no topology yet: the GPUNode cannot be written$/m);
    expect(r.stderr).toMatch(/topology not read: nvidia-smi topo -m: NVIDIA driver not loaded \(exit 9\)/);
  });

  it('rejects bad flags with one line and exit 2', async () => {
    const r = await cli(['agent', '--node-name', 'n', '--fake', 'dgx-a100', '--interval', 'often', '--once', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('linkpack agent: --interval "often": expected a positive duration like 10s, 500ms or 5m');
  });
});

describe.skipIf(!hasShared)('agent loop against fake nvidia-smi executables (needs ../shared fixtures)', () => {
  const topo = sharedFixture('topo-2x-h100-pcie-nvlink-bridge-nv12.txt');
  // Read only when present: a skipped describe still runs its body while collecting.
  const nvlinkOk = hasShared ? readFileSync(sharedFixture('nvlink-s-2x-h100-pcie-bridge-inactive-links.txt'), 'utf8') : '';
  const q2 = [row(0), row(1)].join('\n') + '\n';

  it('a hung nvidia-smi is killed at the timeout; the agent keeps serving /metrics and marks the GPUs Unknown with the reason', async () => {
    const f = makeFakeSmi([{ when: 'topo -m', stdoutFile: topo }, { when: 'nvlink -s', stdout: nvlinkOk }, { when: '--query-gpu=*', hang: true }]);
    made.push(f);
    const metrics = new AgentMetrics({ hostname: 'h' });
    const agent = new Agent({ nodeName: 'h', runner: nvidiaSmiRunner({ path: f.path, timeoutMs: 300 }), metrics, flipAfter: 1 });
    const server = metricsServer(metrics, () => ({ ok: true, detail: 'ok' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const cycling = agent.cycle();
    // While nvidia-smi hangs, /metrics answers.
    const during = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(during.status).toBe(200);
    const r = await cycling;
    expect(r.complete).toBe(false);
    const obj = agent.gpuNode()!;
    expect(obj.status!.gpus.map((g) => g.health)).toEqual(['Unknown', 'Unknown']);
    expect(obj.status!.gpus[0].reasons![0]).toMatch(/^not read: nvidia-smi --query-gpu=.*: no answer within 0\.3 s; killed \(SIGKILL\)$/);
    const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
    expect(text).toMatch(/^linkpack_nvidia_smi_calls_total\{command="query-gpu",result="timeout"\} 1$/m);
    expect(text).toMatch(/^linkpack_gpu_health\{gpu="1",device="nvidia1",Hostname="h",state="Unknown"\} 1$/m);
    expect(text).not.toMatch(/^DCGM_FI_DEV_GPU_TEMP/m);
  });

  it('an NVLink lost after start degrades the pair after N readings and recovers after N; the published matrix keeps the baseline', async () => {
    const f = makeFakeSmi([{ when: 'topo -m', stdoutFile: topo }, { when: 'nvlink -s', stdout: nvlinkOk }, { when: '--query-remapped-rows=*', stdout: '', exit: 0 }, { when: '--query-gpu=*', stdout: q2 }]);
    made.push(f);
    const nvlinkFile = path.join(f.dir, 'out-1.txt');
    const agent = new Agent({ nodeName: 'h', runner: nvidiaSmiRunner({ path: f.path }), flipAfter: 2, nvlinkIntervalMs: 1 });
    const degraded = () => agent.gpuNode()!.status!.degradedLinks ?? [];
    await agent.cycle();
    expect(degraded()).toEqual([]);
    writeFileSync(nvlinkFile, nvlinkOk.replace(/(GPU 1:[^]*?Link 0: )26\.562 GB\/s/, '$1<inactive>'));
    await new Promise((r) => setTimeout(r, 5));
    await agent.cycle();
    expect(degraded()).toEqual([]); // one reading is not enough
    await new Promise((r) => setTimeout(r, 5));
    await agent.cycle();
    expect(degraded()).toEqual([{ gpus: [0, 1], reasons: ['GPU 1 NVLink 0 inactive (active at baseline)', 'GPU 1 has 11 active NVLinks but topo -m shows NV12'] }]);
    const obj = agent.gpuNode()!;
    expect(obj.status!.links[0][1]).toBe('NV12');
    const parsed = parseGpuNode(JSON.parse(JSON.stringify(obj)));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.record.topology.links[0][1]).toBe('SYS');
    writeFileSync(nvlinkFile, nvlinkOk);
    for (let k = 0; k < 2; k++) {
      await new Promise((r) => setTimeout(r, 5));
      await agent.cycle();
    }
    expect(degraded()).toEqual([]);
  });

  it('drops a field an older driver does not know, keeps reading, and asks without it from then on', async () => {
    const f = makeFakeSmi([
      { when: 'topo -m', stdoutFile: topo },
      { when: 'nvlink -s', stdout: nvlinkOk },
      { when: '--query-remapped-rows=*', stdout: '', exit: 0 },
      { when: '--query-gpu=*temperature.memory*', stdout: 'Field "temperature.memory" is not a valid field to query.\n', exit: 2 },
      { when: '--query-gpu=*', stdout: [row(0), row(1)].map((l) => l.replace(/, 33, 45, /, ', 33, ')).join('\n') + '\n' },
    ]);
    made.push(f);
    const agent = new Agent({ nodeName: 'h', runner: nvidiaSmiRunner({ path: f.path }) });
    expect((await agent.cycle()).complete).toBe(true);
    expect(agent.readings[0]).toMatchObject({ temperatureC: 33, powerW: 55.12 });
    expect(agent.readings[0].memoryTemperatureC).toBeUndefined();
    await agent.cycle();
    expect(f.calls().filter((c) => c.startsWith('--query-gpu')).length).toBe(3); // fail + retry, then one call
  });

  const TRAIN_0 = { name: 'train-0', namespace: 'ml', containers: [{ name: 'main', devices: [{ resource_name: 'nvidia.com/gpu', device_ids: ['GPU-00000001-aaaa-bbbb-cccc-dddddddddddd'] }] }] };

  /** A kubelet PodResources stand-in on a real unix socket answering List with `answer()`. */
  async function podResourcesStandIn(answer: () => object[]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-agent-podres-'));
    const socket = path.join(dir, 'kubelet.sock');
    const server = new grpc.Server();
    server.addService(podResourcesService().service, {
      List: (_c: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { pod_resources: answer() }),
      GetAllocatableResources: () => {},
      Get: () => {},
    });
    await bindUnix(server, socket);
    const client = podResourcesClient(socket);
    cleanups.push(async () => (client.close(), await shutdownServer(server), rmSync(dir, { recursive: true, force: true })));
    return client;
  }

  /** The fake nvidia-smi of the two-GPU fixture, healthy. */
  function standardSmi() {
    const f = makeFakeSmi([{ when: 'topo -m', stdoutFile: topo }, { when: 'nvlink -s', stdout: nvlinkOk }, { when: '--query-remapped-rows=*', stdout: '' }, { when: '--query-gpu=*', stdout: q2 }]);
    made.push(f);
    return f;
  }

  it('publishes which pod holds which GPU (kubelet PodResources stand-in over a real unix socket)', async () => {
    const client = await podResourcesStandIn(() => [TRAIN_0]);
    const metrics = new AgentMetrics({ hostname: 'h' });
    const agent = new Agent({ nodeName: 'h', runner: nvidiaSmiRunner({ path: standardSmi().path }), podResources: client, metrics });
    await agent.cycle();
    expect(agent.gpuNode()!.status!.assignments).toEqual([{ pod: 'ml/train-0', gpus: [1], containers: [{ name: 'main', gpus: [1] }] }]);
    expect(await metrics.registry.metrics()).toMatch(/^DCGM_FI_DEV_GPU_UTIL\{gpu="1",[^}]*container="main",namespace="ml",pod="train-0"\} 0$/m);
  });

  it("keeps the kubelet's assignments through the empty PodResources answer of a restarting kubelet, and lets them go when it holds", async () => {
    const answers: object[][] = [[TRAIN_0], [], [], []];
    let call = 0;
    const client = await podResourcesStandIn(() => answers[Math.min(call++, answers.length - 1)]!);
    const f = standardSmi();
    let nowMs = 1_000_000;
    const agent = new Agent({ nodeName: 'h', runner: nvidiaSmiRunner({ path: f.path }), podResources: client, now: () => nowMs });
    await agent.cycle();
    expect(agent.assignments.map((a) => a.pod)).toEqual(['ml/train-0']);
    nowMs += 500; // the kubelet restarted: an empty answer
    const held = await agent.cycle();
    expect(agent.assignments.map((a) => a.pod)).toEqual(['ml/train-0']);
    expect(held.problems.join('\n')).toContain('keeping them until a later answer confirms it');
    nowMs += EMPTY_POD_RESOURCES_CONFIRM_MS; // still empty later: the pod really left
    await agent.cycle();
    expect(agent.assignments).toEqual([]);
  });
});
