/**
 * Faults played on the real components (the playground: real kubelets, linkpack from its chart
 * under its own ServiceAccounts): kube-apiserver stopped for 30 s, etcd restarted, the MLTask
 * controller's leader SIGKILLed right after a task arrives, a node and its kubelet lost. After each,
 * what runs keeps running, the components resume on their own (a linkpack process that exits, e.g.
 * a controller that lost its Lease during the outage, is started again as its pod's container
 * would be), and no GPU is in two containers.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_MLTASK } from '../../src/api/annotations.js';
import { controlPlaneSkip, type KObj } from '../../src/playground/control-plane.js';
import { containerGpus, doubleAllocations, readCriRecords } from '../../src/playground/cri-records.js';
import { Playground } from '../../src/playground/playground.js';
import { assignedGpus, gpuPod, podInPhase } from './helpers.js';

let pg: Playground;
let dir: string;
const HEARTBEAT_S = 24;

async function running(name: string, timeoutMs = 90_000): Promise<KObj> {
  return podInPhase(pg, name, ['Running'], timeoutMs);
}

const assigned = (pod: KObj) => assignedGpus(pod).map((g) => g.uuid!).sort();

function noDoubleAllocation(): void {
  const held = [...pg.nodes.keys()].flatMap((n) => containerGpus(n, readCriRecords(pg.nodes.get(n)!.paths.criRecords)));
  expect(doubleAllocations(held)).toEqual([]);
}

const get = async (url: string) => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
};

describe.skipIf(controlPlaneSkip)('faults on the real components', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-pgf-'));
    // Two controller replicas: the chart then runs them with --leader-elect.
    // A 24 s heartbeat timeout (shipped: 120 s) so that staleness shows within a test's time; the
    // agent writes every third of it, as shipped.
    pg = await Playground.up({
      dir,
      nodes: [{ name: 'a', topology: 'hgx-h100' }, { name: 'b', topology: 'dgx1-v100' }],
      helmSet: ['controller.replicas=2', `extender.heartbeatTimeout=${HEARTBEAT_S}`, `node.heartbeatTimeout=${HEARTBEAT_S}s`],
    });
    await pg.cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
  }, 300_000);
  afterAll(async () => {
    await pg?.down();
  }, 60_000);

  it("the MLTask controller's leader SIGKILLed as a task arrives: the other replica takes over within the lease, nothing is created twice, the task succeeds", async () => {
    const lease = async () => (await pg.cp.get('coordination.k8s.io/v1', 'Lease', 'linkpack-controller', 'linkpack-system'))?.spec?.holderIdentity as string | undefined;
    await pg.cp.eventually(async () => !!(await lease()), 'a controller holds the Lease', 60_000);
    const leader = (await lease())!;
    const leaderProcess = leader.endsWith('-0') ? 'controller' : 'controller-1';
    await pg.cp.apply({
      apiVersion: 'linkpack.io/v1alpha1',
      kind: 'MLTask',
      metadata: { name: 'failover', namespace: 'ml' },
      spec: { image: 'trainer:1', command: ['train'], env: [{ name: 'PLAYGROUND_EXIT_CODE', value: '0' }], trainingData: { uri: 's3://d/' }, modelOutput: { uri: 's3://m/' }, parallelism: 2, resources: { gpus: 1, cpu: '10m', memory: '16Mi' } },
    });
    await pg.kill(leaderProcess);
    const killedAt = Date.now();
    await pg.cp.eventually(async () => {
      const holder = await lease();
      return !!holder && holder !== leader;
    }, 'the other replica holds the Lease', 60_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(30_000); // the shipped lease is 15 s; a loaded 2-core machine gets slack
    await pg.cp.eventually(async () => (await pg.cp.get('linkpack.io/v1alpha1', 'MLTask', 'failover', 'ml'))?.status?.phase === 'Succeeded', 'MLTask failover Succeeded', 120_000);
    const jobs = ((await pg.cp.request('GET', `/apis/batch/v1/namespaces/ml/jobs?labelSelector=${encodeURIComponent(`${LABEL_MLTASK}=failover`)}`)).items as KObj[]).map((j) => j.metadata.name);
    expect(jobs).toHaveLength(1);
    const services = ((await pg.cp.request('GET', `/api/v1/namespaces/ml/services?labelSelector=${encodeURIComponent(`${LABEL_MLTASK}=failover`)}`)).items as KObj[]).map((x) => x.metadata.name);
    expect(services).toHaveLength(1);
    const created = readCriRecordsFor('failover');
    expect(created).toBe(2); // two workers, each started once
  }, 300_000);

  it('kube-apiserver stopped for 30 s: running pods keep their GPUs, the node daemons keep serving, everything resumes on its own', async () => {
    await pg.cp.apply(gpuPod('before-outage', 2, { node: 'a' }));
    const before = assigned(await running('before-outage'));
    const stoppedAt = Date.now();
    const outage = pg.cp.outage('kube-apiserver', 30_000);
    // While the API server is away the node side still answers.
    await new Promise((r) => setTimeout(r, 10_000));
    const agentMetrics = pg.state.nodes.find((n) => n.name === 'a')!.agentMetrics;
    expect(await get(agentMetrics)).toBe(200);
    expect(await get(`${pg.extenderUrl}/healthz`)).toBe(200);
    await outage;

    await pg.cp.apply(gpuPod('after-outage', 2, { node: 'a' }));
    const after = assigned(await running('after-outage', 120_000));
    expect(after).toHaveLength(2);
    expect(after.filter((u) => before.includes(u))).toEqual([]);
    expect((await pg.cp.get('v1', 'Pod', 'before-outage', 'ml'))!.status.phase).toBe('Running');
    // The agent wrote again after the outage (its heartbeat is newer than the restart).
    await pg.cp.eventually(async () => Date.parse((await pg.cp.get('linkpack.io/v1alpha1', 'GPUNode', 'a'))?.status?.heartbeatTime ?? '0') > stoppedAt + 30_000, "GPUNode a's heartbeat after the outage", 90_000);
    expect(await get(`${pg.extenderUrl}/readyz`)).toBe(200);
    // The MLTask controller works again (its replicas lost the Lease in the outage and came back).
    await pg.cp.apply({
      apiVersion: 'linkpack.io/v1alpha1',
      kind: 'MLTask',
      metadata: { name: 'after-outage', namespace: 'ml' },
      spec: { image: 'trainer:1', command: ['train'], env: [{ name: 'PLAYGROUND_EXIT_CODE', value: '0' }], trainingData: { uri: 's3://d/' }, modelOutput: { uri: 's3://m/' }, parallelism: 1, resources: { gpus: 1, cpu: '10m', memory: '16Mi' } },
    });
    await pg.cp.eventually(async () => (await pg.cp.get('linkpack.io/v1alpha1', 'MLTask', 'after-outage', 'ml'))?.status?.phase === 'Succeeded', 'an MLTask made after the outage Succeeded', 120_000);
    noDoubleAllocation();
    for (const n of ['before-outage', 'after-outage']) await pg.cp.request('DELETE', `/api/v1/namespaces/ml/pods/${n}`);
  }, 300_000);

  it('etcd restarted: the next pod is bound and runs with its assigned GPUs', async () => {
    await pg.cp.outage('etcd', 3_000, `${pg.cp.etcdUrl}/health`);
    await pg.cp.apply(gpuPod('after-etcd', 4, { node: 'b' }));
    const pod = await running('after-etcd', 120_000);
    expect(assigned(pod)).toHaveLength(4);
    noDoubleAllocation();
    await pg.cp.request('DELETE', '/api/v1/namespaces/ml/pods/after-etcd');
  }, 240_000);

  it('an agent that stops writing: after the heartbeat timeout its node is not offered; when it resumes, it is offered again', async () => {
    const nodeOk = async (name: string) => {
      const ui = (await (await fetch(`${pg.extenderUrl}/ui/state`)).json()) as { nodes: { name: string; ok: boolean; reason?: string }[] };
      return ui.nodes.find((n) => n.name === name);
    };
    expect((await nodeOk('a'))?.ok).toBe(true);
    await pg.kill('agent-a');
    const stoppedAt = Date.now();
    await pg.cp.eventually(async () => (await nodeOk('a'))?.ok === false, 'the extender stops offering node a', (HEARTBEAT_S + 30) * 1000);
    const staleAfterS = (Date.now() - stoppedAt) / 1000;
    expect(staleAfterS).toBeGreaterThan(HEARTBEAT_S / 3); // not before the last heartbeat could have aged out
    expect((await nodeOk('a'))?.reason ?? '').toMatch(/heartbeat/i);
    await pg.cp.apply(gpuPod('waits-for-agent', 2, { node: 'a' }));
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await pg.cp.get('v1', 'Pod', 'waits-for-agent', 'ml'))!.spec.nodeName).toBeUndefined();
    await pg.restart('agent-a');
    await pg.cp.eventually(async () => (await nodeOk('a'))?.ok === true, 'node a offered again once its agent writes', 60_000);
    // kube-scheduler retries a pod the extender refused on a cluster event or after up to 5 min
    // (podMaxInUnschedulablePodsDuration); a GPUNode write is no event it watches. A new pod goes at once.
    await pg.cp.request('DELETE', '/api/v1/namespaces/ml/pods/waits-for-agent');
    await pg.cp.apply(gpuPod('after-agent', 2, { node: 'a' }));
    const pod = await running('after-agent', 90_000);
    expect(assigned(pod)).toHaveLength(2);
    await pg.cp.request('DELETE', '/api/v1/namespaces/ml/pods/after-agent');
  }, 240_000);

  it('the extender killed between the annotation PATCH and the Binding POST, then between the Binding and its cache update: no half-bound pod, no leaked or double-booked GPU', async () => {
    const ui = async () => (await (await fetch(`${pg.extenderUrl}/ui/state`)).json()) as { nodes: { name: string; gpus: { uuid?: string; pods: { pod: string }[] }[] }[] };
    const freeOn = async (node: string) => (await ui()).nodes.find((n) => n.name === node)!.gpus.filter((g) => g.pods.length === 0).length;
    for (const point of ['after-annotate', 'after-binding'] as const) {
      const marker = path.join(dir, `crashed-${point}`);
      await pg.restart('extender', { LINKPACK_CRASH_AT: `${point}:${marker}` });
      await pg.cp.eventually(async () => (await get(`${pg.extenderUrl}/readyz`)) === 200, 'extender ready', 60_000);
      const freeBefore = await freeOn('a');
      const name = `crash-${point}`;
      await pg.cp.apply(gpuPod(name, 2, { node: 'a' }));
      // kube-scheduler's bind call dies with the extender; it retries the pod against the restarted one.
      const pod = await running(name, 150_000);
      expect(existsSync(marker), `the extender crashed ${point}`).toBe(true);
      const gpus = assigned(pod);
      expect(gpus).toHaveLength(2);
      const created = readCriRecords(pg.nodes.get('a')!.paths.criRecords).filter((r) => r.event === 'create' && r.podName === name);
      expect(created.at(-1)!.envs!.NVIDIA_VISIBLE_DEVICES!.split(',').sort()).toEqual(gpus);
      await pg.cp.eventually(async () => (await freeOn('a')) === freeBefore - 2, `exactly 2 GPUs of node a taken after the ${point} crash`, 60_000);
      await pg.cp.request('DELETE', `/api/v1/namespaces/ml/pods/${name}`);
      await pg.cp.eventually(async () => (await freeOn('a')) === freeBefore, `node a's GPUs free again after ${name} went`, 60_000);
    }
    await pg.restart('extender');
    noDoubleAllocation();
  }, 400_000);

  it('a node lost (kubelet, runtime and daemons gone, Node deleted): its GPUNode is collected and the extender stops offering it', async () => {
    for (const p of ['device-plugin-b', 'agent-b', 'kubelet-b', 'fakecri-b']) await pg.kill(p);
    await pg.cp.request('DELETE', '/api/v1/nodes/b');
    await pg.cp.eventually(async () => (await pg.cp.get('linkpack.io/v1alpha1', 'GPUNode', 'b')) === undefined, 'GPUNode b garbage-collected with its Node', 90_000);
    await pg.cp.eventually(async () => {
      const ui = (await (await fetch(`${pg.extenderUrl}/ui/state`)).json()) as { nodes: { name: string }[] };
      return !ui.nodes.some((n) => n.name === 'b');
    }, 'the extender no longer lists node b', 60_000);
    await pg.cp.apply(gpuPod('after-loss', 4, { node: 'b' }));
    await new Promise((r) => setTimeout(r, 5_000));
    const pod = await pg.cp.get('v1', 'Pod', 'after-loss', 'ml');
    expect(pod!.spec.nodeName).toBeUndefined();
    await pg.cp.request('DELETE', '/api/v1/namespaces/ml/pods/after-loss');
  }, 240_000);
});

function readCriRecordsFor(task: string): number {
  return [...pg.nodes.keys()].flatMap((n) => readCriRecords(pg.nodes.get(n)!.paths.criRecords)).filter((r) => r.event === 'create' && r.podName?.startsWith(`${task}-`)).length;
}
