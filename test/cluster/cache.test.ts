import { describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import type { PodAssignment } from '../../src/cluster/types.js';
import { gpuNodeJson, podJson } from '../support/cluster-fixtures.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const fresh = { heartbeat: new Date(NOW - 5_000) };

function cacheWith(nodes: Record<string, string>, opts: ConstructorParameters<typeof ClusterCache>[0] = {}) {
  const c = new ClusterCache(opts);
  for (const [name, preset] of Object.entries(nodes)) expect(c.upsertGpuNode(gpuNodeJson(name, preset, fresh))).toBeNull();
  return c;
}

function free(c: ClusterCache, node: string): readonly number[] {
  const l = c.lookupNode(node, NOW);
  if (!l.ok) throw new Error(l.reason);
  return l.state.freeMilli;
}

function assumption(node: string, name: string, gpus: number[], milliPerGpu = 1000): PodAssignment {
  return { uid: `uid-ml-${name}`, namespace: 'ml', name, node, gpus: gpus.map((index) => ({ index })), milliPerGpu, assumed: true };
}

describe('ClusterCache counting', () => {
  it('counts whole GPUs of bound, unfinished pods; terminating pods count until deleted', () => {
    const c = cacheWith({ n1: 'hgx-h100' });
    c.upsertPod(podJson('ml', 'a', { node: 'n1', gpus: [0, 1] }));
    c.upsertPod(podJson('ml', 'done', { node: 'n1', gpus: [2], phase: 'Succeeded' }));
    c.upsertPod(podJson('ml', 'failed', { node: 'n1', gpus: [3], phase: 'Failed' }));
    c.upsertPod(podJson('ml', 'pending', { gpus: [4] }));
    c.upsertPod(podJson('ml', 'leaving', { node: 'n1', gpus: [5], deleting: true }));
    c.upsertPod(podJson('ml', 'elsewhere', { node: 'n2', gpus: [6] }));
    expect(free(c, 'n1')).toEqual([0, 0, 1000, 1000, 1000, 0, 1000, 1000]);
    expect(c.assignmentsOn('n1').map((a) => `${a.name}:${a.gpus.map((g) => `${g.index}/${g.uuid}`)}`).sort()).toEqual(['a:0/GPU-n1-0,1/GPU-n1-1', 'leaving:5/GPU-n1-5']);
    c.deletePod(podJson('ml', 'leaving'));
    expect(free(c, 'n1')[5]).toBe(1000);
    // A pod that finishes frees its GPUs on the MODIFIED event.
    c.upsertPod(podJson('ml', 'a', { node: 'n1', gpus: [0, 1], phase: 'Succeeded' }));
    expect(free(c, 'n1')).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    expect(c.getPod('ml', 'pending')).toMatchObject({ metadata: { name: 'pending' } });
    expect(c.nodeNames()).toEqual(['n1']);
  });

  it('adds up GPU shares and reports over-allocation instead of failing', () => {
    const c = cacheWith({ n1: 'pcie-4x' });
    c.upsertPod(podJson('ml', 's1', { node: 'n1', gpus: [2], milli: 300 }));
    c.upsertPod(podJson('ml', 's2', { node: 'n1', gpus: [2], milli: 500 }));
    expect(free(c, 'n1')).toEqual([1000, 1000, 200, 1000]);
    expect(c.problems()).toEqual([]);
    c.upsertPod(podJson('ml', 'whole', { node: 'n1', gpus: [2, 3] }));
    expect(free(c, 'n1')).toEqual([1000, 1000, 0, 0]);
    expect(c.problems()).toEqual(['GPU 2 on n1 is over-allocated: 1800 milli held by ml/s1 300m, ml/s2 500m, ml/whole 1000m']);
  });

  it('reports bad annotations and out-of-range GPUs; a bad gpu-milli counts as a whole GPU', () => {
    const c = cacheWith({ n1: 'pcie-4x' });
    c.upsertPod(podJson('ml', 'garbled', { node: 'n1', annotations: { 'linkpack.io/assigned-gpus': '0,zero' } }));
    c.upsertPod(podJson('ml', 'badmilli', { node: 'n1', gpus: [1], milli: '1500' }));
    c.upsertPod(podJson('ml', 'far', { node: 'n1', gpus: [9] }));
    expect(free(c, 'n1')).toEqual([1000, 0, 1000, 1000]);
    const problems = c.problems();
    expect(problems).toContainEqual(expect.stringMatching(/^pod ml\/garbled: linkpack\.io\/assigned-gpus: "zero" is not <index>\[:<uuid>\]/));
    expect(problems).toContainEqual('pod ml/badmilli: linkpack.io/gpu-milli="1500" is not an integer 1..1000; counted as whole GPUs');
    expect(problems).toContainEqual('pod ml/far holds GPU 9 on n1, which has only 4 GPUs');
  });

  it('counts GPUs the kubelet reports for pods placed without linkpack, without double counting annotated ones', () => {
    const c = new ClusterCache();
    c.upsertGpuNode(gpuNodeJson('n1', 'pcie-4x', { ...fresh, assignments: [{ pod: 'ml/plain', gpus: [3] }, { pod: 'ml/ours', uid: 'uid-ml-ours', gpus: [0] }, { pod: 'ml/gone', gpus: [2] }] }));
    c.upsertPod(podJson('ml', 'plain', { node: 'n1' }));
    c.upsertPod(podJson('ml', 'ours', { node: 'n1', gpus: [0] }));
    expect(free(c, 'n1')).toEqual([0, 1000, 1000, 0]);
    expect(c.assignmentsOn('n1').find((a) => a.name === 'plain')?.gpus).toEqual([{ index: 3, uuid: 'GPU-n1-3' }]);
  });

  it('builds unhealthyMask from GPU health', () => {
    const c = new ClusterCache();
    c.upsertGpuNode(gpuNodeJson('n1', 'hgx-h100', { ...fresh, unhealthy: { 1: ['XID 79'], 6: ['ECC'] } }));
    const l = c.lookupNode('n1', NOW);
    expect(l.ok && l.state.unhealthyMask).toBe((1 << 1) | (1 << 6));
    expect(l.ok && l.gpuNode.unhealthy).toEqual({ 1: 'XID 79', 6: 'ECC' });
  });

  it('adds up free GPUs per model: shares as fractions, assumptions held, unhealthy GPUs and unusable nodes left out', () => {
    const c = cacheWith({ h: 'hgx-h100', p: 'pcie-4x' });
    c.upsertGpuNode(gpuNodeJson('stale', 'pcie-4x', { heartbeat: new Date(NOW - 3_600_000) }));
    c.upsertGpuNode(gpuNodeJson('sick', 'pcie-4x', { ...fresh, unhealthy: { 0: ['XID 79'] } }));
    c.upsertPod(podJson('ml', 'a', { node: 'h', gpus: [0, 1] }));
    c.upsertPod(podJson('ml', 's', { node: 'p', gpus: [3], milli: 250 }));
    c.assume(assumption('h', 'b', [2]));
    const model = (n: string) => {
      const l = c.lookupNode(n, NOW);
      if (!l.ok) throw new Error(l.reason);
      return l.state.topology.modelsLower[0]!;
    };
    const free = c.freeGpusByModel(NOW);
    expect(free.get(model('h'))).toBeCloseTo(5, 9);
    // pcie-4x: 4 + 3.75 on p, 3 healthy on sick, nothing from the node with a stale heartbeat.
    expect(free.get(model('p'))).toBeCloseTo(4 + 3.75 - 4 + 3, 9);
    expect([...free.keys()].sort()).toEqual([...c.gpusByModel().keys()].sort());
  });

  it('churn: the share of the GPU milli pods took that they have released', () => {
    const c = cacheWith({ h: 'hgx-h100' });
    expect(c.churn()).toBe(0);
    c.upsertPod(podJson('ml', 'a', { node: 'h', gpus: [0, 1] }));
    c.upsertPod(podJson('ml', 's', { node: 'h', gpus: [2], milli: 500 }));
    c.upsertPod(podJson('ml', 'a', { node: 'h', gpus: [0, 1] })); // the same pod again: counted once
    expect(c.churn()).toBe(0);
    c.upsertPod(podJson('ml', 's', { node: 'h', gpus: [2], milli: 500, phase: 'Succeeded' }));
    expect(c.churn()).toBeCloseTo(500 / 2500, 9);
    expect(c.podCount()).toBe(2); // the observed profile's early-rebuild count: pods, not updates
    c.deletePod(podJson('ml', 'a'));
    expect(c.churn()).toBe(1);
    expect(c.podCount()).toBe(1);
  });

  it('shares one compiled table between nodes with the same topology', () => {
    const c = cacheWith({ a: 'hgx-h100', b: 'hgx-h100' });
    const la = c.lookupNode('a', NOW);
    const lb = c.lookupNode('b', NOW);
    expect(la.ok && lb.ok && la.state.topology.bandwidthGBps === lb.state.topology.bandwidthGBps).toBe(true);
  });
});

describe('ClusterCache node lookup reasons', () => {
  it('refuses a stale or missing heartbeat with the age and the limit', () => {
    const c = new ClusterCache({ heartbeatTimeoutMs: 120_000 });
    c.upsertGpuNode(gpuNodeJson('old', 'pcie-4x', { heartbeat: new Date(NOW - 312_000) }));
    const none = gpuNodeJson('never', 'pcie-4x');
    delete none.status.heartbeatTime;
    c.upsertGpuNode(none);
    c.upsertGpuNode(gpuNodeJson('ok', 'pcie-4x', { heartbeat: new Date(NOW - 119_000) }));
    expect(c.lookupNode('old', NOW)).toEqual({ ok: false, reason: 'GPUNode old heartbeat is 312s old (limit 120s); treating its GPUs as unknown' });
    expect(c.lookupNode('never', NOW)).toEqual({ ok: false, reason: 'GPUNode never has no heartbeat (limit 120s); treating its GPUs as unknown' });
    expect(c.lookupNode('ok', NOW).ok).toBe(true);
    // Infinity switches the check off (static snapshots).
    const snap = new ClusterCache({ heartbeatTimeoutMs: Infinity });
    snap.upsertGpuNode(none);
    expect(snap.lookupNode('never', NOW).ok).toBe(true);
  });

  it('says why a node is unusable: no GPUNode, a malformed GPUNode, an invalid link matrix', () => {
    const c = new ClusterCache();
    expect(c.lookupNode('ghost', NOW)).toEqual({ ok: false, reason: 'no GPUNode: the linkpack agent has not reported this node', noGpuNode: true });
    const bad = gpuNodeJson('bad', 'pcie-4x', fresh);
    bad.status.gpus[0].health = 'Meh';
    expect(c.upsertGpuNode(bad)).toMatch(/GPUNode "bad": status\.gpus\[0\]\.health/);
    const l = c.lookupNode('bad', NOW);
    expect(!l.ok && l.reason).toMatch(/^GPUNode "bad": status\.gpus\[0\]\.health/);
    const weird = gpuNodeJson('weird', 'pcie-4x', fresh);
    weird.status.links[0][1] = 'FOO';
    weird.status.links[1][0] = 'FOO';
    expect(c.upsertGpuNode(weird)).toMatch(/GPUNode "weird": invalid topology.*"FOO" is not a legend value/);
    expect(c.problems()).toHaveLength(2);
    // Fixing the object makes the node usable again.
    expect(c.upsertGpuNode(gpuNodeJson('bad', 'pcie-4x', fresh))).toBeNull();
    expect(c.lookupNode('bad', NOW).ok).toBe(true);
    c.deleteGpuNode('bad');
    expect(c.lookupNode('bad', NOW).ok).toBe(false);
  });
});

describe('ClusterCache assume cache', () => {
  it('counts an assumption at once and drops it when the watch shows the pod bound with the same GPUs', () => {
    const c = cacheWith({ n1: 'pcie-4x' });
    c.upsertPod(podJson('ml', 'p'));
    c.assume(assumption('n1', 'p', [0, 1]));
    expect(free(c, 'n1')).toEqual([0, 0, 1000, 1000]);
    expect(c.assignmentsOn('n1')).toEqual([expect.objectContaining({ name: 'p', assumed: true })]);
    // Our annotation patch arrives before the binding: still assumed, still counted once.
    c.upsertPod(podJson('ml', 'p', { gpus: [0, 1] }));
    expect(c.assignmentsOn('n1')).toEqual([expect.objectContaining({ assumed: true })]);
    c.upsertPod(podJson('ml', 'p', { node: 'n1', gpus: [0, 1] }));
    expect(c.assignmentsOn('n1')).toEqual([expect.objectContaining({ name: 'p', assumed: false })]);
    expect(free(c, 'n1')).toEqual([0, 0, 1000, 1000]);
    c.deletePod(podJson('ml', 'p'));
    expect(free(c, 'n1')).toEqual([1000, 1000, 1000, 1000]);
  });

  it('forget releases an assumption (bind failed)', () => {
    const c = cacheWith({ n1: 'pcie-4x' });
    c.assume(assumption('n1', 'p', [3], 250));
    expect(free(c, 'n1')).toEqual([1000, 1000, 1000, 750]);
    c.forget('uid-ml-p');
    expect(free(c, 'n1')).toEqual([1000, 1000, 1000, 1000]);
  });

  it('expires unconfirmed assumptions after the TTL', () => {
    let t = 0;
    const notices: string[] = [];
    const c = cacheWith({ n1: 'pcie-4x' }, { assumeTtlMs: 30_000, now: () => t, onNotice: (m) => notices.push(m) });
    c.assume(assumption('n1', 'p', [2]));
    t = 29_999;
    expect(free(c, 'n1')[2]).toBe(0);
    t = 30_000;
    expect(free(c, 'n1')[2]).toBe(1000);
    expect(notices).toEqual(['pod ml/p: assumption on n1 expired after 30000 ms without the watch confirming it']);
  });

  it("takes the API's view when the pod was bound elsewhere or with other GPUs", () => {
    const notices: string[] = [];
    const c = cacheWith({ n1: 'pcie-4x', n2: 'pcie-4x' }, { onNotice: (m) => notices.push(m) });
    c.assume(assumption('n1', 'p', [0]));
    c.upsertPod(podJson('ml', 'p', { node: 'n2', gpus: [3] }));
    expect(free(c, 'n1')).toEqual([1000, 1000, 1000, 1000]);
    expect(free(c, 'n2')).toEqual([1000, 1000, 1000, 0]);
    expect(notices).toEqual(['pod ml/p: assumed on n1 GPUs [0], but the API shows n2 GPUs [3]; using the API\'s view']);
  });

  it('replaceAll makes the cache exactly the relisted objects and keeps unconfirmed assumptions', () => {
    const c = cacheWith({ n1: 'pcie-4x', n2: 'pcie-4x' });
    c.upsertPod(podJson('ml', 'old', { node: 'n1', gpus: [0] }));
    c.assume(assumption('n1', 'mine', [1]));
    c.replaceAll([gpuNodeJson('n1', 'pcie-4x', fresh)], [podJson('ml', 'new', { node: 'n1', gpus: [2] })]);
    expect(c.nodeNames()).toEqual(['n1']);
    expect(c.getPod('ml', 'old')).toBeUndefined();
    expect(free(c, 'n1')).toEqual([1000, 0, 0, 1000]);
    expect(c.counts()).toEqual({ gpuNodes: 1, unusableGpuNodes: 0, pods: 1, podsHoldingGpus: 1, assumed: 1 });
  });
});

describe('ClusterCache.withNodeLock', () => {
  it('serialises work on one node, runs other nodes concurrently, and survives a failing holder', async () => {
    const c = new ClusterCache();
    const log: string[] = [];
    const step = (tag: string, ms: number, fail = false) => async () => {
      log.push(`${tag}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${tag}-`);
      if (fail) throw new Error(`${tag} failed`);
      return tag;
    };
    const a1 = c.withNodeLock('a', step('a1', 30, true));
    const a2 = c.withNodeLock('a', step('a2', 5));
    const b1 = c.withNodeLock('b', step('b1', 5));
    await expect(a1).rejects.toThrow('a1 failed');
    expect(await a2).toBe('a2');
    expect(await b1).toBe('b1');
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-'));
  });
});
