/** /explain of a pod that is already bound shows where it is, instead of deciding again. */
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../src/topology/index.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { MemoryCluster, RecordingBinder, withUuids } from './memory-cluster.js';
import { argsByName, schedulerPod } from './fixtures.js';

describe('explain a bound pod', () => {
  it('reads node and GPUs from the pod (spec.nodeName, linkpack.io/assigned-gpus)', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('a', withUuids(getPreset('hgx-h100')!, 'a'));
    const p = schedulerPod('done', 2, {
      'linkpack.io/assigned-gpus': '4:GPU-a-4,5:GPU-a-5',
      'linkpack.io/assigned-at': '2026-11-26T12:00:00.000Z',
      'linkpack.io/decision': 'node a, GPUs 4,5: NVLink all pairs',
    });
    cluster.addPod({ ...p, spec: { ...p.spec, nodeName: 'a' } });
    const app = buildExtenderServer({ cluster, binder: new RecordingBinder() });
    const x = (await app.inject('/explain?pod=ml/done')).json();
    expect(x.nodesFrom).toBe('bound');
    expect(x.bound).toEqual({
      node: 'a',
      gpus: [{ index: 4, uuid: 'GPU-a-4' }, { index: 5, uuid: 'GPU-a-5' }],
      assignedAtIso: '2026-11-26T12:00:00.000Z',
      decision: 'node a, GPUs 4,5: NVLink all pairs',
      source: 'pod',
    });
    expect(x.nodes).toEqual([]);
    await app.close();
  });

  it('right after this extender bound it (the watch has not caught up): the bind, not a new decision', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('a', withUuids(getPreset('hgx-h100')!, 'a'));
    const pod = schedulerPod('fresh', 8);
    cluster.addPod(pod);
    const app = buildExtenderServer({ cluster, binder: new RecordingBinder() });
    const json = (payload: unknown) => ({ method: 'POST' as const, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    await app.inject({ url: '/filter', ...json(argsByName(pod, ['a'])) });
    expect((await app.inject({ url: '/bind', ...json({ PodName: 'fresh', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'a' }) })).json()).toEqual({ Error: '' });
    const x = (await app.inject('/explain?pod=ml/fresh')).json();
    expect(x.nodesFrom).toBe('bound');
    expect(x.bound.source).toBe('this-extender');
    expect(x.bound.gpus.map((g: { index: number }) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await app.close();
  });
});
