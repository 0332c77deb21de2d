/**
 * The exact GPU-set search for whole-GPU requests. Among the k-subsets of the eligible free GPUs
 * it returns the best under this lexicographic objective (docs/objective.md):
 *   1. NVLink-connected (when the mode asks for NVLink; required sets are the only candidates),
 *   2. the leftover: for s = |free after| down to 2, the best quality of an s-subset still free,
 *   3. the set's own link quality (bottleneck, slowest pair, aggregate),
 *   4. lowest GPU indices.
 * Results, with everything the score needs about them, are cached per (eligible mask, k, mode) in
 * a table indexed by the free mask, shared by every node with the same link matrix: a repeated
 * query is two array reads.
 */
import { type CompiledTopology, isConnectedQuality, popcount, unpackQuality, type SetQuality } from './compile.js';
import type { BoundedCache } from './lru.js';

export type ConnectivityRule = 'require' | 'prefer' | 'ignore';
const RULE_INDEX: Record<ConnectivityRule, number> = { require: 0, prefer: 1, ignore: 2 };

/** A chosen whole-GPU set and the facts about it that do not depend on anything but the masks. */
export interface WholeSetChoice {
  mask: number;
  gpus: readonly number[];
  quality: SetQuality;
  allPairsNvlink: boolean;
  freeAfter: number;
  largestNvlinkSetAfter: number;
  /** NVLink bandwidth among free GPUs before and after (MAPA's preservation score). */
  nvFreeBeforeGBps: number;
  nvFreeAfterGBps: number;
}

/** null = no subset qualifies. */
export function bestWholeSet(ct: CompiledTopology, eligible: number, free: number, k: number, rule: ConnectivityRule): WholeSetChoice | null {
  const tables = ct.decisions as BoundedCache<number, Array<WholeSetChoice | null | undefined>>;
  const key = eligible | (k << 16) | (RULE_INDEX[rule] << 21);
  let table = tables.get(key);
  if (!table) {
    table = new Array(1 << ct.n);
    tables.set(key, table);
  }
  let hit = table[free];
  if (hit === undefined) {
    hit = describeChoice(ct, searchWholeSet(ct, eligible & free, free, k, rule), free);
    table[free] = hit;
  }
  return hit;
}

/** The same search without the cache: a full C(m,k) enumeration every time (benchmark baseline). */
export function bestWholeSetUncached(ct: CompiledTopology, eligible: number, free: number, k: number, rule: ConnectivityRule): WholeSetChoice | null {
  return describeChoice(ct, searchWholeSet(ct, eligible & free, free, k, rule), free);
}

/** Facts about a chosen set (mask = -1: none). */
export function describeChoice(ct: CompiledTopology, mask: number, free: number): WholeSetChoice | null {
  if (mask === -1) return null;
  const gpus: number[] = [];
  for (let r = mask; r; r &= r - 1) gpus.push(31 - Math.clz32(r & -r));
  const freeAfter = free & ~mask;
  const size = 1 << ct.n;
  let largest = freeAfter ? 1 : 0;
  for (let s = popcount(freeAfter); s >= 2; s--) {
    if (isConnectedQuality(ct.bestQuality[s * size + freeAfter])) {
      largest = s;
      break;
    }
  }
  let allPairs = gpus.length >= 2;
  for (const i of gpus) if ((ct.nvAdj[i] & mask) !== (mask & ~(1 << i))) allPairs = false;
  return Object.freeze({
    mask,
    gpus: Object.freeze(gpus),
    quality: Object.freeze(unpackQuality(ct.quality[mask])),
    allPairsNvlink: allPairs,
    freeAfter,
    largestNvlinkSetAfter: largest,
    nvFreeBeforeGBps: ct.nvAggGBps[free],
    nvFreeAfterGBps: ct.nvAggGBps[freeAfter],
  });
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
