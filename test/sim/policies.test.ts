import { describe, expect, it } from 'vitest';
import { gpusByModelOf, placeOnNode, type WorkloadProfile } from '../../src/core/index.js';
import type { SimCluster } from '../../src/sim/cluster.js';
import { setLocality } from '../../src/sim/locality.js';
import { makePolicy, parsePolicies, POLICY_NAMES, type PolicyName, type TieBreak } from '../../src/sim/policies.js';
import { Rng } from '../../src/sim/rng.js';
import type { TracePod } from '../../src/sim/trace.js';
import { clusterOf, node, pod, put } from './helpers.js';

const NO_PROFILE: WorkloadProfile = { shapes: [] };

/** Half 2-GPU, half 1-GPU demand; 30% of it may run only on T4. */
function t4Needed(c: SimCluster): WorkloadProfile {
  return {
    shapes: [
      { cpuMilli: 0, gpuCount: 2, milliPerGpu: 1000, weight: 0.5 },
      { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000, weight: 0.5 },
    ],
    modelDemand: [{ models: ['T4'], share: 0.3 }],
    gpusByModel: gpusByModelOf(c.compiled),
  };
}

function choose(c: SimCluster, name: PolicyName, p: TracePod, opts: { seed?: number; profile?: WorkloadProfile; ties?: TieBreak } = {}) {
  const profile = opts.profile ?? NO_PROFILE;
  c.setFragProfile(profile);
  const r = makePolicy(name).choose(c.compilePod(p), { cluster: c, rng: new Rng(opts.seed ?? 1), profile, ties: opts.ties ?? 'first' });
  return r ? { node: c.specs[r.node].name, gpus: r.gpus } : null;
}

describe('baseline policies on tiny clusters', () => {
  it('bestfit takes the node with the least CPU+GPU left, and the tightest GPU for a share', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2));
    put(c, 'n1', pod('x', 1, 1000), [0]);
    expect(choose(c, 'bestfit', pod('p', 1, 1000))).toEqual({ node: 'n1', gpus: [1] });
    const one = clusterOf(node('n0', 2));
    put(one, 'n0', pod('y', 1, 700), [1]);
    expect(choose(one, 'bestfit', pod('s', 1, 250))).toEqual({ node: 'n0', gpus: [1] });
  });

  it('dotprod prefers the node whose free vector aligns least with the request', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2));
    put(c, 'n1', pod('x', 1, 1000, 32000), [0]);
    expect(choose(c, 'dotprod', pod('p', 1, 1000, 8000))?.node).toBe('n1');
  });

  it('gpuclustering keeps GPU classes together', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2));
    put(c, 'n1', pod('share', 1, 300), [0]);
    put(c, 'n2', pod('whole', 1, 1000), [0]);
    expect(choose(c, 'gpuclustering', pod('p', 1, 1000))?.node).toBe('n2');
    expect(choose(c, 'gpuclustering', pod('s', 1, 500))?.node).toBe('n1');
    expect(choose(c, 'gpuclustering', pod('d', 2, 1000))?.node).toBe('n0');
  });

  it('gpupacking prefers a shared GPU, then a free GPU on a used node, then an empty node', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2));
    put(c, 'n1', pod('whole', 1, 1000), [0]);
    put(c, 'n2', pod('share', 1, 400), [0]);
    expect(choose(c, 'gpupacking', pod('s', 1, 500))).toEqual({ node: 'n2', gpus: [0] });
    expect(choose(c, 'gpupacking', pod('p', 1, 1000))?.node).toBe('n1');
    put(c, 'n1', pod('whole2', 1, 1000), [1]);
    put(c, 'n2', pod('whole3', 1, 1000), [1]);
    expect(choose(c, 'gpupacking', pod('q', 2, 1000))?.node).toBe('n0');
  });

  it('fgd puts a share where it strands the least GPU for the typical shapes', () => {
    const profile: WorkloadProfile = {
      shapes: [
        { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000, weight: 0.5 },
        { cpuMilli: 0, gpuCount: 1, milliPerGpu: 500, weight: 0.5 },
      ],
    };
    const c = clusterOf(node('n0', 2), node('n1', 2));
    put(c, 'n1', pod('x', 1, 500), [1]);
    // On n1's half-used GPU the share fills it (fragmentation 250 → 0); elsewhere it would strand 500.
    expect(choose(c, 'fgd', pod('s', 1, 500), { profile })).toEqual({ node: 'n1', gpus: [1] });
  });

  it('fgd scores with its own typical shapes: the heavy shapes linkpack keeps are not in them', () => {
    const one = { cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000 };
    const eight = { cpuMilli: 0, gpuCount: 8, milliPerGpu: 1000 };
    const profile: WorkloadProfile = { shapes: [{ ...one, weight: 0.9 }, { ...eight, weight: 0.1 }], heavyShapes: 1 };
    const c = clusterOf(node('n0', 8), node('n1', 8));
    put(c, 'n1', pod('x', 2, 1000), [0, 1]);
    // With the 8-GPU shape n0 (empty) would lose its one 8-GPU fit; FGD's view has only the
    // 1-GPU shape, for which both nodes strand nothing: a tie, the first node.
    expect(choose(c, 'fgd', pod('p', 1, 1000), { profile })?.node).toBe('n0');
    expect(choose(c, 'fgd', pod('p', 1, 1000), { profile: { ...profile, heavyShapes: undefined } })?.node).toBe('n1');
  });

  it('random picks only feasible nodes, is reproducible per seed and varies across seeds', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2), node('n3', 1, 'P100'));
    put(c, 'n2', pod('x', 2, 1000), [0, 1]);
    const picks = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const r = choose(c, 'random', pod('p', 2, 1000), { seed });
      expect(r).toEqual(choose(c, 'random', pod('p', 2, 1000), { seed }));
      picks.add(r!.node);
    }
    expect([...picks].sort()).toEqual(['n0', 'n1']);
  });

  it('whole-GPU pods take the lowest-index free GPUs in every baseline', () => {
    for (const name of ['random', 'dotprod', 'gpuclustering', 'gpupacking', 'bestfit', 'fgd'] as const) {
      const c = clusterOf(node('n0', 8, 'V100M16', 96000, 512 * 1024));
      put(c, 'n0', pod('x', 1, 1000), [0]);
      put(c, 'n0', pod('y', 1, 1000), [3]);
      expect(choose(c, name, pod('p', 4, 1000))?.gpus).toEqual([1, 2, 4, 5]);
    }
  });

  it('honours the GPU model constraint and drops a pod that fits nowhere', () => {
    const c = clusterOf(node('n0', 2, 'T4'), node('n1', 2, 'P100'));
    expect(choose(c, 'bestfit', pod('p', 1, 1000, 1000, 1024, ['P100']))?.node).toBe('n1');
    expect(choose(c, 'bestfit', pod('q', 1, 1000, 1000, 1024, ['A100']))).toBeNull();
    expect(choose(c, 'bestfit', pod('r', 4, 1000))).toBeNull();
    expect(choose(c, 'bestfit', pod('m', 1, 1000, 1000, 10_000_000))).toBeNull();
  });

  it('breaks ties at the first node in file order or at random', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2));
    expect(choose(c, 'bestfit', pod('p', 1, 1000))?.node).toBe('n0');
    const picks = new Set<string>();
    for (let seed = 0; seed < 30; seed++) picks.add(choose(c, 'bestfit', pod('p', 1, 1000), { seed, ties: 'random' })!.node);
    expect(picks.size).toBe(3);
  });

  it('linkpack follows the same rule where its raw scores tie (a share on identical nodes)', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2));
    const profile: WorkloadProfile = { shapes: [{ cpuMilli: 0, gpuCount: 1, milliPerGpu: 1000, weight: 1 }] };
    const share = pod('s', 1, 300);
    expect(choose(c, 'linkpack', share, { profile })?.node).toBe('n0');
    const picks = new Set<string>();
    for (let seed = 0; seed < 30; seed++) picks.add(choose(c, 'linkpack', share, { seed, profile, ties: 'random' })!.node);
    expect(picks.size).toBe(3);
  });
});

describe('fgd-learned: FGD with the profile learned from the pods placed so far', () => {
  it('has no profile before 20 GPU pods (first node), then the shapes of the pods it placed', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2));
    put(c, 'n1', pod('x', 1, 1000), [0]);
    const pairs: WorkloadProfile = { shapes: [{ cpuMilli: 1000, gpuCount: 2, milliPerGpu: 1000, weight: 1 }] };
    c.setFragProfile(pairs);
    const ctx = { cluster: c, rng: new Rng(1), profile: pairs, ties: 'first' as const };
    const one = c.compilePod(pod('one', 1, 1000));
    const at = (r: { node: number } | null) => c.specs[r!.node]!.name;
    // With the whole list's 2-GPU shape FGD keeps n0's pair whole.
    expect(at(makePolicy('fgd').choose(one, ctx))).toBe('n1');
    const learned = makePolicy('fgd-learned');
    expect(at(learned.choose(one, ctx))).toBe('n0'); // nothing learned yet: every node scores 0
    for (let i = 0; i < 20; i++) expect(at(learned.choose(c.compilePod(pod(`pair${i}`, 2, 1000)), ctx))).toBe('n0');
    expect(at(learned.choose(one, ctx))).toBe('n1'); // it has seen 21 GPU pods, 20 of them pairs
    learned.reset?.();
    expect(at(learned.choose(one, ctx))).toBe('n0');
  });
});

describe("the FGD artifact's tie rule (permuted): first node of a per-run random node order", () => {
  /** CPU-only pods score 0 on every node under gpupacking/gpuclustering: every placement is a tie. */
  function cpuPodNodes(name: PolicyName, seed: number, pods: number, copyContext = false): string[] {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2), node('n3', 2), node('n4', 2));
    const policy = makePolicy(name);
    const ctx = { cluster: c, rng: new Rng(seed), profile: NO_PROFILE, ties: 'permuted' as const };
    const out: string[] = [];
    for (let i = 0; i < pods; i++) {
      const sp = c.compilePod(pod(`cpu${i}`, 0, 0, 24000));
      const r = policy.choose(sp, copyContext ? { ...ctx } : ctx)!;
      c.place(r.node, sp, r.gpus);
      out.push(c.specs[r.node].name);
    }
    return out;
  }

  it('fills one node before the next, in one order per run, and that order is a permutation', () => {
    for (const name of ['gpupacking', 'gpuclustering'] as const) {
      const seq = cpuPodNodes(name, 7, 10); // 24 cores each: two per 64-core node
      for (let i = 0; i < 10; i += 2) expect(seq[i + 1], `${name}: ${seq.join(',')}`).toBe(seq[i]);
      expect(new Set(seq).size).toBe(5);
      expect(cpuPodNodes(name, 7, 10)).toEqual(seq);
      // A wrapper that hands on a copy of the context each pod keeps the run's one order.
      expect(cpuPodNodes(name, 7, 10, true)).toEqual(seq);
    }
  });

  it('starts at different nodes for different seeds (not always the first in the file)', () => {
    const firsts = new Set<string>();
    for (let seed = 42; seed < 62; seed++) firsts.add(cpuPodNodes('gpupacking', seed, 1)[0]);
    expect(firsts.size).toBeGreaterThanOrEqual(3);
    // The other rules: always the file's first node.
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2));
    expect(choose(c, 'gpupacking', pod('cpu', 0, 0, 24000), { ties: 'first' })?.node).toBe('n0');
  });

  it('decides only among equal scores: a better-scored node wins under every seed', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2), node('n3', 2));
    put(c, 'n2', pod('share', 1, 400), [1]);
    for (let seed = 0; seed < 20; seed++) {
      expect(choose(c, 'gpupacking', pod('s', 1, 500), { seed, ties: 'permuted' })).toEqual({ node: 'n2', gpus: [1] });
      expect(choose(c, 'gpuclustering', pod('t', 1, 300), { seed, ties: 'permuted' })?.node).toBe('n2');
    }
  });
});

describe('linkpack policy (the shipped core)', () => {
  it('places a multi-GPU pod on an NVLink-connected set where the lowest index would not', () => {
    const c = clusterOf(node('n0', 8, 'V100M16', 96000, 512 * 1024));
    // Free GPUs 3..7 only; lowest index [3,4] has no NVLink in the DGX-1 cube-mesh.
    put(c, 'n0', pod('x', 3, 1000), [0, 1, 2]);
    const r = choose(c, 'linkpack', pod('p', 2, 1000));
    expect(r).not.toBeNull();
    expect(setLocality(c.compiled[0], r!.gpus).nvlinkConnected).toBe(true);
    expect(setLocality(c.compiled[0], [3, 4]).nvlinkConnected).toBe(false);
  });

  it('places CPU-only pods (which the core does not take) and shares', () => {
    const c = clusterOf(node('n0', 2), node('n1', 2));
    expect(choose(c, 'linkpack', pod('cpu', 0, 0, 4000))?.gpus).toEqual([]);
    const s = choose(c, 'linkpack', pod('s', 1, 300));
    expect(s?.gpus).toHaveLength(1);
  });

  it('the simulated cluster measures churn as the cache does: released ÷ placed since reset', () => {
    const c = clusterOf(node('n0', 4));
    const a = put(c, 'n0', pod('a', 2, 1000), [0, 1]);
    put(c, 'n0', pod('b', 1, 500), [2]);
    expect(c.churn()).toBe(0);
    c.remove(0, a, [0, 1]);
    expect(c.churn()).toBeCloseTo(2000 / 2500, 9);
    c.reset();
    expect(c.churn()).toBe(0);
  });

  it('measures model scarcity against the GPUs still free, not the inventory', () => {
    // 30% of demand may run only on T4. By the inventory (4 T4 of 12 GPUs) T4 is 0.9 needed; with
    // 6 of the 8 G2 taken the free capacity is 6 and the T4 pods will want 1.8 of T4's 4 (0.45).
    const c = clusterOf(node('t4', 4, 'T4'), node('g2', 8, 'G2', 96000));
    put(c, 'g2', pod('x', 6, 1000), [0, 1, 2, 3, 4, 5]);
    const profile = t4Needed(c);
    const req = { gpuCount: 1, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack', cpuMilli: 1000, memoryMiB: 1024 } as const;
    const onT4 = placeOnNode(c.nodeState(0), req, profile);
    const onG2 = placeOnNode(c.nodeState(1), req, profile);
    // G2's second-last GPU strands the last one for 2-GPU pods (500 milli); by the inventory a
    // T4 costs more (0.9² of a GPU), and the pod would go to G2 …
    expect(onG2.fits && onG2.breakdown.fragDeltaMilli).toBeCloseTo(500, 6);
    expect(onT4.fits && onT4.breakdown.scarcityMilli).toBeCloseTo(810, 6);
    expect(onG2.fits && onT4.fits && onG2.rawScore > onT4.rawScore).toBe(true);
    // … against what is free a T4 costs 0.45² of a GPU, and the pod keeps G2's pair whole.
    expect(choose(c, 'linkpack', pod('p', 1, 1000), { profile })?.node).toBe('t4');
  });
});

describe('the simulator keeps its shortcuts exact', () => {
  it('counts the free GPUs per model as pods come and go (as a fresh count over every GPU would)', () => {
    const c = clusterOf(node('t4', 4, 'T4'), node('g2', 8, 'G2', 96000), node('v', 2, 'V100M16'));
    const fresh = () => {
      const out = new Map<string, number>();
      c.compiled.forEach((ct, n) => c.freeMilliOf(n).forEach((f, g) => out.set(ct.modelsLower[g]!, (out.get(ct.modelsLower[g]!) ?? 0) + f / 1000)));
      return out;
    };
    expect(c.freeGpusByModel()).toEqual(fresh());
    const a = put(c, 'g2', pod('a', 3, 1000), [0, 1, 5]);
    put(c, 't4', pod('s', 1, 250), [2]);
    put(c, 'v', pod('b', 2, 1000), [0, 1]);
    expect(c.freeGpusByModel()).toEqual(fresh());
    expect(c.freeGpusByModel().get('g2')).toBe(5);
    expect(c.freeGpusByModel().get('t4')).toBe(3.75);
    c.remove(1, a, [0, 1, 5]);
    expect(c.freeGpusByModel()).toEqual(fresh());
    c.reset();
    expect(c.freeGpusByModel()).toEqual(new Map([['t4', 4], ['g2', 8], ['v100m16', 2]]));
  });

  it('linkpack keeps its decisions across a change of model need and decides as a cold cache would', () => {
    // As above: T4 is needed by 30% of the demand, less as the G2 fill, so the pick moves to T4 on the way.
    const c = clusterOf(node('t4', 4, 'T4'), node('g2', 8, 'G2', 96000));
    const profile = t4Needed(c);
    c.setFragProfile(profile);
    const warm = makePolicy('linkpack');
    const picks: string[] = [];
    for (let i = 0; i < 11; i++) {
      const p = c.compilePod(pod(`p${i}`, 1, i % 3 === 0 ? 500 : 1000));
      const ctx = { cluster: c, rng: new Rng(1), profile, ties: 'first' as const };
      const got = warm.choose(p, ctx);
      expect(got).toEqual(makePolicy('linkpack').choose(p, ctx));
      if (!got) break;
      c.place(got.node, p, got.gpus);
      picks.push(c.specs[got.node].name);
    }
    expect(new Set(picks)).toEqual(new Set(['t4', 'g2']));
  });
});

describe('policy names', () => {
  it('parses lists, "all", and rejects unknown names', () => {
    expect(parsePolicies('bestfit, FGD')).toEqual(['bestfit', 'fgd']);
    expect(parsePolicies('all')).toEqual([...POLICY_NAMES]);
    expect(parsePolicies('bestfit,tetris')).toMatch(/unknown policy "tetris"/);
  });
});
