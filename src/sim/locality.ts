/**
 * NVLink locality of multi-GPU placements, measured with the core's own link tables: is the chosen
 * set NVLink-connected, and what is the bottleneck of its best spanning tree (GB/s).
 */
import { unpackQuality, type CompiledTopology } from '../core/index.js';

export interface LocalityTally {
  /** Placed pods with ≥ 2 GPUs. */
  multiGpuPods: number;
  connected: number;
  bottleneckSumGBps: number;
  /** Of those, the pods placed on nodes whose topology has an NVLink-connected set of their size. */
  onCapableNodes: number;
  connectedOnCapableNodes: number;
}

export function emptyTally(): LocalityTally {
  return { multiGpuPods: 0, connected: 0, bottleneckSumGBps: 0, onCapableNodes: 0, connectedOnCapableNodes: 0 };
}

export interface SetLocality {
  nvlinkConnected: boolean;
  bottleneckGBps: number;
}

export function gpuMask(gpus: readonly number[]): number {
  let m = 0;
  for (const g of gpus) m |= 1 << g;
  return m;
}

export function setLocality(ct: CompiledTopology, gpus: readonly number[]): SetLocality {
  const q = unpackQuality(ct.quality[gpuMask(gpus)]);
  return { nvlinkConnected: q.nvlinkConnected, bottleneckGBps: q.bottleneckGBps };
}

const capable = new WeakMap<CompiledTopology, boolean[]>();

/** Does the topology have any NVLink-connected set of k GPUs? */
export function topologyAllowsConnected(ct: CompiledTopology, k: number): boolean {
  let row = capable.get(ct);
  if (!row) {
    row = [];
    const size = 1 << ct.n;
    const all = size - 1;
    for (let s = 0; s <= ct.n; s++) row.push(s <= 1 ? true : unpackQuality(ct.bestQuality[s * size + all]).nvlinkConnected);
    capable.set(ct, row);
  }
  return k <= ct.n && row[k];
}

export function tally(t: LocalityTally, ct: CompiledTopology, gpus: readonly number[]): void {
  if (gpus.length < 2) return;
  const l = setLocality(ct, gpus);
  t.multiGpuPods++;
  if (l.nvlinkConnected) t.connected++;
  t.bottleneckSumGBps += l.bottleneckGBps;
  if (topologyAllowsConnected(ct, gpus.length)) {
    t.onCapableNodes++;
    if (l.nvlinkConnected) t.connectedOnCapableNodes++;
  }
}

export function mergeTallies(ts: readonly LocalityTally[]): LocalityTally {
  const out = emptyTally();
  for (const t of ts) {
    out.multiGpuPods += t.multiGpuPods;
    out.connected += t.connected;
    out.bottleneckSumGBps += t.bottleneckSumGBps;
    out.onCapableNodes += t.onCapableNodes;
    out.connectedOnCapableNodes += t.connectedOnCapableNodes;
  }
  return out;
}

export interface LocalitySummary {
  multiGpuPods: number;
  /** % of placed multi-GPU pods on an NVLink-connected set (null when none). */
  connectedPct: number | null;
  meanBottleneckGBps: number | null;
  /** The same share among pods on nodes whose assumed topology allows a connected set of that size. */
  connectedPctWhereAllowed: number | null;
}

export function summarizeLocality(t: LocalityTally, runs = 1): LocalitySummary {
  return {
    multiGpuPods: t.multiGpuPods / runs,
    connectedPct: t.multiGpuPods > 0 ? (100 * t.connected) / t.multiGpuPods : null,
    meanBottleneckGBps: t.multiGpuPods > 0 ? t.bottleneckSumGBps / t.multiGpuPods : null,
    connectedPctWhereAllowed: t.onCapableNodes > 0 ? (100 * t.connectedOnCapableNodes) / t.onCapableNodes : null,
  };
}
