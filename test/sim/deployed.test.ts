import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultDeployedConfig, deployedPick, nodesToScore, parseDeployedConfig, pluginTotal, type NodePick } from '../../src/sim/deployed.js';
import { clusterOf, node, pod, put } from './helpers.js';
import { deployedPolicy, makePolicy, shippedSchedulerConfig } from '../../src/sim/policies.js';
import { runArrivals } from '../../src/sim/protocol.js';
import { Rng } from '../../src/sim/rng.js';
import { nodeTieRank } from '../../src/extender/scores.js';

/** The 'first' tie rule: the first node scanned among the highest totals. */
class FirstPick implements NodePick {
  node = -1;
  private score = -Infinity;
  offer(node: number, score: number): boolean {
    if (score <= this.score) return false;
    this.node = node;
    this.score = score;
    return true;
  }
}
const firstPick = () => new FirstPick();

const shipped = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/scheduler/scheduler-config.yaml');

describe('the KubeSchedulerConfiguration the simulator reads', () => {
  it('reads the shipped file: MostAllocated with nvidia.com/gpu weighted, no BalancedAllocation, every node scored', () => {
    const cfg = parseDeployedConfig(readFileSync(shipped, 'utf8'), shipped);
    expect(cfg.extenderWeight).toBe(5);
    expect(cfg.percentageOfNodesToScore).toBe(100);
    expect(cfg.extenderGpuPodsOnly, 'the shipped profile asks the extender about CPU-only pods too').toBe(false);
    expect(cfg.balanced).toBeNull();
    expect(cfg.fit).toEqual({ weight: 1, strategy: 'MostAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }, { name: 'nvidia.com/gpu', weight: 3 }] });
    // linkpack-deployed finds the same file from the simulator's own location.
    expect(shippedSchedulerConfig()).toEqual(cfg);
  });
  it('a profile without overrides is kube-scheduler’s defaults; bad input is one clear line', () => {
    const bare = 'kind: KubeSchedulerConfiguration\nprofiles:\n  - schedulerName: linkpack-scheduler\nextenders:\n  - prioritizeVerb: prioritize\n    weight: 5\n';
    // Without managedResources kube-scheduler asks the extender about every pod.
    expect(parseDeployedConfig(bare, 'x.yaml')).toEqual({ ...defaultDeployedConfig(5, 'x.yaml'), extenderGpuPodsOnly: false });
    const managed = bare.replace('    weight: 5\n', '    weight: 5\n    managedResources:\n      - name: nvidia.com/gpu\n');
    expect(parseDeployedConfig(managed, 'x.yaml')).toEqual(defaultDeployedConfig(5, 'x.yaml'));
    expect(() => parseDeployedConfig('kind: Pod\n', 'p.yaml')).toThrow(/p\.yaml: not a KubeSchedulerConfiguration/);
    expect(() => parseDeployedConfig(bare.replace('linkpack-scheduler', 'other'), 'x.yaml')).toThrow(/no profile with schedulerName linkpack-scheduler/);
    const badType = `${bare}    pluginConfig: []\n`.replace('  - schedulerName: linkpack-scheduler\n', '  - schedulerName: linkpack-scheduler\n    pluginConfig:\n      - name: NodeResourcesFit\n        args:\n          scoringStrategy:\n            type: RequestedToCapacityRatio\n');
    expect(() => parseDeployedConfig(badType, 'x.yaml')).toThrow(/RequestedToCapacityRatio" is not modelled/);
  });
  it('numFeasibleNodesToFind: all below 100 nodes, adaptive 50 − n/125 % (≥ 5%, ≥ 100 nodes), or the set percentage', () => {
    expect(nodesToScore(0, 99)).toBe(99);
    expect(nodesToScore(0, 1213)).toBe(497); // 41%
    expect(nodesToScore(0, 15000)).toBe(750); // 5%
    expect(nodesToScore(0, 150)).toBe(100);
    expect(nodesToScore(100, 1213)).toBe(1213);
  });
});

describe('plugin scores (kube-scheduler v1.37 formulas)', () => {
  // Node a: 64 cores, 256 GiB, 2 GPUs, half its CPU in use; node b: empty.
  const c = clusterOf(node('a', 2, 'T4', 64000, 262144), node('b', 2, 'T4', 64000, 262144));
  put(c, 'a', pod('busy', 1, 1000, 32000, 65536), [0]);
  const p = c.compilePod(pod('p', 1, 1000, 16000, 65536));
  it('LeastAllocated + BalancedAllocation (defaults) by hand', () => {
    const cfg = defaultDeployedConfig(5);
    // a: cpu (64−48)/64 → 25, memory (256−128)/256 → 50 → fit 37; balanced: with pod |0.75−0.5|/2 → 87, without |0.5−0.25|/2 → 87 → 50+(50+0)/2 = 75.
    expect(pluginTotal(cfg, c, 0, p)).toBe(37 + 75);
    // b: cpu 75, memory 75 → 75; balanced: with pod std 0 → 100, without 100 → 75.
    expect(pluginTotal(cfg, c, 1, p)).toBe(75 + 75);
  });
  it('MostAllocated with the GPU weighted; a GPU-less pod skips the GPU resource', () => {
    const cfg = { ...defaultDeployedConfig(5), balanced: null, fit: { weight: 1, strategy: 'MostAllocated' as const, resources: [{ name: 'cpu' as const, weight: 1 }, { name: 'memory' as const, weight: 1 }, { name: 'nvidia.com/gpu' as const, weight: 3 }] } };
    // a: cpu 75, memory 50, gpu 2/2 → 100: (75 + 50 + 300) / 5 = 85.
    expect(pluginTotal(cfg, c, 0, p)).toBe(85);
    const cpuOnly = c.compilePod(pod('c', 0, 0, 16000, 65536));
    expect(pluginTotal(cfg, c, 0, cpuOnly)).toBe(Math.trunc((75 + 50) / 2));
  });
  it('the pick: extender levels × weight × 10 plus the plugins; a spreading default can outvote a one-level preference', () => {
    // The core prefers a (raw 2 > 1): levels 10 and 1 → 450 points apart; plugins cannot undo it.
    const pick = (raw: number[], cfg = defaultDeployedConfig(5)) => deployedPick(cfg, c, p, 0, (n) => raw[n], firstPick()).node;
    expect(pick([2, 1])).toBe(0);
    // Extender weight 1: 90 points apart, LeastAllocated + Balanced give b 150 − 112 = 38 more: still a.
    expect(pick([2, 1], { ...defaultDeployedConfig(1) })).toBe(0);
    // A node the extender filters out (NaN) is never picked.
    expect(pick([NaN, 1])).toBe(1);
  });
});

describe('the device count', () => {
  it('with countDevices a share pod takes a whole nvidia.com/gpu slot: 2 shares fill a 2-GPU node', () => {
    const c = clusterOf(node('a', 2, 'T4'));
    put(c, 'a', pod('s1', 1, 100), [0]);
    put(c, 'a', pod('s2', 1, 100), [0]);
    const p = c.compilePod(pod('s3', 1, 100));
    expect(c.fits(0, p)).toBe(true); // GPU 0 has 800 milli and GPU 1 is free
    const cfg = defaultDeployedConfig(5);
    expect(deployedPick(cfg, c, p, 0, () => 1, firstPick()).node).toBe(0);
    expect(deployedPick({ ...cfg, countDevices: true }, c, p, 0, () => 1, firstPick()).node).toBe(-1);
    // The device plugin with --share-slots 4: 8 devices on the node, the third share fits again.
    expect(deployedPick({ ...cfg, countDevices: true, deviceSlotsPerGpu: 4 }, c, p, 0, () => 1, firstPick()).node).toBe(0);
    // Whole GPUs are not multiplied by slots in the extender's view: a 2-GPU pod still does not fit (GPU 0 is shared).
    expect(c.fits(0, c.compilePod(pod('w', 2, 1000)))).toBe(false);
  });
});

describe('the extender\'s tie order', () => {
  it('extenderTiesByName: equal raw scores go to the lowest nodeTieRank of the name, as the real extender breaks them', () => {
    const names = ['a', 'b', 'c', 'd'];
    const byRank = [...names].sort((x, y) => nodeTieRank(x) - nodeTieRank(y))[0]!;
    expect(byRank).not.toBe('a'); // else the test could not tell the two orders apart
    const pick = (byName: boolean) => {
      const c = clusterOf(...names.map((n) => node(n, 4, 'T4')));
      const policy = deployedPolicy(shippedSchedulerConfig(), 'linkpack-deployed', { extenderTiesByName: byName });
      const r = runArrivals(c, [c.compilePod(pod('p', 1, 1000))], policy, 42, { shapes: [] }, 'first');
      expect(r.failedPods).toBe(0);
      return names.find((_, i) => c.freeMilliOf(i).reduce((a, b) => a + b, 0) < 4000);
    };
    expect(pick(true)).toBe(byRank);
    expect(pick(false)).toBe('a');
    // makePolicy's extenderTies option gives the named variants the same two orders.
    const named = (extenderTies: 'order' | 'names') => {
      const c = clusterOf(...names.map((n) => node(n, 4, 'T4')));
      runArrivals(c, [c.compilePod(pod('p', 1, 1000))], makePolicy('linkpack-deployed', { extenderTies }), 42, { shapes: [] }, 'first');
      return names.find((_, i) => c.freeMilliOf(i).reduce((a, b) => a + b, 0) < 4000);
    };
    expect(named('names')).toBe(byRank);
    expect(named('order')).toBe('a');
  });
});

describe('equal totals follow the run\'s tie rule', () => {
  it('random ties draw uniformly among the best totals, even after lower ones tied earlier in the scan', () => {
    // CPU-only pods are not sent to the extender here, so the totals are MostAllocated's alone:
    // n0 = n1 (empty) < n2 = n3 (busier). A draw that kept counting the n0/n1 tie would take n3
    // a third of the time instead of half.
    const cfg = { ...shippedSchedulerConfig(), extenderGpuPodsOnly: true };
    const c = clusterOf(node('n0', 2), node('n1', 2), node('n2', 2), node('n3', 2));
    put(c, 'n2', pod('b2', 0, 0, 8000, 1024), []);
    put(c, 'n3', pod('b3', 0, 0, 8000, 1024), []);
    const p = c.compilePod(pod('c', 0, 0, 4000, 1024));
    const counts = [0, 0, 0, 0];
    const draws = 800;
    for (let seed = 1; seed <= draws; seed++) {
      const r = deployedPolicy(cfg).choose(p, { cluster: c, rng: new Rng(seed), profile: { shapes: [] }, ties: 'random' });
      counts[r!.node]!++;
    }
    expect(counts[0] + counts[1]).toBe(0);
    // Half ± 4 standard deviations (sd ≈ 14 draws of 800).
    expect(counts[3] / draws).toBeGreaterThan(0.43);
    expect(counts[3] / draws).toBeLessThan(0.57);
  });
});

describe('the shipped profile follows the core', () => {
  it('on random states, GPU and CPU-only pods: the deployed pick is the top raw score (ties by the tie rank)', async () => {
    const fc = (await import('fast-check')).default;
    const cfg = shippedSchedulerConfig();
    expect(cfg.extenderGpuPodsOnly).toBe(false);
    fc.assert(
      fc.property(
        fc.array(fc.record({ gpus: fc.constantFrom(1, 2, 4, 8), cpu: fc.constantFrom(16000, 64000, 96000), used: fc.integer({ min: 0, max: 8 }), cpuUsed: fc.integer({ min: 0, max: 15000 }) }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 12, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 12, maxLength: 12 }),
        fc.constantFrom(0, 1, 2),
        (specs, raws, ranks, gpus) => {
          const c = clusterOf(...specs.map((s, i) => node(`n${i}`, s.gpus, 'T4', s.cpu, 262144)));
          specs.forEach((s, i) => {
            const take = Math.min(s.used, s.gpus - 1);
            if (take > 0 || s.cpuUsed > 0) put(c, `n${i}`, pod(`busy${i}`, take, take > 0 ? 1000 : 0, s.cpuUsed, 1024), Array.from({ length: take }, (_, g) => g));
          });
          const p = c.compilePod(pod('p', gpus, gpus > 0 ? 1000 : 0, 4000, 1024));
          // Raw scores with many exact ties (rounded), as identical nodes give.
          const raw = (n: number) => Math.round(raws[n]! / 2e5);
          const { node: picked } = deployedPick(cfg, c, p, 0, raw, firstPick(), (n) => ranks[n]!);
          const feasible = specs.map((_, n) => n).filter((n) => c.fits(n, p));
          if (feasible.length === 0) {
            expect(picked).toBe(-1);
            return;
          }
          const best = feasible.reduce((a, b) => (raw(b) > raw(a) || (raw(b) === raw(a) && ranks[b]! < ranks[a]!) ? b : a));
          // Equal raw and equal rank: either is the core's pick.
          expect(raw(picked)).toBe(raw(best));
          expect(ranks[picked]).toBe(ranks[best]);
        },
      ),
      { numRuns: 300, seed: 20261201 },
    );
  });
});
