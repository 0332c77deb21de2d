/**
 * linkpack against the best baseline, seed by seed: each seed runs every policy on the same jobs,
 * so the per-seed difference cancels what the seed's workload does to all of them, and its spread
 * says whether a gap between two means is more than seed noise (the built-in scenario's 800% level
 * moves by a point with the tie order alone: docs/simulator.md).
 */
import { meanSd, type PolicySummary } from './metrics.js';
import { LINKPACK_VARIANTS } from './policies.js';

/** Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t(0.975, df): the table up to 30, then the Cornish–Fisher expansion around the normal (error < 0.001). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** Is this summary a baseline (not one of linkpack's own variants)? */
function isBaseline(policy: string): boolean {
  return policy !== 'linkpack' && !(LINKPACK_VARIANTS as readonly string[]).includes(policy);
}

export interface Difference {
  /** Mean difference, ours − theirs, in points of unallocated GPU %. */
  meanPct: number;
  /** Half-width of its 95% confidence interval (Student's t); null when it cannot be had. */
  ci95Pct: number | null;
}

/** Mean ± sd over n values (the form the FGD authors' published seeds are summarised in). */
export interface SampleStat {
  mean: number;
  sd: number;
  n: number;
}

/**
 * Two independent samples (ours against the published seeds: another RNG, so no pairing):
 * Welch's interval, its degrees of freedom rounded down (the wider, safer interval).
 */
export function welchDifference(ours: SampleStat, theirs: SampleStat): Difference {
  const meanPct = ours.mean - theirs.mean;
  if (ours.n < 2 || theirs.n < 2) return { meanPct, ci95Pct: null };
  const a = (ours.sd * ours.sd) / ours.n;
  const b = (theirs.sd * theirs.sd) / theirs.n;
  if (a + b === 0) return { meanPct, ci95Pct: 0 };
  const df = (a + b) ** 2 / ((a * a) / (ours.n - 1) + (b * b) / (theirs.n - 1));
  return { meanPct, ci95Pct: tQuantile975(Math.max(1, Math.floor(df))) * Math.sqrt(a + b) };
}

/** A difference taken seed by seed. */
export interface SeedPairs extends Difference {
  /** Seeds on which ours left fewer GPUs unallocated than theirs. */
  fewerSeeds: number;
  seeds: number;
}

/** `policy` against the best baseline at one point. */
export interface PairedDifference extends SeedPairs {
  /** Arrived demand, % of capacity. */
  point: number;
  policy: string;
  /** The baseline with the lowest mean unallocated % at this point. */
  against: string;
}

/** `ours` − `theirs` at `point`, seed by seed over the seeds both have a value for; null if none. */
export function pairedDifference(ours: PolicySummary, theirs: PolicySummary, point: number): SeedPairs | null {
  const byseed = new Map(theirs.perSeed.map((p) => [p.seed, p.metrics.unallocatedPct[point]]));
  const diffs: number[] = [];
  for (const p of ours.perSeed) {
    const a = p.metrics.unallocatedPct[point];
    const b = byseed.get(p.seed);
    if (typeof a === 'number' && typeof b === 'number') diffs.push(a - b);
  }
  const { mean, sd } = meanSd(diffs);
  if (mean === null || sd === null) return null;
  const n = diffs.length;
  return { meanPct: mean, ci95Pct: n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : null, fewerSeeds: diffs.filter((d) => d < 0).length, seeds: n };
}

/**
 * For each point: `policy` against the baseline with the lowest mean there, over the seeds both
 * ran. Empty when the policy or every baseline is missing.
 */
export function pairedAgainstBestBaseline(summaries: readonly PolicySummary[], points: readonly number[], policy = 'linkpack'): PairedDifference[] {
  const ours = summaries.find((s) => s.policy === policy);
  const baselines = summaries.filter((s) => isBaseline(s.policy));
  if (!ours || baselines.length === 0) return [];
  const out: PairedDifference[] = [];
  for (const point of points) {
    let best: PolicySummary | undefined;
    for (const b of baselines) {
      const v = b.unallocatedPct[point];
      if (typeof v === 'number' && (best === undefined || v < (best.unallocatedPct[point] as number))) best = b;
    }
    const d = best && pairedDifference(ours, best, point);
    if (best && d) out.push({ point, policy, against: best.policy, ...d });
  }
  return out;
}
