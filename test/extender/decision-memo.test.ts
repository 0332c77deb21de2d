/**
 * The cross-request memo of verdicts and raw scores: answers stay those of the core while the
 * cluster changes under the same requests, and its tables are bounded.
 */
import { describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import { gpuNodeObject } from '../../src/cluster/gpunode.js';
import { placeOnNode, profileFromShapes } from '../../src/core/index.js';
import { filterNodes, prioritizeNodes } from '../../src/extender/decide.js';
import { DecisionMemo } from '../../src/extender/decision-memo.js';
import { podGpuAsk } from '../../src/extender/preferences.js';
import { extenderScores } from '../../src/extender/scores.js';
import { getPreset } from '../../src/topology/index.js';
import { schedulerPod } from './fixtures.js';

describe('decision memo', () => {
  it('filter and prioritize equal fresh core decisions, call after call, while pods come and go', () => {
    const c = new ClusterCache({ heartbeatTimeoutMs: Infinity });
    const names = Array.from({ length: 12 }, (_, i) => `n${i}`);
    c.replaceAll(names.map((n, i) => gpuNodeObject(n, getPreset(i % 2 ? 'hgx-h100' : 'dgx1-v100')!)), []);
    const profile = profileFromShapes([{ shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 }, count: 3 }, { shape: { cpuMilli: 0, gpuCount: 4, milliPerGpu: 1000 }, count: 1 }]);
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let round = 0; round < 40; round++) {
      // Change a few nodes: pods holding random GPUs appear and disappear.
      for (let j = 0; j < 3; j++) {
        const node = names[Math.floor(rand() * names.length)]!;
        const held = [0, 1, 2, 3, 4, 5, 6, 7].filter(() => rand() < 0.4);
        const pod = { metadata: { name: `h-${node}`, namespace: 'x', uid: `u-${node}`, annotations: { 'linkpack.io/assigned-gpus': held.join(',') } }, spec: { nodeName: node }, status: { phase: 'Running' } };
        if (held.length > 0) c.upsertPod(pod);
        else c.deletePod(pod);
      }
      const ask = podGpuAsk(schedulerPod('p', 1 + (round % 3)));
      if (ask.kind !== 'gpu') throw new Error('expected a GPU ask');
      const ctx = { cluster: c, nowMs: 0, profile };
      const looks = names.map((n) => c.lookupNode(n, 0));
      const fresh = looks.map((l) => (l.ok ? placeOnNode(l.state, ask.base, profile) : { node: '?', fits: false as const, reason: '' }));
      expect(Array.from(prioritizeNodes(ctx, ask, names)!)).toEqual(extenderScores(fresh));
      const f = filterNodes(ctx, ask, names);
      expect(f.passed).toEqual(fresh.flatMap((d, i) => (d.fits ? [i] : [])));
    }
  });

  it('is bounded: a new profile or too many states start a table again', () => {
    const memo = new DecisionMemo<number>();
    const req = { gpuCount: 1, milliPerGpu: 1000, topology: 'any' as const, policy: 'binpack' as const };
    const p1 = { shapes: [] };
    const t = memo.tableFor(req, p1);
    const topo = {} as never;
    t.set(topo, 1, 42);
    expect(memo.tableFor(req, p1).get(topo, 1)).toBe(42);
    expect(memo.tableFor(req, { shapes: [] }).get(topo, 1)).toBeUndefined();
    const big = memo.tableFor(req, undefined);
    for (let i = 0; i < 20_000; i++) big.set(topo, i, i);
    expect(big.get(topo, 0)).toBeUndefined(); // cleared once past the bound
    expect(big.get(topo, 19_999)).toBe(19_999);
  });
});
