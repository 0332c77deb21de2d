/**
 * The exact GPU-set search for whole-GPU requests. Among the k-subsets of the eligible free GPUs
 * it returns the best under this lexicographic objective (docs/objective.md):
 *   1. NVLink-connected (when the mode asks for NVLink; required sets are the only candidates),
 *   2. the leftover: for s = |free after| down to 2, the best quality of an s-subset still free,
 *   3. the set's own link quality (bottleneck, slowest pair, aggregate),
 *   4. lowest GPU indices.
 * Results are cached per (eligible mask, free mask, k, mode) in the compiled topology, so a
 * repeated query is one Map lookup.
 */
import { type CompiledTopology, isConnectedQuality, popcount } from './compile.js';

export type ConnectivityRule = 'require' | 'prefer' | 'ignore';
const RULE_INDEX: Record<ConnectivityRule, number> = { require: 0, prefer: 1, ignore: 2 };

/** Bound on cached decisions per link matrix; cleared wholesale when reached (entries are cheap to redo). */
const MAX_CACHED = 1 << 18;

/** -1 when no subset qualifies. */
export function bestWholeSet(ct: CompiledTopology, eligible: number, free: number, k: number, rule: ConnectivityRule): number {
  const key = eligible + free * 65536 + k * 4294967296 + RULE_INDEX[rule] * 137438953472;
  const cache = ct.decisions as Map<number, number>;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const result = searchWholeSet(ct, eligible & free, free, k, rule);
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, result);
  return result;
}

/** Does candidate a beat b (both k-subsets of free)? */
export function betterWholeSet(ct: CompiledTopology, a: number, b: number, free: number, rule: ConnectivityRule): boolean {
  const q = ct.quality;
  if (rule === 'prefer') {
    const ca = isConnectedQuality(q[a]);
    if (ca !== isConnectedQuality(q[b])) return ca;
  }
  const ra = free & ~a;
  const rb = free & ~b;
  const size = 1 << ct.n;
  const best = ct.bestQuality;
  for (let s = popcount(ra); s >= 2; s--) {
    const va = best[s * size + ra];
    const vb = best[s * size + rb];
    if (va !== vb) return va > vb;
  }
  if (q[a] !== q[b]) return q[a] > q[b];
  const d = a ^ b;
  return (a & d & -d) !== 0;
}

function searchWholeSet(ct: CompiledTopology, candidates: number, free: number, k: number, rule: ConnectivityRule): number {
  const idx: number[] = [];
  for (let r = candidates; r; r &= r - 1) idx.push(31 - Math.clz32(r & -r));
  const m = idx.length;
  if (k < 1 || k > m) return -1;
  let best = -1;
  // Gosper's hack over m-bit combinations, mapped onto the candidate GPUs.
  let x = (1 << k) - 1;
  const limit = 1 << m;
  while (x < limit) {
    let set = 0;
    for (let r = x; r; r &= r - 1) set |= 1 << idx[31 - Math.clz32(r & -r)];
    if (rule !== 'require' || isConnectedQuality(ct.quality[set])) {
      if (best === -1 || betterWholeSet(ct, set, best, free, rule)) best = set;
    }
    const c = x & -x;
    const r = x + c;
    x = (((r ^ x) >>> 2) / c) | r;
  }
  return best;
}
