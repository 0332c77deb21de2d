import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClusterFileError, loadClusterFile, parseClusterFile, StaticPodBinder } from '../../src/cluster/static-file.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const twoNodes = path.join(here, 'fixtures/two-nodes.yaml');
// Far past the file's heartbeat: a snapshot is not judged by its age unless asked.
const LATER = Date.parse('2030-01-01T00:00:00Z');

describe('cluster file loader', () => {
  it('loads Nodes, GPUNodes and Pods (also inside a List) into a synced cache', async () => {
    const { cache, contents } = await loadClusterFile(twoNodes);
    expect(contents.nodes).toHaveLength(1);
    expect(cache.synced()).toBe(true);
    expect(cache.nodeNames()).toEqual(['gpu-a', 'gpu-b']);
    const a = cache.lookupNode('gpu-a', LATER);
    if (!a.ok) throw new Error(a.reason);
    expect(a.state.freeMilli).toEqual([0, 0, 1000, 1000]);
    expect(a.state.unhealthyMask).toBe(0b1000);
    expect(a.gpuNode.unhealthy).toEqual({ 3: 'XID 79' });
    const b = cache.lookupNode('gpu-b', LATER);
    expect(b.ok && b.state.freeMilli).toEqual([750, 1000]);
    expect(cache.getPod('ml', 'waiting')).toMatchObject({ metadata: { uid: 'static-ml-waiting', resourceVersion: '1' } });
    // With a heartbeat limit the same file's GPUNodes are stale or unreported.
    const strict = await loadClusterFile(twoNodes, { heartbeatTimeoutMs: 120_000 });
    expect(strict.cache.lookupNode('gpu-b', LATER)).toEqual({ ok: false, reason: 'GPUNode gpu-b has no heartbeat (limit 120s); treating its GPUs as unknown' });
  });

  it('StaticPodBinder binds into the cache with the API server’s checks', async () => {
    const { cache } = await loadClusterFile(twoNodes);
    const binder = new StaticPodBinder(cache);
    const base = { namespace: 'ml', name: 'waiting', uid: 'static-ml-waiting', node: 'gpu-a', annotations: { 'linkpack.io/assigned-gpus': '2' }, eventMessage: 'm' };
    await expect(binder.bind({ ...base, resourceVersion: '7' })).rejects.toThrow('pod ml/waiting changed since it was scheduled (resourceVersion 1, expected 7)');
    await expect(binder.bind({ ...base, uid: 'other' })).rejects.toThrow('pod ml/waiting has uid static-ml-waiting, not other');
    await binder.bind({ ...base, resourceVersion: '1' });
    const l = cache.lookupNode('gpu-a', LATER);
    expect(l.ok && l.state.freeMilli).toEqual([0, 0, 0, 1000]);
    expect(cache.getPod('ml', 'waiting')).toMatchObject({ spec: { nodeName: 'gpu-a' }, metadata: { resourceVersion: '2', annotations: { 'linkpack.io/assigned-gpus': '2' } } });
    await expect(binder.bind(base)).rejects.toThrow('pod ml/waiting is already assigned to node "gpu-a"');
    await expect(binder.bind({ ...base, name: 'nope' })).rejects.toThrow('pod ml/nope not found');
    expect(binder.binds).toHaveLength(1);
  });

  const gpuNode = (extra = '') => `apiVersion: linkpack.io/v1alpha1
kind: GPUNode
metadata: {name: g}
status:
  gpus: [{index: 0, health: Healthy}, {index: 1, health: Healthy}]
  links: [[X, NV1], [NV1, X]]
${extra}`;
  const bad: [string, string, RegExp][] = [
    ['YAML syntax', `${gpuNode()}---\nkind: Pod\nmetadata: {name: [oops\n`, /^f\.yaml: document 2: YAML error at line \d+/],
    ['missing kind', `${gpuNode()}---\nmetadata: {name: x}\n`, /^f\.yaml: document 2: field "kind" is missing$/],
    ['missing name', `kind: Pod\nmetadata: {}\n`, /^f\.yaml: document 1 \(Pod\): field "metadata\.name" is missing$/],
    ['unsupported kind', `kind: Deployment\nmetadata: {name: d}\n`, /^f\.yaml: document 1 \(Deployment d\): field "kind": "Deployment" is not supported here/],
    ['bad GPUNode field', gpuNode('  heartbeatTime: soon\n'), /^f\.yaml: document 1: GPUNode "g": status\.heartbeatTime: expected an RFC 3339 time, got "soon"$/],
    [
      'bad pod annotation',
      `${gpuNode()}---\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: p, annotations: {linkpack.io/gpu-milli: "0"}}\n  spec: {nodeName: g}\n`,
      /^f\.yaml: document 2, items\[0\] \(Pod p\): pod default\/p: linkpack\.io\/gpu-milli="0" is not an integer 1\.\.1000/,
    ],
    ['pod on unknown node', `kind: Pod\nmetadata: {name: p, namespace: ml}\nspec: {nodeName: nowhere}\n`, /^f\.yaml: Pod ml\/p: field "spec\.nodeName": node "nowhere" has no Node or GPUNode in the file$/],
    ['duplicate pod', `kind: Pod\nmetadata: {name: p}\n---\nkind: Pod\nmetadata: {name: p}\n`, /^f\.yaml: Pod default\/p appears twice$/],
  ];
  it.each(bad)('rejects %s with the file, document and field', (_n, text, re) => {
    expect(() => parseClusterFile(text, 'f.yaml')).toThrow(ClusterFileError);
    expect(() => parseClusterFile(text, 'f.yaml')).toThrow(re);
  });

  it('rejects a GPUNode whose link matrix the core cannot use, and an unreadable path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-cf-'));
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, gpuNode().replace('[[X, NV1], [NV1, X]]', '[[X, NV1], [PIX, X]]'));
    await expect(loadClusterFile(file)).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: GPUNode "g": invalid topology.*not symmetric`));
    await expect(loadClusterFile(path.join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read: ENOENT/);
  });
});
