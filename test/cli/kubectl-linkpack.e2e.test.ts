/**
 * `kubectl linkpack` on the real control plane, as a user who has only the built-in `view` role:
 * the shipped ClusterRole linkpack-viewer (aggregated to view by kube-controller-manager) lets the
 * built executable reach the extender through the API server's service proxy. The extender and
 * kube-scheduler run with the shipped flags (test/support/scheduling.ts) on KWOK GPU nodes.
 *
 * The Service has no selector (the extender runs in this process): an Endpoints object points at
 * it. kube-apiserver proxies only to an endpoint address that its target pod has, never to loopback
 * or link-local: the extender listens on every address, and a stand-in pod that is never scheduled
 * carries this machine's first non-loopback IPv4 address.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ANN_GPU_MODEL, ANN_TOPOLOGY } from '../../src/api/annotations.js';
import { writeServiceAccountKubeconfig } from '../../src/playground/service-account.js';
import { controlPlaneSkip, kubeBinary, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';
import { repoRoot, requireBuilt } from '../support/paths.js';
import { startSchedulingStack, waitForReadyNodes, type SchedulingStack } from '../support/scheduling.js';
import { kustomizeBuild } from '../ux/install-tools.js';

const NS = 'ml';
const LP_NS = 'linkpack-system';
const BIN = path.join(repoRoot, 'dist/src/cli/kubectl-linkpack.js');

/** This machine's first non-loopback IPv4 address (one the API server will proxy to). */
function machineAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address: the API server proxies to no loopback endpoint');
}

let cp: ControlPlane;
let stack: SchedulingStack | undefined;
let dir: string;
let kubeconfig: string;

/** The built executable; `viaKubectl`: as the real kubectl runs it, a plugin found on the PATH. */
function run(args: string[], viaKubectl = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const [file, argv] = viaKubectl ? [kubeBinary('kubectl'), ['linkpack', ...args]] : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    execFile(file, argv, { env: { ...process.env, KUBECONFIG: kubeconfig, PATH: `${dir}${path.delimiter}${process.env.PATH}` }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function gpuPod(name: string, gpus: number, annotations: Record<string, string>): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, annotations },
    spec: {
      schedulerName: 'linkpack-scheduler',
      containers: [{ name: 'main', image: 'train:1', resources: { limits: { 'nvidia.com/gpu': String(gpus) }, requests: { cpu: '100m' } } }],
    },
  };
}

describe.skipIf(controlPlaneSkip !== undefined)('kubectl linkpack through the API server', () => {
  beforeAll(async () => {
    requireBuilt(BIN);
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-kubectl-'));
    // The controller manager aggregates linkpack-viewer into view (and lifts the nodes' not-ready taint).
    cp = await startControlPlane({ crds: true, kwok: true, controllerManager: true });
    await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: LP_NS } });
    // The viewer role exactly as kustomize ships it.
    await cp.apply(kustomizeBuild('deploy/rbac').filter((o) => o.kind === 'ClusterRole' && o.metadata.name === 'linkpack-viewer'));
    await cp.createGpuNode('dgx1', 'dgx1-v100');
    await cp.createGpuNode('pairs', 'pcie-8x-nvlink-pairs');
    await waitForReadyNodes(cp, 2, { untainted: true });
    const host = machineAddress();
    stack = await startSchedulingStack(cp, { host: '0.0.0.0' });
    // The shipped Service's name and port (deploy/scheduler/service.yaml), without its selector: the extender is this process.
    const shipped = parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/scheduler/service.yaml'), 'utf8')).map((d) => d.toJS() as KObj).find((o) => o?.kind === 'Service')!;
    const port = shipped.spec.ports[0];
    await cp.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: shipped.metadata.name, namespace: LP_NS }, spec: { ports: [{ name: port.name, port: port.port, targetPort: stack.extenderPort }] } });
    // The service proxy goes only to an address of a pod that has it: a stand-in for the extender's
    // pod, never scheduled (no such scheduler), with this machine's address as its IP.
    const [standIn] = await cp.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'linkpack-scheduler-0', namespace: LP_NS },
      spec: { schedulerName: 'kubectl-linkpack-e2e-nobody', containers: [{ name: 'extender', image: 'linkpack' }] },
    });
    await cp.writeStatus(standIn!, { phase: 'Running', podIP: host, podIPs: [{ ip: host }] });
    const targetRef = { kind: 'Pod', name: 'linkpack-scheduler-0', namespace: LP_NS };
    await cp.apply({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: shipped.metadata.name, namespace: LP_NS },
      subsets: [{ addresses: [{ ip: host, targetRef }], ports: [{ name: port.name, port: stack.extenderPort }] }],
    });
    // A user with `view` over the cluster and nothing else.
    await cp.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'alice', namespace: NS } });
    await cp.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'alice-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace: NS }],
    });
    await cp.eventually(async () => ((await cp.get('rbac.authorization.k8s.io/v1', 'ClusterRole', 'view'))?.rules ?? []).some((r: KObj) => (r.resources ?? []).includes('services/proxy')), 'linkpack-viewer aggregated into view');
    kubeconfig = await writeServiceAccountKubeconfig(cp, path.join(dir, 'alice.kubeconfig'), NS, 'alice');
    // What `npm link` puts on the PATH (an executable named kubectl-linkpack), here a wrapper around the build.
    writeFileSync(path.join(dir, 'kubectl-linkpack'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  }, 240_000);

  afterAll(async () => {
    await stack?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('explain names the node and the GPUs of a bound pod; nodes totals each GPU model', async () => {
    // 4 NVLink-connected V100s: only the DGX-1 has them.
    await cp.apply(gpuPod('trainer', 4, { [ANN_TOPOLOGY]: 'require-nvlink', [ANN_GPU_MODEL]: 'V100' }));
    await cp.eventually(async () => !!(await cp.get('v1', 'Pod', 'trainer', NS))?.spec?.nodeName, 'trainer bound').catch(async (e: Error) => {
      const events = (await cp.list('v1', 'Event', NS)).map((x) => `${x.reason}: ${x.message}`);
      throw new Error(`${e.message}; events: ${events.join(' | ')}; scheduler log:\n${cp.log('kube-scheduler').split('\n').slice(-10).join('\n')}`);
    });
    const explain = await run(['explain', `${NS}/trainer`]);
    if (explain.code !== 0) {
      const slices = await cp.list('discovery.k8s.io/v1', 'EndpointSlice', LP_NS);
      const eps = await cp.list('v1', 'Endpoints', LP_NS);
      const svcs = await cp.list('v1', 'Service', LP_NS);
      throw new Error(`${explain.stderr}; endpoint slices: ${JSON.stringify(slices.map((x) => ({ n: x.metadata.name, l: x.metadata.labels, e: x.endpoints, p: x.ports })))}; endpoints ${JSON.stringify(eps.map((x) => x.subsets))}; services ${JSON.stringify(svcs.map((x) => x.spec))}`);
    }
    expect(explain.stderr).toBe('');
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/^ml\/trainer is bound to node dgx1 on GPUs \d+,\d+,\d+,\d+/);
    // `-n ns pod` is the same question; `kubectl linkpack` finds the plugin on the PATH.
    expect((await run(['explain', '-n', NS, 'trainer'])).stdout).toBe(explain.stdout);
    expect((await run(['explain', '-n', NS, 'trainer'], true)).stdout).toBe(explain.stdout);

    const nodes = await run(['nodes']);
    expect(nodes.code).toBe(0);
    const lines = nodes.stdout.split('\n');
    expect(lines[0]).toMatch(/^NODE\s+MODEL\s+GPUS\s+FREE\s+IN USE\s+UNHEALTHY\s+LARGEST FREE NVLINK SET\s+STATUS$/);
    expect(lines.find((l) => l.startsWith('dgx1 '))).toMatch(/^dgx1\s+Tesla V100\S*\s+8\s+4\s+4\s+0\s+[1-4]\s+ok$/);
    expect(lines.find((l) => l.startsWith('pairs '))).toMatch(/^pairs\s+NVIDIA H100 PCIe\s+8\s+8\s+0\s+0\s+2\s+ok$/);
    // Per model: nodes, GPUs, free, in use, unhealthy, unavailable, largest set, nodes with a free set of 2/4/8.
    expect(lines.find((l) => l.startsWith('NVIDIA H100 PCIe '))).toMatch(/^NVIDIA H100 PCIe\s+1\s+8\s+8\s+0\s+0\s+0\s+2\s+1\/0\/0$/);
    expect(lines.find((l) => l.startsWith('Tesla V100'))).toMatch(/^Tesla V100\S*\s+1\s+8\s+4\s+4\s+0\s+0\s+[1-4]\s+[01]\/[01]\/0$/);
    expect(lines.find((l) => l.startsWith('all models '))).toMatch(/^all models\s+2\s+16\s+12\s+4\s+0\s+0\s+[2-4]\s+\d\/\d\/0$/);
    expect(lines).toContainEqual(expect.stringMatching(/^Fragmentation: /));
  });

  it("why-pending gives the extender's reason for a pod nothing can hold; explain says the same", async () => {
    // 8 NVLink-connected GPUs: the DGX-1 has 4 free, the other node only NVLink pairs.
    await cp.apply(gpuPod('big', 8, { [ANN_TOPOLOGY]: 'require-nvlink' }));
    let out = { code: -1, stdout: '', stderr: '' };
    await cp.eventually(async () => {
      out = await run(['why-pending', '-n', NS]);
      return /ml\/big/.test(out.stdout) && /fits on none/.test(out.stdout);
    }, 'why-pending lists ml/big with a reason', 60_000).catch((e: Error) => {
      throw new Error(`${e.message}; last output: ${JSON.stringify(out)}`);
    });
    expect(out.code).toBe(0);
    const [header, row, ...rest] = out.stdout.trim().split('\n');
    expect(header).toMatch(/^POD\s+AGE\s+REASON$/);
    expect(rest).toEqual([]);
    // kube-scheduler itself leaves out the DGX-1 (4 nvidia.com/gpu left): the extender saw the other node.
    expect(row).toMatch(/^ml\/big\s+\d+[smhd]\s+ml\/big fits on none of \d+ nodes? — pairs: no NVLink-connected set of 8 on this node \(largest NVLink-connected set 2\)/);
    const explain = await run(['explain', 'ml/big']);
    expect(explain.stdout.split('\n')[0]).toBe(row!.replace(/^ml\/big\s+\d+[smhd]\s+/, ''));
    // All namespaces: the same pod.
    expect((await run(['why-pending', '-A'])).stdout).toMatch(/^ml\/big /m);
  });

  it('a user without the viewer role is told which role to ask for; an unknown Service is named', async () => {
    await cp.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bob', namespace: NS } });
    const bob = await writeServiceAccountKubeconfig(cp, path.join(dir, 'bob.kubeconfig'), NS, 'bob');
    const denied = await run(['nodes', '--kubeconfig', bob]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^kubectl linkpack nodes: not allowed to reach the extender \(.*forbidden.*\); ask for ClusterRole linkpack-viewer/);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    const other = await run(['nodes', '--service', 'http:nope:8888']);
    expect(other.code).toBe(1);
    // The viewer role names only linkpack's Service: another one is forbidden too.
    expect(other.stderr).toMatch(/^kubectl linkpack nodes: not allowed to reach the extender/);
  });
});
