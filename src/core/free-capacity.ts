/**
 * What a node still has free, as the scheduler could give it: whole healthy GPUs with nothing on
 * them, and the largest NVLink-connected set among them (a connected subset, not merely GPUs of
 * one island: on a DGX-1 the free GPUs 1,3,4,6 are one island but no connected 4-set).
 */
import { type CompiledTopology, isConnectedQuality, popcount } from './compile.js';
import { healthyMask } from './fragmentation.js';
import { GPU_MILLI, type NodeState } from './types.js';

/** Largest NVLink-connected subset of `mask` (1 when it has GPUs but no NVLink pair). */
export function largestNvlinkSet(ct: CompiledTopology, mask: number): number {
  const size = 1 << ct.n;
  for (let s = popcount(mask); s >= 2; s--) if (isConnectedQuality(ct.bestQuality[s * size + mask]!)) return s;
  return mask ? 1 : 0;
}

/** Mask of the healthy GPUs with nothing on them. */
export function freeWholeMask(node: NodeState): number {
  const healthy = healthyMask(node);
  let free = 0;
  for (let i = 0; i < node.freeMilli.length; i++) if (healthy & (1 << i) && node.freeMilli[i]! >= GPU_MILLI) free |= 1 << i;
  return free;
}

export interface FreeCapacity {
  freeGpus: number;
  largestFreeNvlinkSet: number;
}

export function freeCapacity(node: NodeState): FreeCapacity {
  const free = freeWholeMask(node);
  return { freeGpus: popcount(free), largestFreeNvlinkSet: largestNvlinkSet(node.topology, free) };
}
