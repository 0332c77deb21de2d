/**
 * The web view's state: served from a snapshot rebuilt at most once a second (per server), the
 * per-model summary (agreeing with the Prometheus series), pending GPU pods with the extender's
 * last reason (bounded, cleared on bind), and degraded NVLink pairs kept on the island picture.
 */
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../src/topology/index.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { clusterSnapshot } from '../../src/extender/cluster-metrics.js';
import { SnapshotCache } from '../../src/extender/ui-snapshot.js';
import { PendingPods, type PendingPod } from '../../src/extender/ui-pending.js';
import { uiState, type UiState } from '../../src/extender/ui.js';
import { MemoryCluster, RecordingBinder, withUuids } from './memory-cluster.js';
import { argsByName, schedulerPod } from './fixtures.js';

describe('SnapshotCache', () => {
  it('builds at most once per second however many ask', () => {
    let t = 0;
    let built = 0;
    const c = new SnapshotCache(() => ++built, () => t);
    for (let i = 0; i < 10_000; i++) c.get();
    expect(built).toBe(1);
    t = 999;
    expect(c.get()).toBe(1);
    t = 1000;
    expect(c.get()).toBe(2);
    for (t = 1000; t < 5000; t += 10) c.get();
    expect(built).toBeLessThanOrEqual(5);
  });

  it('one server under 300 concurrent /ui/state requests walks the cluster once; another server has its own cache', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('h100', withUuids(getPreset('hgx-h100')!, 'h'));
    let walks = 0;
    const names = cluster.nodeNames.bind(cluster);
    cluster.nodeNames = () => (walks++, names());
    const a = buildExtenderServer({ cluster, binder: new RecordingBinder() });
    const b = buildExtenderServer({ cluster, binder: new RecordingBinder() });
    const answers = await Promise.all(Array.from({ length: 300 }, () => a.inject('/ui/state')));
    expect(answers.every((r) => r.statusCode === 200)).toBe(true);
    // One build = the node walk of uiState and of the summary's snapshot.
    expect(walks).toBe(2);
    expect((await b.inject('/ui/state')).statusCode).toBe(200);
    expect(walks).toBe(4);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('PendingPods', () => {
  const p = (pod: string): PendingPod => ({ pod, ask: '4 GPUs', reason: 'r', fits: 0, candidates: 1, atIso: '' });
  it('is bounded: the least recently noted pod goes first', () => {
    const m = new PendingPods(3);
    for (const k of ['a', 'b', 'c', 'a', 'd']) m.note(p(`ml/${k}`), 0);
    expect(m.list(0, () => false).map((x) => x.pod)).toEqual(['ml/d', 'ml/a', 'ml/c']);
    // Texts are bounded too: a megabyte name or reason is cut, and still found by its key.
    const long = `ml/${'x'.repeat(1 << 20)}`;
    m.note({ ...p(long), reason: 'y'.repeat(1 << 20) }, 0);
    const kept = m.list(0, () => false)[0]!;
    expect(kept.pod.length + kept.reason.length).toBeLessThanOrEqual(1320);
    m.bound(long);
    expect(m.size).toBe(2);
  });
  it('forgets a pod when it binds, when the cache shows it bound or deleted, or after 15 min of silence', () => {
    const m = new PendingPods();
    m.note(p('ml/bound'), 0);
    m.note(p('ml/placed'), 0);
    m.note(p('ml/deleted'), 0, true);
    m.note(p('ml/never-cached'), 0, false);
    m.note(p('ml/old'), 0);
    m.bound('ml/bound');
    const settled = (k: string, inCache: boolean) => k === 'ml/placed' || (k === 'ml/deleted' && inCache);
    expect(m.list(60_000, settled).map((x) => x.pod).sort()).toEqual(['ml/never-cached', 'ml/old']);
    m.note(p('ml/never-cached'), 15 * 60_000);
    expect(m.list(15 * 60_000 + 1, () => false).map((x) => x.pod)).toEqual(['ml/never-cached']);
  });
});

describe('pending pods and the cache', () => {
  it('a pod the cache shows bound or deleted leaves the list; one the cache never had stays', () => {
    const cluster = new MemoryCluster();
    cluster.addNode('h100', getPreset('hgx-h100')!);
    const pending = new PendingPods();
    const p = (pod: string): PendingPod => ({ pod, ask: '4 GPUs', reason: 'r', fits: 0, candidates: 1, atIso: '' });
    cluster.addPod({ metadata: { namespace: 'ml', name: 'placed' }, spec: {} });
    cluster.addPod({ metadata: { namespace: 'ml', name: 'deleted' }, spec: {} });
    for (const [k, inCache] of [['placed', true], ['deleted', true], ['unseen', false]] as const) pending.note(p(`ml/${k}`), 0, inCache);
    expect(uiState(cluster, 0, [], { pending }).pending.map((x) => x.pod)).toEqual(['ml/unseen', 'ml/deleted', 'ml/placed']);
    cluster.addPod({ metadata: { namespace: 'ml', name: 'placed' }, spec: { nodeName: 'h100' } });
    cluster.pods.delete('ml/deleted');
    expect(uiState(cluster, 0, [], { pending }).pending.map((x) => x.pod)).toEqual(['ml/unseen']);
  });
});

describe('pending pods through the extender', () => {
  it('a pod no node fits shows the reasons; once it fits and binds it is gone', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('h100-a', withUuids(getPreset('hgx-h100')!, 'a'));
    cluster.addNode('small', withUuids(getPreset('nvlink-bridge-2x')!, 's'));
    cluster.hold({ uid: 'busy', namespace: 'ml', name: 'busy', node: 'h100-a', gpus: [0, 1, 2, 3, 4, 5].map((index) => ({ index })), milliPerGpu: 1000 });
    const app = buildExtenderServer({ cluster, binder: new RecordingBinder() });
    const post = (url: string, body: unknown) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    const state = async () => JSON.parse((await app.inject('/ui/state')).body) as UiState;
    await post('/filter', argsByName(schedulerPod('big', 4), ['h100-a', 'small']));
    await post('/filter', argsByName(schedulerPod('cpu', 0), ['h100-a', 'small']));
    const s1 = await state();
    expect(s1.pending.map((x) => x.pod)).toEqual(['ml/big']);
    expect(s1.pending[0]).toMatchObject({ ask: '4 GPUs', fits: 0, candidates: 2 });
    expect(s1.pending[0]!.reason).toMatch(/^no node fits \(2 nodes\) — h100-a: only 2 free GPUs, 4 asked .*; small: the node has 2 GPUs, 4 asked/);
    cluster.assignments.delete('busy');
    await post('/filter', argsByName(schedulerPod('big', 4), ['h100-a', 'small']));
    await new Promise((r) => setTimeout(r, 1050));
    expect((await state()).pending[0]!.reason).toBe('1 of 2 nodes fit; waiting for kube-scheduler to bind');
    const bind = await post('/bind', { PodName: 'big', PodNamespace: 'ml', PodUID: '0b6c1d3e-big', Node: 'h100-a' });
    expect(JSON.parse(bind.body).Error).toBe('');
    await new Promise((r) => setTimeout(r, 1050));
    expect((await state()).pending).toEqual([]);
    await app.close();
  });
});

describe('summary and degraded links', () => {
  it('counts GPUs per model and nodes with a free NVLink set of 2/4/8 as the metrics do', () => {
    const cluster = new MemoryCluster();
    cluster.addNode('h100', getPreset('hgx-h100')!, { unhealthy: { 7: 'XID 79' } });
    cluster.addNode('dgx1', getPreset('dgx1-v100')!);
    cluster.addNode('dgx1-b', getPreset('dgx1-v100')!);
    cluster.hold({ uid: 'a', namespace: 'ml', name: 'a', node: 'dgx1', gpus: [0, 2, 5, 7].map((index) => ({ index })), milliPerGpu: 1000 });
    cluster.hold({ uid: 'b', namespace: 'ml', name: 'b', node: 'h100', gpus: [0, 1, 2].map((index) => ({ index })), milliPerGpu: 1000 });
    cluster.hold({ uid: 'c', namespace: 'ml', name: 'c', node: 'h100', gpus: [{ index: 3 }], milliPerGpu: 250 });
    const s = uiState(cluster, 0, []).summary;
    const h = s.models.find((m) => m.model.includes('H100'))!;
    expect(h).toMatchObject({ nodes: 1, gpus: 8, free: 3, inUse: 4, unhealthy: 1, unavailable: 0, nvlinkSetNodes: { 2: 1, 4: 0, 8: 0 } });
    const v = s.models.find((m) => m.model.includes('V100'))!;
    // dgx1: 1,3,4,6 free but only pairs connected; dgx1-b: all 8 free.
    expect(v).toMatchObject({ nodes: 2, gpus: 16, free: 12, inUse: 4, unhealthy: 0, nvlinkSetNodes: { 2: 2, 4: 1, 8: 1 } });
    expect(s.all.nvlinkSetNodes).toEqual(clusterSnapshot({ cluster, now: () => 0, profile: () => undefined }).nvlinkSetNodes);
    expect(s.fragmentationPercent).toBeUndefined();
    expect(s.fragmentationMeaning).toMatch(/^not measured/);
  });

  it('fragmentation is the share of free capacity the typical pod cannot use', () => {
    const cluster = new MemoryCluster();
    cluster.addNode('h100', getPreset('hgx-h100')!);
    cluster.hold({ uid: 'a', namespace: 'ml', name: 'a', node: 'h100', gpus: [0, 1, 2, 3, 4].map((index) => ({ index })), milliPerGpu: 1000 });
    const profile = { shapes: [{ gpuCount: 4, milliPerGpu: 1000, cpuMilli: 0, weight: 1 }] };
    const s = uiState(cluster, 0, [], { profile: () => profile }).summary;
    // 3 GPUs free, a 4-GPU pod fits nowhere: all of it is fragmented.
    expect(s.fragmentationPercent).toBe(100);
    expect(s.fragmentationMeaning).toMatch(/^of the free GPU capacity sits where the typical GPU pod cannot use it/);
  });

  it('a degraded pair stays drawn in its island and is listed with its reasons', () => {
    const cluster = new MemoryCluster();
    const t = getPreset('nvlink-bridge-2x')!;
    const links = t.links.map((r) => [...r]);
    links[0]![1] = links[1]![0] = 'SYS';
    cluster.addNode('pair', { ...t, links });
    cluster.nodes.get('pair')!.degradedLinks = [{ gpus: [0, 1], reasons: ['GPU 0 NVLink 2 inactive'] }];
    const n = uiState(cluster, 0, []).nodes[0]!;
    expect(n.islands).toEqual([[0, 1]]);
    expect(n.degradedLinks).toEqual([{ gpus: [0, 1], reasons: ['GPU 0 NVLink 2 inactive'] }]);
    expect(n.largestFreeNvlinkSet).toBe(1);
  });
});
