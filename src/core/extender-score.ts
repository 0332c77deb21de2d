/**
 * Map raw node scores onto kube-scheduler's eleven extender levels (0..10).
 * 0 is kept for nodes that do not fit. Fitting nodes get 1..10; with an NVLink mode and k ≥ 2,
 * nodes that give an NVLink-connected set take the upper band (6..10) and the rest 1..5, so that
 * a PCIe-only choice never outranks an NVLink one by our score. Within a band, levels follow the
 * dense rank of the raw scores, so the levels in use spread over the band.
 */
import { W_TIER } from './place.js';
import type { NodeDecision } from './types.js';

/** Sorted distinct values of one band (typed arrays: numeric sort, no hashing). */
function distinctSorted(raw: ArrayLike<number>, upper: boolean): Float64Array {
  const vals = new Float64Array(raw.length);
  let m = 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r === r && r >= W_TIER / 2 === upper) vals[m++] = r;
  }
  const sorted = vals.subarray(0, m).sort();
  let d = 0;
  for (let i = 0; i < m; i++) if (d === 0 || sorted[i] !== sorted[d - 1]) sorted[d++] = sorted[i];
  return sorted.subarray(0, d);
}

function rankOf(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Raw scores (NaN = no fit) → 0..10, same order. */
export function extenderScoresFromRaw(raw: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(raw.length);
  const bands = [distinctSorted(raw, false), distinctSorted(raw, true)];
  const tiered = bands[1].length > 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r !== r) continue;
    const b = r >= W_TIER / 2 ? 1 : 0;
    const lo = tiered ? (b ? 6 : 1) : 1;
    const hi = tiered ? (b ? 10 : 5) : 10;
    const d = bands[b];
    out[i] = lo + (d.length === 1 ? hi - lo : Math.round((rankOf(d, r) / (d.length - 1)) * (hi - lo)));
  }
  return out;
}

export function extenderScores(decisions: readonly NodeDecision[]): number[] {
  return Array.from(extenderScoresFromRaw(decisions.map((d) => (d.fits ? d.rawScore : NaN))));
}
