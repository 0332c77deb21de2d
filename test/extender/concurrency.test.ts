/**
 * Many binds racing for one node's GPUs over real HTTP: every GPU is given at most once, the
 * losers get a clear error, and the winners' annotations agree with the cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { getPreset } from '../../src/topology/index.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { ANN_ASSIGNED_GPUS, parseAssignedGpus } from '../../src/api/annotations.js';
import { MemoryCluster, RecordingBinder, withUuids } from './memory-cluster.js';
import { ClusterCache } from '../../src/cluster/cache.js';
import { gpuNodeObject } from '../../src/cluster/gpunode.js';
import { StaticPodBinder } from '../../src/cluster/static-file.js';
import type { PodBinder } from '../../src/cluster/types.js';
import { schedulerPod } from './fixtures.js';

let app: FastifyInstance;
let url: string;
const cluster = new MemoryCluster();
const binder = new RecordingBinder();

beforeAll(async () => {
  cluster.addNode('dgx', withUuids(getPreset('dgx1-v100')!, 'd'));
  binder.delayMs = 5; // the API write takes time: without the node lock, binds would interleave
  app = buildExtenderServer({ cluster, binder });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
});

/** kube-scheduler's bind call; returns the Error field (empty on success). */
async function bindOverHttp(base: string, pod: { metadata: { name: string; namespace: string; uid: string } }, node: string): Promise<string> {
  const res = await fetch(`${base}/bind`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ PodName: pod.metadata.name, PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: node }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { Error: string }).Error;
}

describe('concurrent binds on one node', () => {
  it('30 pods × 1–3 GPUs race for 8 GPUs: zero double allocations', async () => {
    const pods = Array.from({ length: 30 }, (_, i) => schedulerPod(`race-${i}`, 1 + (i % 3)));
    for (const p of pods) cluster.addPod(p);
    const results = await Promise.all(
      pods.map(async (p) => {
        const error = await bindOverHttp(url, p, 'dgx');
        return { pod: p.metadata.name, want: Number(p.spec.containers[0]!.resources.requests!['nvidia.com/gpu']), error };
      }),
    );
    const won = results.filter((r) => r.error === '');
    const lost = results.filter((r) => r.error !== '');
    expect(won.length).toBeGreaterThan(0);
    expect(lost.length).toBeGreaterThan(0);
    for (const l of lost) expect(l.error).toMatch(/no longer fits on dgx/);

    const given = new Map<number, string>();
    for (const call of binder.calls) {
      const parsed = parseAssignedGpus(call.annotations[ANN_ASSIGNED_GPUS]!);
      if (!parsed.ok) throw new Error(parsed.error);
      const want = won.find((w) => w.pod === call.name)!.want;
      expect(parsed.value).toHaveLength(want);
      for (const g of parsed.value) {
        expect(given.get(g.index), `GPU ${g.index} given to ${given.get(g.index)} and ${call.name}`).toBeUndefined();
        given.set(g.index, call.name);
      }
    }
    expect(binder.calls).toHaveLength(won.length);
    // The cache agrees with what was written, and the node is full enough that no loser could fit.
    const held = cluster.assignmentsOn('dgx').flatMap((a) => a.gpus.map((g) => g.index)).sort();
    expect(held).toEqual([...given.keys()].sort());
    const freeLeft = 8 - given.size;
    for (const l of lost) expect(l.want).toBeGreaterThan(freeLeft);
  });
});

describe('concurrent binds with the real ClusterCache and its in-memory binder', () => {
  it('40 pods race for one DGX-1: every GPU given at most once, the cache agrees with the pods', async () => {
    const cache = new ClusterCache({ heartbeatTimeoutMs: Infinity });
    cache.upsertGpuNode(gpuNodeObject('dgx', withUuids(getPreset('dgx1-v100')!, 'd')));
    const pods = Array.from({ length: 40 }, (_, i) => ({ ...schedulerPod(`c-${i}`, 1 + (i % 4)), status: { phase: 'Pending' } }));
    for (const p of pods) cache.upsertPod(p);
    cache.markSynced('test', true);
    const inner = new StaticPodBinder(cache);
    // The API write takes a while, so binds overlap unless the node lock serialises them.
    const slow: PodBinder = { bind: async (a) => { await new Promise((r) => setTimeout(r, 3)); await inner.bind(a); } };
    const server = buildExtenderServer({ cluster: cache, binder: slow });
    const address = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answers = await Promise.all(
        pods.map((p) => bindOverHttp(address, p, 'dgx')),
      );
      expect(answers.filter((e) => e === '').length).toBe(inner.binds.length);
      const seen = new Set<number>();
      for (const p of pods) {
        const stored = cache.getPod('ml', p.metadata.name) as { spec: { nodeName?: string }; metadata: { annotations: Record<string, string> } };
        if (!stored.spec.nodeName) continue;
        const parsed = parseAssignedGpus(stored.metadata.annotations[ANN_ASSIGNED_GPUS]!);
        if (!parsed.ok) throw new Error(parsed.error);
        for (const g of parsed.value) {
          expect(seen.has(g.index), `GPU ${g.index} given twice`).toBe(false);
          seen.add(g.index);
        }
      }
      const look = cache.lookupNode('dgx', Date.now());
      if (!look.ok) throw new Error(look.reason);
      expect(look.state.freeMilli.filter((f) => f === 0).length).toBe(seen.size);
    } finally {
      await server.close();
    }
  });
});
