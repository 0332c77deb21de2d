/**
 * A deliberately naive, independent implementation of the objective in docs/objective.md, used
 * only as the oracle of the property tests: every subset is enumerated, every leftover subset too.
 */
import { linkBandwidthGBps, isNvlink } from '../../src/topology/link.js';
import type { Topology } from '../../src/topology/types.js';
import { packQuality, perLinkGBpsOf } from '../../src/core/compile.js';

export function subsetsOfSize(items: number[], k: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, acc: number[]) => {
    if (acc.length === k) return void out.push([...acc]);
    for (let i = start; i < items.length; i++) rec(i + 1, [...acc, items[i]]);
  };
  rec(0, []);
  return out;
}

export class Reference {
  private readonly bw: number[][];
  private readonly memo = new Map<string, number>();
  constructor(private readonly t: Topology) {
    const per = perLinkGBpsOf(t);
    this.bw = t.links.map((row) => row.map((c) => linkBandwidthGBps(c, per)));
  }

  nv(i: number, j: number): boolean {
    return i !== j && isNvlink(this.t.links[i][j]);
  }

  /** Packed quality of a set, computed from first principles. */
  quality(set: number[]): number {
    const key = set.join(',');
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    let v: number;
    if (set.length === 1) v = packQuality({ nvlinkConnected: true, bottleneckGBps: 0, minPairGBps: 0, aggregateGBps: 0 });
    else {
      let minPair = Infinity;
      let agg = 0;
      for (let a = 0; a < set.length; a++)
        for (let b = a + 1; b < set.length; b++) {
          minPair = Math.min(minPair, this.bw[set[a]][set[b]]);
          agg += this.bw[set[a]][set[b]];
        }
      // NVLink-connected: flood fill over NVLink pairs.
      const seen = new Set([set[0]]);
      const stack = [set[0]];
      while (stack.length) {
        const i = stack.pop()!;
        for (const j of set) if (!seen.has(j) && this.nv(i, j)) (seen.add(j), stack.push(j));
      }
      // Maximin spanning tree bottleneck (Prim with max-min keys).
      const inTree = new Set([set[0]]);
      let bottleneck = Infinity;
      while (inTree.size < set.length) {
        let bestB = -1;
        let bestJ = -1;
        for (const i of inTree) for (const j of set) if (!inTree.has(j) && this.bw[i][j] > bestB) (bestB = this.bw[i][j]), (bestJ = j);
        inTree.add(bestJ);
        bottleneck = Math.min(bottleneck, bestB);
      }
      v = packQuality({ nvlinkConnected: seen.size === set.length, bottleneckGBps: bottleneck, minPairGBps: minPair, aggregateGBps: agg });
    }
    this.memo.set(key, v);
    return v;
  }

  connected(set: number[]): boolean {
    return this.quality(set) >= 2 ** 43;
  }

  /** Leftover vector: for s = |rest| .. 2, the best quality of an s-subset of rest. */
  leftover(rest: number[]): number[] {
    const out: number[] = [];
    for (let s = rest.length; s >= 2; s--) out.push(Math.max(0, ...subsetsOfSize(rest, s).map((x) => this.quality(x))));
    return out;
  }

  /** The best k-set among eligible free GPUs, or null. */
  best(eligibleFree: number[], allFree: number[], k: number, mode: 'require' | 'prefer' | 'ignore'): number[] | null {
    let best: number[] | null = null;
    let bestKey: number[] = [];
    for (const s of subsetsOfSize(eligibleFree, k)) {
      if (mode === 'require' && !this.connected(s)) continue;
      const rest = allFree.filter((g) => !s.includes(g));
      const key = [mode === 'prefer' ? (this.connected(s) ? 1 : 0) : 0, ...this.leftover(rest), this.quality(s)];
      // Ties go to the lower GPU indices.
      if (best === null || greater(key, bestKey) || (equal(key, bestKey) && lowerIndices(s, best))) {
        best = s;
        bestKey = key;
      }
    }
    return best;
  }
}

function greater(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}
function equal(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
/** Sorted sets: a wins when at the first difference it has the lower index. */
function lowerIndices(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
