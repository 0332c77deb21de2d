/**
 * Per-topology tables, built once and shared by every node with the same topology (keyed by a
 * fingerprint of the link matrix and the per-link speed). Every subset of GPUs is a bitmask; the
 * tables give each subset's link quality and, for every mask of free GPUs, the best quality any
 * s-subset of it can still offer (the "leftover" the core tries to preserve).
 */
import type { Topology } from '../topology/types.js';
import { linkBandwidthGBps, nvlinkGBpsPerLinkFor, parseLinkLegend } from '../topology/link.js';
import { BoundedCache } from './lru.js';

/** Largest node the exact tables support (2^16 subsets). */
export const MAX_GPUS_PER_NODE = 16;

/**
 * Per link matrix: decision tables kept (each up to 2^n entries; 2^16 for DGX-2 is 512 KiB of
 * slots). A request mix uses a handful of (eligible, k, mode) keys; users' include/exclude masks
 * can make any number.
 */
export const DECISION_TABLES_PER_TOPOLOGY = 256;
/** Per topology with its models: model/memory constraints kept (a few distinct ones in practice). */
export const ELIGIBILITY_MASKS_PER_TOPOLOGY = 1024;
/**
 * Link matrices and (matrix, models) pairs kept for sharing between nodes. A cluster has a few;
 * GPUNodes can carry any number (degraded links, edits), each with tables of 2^n slots and the
 * decision caches above: past these bounds the least used are dropped (a node holds its own).
 */
export const LINK_TABLES_KEPT = 64;
export const COMPILED_KEPT = 256;

export interface CompiledTopology {
  readonly fingerprint: string;
  /**
   * The first topology compiled with this link matrix, GPU models and memory. Shared by identical
   * nodes: its per-node fields (uuid) belong to that first node — read UUIDs from the node's own
   * Topology (e.g. GpuNodeRecord.topology), never from here.
   */
  readonly topology: Topology;
  readonly n: number;
  /** bandwidthGBps[i*n+j]: estimated bandwidth of the pair. */
  readonly bandwidthGBps: Float64Array;
  /** nvAdj[i]: mask of GPUs with a direct NVLink to i. */
  readonly nvAdj: Int32Array;
  /** quality[mask]: packed set quality (see packQuality); higher is better. */
  readonly quality: Float64Array;
  /** nvAggGBps[mask]: summed NVLink bandwidth over the pairs inside mask (MAPA's preservation score). */
  readonly nvAggGBps: Float64Array;
  /** bestQuality[s * 2^n + mask]: best quality of an s-subset of mask (s ≥ 2), 0 if none. */
  readonly bestQuality: Float64Array;
  /**
   * Decision cache of the search, keyed by (eligible, k, mode) → a table by free mask, shared by
   * identical link matrices; see search.ts. Bounded: eligible masks come from users' include/exclude.
   */
  readonly decisions: BoundedCache<number, unknown>;
  /** Per-GPU lower-cased model strings, for the model constraint. */
  readonly modelsLower: readonly string[];
  /** Cache of model/memory constraint → mask of GPUs that satisfy it (bounded: the strings are users'). */
  readonly eligibilityMasks: BoundedCache<string, number>;
}

// Packed quality: connected bit, then spanning-tree bottleneck, then slowest pair, then aggregate.
// Exact integers below 2^53, so comparisons are exact and the brute-force reference can match them.
const BOTTLENECK_SCALE = 2 ** 30; // bottleneck in 0.1 GB/s, < 2^13
const MINPAIR_SCALE = 2 ** 17; // min pair in 0.1 GB/s, < 2^13
const CONNECTED_SCALE = 2 ** 43;
const AGG_MAX = 2 ** 17 - 1;

export interface SetQuality {
  nvlinkConnected: boolean;
  bottleneckGBps: number;
  minPairGBps: number;
  aggregateGBps: number;
}

export function packQuality(q: SetQuality): number {
  const tb = Math.min(8191, Math.round(q.bottleneckGBps * 10));
  const mp = Math.min(8191, Math.round(q.minPairGBps * 10));
  const agg = Math.min(AGG_MAX, Math.round(q.aggregateGBps));
  return (q.nvlinkConnected ? CONNECTED_SCALE : 0) + tb * BOTTLENECK_SCALE + mp * MINPAIR_SCALE + agg;
}

export function unpackQuality(packed: number): SetQuality {
  const connected = packed >= CONNECTED_SCALE;
  let r = connected ? packed - CONNECTED_SCALE : packed;
  const tb = Math.floor(r / BOTTLENECK_SCALE);
  r -= tb * BOTTLENECK_SCALE;
  const mp = Math.floor(r / MINPAIR_SCALE);
  r -= mp * MINPAIR_SCALE;
  return { nvlinkConnected: connected, bottleneckGBps: tb / 10, minPairGBps: mp / 10, aggregateGBps: r };
}

export function isConnectedQuality(packed: number): boolean {
  return packed >= CONNECTED_SCALE;
}

export function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Is `mask` connected using only edges in adj (adj[i] = neighbour mask of i)? */
function connectedWithin(mask: number, adj: ArrayLike<number>): boolean {
  if (mask === 0) return false;
  let reach = mask & -mask;
  for (;;) {
    let next = reach;
    let r = reach;
    while (r) {
      const low = r & -r;
      next |= adj[31 - Math.clz32(low)] & mask;
      r ^= low;
    }
    if (next === reach) return reach === mask;
    reach = next;
  }
}

/** Topology validation the tables rely on; returns a human error or null. */
export function checkTopology(t: Topology): string | null {
  const n = t.gpus.length;
  if (n === 0) return 'topology has no GPUs';
  if (n > MAX_GPUS_PER_NODE) return `topology has ${n} GPUs; at most ${MAX_GPUS_PER_NODE} per node are supported`;
  if (t.links.length !== n) return `link matrix has ${t.links.length} rows for ${n} GPUs`;
  for (let i = 0; i < n; i++) {
    if (t.gpus[i].index !== i) return `GPU at position ${i} has index ${t.gpus[i].index}; indices must be 0..${n - 1} in order`;
    if (t.links[i].length !== n) return `link matrix row ${i} has ${t.links[i].length} cells for ${n} GPUs`;
    if (t.links[i][i].trim().toUpperCase() !== 'X') return `link matrix diagonal [${i}][${i}] is "${t.links[i][i]}", expected "X"`;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      if (!parseLinkLegend(t.links[i][j])) return `link [${i}][${j}] "${t.links[i][j]}" is not a legend value (NV<n>, PIX, PXB, PHB, NODE, SYS)`;
      if (t.links[i][j].trim().toUpperCase() !== t.links[j][i].trim().toUpperCase()) {
        return `link matrix is not symmetric: [${i}][${j}]="${t.links[i][j]}" but [${j}][${i}]="${t.links[j][i]}"`;
      }
    }
  }
  return null;
}

export function topologyFingerprint(t: Topology, perLinkGBps: number): string {
  return `${perLinkGBps}|${t.links.map((r) => r.map((c) => c.trim().toUpperCase()).join(',')).join(';')}`;
}

/** Per-link NVLink speed used for a topology: measured if known, else guessed from model and bonds. */
export function perLinkGBpsOf(t: Topology): number {
  if (t.nvlinkGBpsPerLink !== undefined) return t.nvlinkGBpsPerLink;
  let maxBond = 0;
  for (const row of t.links) for (const c of row) maxBond = Math.max(maxBond, parseLinkLegend(c)?.nvlinks ?? 0);
  return nvlinkGBpsPerLinkFor(t.gpus.find((g) => g.model)?.model, maxBond);
}

interface LinkTables {
  n: number;
  bandwidthGBps: Float64Array;
  nvAdj: Int32Array;
  quality: Float64Array;
  nvAggGBps: Float64Array;
  bestQuality: Float64Array;
  decisions: BoundedCache<number, unknown>;
}

const linkTables = new BoundedCache<string, LinkTables>(LINK_TABLES_KEPT);

function buildLinkTables(t: Topology, perLink: number): LinkTables {
  const n = t.gpus.length;
  const size = 1 << n;
  const bw = new Float64Array(n * n);
  const nvAdj = new Int32Array(n);
  const levels = new Set<number>();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const b = linkBandwidthGBps(t.links[i][j], perLink);
      bw[i * n + j] = b;
      levels.add(b);
      if (parseLinkLegend(t.links[i][j])!.kind === 'NV') nvAdj[i] |= 1 << j;
    }
  }
  // Adjacency per bandwidth threshold, for the maximin spanning-tree bottleneck.
  const thresholds = [...levels].sort((a, b) => b - a);
  const adjAt = thresholds.map((th) => {
    const adj = new Int32Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && bw[i * n + j] >= th) adj[i] |= 1 << j;
    return adj;
  });

  const minPair = new Float64Array(size).fill(Infinity);
  const agg = new Float64Array(size);
  const nvAgg = new Float64Array(size);
  const quality = new Float64Array(size);
  for (let mask = 1; mask < size; mask++) {
    const low = 31 - Math.clz32(mask & -mask);
    const rest = mask & (mask - 1);
    let mp = minPair[rest];
    let a = agg[rest];
    let nva = nvAgg[rest];
    let r = rest;
    while (r) {
      const lb = r & -r;
      const j = 31 - Math.clz32(lb);
      const b = bw[low * n + j];
      if (b < mp) mp = b;
      a += b;
      if (nvAdj[low] & lb) nva += b;
      r ^= lb;
    }
    minPair[mask] = mp;
    agg[mask] = a;
    nvAgg[mask] = nva;
    if (rest === 0) {
      quality[mask] = packQuality({ nvlinkConnected: true, bottleneckGBps: 0, minPairGBps: 0, aggregateGBps: 0 });
      continue;
    }
    let tb = 0;
    for (let l = 0; l < thresholds.length; l++) {
      if (connectedWithin(mask, adjAt[l])) {
        tb = thresholds[l];
        break;
      }
    }
    quality[mask] = packQuality({
      nvlinkConnected: connectedWithin(mask, nvAdj),
      bottleneckGBps: tb,
      minPairGBps: mp,
      aggregateGBps: a,
    });
  }

  // bestQuality[s][mask] = max(quality(mask) if |mask| = s, max over i of bestQuality[s][mask \ i]).
  const best = new Float64Array((n + 1) * size);
  for (let mask = 1; mask < size; mask++) {
    const pc = popcount(mask);
    if (pc >= 2) best[pc * size + mask] = quality[mask];
    let r = mask;
    while (r) {
      const lb = r & -r;
      const sub = mask ^ lb;
      for (let s = 2; s < pc; s++) {
        const v = best[s * size + sub];
        if (v > best[s * size + mask]) best[s * size + mask] = v;
      }
      r ^= lb;
    }
  }
  return { n, bandwidthGBps: bw, nvAdj, quality, nvAggGBps: nvAgg, bestQuality: best, decisions: new BoundedCache(DECISION_TABLES_PER_TOPOLOGY) };
}

const compiled = new WeakMap<Topology, CompiledTopology>();

/**
 * Compile a topology (throws with a clear message when it is malformed). Cheap for a topology
 * seen before: the link tables are shared by fingerprint; the per-node wrapper keeps GPU models.
 */
export function compileTopology(t: Topology): CompiledTopology {
  const hit = compiled.get(t);
  if (hit) return hit;
  const err = checkTopology(t);
  if (err) throw new Error(`invalid topology${t.name ? ` "${t.name}"` : ''}: ${err}`);
  const perLink = perLinkGBpsOf(t);
  const fp = topologyFingerprint(t, perLink);
  let tables = linkTables.get(fp);
  if (!tables) {
    tables = buildLinkTables(t, perLink);
    linkTables.set(fp, tables);
  }
  const modelsLower = t.gpus.map((g) => (g.model ?? '').toLowerCase());
  const modelKey = `${fp}#${modelsLower.join('|')}#${t.gpus.map((g) => g.memoryMiB ?? '').join('|')}`;
  let c = byModelKey.get(modelKey);
  if (!c) {
    c = { fingerprint: modelKey, topology: t, ...tables, modelsLower, eligibilityMasks: new BoundedCache(ELIGIBILITY_MASKS_PER_TOPOLOGY) };
    byModelKey.set(modelKey, c);
  }
  compiled.set(t, c);
  return c;
}

const byModelKey = new BoundedCache<string, CompiledTopology>(COMPILED_KEPT);

/** How many link matrices and compiled topologies are kept for sharing (bounded: LINK_TABLES_KEPT, COMPILED_KEPT). */
export const compiledKept = (): { linkTables: number; compiled: number } => ({ linkTables: linkTables.size, compiled: byModelKey.size });
