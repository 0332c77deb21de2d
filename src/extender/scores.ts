/**
 * Map the core's raw node scores onto kube-scheduler's eleven extender levels (0..10): the
 * scheduler's scale, not placement, so it lives in the extender; the core keeps rawScore.
 * 0 is kept for nodes that do not fit. The core's pick alone gets 10: the highest raw score,
 * ties to the lowest tie rank (a stable per-node order, nodeTieRank). Every other fitting node
 * gets 1..8, so the pick leads by at least two levels (weight 5: 100 points, more than
 * NodeResourcesFit can move) while affinity, taints and topology spread keep their say. Eleven
 * levels cannot carry the core's ranking, and kube-scheduler breaks equal totals at random:
 * both made the deployed pick drift far from the core's (docs/simulator.md, "As deployed").
 * Among the others, with an NVLink mode and k ≥ 2, nodes that give an NVLink-connected set take
 * the upper band (5..8) and the rest 1..4, so a PCIe-only choice never outranks an NVLink one by
 * our score; within a band, levels follow the dense rank of the raw scores.
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

/**
 * A stable order among nodes whose raw scores tie (FNV-1a of the name): the same on every
 * extender replica and after restarts, so equal nodes fill in one fixed order — the FGD
 * artifact's rule (a per-cluster random node order), which packs far better than a fresh coin
 * toss per pod (kube-scheduler's own tie rule; docs/simulator.md, "Ties").
 */
export function nodeTieRank(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Raw scores (NaN = no fit) → 0..10, same order; `tieRank(i)` orders equal raw scores (default: input order). */
export function extenderScoresFromRaw(raw: Float64Array, tieRank?: (i: number) => number): Uint8Array {
  const out = new Uint8Array(raw.length);
  let upperCount = 0;
  let lowerCount = 0;
  let pick = -1;
  let pickRank = 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r !== r) continue;
    if (r >= UPPER_BAND) upperCount++;
    else lowerCount++;
    if (pick === -1 || r > raw[pick]) {
      pick = i;
      pickRank = -1;
    } else if (r === raw[pick] && tieRank) {
      if (pickRank === -1) pickRank = tieRank(pick);
      const t = tieRank(i);
      if (t < pickRank) {
        pick = i;
        pickRank = t;
      }
    }
  }
  const lower = distinctSorted(raw, false, lowerCount);
  const upper = distinctSorted(raw, true, upperCount);
  const tiered = upperCount > 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i];
    if (r !== r) continue;
    const inUpper = r >= UPPER_BAND;
    if (i === pick) {
      out[i] = 10;
      continue;
    }
    const lo = tiered ? (inUpper ? 5 : 1) : 1;
    const hi = tiered ? (inUpper ? 8 : 4) : 8;
    const d = inUpper ? upper : lower;
    out[i] = d.length === 1 ? hi : lo + Math.round((rankOf(d, r) / (d.length - 1)) * (hi - lo));
  }
  return out;
}

export function extenderScores(decisions: readonly NodeDecision[]): number[] {
  const raw = Float64Array.from(decisions, (d) => (d.fits ? d.rawScore : NaN));
  return Array.from(extenderScoresFromRaw(raw, (i) => nodeTieRank(decisions[i]!.node)));
}
