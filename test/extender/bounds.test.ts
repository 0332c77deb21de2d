/**
 * One request's work is bounded: a count cap on candidate nodes, a body limit by
 * nodeCacheCapable mode, unknown names answered with one shared reason. (How fast a huge body is
 * refused while /healthz answers is measured by bench/worst-case.ts, not here.)
 */
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../src/topology/index.js';
import { ClusterCache } from '../../src/cluster/cache.js';
import { gpuNodeObject } from '../../src/cluster/gpunode.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { RecordingBinder } from './memory-cluster.js';
import { argsByName, argsByNodes, schedulerNode, schedulerPod } from './fixtures.js';

function cache(): ClusterCache {
  const c = new ClusterCache({ heartbeatTimeoutMs: Infinity });
  c.replaceAll([gpuNodeObject('a', getPreset('hgx-h100')!)], []);
  c.markSynced('test', true);
  return c;
}
const post = (url: string, payload: string) => ({ method: 'POST' as const, url, headers: { 'content-type': 'application/json' }, payload });

describe('bounded work per request', () => {
  it('more candidate names than maxNodes is a 413 naming the count, for both modes', async () => {
    const app = buildExtenderServer({ cluster: cache(), binder: new RecordingBinder(), maxNodes: 1000 });
    const names = Array.from({ length: 1001 }, (_, i) => `n${i}`);
    for (const url of ['/filter', '/prioritize']) {
      const r = await app.inject(post(url, JSON.stringify(argsByName(schedulerPod('p', 1), names))));
      expect(r.statusCode).toBe(413);
      expect(r.json().message).toBe('body/NodeNames has 1001 entries; at most 1000 candidate nodes are accepted per request');
    }
    const full = await app.inject(post('/filter', JSON.stringify(argsByNodes(schedulerPod('p', 1), names.map((n) => ({ metadata: { name: n } }))))));
    expect(full.statusCode).toBe(413);
    expect(full.json().message).toMatch(/body\/Nodes\/items has 1001 entries/);
    expect((await app.inject(post('/filter', JSON.stringify(argsByName(schedulerPod('p', 1), names.slice(0, 1000)))))).statusCode).toBe(200);
    await app.close();
  });

  it('nodeCacheCapable: true refuses a filter body over 8 MiB; false accepts full Node objects up to bodyLimitBytes', async () => {
    const pod = schedulerPod('p', 1);
    const nodes = Array.from({ length: 3000 }, (_, i) => ({ ...schedulerNode(`n${i}`, 8), pad: 'x'.repeat(1800) }));
    const body = JSON.stringify(argsByNodes(pod, nodes));
    expect(body.length).toBeGreaterThan(8 * 1024 * 1024);
    const names = buildExtenderServer({ cluster: cache(), binder: new RecordingBinder() });
    const refused = await names.inject(post('/filter', body));
    expect(refused.statusCode).toBe(413);
    expect(refused.json().message).toMatch(/body/i);
    await names.close();
    const full = buildExtenderServer({ cluster: cache(), binder: new RecordingBinder(), nodeCacheCapable: false });
    const ok = await full.inject(post('/filter', body));
    expect(ok.statusCode).toBe(200);
    expect(Object.keys(ok.json().FailedAndUnresolvableNodes)).toHaveLength(3000);
    await full.close();
  });

  it('a bind body over 64 KiB is a 413', async () => {
    const app = buildExtenderServer({ cluster: cache(), binder: new RecordingBinder() });
    const r = await app.inject(post('/bind', JSON.stringify({ PodName: 'p', PodNamespace: 'ml', PodUID: 'u', Node: 'a', pad: 'x'.repeat(70 * 1024) })));
    expect(r.statusCode).toBe(413);
    await app.close();
  });

  it('unknown names share one reason (no per-name string is built)', async () => {
    const c = cache();
    const names = Array.from({ length: 5000 }, (_, i) => `ghost-${i}`);
    expect(c.lookupNode('ghost-1', 0)).toBe(c.lookupNode('ghost-2', 0));
    const app = buildExtenderServer({ cluster: c, binder: new RecordingBinder() });
    const r = (await app.inject(post('/filter', JSON.stringify(argsByName(schedulerPod('p', 1), [...names, 'a']))))).json();
    expect(r.NodeNames).toEqual(['a']);
    expect(new Set(Object.values(r.FailedAndUnresolvableNodes))).toEqual(new Set(['no GPUNode: the linkpack agent has not reported this node']));
    await app.close();
  });
});
