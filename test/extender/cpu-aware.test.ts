/**
 * The extender scores with each node's free CPU and memory when the cache knows the Node's
 * allocatable (the Node feed): a pod goes where its CPU strands the least GPU capacity. The cache
 * is fed the same JSON the informers deliver; the decision is prioritizeNodes, as /prioritize runs it.
 */
import { describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import { prioritizeNodes } from '../../src/extender/decide.js';
import { podGpuAsk } from '../../src/extender/preferences.js';
import type { WorkloadProfile } from '../../src/core/index.js';
import { gpuNodeJson, podJson } from '../support/cluster-fixtures.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const nodeJson = (name: string, cpu: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { allocatable: { cpu, memory: '256Gi' } } });
const cpuPod = (cpu: string, gpus = 0) => {
  const p = podJson('ml', `p-${cpu}-${gpus}`, { gpuCount: gpus });
  p.spec.containers[0].resources = { requests: { cpu, memory: '1Gi', ...(gpus ? { 'nvidia.com/gpu': String(gpus) } : {}) } };
  if (!gpus) p.metadata.annotations = {};
  return p;
};
// Typical pods: one GPU with 8 cores.
const profile: WorkloadProfile = { shapes: [{ cpuMilli: 8000, gpuCount: 1, milliPerGpu: 1000, weight: 1 }] };

function cluster(withNodes: boolean): ClusterCache {
  const c = new ClusterCache({ heartbeatTimeoutMs: Infinity });
  for (const n of ['small-cpu', 'big-cpu']) c.upsertGpuNode(gpuNodeJson(n, 'pcie-4x'));
  if (withNodes) c.replaceNodes([nodeJson('small-cpu', '16'), nodeJson('big-cpu', '64')]);
  c.markSynced('test', true);
  return c;
}

const scores = (c: ClusterCache, pod: unknown) => Array.from(prioritizeNodes({ cluster: c, nowMs: NOW, profile }, podGpuAsk(pod as never), ['small-cpu', 'big-cpu'])!);

describe('CPU-aware scoring', () => {
  it('a CPU-only pod of 12 cores goes where its CPU leaves the GPUs usable', () => {
    // On small-cpu it would leave 4 cores: no typical 8-core GPU pod fits, all 4 GPUs stranded.
    expect(scores(cluster(true), cpuPod('12'))).toEqual([1, 10]);
  });
  it('a 1-GPU pod of 10 cores: the same reasoning, the GPU pod is not placed where it starves the rest', () => {
    expect(scores(cluster(true), cpuPod('10', 1))).toEqual([1, 10]);
  });
  it('a pod with include-gpus takes the node-by-node path and is scored with its CPU too', () => {
    const p = cpuPod('10', 1);
    p.metadata.annotations = { 'linkpack.io/include-gpus': 'GPU-small-cpu-0,GPU-big-cpu-0' };
    expect(scores(cluster(true), p)).toEqual([1, 10]);
  });
  it('without the Node feed the two nodes are equal to the core (the tie goes by the stable node order)', () => {
    const s = scores(cluster(false), cpuPod('12'));
    expect([...s].sort((a, b) => a - b)).toEqual([8, 10]);
  });
  it('pods already on a node hold their requests; an assumed bind counts until the watch shows it', () => {
    const c = cluster(true);
    const busy = cpuPod('60');
    busy.spec.nodeName = 'big-cpu';
    busy.status.phase = 'Running';
    c.upsertPod(busy);
    // big-cpu has 4 cores left now: the 12-core pod would not fit there in our view at all.
    expect(scores(c, cpuPod('12'))).toEqual([10, 0]);
    c.deletePod(busy);
    c.assume({ uid: 'x', namespace: 'ml', name: 'x', node: 'big-cpu', gpus: [{ index: 0 }], milliPerGpu: 1000, assumed: true, cpuMilli: 60_000, memoryMiB: 1024 });
    const l = c.lookupNode('big-cpu', NOW);
    expect(l.ok && [l.state.cpuFreeMilli, l.state.freeMilli[0]]).toEqual([4000, 0]);
  });
});
