/**
 * Bind for a pod the informer has not delivered yet: the extender binds from the Pod that
 * kube-scheduler sent in filter/prioritize (kept by UID, bounded, for a short time).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../src/topology/index.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { PodMemory } from '../../src/extender/pod-memory.js';
import { loadClusterFile, StaticPodBinder } from '../../src/cluster/index.js';
import { repoRoot } from '../support/paths.js';
import { MemoryCluster, RecordingBinder, withUuids } from './memory-cluster.js';
import { argsByName, schedulerPod } from './fixtures.js';

const json = (payload: unknown) => ({ method: 'POST' as const, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

describe('bind before the watch delivers the pod', () => {
  it('binds from the Pod of the last filter call; refuses a wrong UID; forgets after the TTL', async () => {
    let t = 1_000_000;
    const cluster = new MemoryCluster(); // the cache has no pods at all
    cluster.addNode('a', withUuids(getPreset('hgx-h100')!, 'a'));
    const binder = new RecordingBinder();
    const app = buildExtenderServer({ cluster, binder, now: () => t, podMemory: { ttlMs: 60_000 } });
    const pod = schedulerPod('p', 2);
    expect((await app.inject({ url: '/filter', ...json(argsByName(pod, ['a'])) })).json().NodeNames).toEqual(['a']);

    const wrongUid = await app.inject({ url: '/bind', ...json({ PodName: 'p', PodNamespace: 'ml', PodUID: 'other-uid', Node: 'a' }) });
    expect(wrongUid.json().Error).toMatch(/neither in the extender's cache nor in a filter\/prioritize call/);

    const ok = await app.inject({ url: '/bind', ...json({ PodName: 'p', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'a' }) });
    expect(ok.json()).toEqual({ Error: '' });
    expect(binder.calls).toHaveLength(1);
    expect(binder.calls[0]!.annotations['linkpack.io/assigned-gpus']).toMatch(/^\d:GPU-a-\d,\d:GPU-a-\d$/);
    expect(binder.calls[0]!.resourceVersion).toBe(pod.metadata.resourceVersion);
    expect(cluster.assignmentsOn('a').map((x) => x.uid)).toEqual([pod.metadata.uid]);

    const late = schedulerPod('q', 1);
    await app.inject({ url: '/prioritize', ...json(argsByName(late, ['a'])) });
    t += 60_001;
    const expired = await app.inject({ url: '/bind', ...json({ PodName: 'q', PodNamespace: 'ml', PodUID: late.metadata.uid, Node: 'a' }) });
    expect(expired.json().Error).toMatch(/last 60s/);
    await app.close();
  });

  it('standalone (--cluster-file): a pod that is not in the file binds and then counts', async () => {
    const { cache } = await loadClusterFile(path.join(repoRoot, 'deploy/examples/cluster.yaml'));
    const app = buildExtenderServer({ cluster: cache, binder: new StaticPodBinder(cache) });
    const pod = schedulerPod('newcomer', 8, { 'linkpack.io/topology': 'require-nvlink' });
    const f = (await app.inject({ url: '/filter', ...json(argsByName(pod, ['gpu-h100-a'])) })).json();
    expect(f.NodeNames).toEqual(['gpu-h100-a']);
    const b = await app.inject({ url: '/bind', ...json({ PodName: 'newcomer', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'gpu-h100-a' }) });
    expect(b.json()).toEqual({ Error: '' });
    expect((cache.getPod('ml', 'newcomer') as { spec: { nodeName: string } }).spec.nodeName).toBe('gpu-h100-a');
    const again = (await app.inject({ url: '/filter', ...json(argsByName(schedulerPod('second', 8), ['gpu-h100-a'])) })).json();
    expect(again.FailedNodes['gpu-h100-a']).toMatch(/^no free GPU, 8 asked \(all 8 in use\)$/);
    await app.close();
  });
});

describe('PodMemory bounds', () => {
  it('keeps at most maxEntries and maxBytes, oldest first out', () => {
    const m = new PodMemory({ maxEntries: 3, maxBytes: 10_000 });
    for (let i = 0; i < 10; i++) m.remember(schedulerPod(`p${i}`, 1), `ml/p${i}`, ['a', 'b'], 100);
    expect(m.size).toBe(3);
    expect(m.byName('ml/p9')).toBeDefined();
    expect(m.byName('ml/p6')).toBeUndefined();
    m.remember(schedulerPod('big', 1), 'ml/big', Array.from({ length: 400 }, (_, i) => `node-${i}`), 100);
    expect(m.bytes).toBeLessThanOrEqual(10_000);
    m.remember(schedulerPod('huge', 1), 'ml/huge', [], 20_000);
    expect(m.byName('ml/huge')).toBeUndefined();
    expect(m.bytes).toBeLessThanOrEqual(10_000);
  });
});
