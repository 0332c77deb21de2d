/**
 * GPU shares as deployed, on the real kube-scheduler with the shipped configuration and KWOK
 * nodes: kube-scheduler counts nvidia.com/gpu devices, so with one device per GPU a 500-milli
 * share still takes a whole device and a 4-GPU node holds 4 of them; with the device plugin's
 * `--share-slots 4` (4 devices per GPU, as the node then advertises) the same node holds 8, two
 * per GPU as the extender assigns them, and not a ninth: the extender, not the device count, is
 * then what keeps a GPU from being over-committed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANN_ASSIGNED_GPUS, ANN_GPU_MILLI, parseAssignedGpus } from '../../src/api/annotations.js';
import { startSchedulingStack, waitForReadyNodes, type SchedulingStack } from '../support/scheduling.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';

const NS = 'shares';
let cp: ControlPlane;
let stack: SchedulingStack | undefined;

beforeAll(async () => {
  if (controlPlaneSkip) return;
  cp = await startControlPlane({ crds: true, kwok: true, controllerManager: true });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cp.createGpuNode('plain', 'pcie-4x');
  await cp.createGpuNode('slots', 'pcie-4x', { devicesPerGpu: 4 });
  await waitForReadyNodes(cp, 2, { untainted: true });
  stack = await startSchedulingStack(cp);
});
afterAll(async () => {
  await stack?.close();
  await cp?.stop();
});

function share(name: string, node: string): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { node }, annotations: { [ANN_GPU_MILLI]: '500' } },
    spec: {
      schedulerName: 'linkpack-scheduler',
      nodeSelector: { 'kubernetes.io/hostname': node },
      containers: [{ name: 'main', image: 'infer:1', resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { cpu: '100m' } } }],
    },
  };
}

async function podsOn(node: string): Promise<KObj[]> {
  return (await cp.request('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=node%3D${node}`)).items as KObj[];
}
const unschedulable = (p: KObj) => (p.status?.conditions ?? []).some((c: KObj) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
const gpuOf = (p: KObj) => {
  const r = parseAssignedGpus(p.metadata.annotations?.[ANN_ASSIGNED_GPUS] ?? '');
  if (!r.ok || r.value.length !== 1) throw new Error(`pod ${p.metadata.name}: ${r.ok ? 'not one GPU' : r.error}`);
  return r.value[0]!.index;
};

/** The FailedScheduling Event's message for a pod (waits for it). */
async function failedScheduling(name: string): Promise<string> {
  let message = '';
  await cp.eventually(async () => {
    const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=${name}`)).items as KObj[];
    message = events.find((e) => e.reason === 'FailedScheduling')?.message ?? '';
    return message !== '';
  }, `FailedScheduling event for ${name}`);
  return message;
}

/** Creates n 500-milli shares for the node; waits until each is bound or unschedulable. */
async function fill(node: string, n: number): Promise<{ bound: KObj[]; refused: KObj[] }> {
  for (let i = 0; i < n; i++) await cp.apply(share(`${node}-${i}`, node));
  let all: KObj[] = [];
  await cp.eventually(async () => {
    all = await podsOn(node);
    return all.length === n && all.every((p) => p.spec.nodeName || unschedulable(p));
  }, `${n} shares on ${node} decided`, 90_000);
  return { bound: all.filter((p) => p.spec.nodeName), refused: all.filter((p) => !p.spec.nodeName) };
}

describe.skipIf(controlPlaneSkip)('GPU shares on the real kube-scheduler', () => {
  it('one device per GPU: a 500-milli share holds a whole device, 4 of 8 shares fit a 4-GPU node', async () => {
    const { bound, refused } = await fill('plain', 8);
    expect(bound).toHaveLength(4);
    expect(refused).toHaveLength(4);
    // The extender packed them two to a GPU, so two GPUs are still free: kube-scheduler's device count refuses.
    expect(new Set(bound.map(gpuOf)).size).toBe(2);
    expect(await failedScheduling(refused[0]!.metadata.name)).toMatch(/Insufficient nvidia.com\/gpu/);
  });

  it('four devices per GPU (--share-slots 4): 8 shares fit, two per GPU, and a ninth is refused by the extender', async () => {
    const { bound, refused } = await fill('slots', 9);
    expect(bound).toHaveLength(8);
    expect(refused).toHaveLength(1);
    const perGpu = new Map<number, number>();
    for (const p of bound) perGpu.set(gpuOf(p), (perGpu.get(gpuOf(p)) ?? 0) + 500);
    expect([...perGpu.values()]).toEqual([1000, 1000, 1000, 1000]);
    // The ninth is refused with the extender's reason (kube-scheduler still had 8 devices free).
    const message = await failedScheduling(refused[0]!.metadata.name);
    expect(message).not.toMatch(/Insufficient nvidia.com\/gpu/);
    expect(message).toMatch(/in use|milli|free/);
  });
});
