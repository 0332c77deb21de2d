/**
 * Map raw node scores onto kube-scheduler's eleven extender levels (0..10).
 * 0 is kept for nodes that do not fit. Fitting nodes get 1..10; with an NVLink mode and k ≥ 2,
 * nodes that give an NVLink-connected set take the upper band (6..10) and the rest 1..5, so that
 * no other plugin's nudge can make a PCIe-only choice outrank an NVLink one by our score alone.
 * Within a band levels follow the dense rank of the raw scores, so every level is used.
 */
import type { NodeDecision } from './types.js';

const TIER_WEIGHT = 1e12; // must match place.ts W_TIER

function bandOf(raw: number): number {
  return raw >= TIER_WEIGHT / 2 ? 1 : 0;
}

export function extenderScores(decisions: readonly NodeDecision[]): number[] {
  const out = new Array<number>(decisions.length).fill(0);
  let anyTiered = false;
  const distinct: [Set<number>, Set<number>] = [new Set(), new Set()];
  for (const d of decisions) {
    if (!d.fits) continue;
    const b = bandOf(d.rawScore);
    if (b) anyTiered = true;
    distinct[b].add(d.rawScore);
  }
  const ranks = distinct.map((s) => {
    const sorted = [...s].sort((a, b) => a - b);
    return new Map(sorted.map((v, i) => [v, sorted.length === 1 ? 1 : i / (sorted.length - 1)]));
  });
  for (let i = 0; i < decisions.length; i++) {
    const d = decisions[i];
    if (!d.fits) continue;
    const b = bandOf(d.rawScore);
    const [lo, hi] = anyTiered ? (b ? [6, 10] : [1, 5]) : [1, 10];
    out[i] = lo + Math.round(ranks[b].get(d.rawScore)! * (hi - lo));
  }
  return out;
}
