/**
 * deploy/dashboards/linkpack.json against a real Prometheus (Debian's package) scraping a live
 * agent (`linkpack agent --fake hgx-h100 --dry-run`: the fake nvidia-smi, one GPU fallen off the
 * bus, one NVLink down, a kubelet PodResources stand-in on a real unix socket giving pod labels)
 * and a live standalone extender that has made a decision: every PromQL expression parses and
 * returns series.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { fakeUuid } from '../../src/agent/fake-nvidia-smi.js';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';
import { bindUnix, shutdownServer } from '../../src/kubelet/grpc.js';
import { podResourcesService } from '../../src/kubelet/pod-resources-client.js';
import { freePort, prometheusSkip, startPrometheus, type Prom } from '../agent/prometheus.js';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';

interface Panel {
  title: string;
  type: string;
  datasource?: { uid: string };
  targets?: { expr: string; refId: string }[];
}
const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'deploy/dashboards/linkpack.json'), 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
/** Grafana's variables, as Grafana would expand them for "All" and a 1 s scrape. */
const expand = (e: string) => e.replaceAll('$node', '.*').replaceAll('$__rate_interval', '1m');

describe('dashboard JSON', () => {
  it('covers what an operator asks for, on the DCGM names and the linkpack series', () => {
    const all = targets.map((t) => t.expr).join('\n');
    for (const name of ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED', 'linkpack_gpu_health', 'linkpack_nvlink_degraded_pairs', 'linkpack_cluster_free_nvlink_set_nodes', 'linkpack_extender_request_duration_seconds_bucket', 'linkpack_extender_binds_total', 'linkpack_cluster_fragmentation_ratio', 'linkpack_node_free_gpus', 'linkpack_node_largest_free_nvlink_set']) {
      expect(all, name).toContain(name);
    }
    expect(all).toMatch(/by \(namespace, pod\)/);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) expect(p.datasource?.uid, p.title).toBe('${datasource}');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'node']);
  });
});

describe.skipIf(prometheusSkip !== undefined)('every dashboard query against a real Prometheus', () => {
  requireBuilt();
  let prom: Prom;
  let agent: ChildProcess;
  let ext: RunningExtender;
  let kubelet: grpc.Server;
  let agentLog = '';

  beforeAll(async () => {
    // The kubelet's PodResources: ml/train-0 holds GPUs 0 and 1 of the fake H100 box.
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-dash-'));
    const socket = path.join(dir, 'kubelet.sock');
    kubelet = new grpc.Server();
    const unimplemented = (_c: unknown, cb: grpc.sendUnaryData<object>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'stand-in' });
    kubelet.addService(podResourcesService().service, {
      List: (_c: unknown, cb: grpc.sendUnaryData<object>) =>
        cb(null, { pod_resources: [{ name: 'train-0', namespace: 'ml', containers: [{ name: 'main', devices: [{ resource_name: 'nvidia.com/gpu', device_ids: [fakeUuid('hgx-h100', 0), fakeUuid('hgx-h100', 1)] }] }] }] }),
      GetAllocatableResources: unimplemented,
      Get: unimplemented,
    });
    await bindUnix(kubelet, socket);

    const agentPort = await freePort();
    agent = spawn(
      process.execPath,
      [cliPath, 'agent', '--fake', 'hgx-h100', '--dry-run', '--node-name', 'gpu-h100-a', '--host', '127.0.0.1', '--port', String(agentPort), '--interval', '1s', '--nvlink-interval', '1s', '--topology-interval', '1s', '--flip-after', '1', '--pod-resources-socket', socket],
      { env: { ...process.env, FAKE_NVIDIA_SMI_LOST_GPU: '7', FAKE_NVIDIA_SMI_DOWN_LINKS: '2:0,2:1' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    agent.stderr!.on('data', (c) => (agentLog = (agentLog + String(c)).slice(-4000)));

    ext = await runExtender({ clusterFile: path.join(repoRoot, 'deploy/examples/cluster.yaml'), port: '0', host: '127.0.0.1', heartbeatTimeout: '120', bodyLimitMib: '8', logLevel: 'silent' }, pino({ level: 'silent' }));
    const post = (verb: string, file: string) => fetch(`${ext.address}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(path.join(repoRoot, 'deploy/examples', file)) });
    await post('filter', 'filter-request.json');
    await post('prioritize', 'filter-request.json');
    await post('bind', 'bind-request.json');
    // And one error returned to kube-scheduler: a bind for a pod nobody knows.
    await fetch(`${ext.address}/bind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ PodName: 'ghost', PodNamespace: 'ml', PodUID: 'u', Node: 'gpu-h100-a' }) });

    prom = await startPrometheus([`127.0.0.1:${agentPort}`, ext.address.replace('http://', '')]);
  }, 90_000);

  afterAll(async () => {
    agent?.kill('SIGTERM');
    await prom?.stop();
    await ext?.close();
    if (kubelet) await shutdownServer(kubelet);
  });

  it('each expression parses and returns at least one series', async () => {
    const empty = new Map(targets.map((t) => [t.expr, t.panel]));
    const errors: string[] = [];
    const deadline = Date.now() + 60_000;
    while (empty.size > 0 && Date.now() < deadline) {
      for (const [expr, panel] of [...empty]) {
        try {
          if ((await prom.query(expand(expr))).length > 0) empty.delete(expr);
        } catch (e) {
          errors.push(`${panel}: ${(e as Error).message}`);
          empty.delete(expr);
        }
      }
      if (empty.size > 0) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(errors).toEqual([]);
    expect([...empty].map(([e, p]) => `${p}: ${e}`), `agent log: ${agentLog}`).toEqual([]);
  }, 90_000);

  it('the values say what happened: a pod on GPUs 0-1, one unhealthy GPU, a bind that succeeded', async () => {
    const pods = await prom.query(expand('avg by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL{Hostname=~"$node", pod!=""})'));
    expect(pods.map((s) => `${s.metric.namespace}/${s.metric.pod}`)).toEqual(['ml/train-0']);
    const unhealthy = await prom.query('sum(linkpack_gpu_health{state="Unhealthy"})');
    expect(Number(unhealthy[0]!.value[1])).toBe(1);
    const binds = await prom.query('sum by (result) (linkpack_extender_binds_total)');
    expect(binds.find((s) => s.metric.result === 'bound')?.value[1]).toBe('1');
  });
});

describe('cluster gauges of the extender', () => {
  it('count GPUs by state and nodes that can still give a free NVLink set of 2, 4, 8', async () => {
    const { MemoryCluster } = await import('../extender/memory-cluster.js');
    const { clusterSnapshot } = await import('../../src/extender/cluster-metrics.js');
    const { getPreset } = await import('../../src/topology/index.js');
    const cluster = new MemoryCluster();
    cluster.addNode('h100', getPreset('hgx-h100')!, { unhealthy: { 7: 'XID 79' } });
    cluster.addNode('pcie', getPreset('pcie-4x')!);
    cluster.hold({ uid: 'u', namespace: 'ml', name: 'a', node: 'h100', gpus: [0, 1, 2].map((index) => ({ index })), milliPerGpu: 1000 });
    const s = clusterSnapshot({ cluster, now: () => 0, profile: () => undefined });
    expect(s.gpus).toEqual({ free: 4 + 4, partial: 0, used: 3, unhealthy: 1 });
    // h100 has 4 free healthy NVSwitch GPUs (3..6): sets of 2 and 4, not 8; the PCIe box none.
    expect(s.nvlinkSetNodes).toEqual({ 2: 1, 4: 1, 8: 0 });
    expect(s.fragmentationMilli).toBeUndefined();
  });
});
