/**
 * The extender end to end with the real kube-scheduler, started with the KubeSchedulerConfiguration
 * shipped in deploy/scheduler/scheduler-config.yaml (only addresses rewritten), on the real
 * kube-apiserver with KWOK running fake GPU nodes whose GPUNodes carry real topologies.
 * kube-scheduler decides how our filter/prioritize/bind/preempt answers combine with its plugins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANN_ASSIGNED_GPUS, ANN_TOPOLOGY, parseAssignedGpus } from '../../src/api/annotations.js';
import { EVENT_REASON_PLACED } from '../../src/cluster/k8s-binder.js';
import { getPreset } from '../../src/topology/index.js';
import { isNvlink } from '../../src/topology/link.js';
import type { LinkLegend } from '../../src/topology/types.js';
import { startSchedulingStack, waitForReadyNodes, type SchedulingStack } from '../support/scheduling.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';

const NS = 'ml';
let cp: ControlPlane;
let stack: SchedulingStack | undefined;

function pod(name: string, gpus: number, o: { annotations?: Record<string, string>; priorityClassName?: string; labels?: Record<string, string> } = {}): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, annotations: o.annotations ?? {}, labels: o.labels ?? {} },
    spec: {
      schedulerName: 'linkpack-scheduler',
      ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
      containers: [{ name: 'main', image: 'train:1', resources: { limits: { 'nvidia.com/gpu': String(gpus) }, requests: { cpu: '100m' } } }],
    },
  };
}

function assignedOf(p: KObj): number[] {
  const text = p.metadata.annotations?.[ANN_ASSIGNED_GPUS];
  if (!text) return [];
  const parsed = parseAssignedGpus(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value.map((g) => g.index);
}

async function pods(selector?: string): Promise<KObj[]> {
  const list = await cp.request('GET', `/api/v1/namespaces/${NS}/pods${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`);
  return list.items as KObj[];
}

async function boundPod(name: string, timeoutMs = 60_000): Promise<KObj> {
  let got: KObj | undefined;
  await cp.eventually(async () => {
    got = await cp.get('v1', 'Pod', name, NS);
    return Boolean(got?.spec?.nodeName);
  }, `pod ${name} bound`, timeoutMs);
  return got!;
}

/** require-nvlink's meaning (docs/objective.md): the NVLink graph restricted to the set is connected. */
function expectNvlinkConnected(node: string, gpus: number[]): void {
  const topo = getPreset(node === 'dgx1' ? 'dgx1-v100' : 'hgx-h100')!;
  const reached = new Set([gpus[0]!]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const a of [...reached]) for (const b of gpus) if (!reached.has(b) && isNvlink(topo.links[a]![b] as LinkLegend)) grew = reached.add(b) !== undefined;
  }
  expect([...reached].sort(), `GPUs ${gpus.join(',')} on ${node} are not NVLink-connected`).toEqual([...gpus].sort());
}

/** No GPU of any node is held by two live pods. */
function assertNoSharedGpu(all: KObj[]): void {
  const seen = new Map<string, string>();
  for (const p of all) {
    if (!p.spec.nodeName || p.metadata.deletionTimestamp) continue;
    for (const g of assignedOf(p)) {
      const key = `${p.spec.nodeName}/${g}`;
      expect(seen.get(key), `GPU ${key} given to ${seen.get(key)} and ${p.metadata.name}`).toBeUndefined();
      seen.set(key, p.metadata.name);
    }
  }
}

beforeAll(async () => {
  if (controlPlaneSkip) return;
  // The controller manager's node-lifecycle controller lifts the not-ready taint admission puts on new nodes.
  cp = await startControlPlane({ crds: true, kwok: true, controllerManager: true });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cp.createGpuNode('dgx1', 'dgx1-v100');
  await cp.createGpuNode('h100', 'hgx-h100');
  await cp.createGpuNode('pcie', 'pcie-8x-2socket');
  await waitForReadyNodes(cp, 3, { untainted: true });
  stack = await startSchedulingStack(cp);
});

afterAll(async () => {
  await stack?.close();
  await cp?.stop();
});

async function deleteAll(): Promise<void> {
  await cp.request('DELETE', `/api/v1/namespaces/${NS}/pods?gracePeriodSeconds=0`);
  await cp.eventually(async () => (await pods()).length === 0, 'pods deleted');
}

describe.skipIf(controlPlaneSkip)('kube-scheduler + linkpack extender on the real control plane', () => {
  it('a 4-GPU require-nvlink pod lands on an NVLink node with its exact GPUs annotated', async () => {
    await cp.apply(pod('nv4', 4, { annotations: { [ANN_TOPOLOGY]: 'require-nvlink' } }));
    const p = await boundPod('nv4');
    expect(['dgx1', 'h100']).toContain(p.spec.nodeName);
    const gpus = assignedOf(p);
    expect(gpus).toHaveLength(4);
    expectNvlinkConnected(p.spec.nodeName, gpus);
    // The real server accepted our Event (a refused one would only be logged by the binder).
    const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=nv4`)).items as KObj[];
    const placed = events.find((e) => e.reason === EVENT_REASON_PLACED);
    expect(placed?.message).toContain(p.spec.nodeName);
    // KWOK runs it: the pod the scheduler bound reaches Running.
    await cp.eventually(async () => (await cp.get('v1', 'Pod', 'nv4', NS))?.status?.phase === 'Running', 'nv4 Running');
    await deleteAll();
  });

  it('an invalid annotation: FailedScheduling Event carrying our reason', async () => {
    await cp.apply(pod('bad', 1, { annotations: { [ANN_TOPOLOGY]: 'maybe-nvlink' } }));
    let ev: KObj | undefined;
    await cp.eventually(async () => {
      const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=bad`)).items as KObj[];
      ev = events.find((e) => e.reason === 'FailedScheduling');
      return Boolean(ev);
    }, 'FailedScheduling event for pod bad');
    expect(ev!.message).toContain(ANN_TOPOLOGY);
    expect(ev!.message).toContain('maybe-nvlink');
    expect((await cp.get('v1', 'Pod', 'bad', NS))?.spec.nodeName).toBeUndefined();
    await deleteAll();
  });

  it('30 pods racing for 24 GPUs never share one; the extender restarted mid-stream loses nothing', async () => {
    const sizes = Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? 2 : 1));
    const total = sizes.reduce((a, b) => a + b, 0); // 36 GPUs asked for, 24 exist
    await Promise.all(sizes.map((g, i) => cp.apply(pod(`race-${i}`, g, { labels: { race: 'yes' } }))));
    // Restart the extender while the scheduler is still binding.
    await cp.eventually(async () => (await pods('race=yes')).filter((p) => p.spec.nodeName).length >= 5, 'first binds');
    await stack!.restartExtender();
    await cp.eventually(async () => {
      const all = await pods('race=yes');
      const held = all.filter((p) => p.spec.nodeName).reduce((n, p) => n + assignedOf(p).length, 0);
      return held >= 23; // every GPU but at most one (the 2-GPU pods may leave one idle)
    }, 'cluster filled', 90_000);
    const all = await pods('race=yes');
    assertNoSharedGpu(all);
    for (const p of all.filter((x) => x.spec.nodeName)) {
      // What the extender bound is what the annotation says: size matches the request.
      expect(assignedOf(p)).toHaveLength(Number(p.spec.containers[0].resources.limits['nvidia.com/gpu']));
    }
    expect(all.filter((p) => !p.spec.nodeName).length).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(24);
    await deleteAll();
  });

  it('preemption through the real scheduler evicts the victims we chose and the preemptor lands on an NVLink set', async () => {
    await cp.apply([
      { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'low' }, value: 10 },
      { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 },
    ]);
    // Fill every GPU with 1-GPU low-priority pods.
    await Promise.all(Array.from({ length: 24 }, (_, i) => cp.apply(pod(`low-${i}`, 1, { priorityClassName: 'low', labels: { tier: 'low' } }))));
    await cp.eventually(async () => (await pods('tier=low')).filter((p) => p.spec.nodeName).length === 24, '24 low pods bound', 90_000);
    const before = new Map((await pods('tier=low')).map((p) => [p.metadata.name as string, { node: p.spec.nodeName as string, gpus: assignedOf(p) }]));

    await cp.apply(pod('vip', 4, { priorityClassName: 'high', annotations: { [ANN_TOPOLOGY]: 'require-nvlink' } }));
    const vip = await boundPod('vip', 90_000);
    expect(['dgx1', 'h100']).toContain(vip.spec.nodeName);
    const vipGpus = assignedOf(vip);
    expect(vipGpus).toHaveLength(4);
    expectNvlinkConnected(vip.spec.nodeName, vipGpus);

    const after = new Set((await pods('tier=low')).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name as string));
    const evicted = [...before.entries()].filter(([name]) => !after.has(name));
    // Victims are exactly the pods that held the preemptor's GPUs: nobody else was evicted.
    expect(evicted.length).toBeGreaterThanOrEqual(1);
    for (const [, v] of evicted) {
      expect(v.node).toBe(vip.spec.nodeName);
      for (const g of v.gpus) expect(vipGpus).toContain(g);
    }
    assertNoSharedGpu([...(await pods('tier=low')), vip]);
    await deleteAll();
  });
});
