/**
 * Map raw node scores onto kube-scheduler's eleven extender levels (0..10).
 * 0 is kept for nodes that do not fit. Fitting nodes get 1..10; with an NVLink mode and k ≥ 2,
 * nodes that give an NVLink-connected set take the upper band (6..10) and the rest 1..5, so that
 * a PCIe-only choice never outranks an NVLink one by our score. Within a band, levels follow the
 * dense rank of the raw scores, so the levels in use spread over the band.
 */
import { W_TIER } from './place.js';
import type { NodeDecision } from './types.js';

/** Raw scores (NaN = no fit) → 0..10, same order. */
export function extenderScoresFromRaw(raw: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(raw.length);
  const distinct: [Set<number>, Set<number>] = [new Set(), new Set()];
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r === r) distinct[r >= W_TIER / 2 ? 1 : 0].add(r);
  }
  const tiered = distinct[1].size > 0;
  const ranks = distinct.map((s) => {
    const sorted = Float64Array.from(s).sort();
    const m = new Map<number, number>();
    for (let i = 0; i < sorted.length; i++) m.set(sorted[i], sorted.length === 1 ? 1 : i / (sorted.length - 1));
    return m;
  });
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r !== r) continue;
    const b = r >= W_TIER / 2 ? 1 : 0;
    const lo = tiered ? (b ? 6 : 1) : 1;
    const hi = tiered ? (b ? 10 : 5) : 10;
    out[i] = lo + Math.round(ranks[b].get(r)! * (hi - lo));
  }
  return out;
}

export function extenderScores(decisions: readonly NodeDecision[]): number[] {
  return Array.from(extenderScoresFromRaw(decisions.map((d) => (d.fits ? d.rawScore : NaN))));
}
