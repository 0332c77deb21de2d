/**
 * Map the core's raw node scores onto kube-scheduler's eleven extender levels (0..10): the
 * scheduler's scale, not placement, so it lives in the extender; the core keeps rawScore.
 * 0 is kept for nodes that do not fit. Fitting nodes get 1..10; with an NVLink mode and k ≥ 2,
 * nodes that give an NVLink-connected set take the upper band (6..10) and the rest 1..5, so that
 * a PCIe-only choice never outranks an NVLink one by our score. Within a band, levels follow the
 * dense rank of the raw scores, so the levels in use spread over the band.
 */
import { RAW_SCORE_NVLINK_TIER, type NodeDecision } from '../core/index.js';

const UPPER_BAND = RAW_SCORE_NVLINK_TIER;
/** Ranks are taken over at most this many evenly strided samples per band: exact below it. */
const RANK_SAMPLES = 512;

/**
 * Sorted distinct values of one band. Above RANK_SAMPLES values a deterministic strided sample
 * stands in for the whole band: levels stay monotone in the raw score and spread like its
 * quantiles, without sorting every node (that sort would cost more than the scoring itself).
 */
function distinctSorted(raw: Float64Array, upper: boolean, count: number): Float64Array {
  const stride = Math.max(1, Math.ceil(count / RANK_SAMPLES));
  const vals = new Float64Array(Math.ceil(count / stride));
  let m = 0;
  let seen = 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r === r && r >= UPPER_BAND === upper && seen++ % stride === 0) vals[m++] = r;
  }
  const sorted = vals.subarray(0, m).sort();
  let d = 0;
  for (let i = 0; i < m; i++) if (d === 0 || sorted[i] !== sorted[d - 1]) sorted[d++] = sorted[i];
  return sorted.subarray(0, d);
}

/** Index of the first sample ≥ v (clamped to the last). */
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
export function extenderScoresFromRaw(raw: Float64Array): Uint8Array {
  const out = new Uint8Array(raw.length);
  let upperCount = 0;
  let lowerCount = 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r !== r) continue;
    if (r >= UPPER_BAND) upperCount++;
    else lowerCount++;
  }
  const lower = distinctSorted(raw, false, lowerCount);
  const upper = distinctSorted(raw, true, upperCount);
  const tiered = upperCount > 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r !== r) continue;
    const inUpper = r >= UPPER_BAND;
    const lo = tiered ? (inUpper ? 6 : 1) : 1;
    const hi = tiered ? (inUpper ? 10 : 5) : 10;
    const d = inUpper ? upper : lower;
    out[i] = d.length === 1 ? hi : lo + Math.round((rankOf(d, r) / (d.length - 1)) * (hi - lo));
  }
  return out;
}

export function extenderScores(decisions: readonly NodeDecision[]): number[] {
  return Array.from(extenderScoresFromRaw(Float64Array.from(decisions, (d) => (d.fits ? d.rawScore : NaN))));
}
