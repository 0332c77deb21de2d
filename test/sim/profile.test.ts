import { describe, expect, it } from 'vitest';
import { MIN_PODS_FOR_PROFILE } from '../../src/extender/observed-profile.js';
import { ObservedRunProfile, runProfile } from '../../src/sim/profile.js';
import { deployedPolicy, makePolicy, shippedWithDeviceCount, type PolicyName } from '../../src/sim/policies.js';
import { Rng } from '../../src/sim/rng.js';
import { runTimeline } from '../../src/sim/timeline.js';
import { clusterOf, node, pod } from './helpers.js';

describe('the profile as the extender learns it (ObservedRunProfile)', () => {
  const c = clusterOf(node('n0', 8, 'V100M16'), node('n1', 4, 'T4'));
  const gpu = (i: number) => pod(`g${i}`, 1, 1000);

  it('none below MIN_PODS_FOR_PROFILE GPU pods; then built from the pods seen, again each time their count doubles', () => {
    const o = new ObservedRunProfile();
    for (let i = 0; i < MIN_PODS_FOR_PROFILE - 1; i++) {
      expect(o.at(gpu(i), c).shapes).toEqual([]);
      o.placed(gpu(i));
    }
    const first = o.at(gpu(99), c); // the asking pod counts: 20 seen
    expect(first).toEqual(runProfile([...Array.from({ length: MIN_PODS_FOR_PROFILE - 1 }, (_, i) => gpu(i)), gpu(99)], c));
    o.placed(gpu(99));
    for (let i = 0; i < MIN_PODS_FOR_PROFILE - 1; i++) {
      expect(o.at(pod(`e${i}`, 8, 1000), c)).toBe(first); // 21…39 seen: not rebuilt
      o.placed(pod(`e${i}`, 8, 1000));
    }
    expect(o.at(pod('e99', 8, 1000), c).shapes.map((s) => s.gpuCount).sort()).toEqual([1, 8]); // 40: rebuilt
    o.reset();
    expect(o.at(gpu(0), c).shapes).toEqual([]);
  });

  it('departed pods leave it, as they leave the extender\'s cache: not counted, not in the next shapes', () => {
    const o = new ObservedRunProfile();
    const ones = Array.from({ length: MIN_PODS_FOR_PROFILE }, (_, i) => gpu(i));
    for (const p of ones) {
      o.at(p, c);
      o.placed(p);
    }
    const eights = Array.from({ length: MIN_PODS_FOR_PROFILE - 1 }, (_, i) => pod(`e${i}`, 8, 1000));
    for (const p of eights) o.placed(p); // 39 seen
    for (const p of ones) o.departed(p); // 19 seen
    o.departed(gpu(0)); // never placed (another object): nothing changes
    const twos = Array.from({ length: MIN_PODS_FOR_PROFILE + 1 }, (_, i) => pod(`t${i}`, 2, 1000));
    for (const p of twos.slice(0, -1)) {
      expect(o.at(p, c).shapes.map((s) => s.gpuCount)).toEqual([1]); // 20…39 seen: the profile built at 20
      o.placed(p);
    }
    expect(o.at(twos.at(-1)!, c)).toEqual(runProfile([...eights, ...twos], c)); // 40: rebuilt, without the departed
  });

  it('a run with departures tells the policy which pods left', () => {
    const left: string[] = [];
    const policy = { name: 'probe', choose: () => ({ node: 0, gpus: [0] }), departed: (p: { name: string }) => left.push(p.name) };
    const jobs = [0, 1, 2].map((i) => ({ pod: c.compilePod(pod(`j${i}`, 1, 100)), arriveAt: i * 10, duration: 15 }));
    runTimeline(c, jobs, policy, 1, { shapes: [] });
    expect(left).toEqual(['j0']); // j0 ends at 15, before j2 arrives at 20; j1 ends at 25, after the last arrival
    c.reset();
  });

  it('CPU-only pods count as pods, not as GPU pods', () => {
    const o = new ObservedRunProfile();
    for (let i = 0; i < 30; i++) o.placed(pod(`c${i}`, 0, 0));
    expect(o.at(gpu(0), c).shapes).toEqual([]); // 31 seen, 1 GPU pod
  });

  it('the deployed policy with it places the first pods by the order without a profile, where the whole list\'s profile would protect T4', () => {
    // Half the GPU demand may only use T4: with the whole list's profile an unconstrained single
    // GPU stays off the T4 box; the extender, having seen no pod yet, has no profile and takes the
    // GPU that costs no NVLink bandwidth — on the PCIe T4 box.
    const list = [...Array.from({ length: 20 }, (_, i) => pod(`t${i}`, 1, 1000, 1000, 1024, ['T4'])), ...Array.from({ length: 20 }, (_, i) => pod(`u${i}`, 1, 1000))];
    const profile = runProfile(list, c);
    const ask = c.compilePod(pod('u', 1, 1000));
    const ctx = { cluster: c, rng: new Rng(1), profile, ties: 'first' as const };
    const pick = (observedProfile: boolean) => c.specs[deployedPolicy(shippedWithDeviceCount(10), 'x', { observedProfile }).choose(ask, ctx)!.node]!.name;
    expect(pick(false)).toBe('n0');
    expect(pick(true)).toBe('n1');
    // The named variants: linkpack-deployed sees the whole list's profile, -learned learns it.
    const named = (name: PolicyName) => c.specs[makePolicy(name).choose(ask, ctx)!.node]!.name;
    expect(named('linkpack-deployed')).toBe('n0');
    expect(named('linkpack-deployed-learned')).toBe('n1');
  });
});
