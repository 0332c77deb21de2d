/**
 * Plain-data contract of the placement core. Everything here is JSON-serialisable except
 * CompiledTopology, which is a read-only table built once per distinct topology and shared by
 * every node that has that topology.
 */
import type { Topology } from '../topology/types.js';

export type TopologyMode = 'require-nvlink' | 'prefer-nvlink' | 'any';
export type PackingPolicy = 'binpack' | 'spread';

export const TOPOLOGY_MODES: readonly TopologyMode[] = ['require-nvlink', 'prefer-nvlink', 'any'];
export const PACKING_POLICIES: readonly PackingPolicy[] = ['binpack', 'spread'];

/** A whole GPU, in milli-GPU. */
export const GPU_MILLI = 1000;

/** What one pod (or one worker) asks of a node. */
export interface GpuRequest {
  /** Number of GPUs, k ≥ 1; 0 = a CPU-only pod (scored for the GPU capacity it would strand). */
  gpuCount: number;
  /** Share of each GPU, 1..1000; below 1000 only when gpuCount = 1; 0 when gpuCount = 0. */
  milliPerGpu: number;
  /** Allowed GPU models (whole tokens, case-insensitive: see model-match.ts); empty/absent = any. */
  models?: readonly string[];
  /** Minimum memory of each GPU in MiB (GPUs with unknown memory do not qualify). */
  minMemoryMiB?: number;
  /** Only these GPUs may be used (indices on this node). Absent = all. */
  includeGpus?: readonly number[];
  /** These GPUs must not be used (indices on this node). */
  excludeGpus?: readonly number[];
  topology: TopologyMode;
  policy: PackingPolicy;
  /** CPU and memory the pod needs on the node; checked only where the node reports them. */
  cpuMilli?: number;
  memoryMiB?: number;
}

/** The live state of one node, as the cluster cache or the simulator holds it. */
export interface NodeState {
  name: string;
  /** From compileTopology(); identical topologies share one object. */
  topology: import('./compile.js').CompiledTopology;
  /** Free milli-GPU per GPU index (0..1000). */
  freeMilli: readonly number[];
  /** Bit i set = GPU i is unhealthy and must not be given out. */
  unhealthyMask?: number;
  /** Free CPU and memory; undefined = not tracked (the extender leaves these to kube-scheduler). */
  cpuFreeMilli?: number;
  memoryFreeMiB?: number;
  /** Total CPU of the node, used only by packing measures when CPU is tracked. */
  cpuTotalMilli?: number;
}

/** A typical pod shape with its popularity, the input of the fragmentation measure (FGD). */
export interface PodShape {
  cpuMilli: number;
  gpuCount: number;
  milliPerGpu: number;
  /** Allowed models; empty = any. */
  models?: readonly string[];
  /** Popularity, the shapes' weights sum to 1. */
  weight: number;
}

/** Optional knowledge about the workload that lets the core look ahead. */
export interface WorkloadProfile {
  shapes: readonly PodShape[];
  /**
   * How many of the last shapes FGD's popularity cut would leave out but the profile keeps for
   * their GPU demand (profile.ts); absent = none. FGD's view drops them (popularityProfile).
   */
  heavyShapes?: number;
  /**
   * GPUs per model in the cluster (lower-cased model names), for the model-scarcity term
   * (scarcity.ts). Absent = that term is off.
   */
  gpusByModel?: ReadonlyMap<string, number>;
  /**
   * Free GPUs per model now (lower-cased; milli-GPU ÷ 1000, healthy GPUs), for the same term
   * measured against what is still free: a model that fills faster than the rest is protected
   * more, one that stays emptier less (scarcity.ts). Absent = the term uses gpusByModel.
   */
  freeGpusByModel?: ReadonlyMap<string, number>;
  /**
   * Share of all GPU demand (0..1) asked with each distinct model constraint, over all profiled
   * pods (the typical shapes drop most constrained pods: their constraints split them into many
   * rare shapes). Used by the scarcity term; absent = the constrained typical shapes stand in.
   */
  modelDemand?: readonly { models: readonly string[]; share: number }[];
}

/** Why a set was chosen. Bandwidths are estimates from the link legend (see docs/objective.md). */
export interface ScoreBreakdown {
  /** The NVLink graph induced on the chosen GPUs is connected (true for a single GPU). */
  nvlinkConnected: boolean;
  /** Every pair of chosen GPUs has a direct NVLink. */
  nvlinkAllPairs: boolean;
  /** Bottleneck of the best spanning tree over the chosen GPUs (GB/s); 0 for one GPU. */
  bottleneckGBps: number;
  /** Slowest pair among the chosen GPUs (GB/s); 0 for one GPU. */
  minPairGBps: number;
  /** Sum of the pairwise bandwidths (GB/s). */
  aggregateGBps: number;
  /** Whole GPUs still free and healthy after this placement. */
  freeGpusAfter: number;
  /** Largest NVLink-connected set among them. */
  largestNvlinkSetAfter: number;
  /** 0..1: how well the leftover free GPUs keep NVLink-connected groups (1 = nothing stranded). */
  leftoverQuality: number;
  /** 0..1: share of the node's GPU capacity in use after the placement. */
  gpuUsedAfter: number;
  /** Increase of the node's expected fragmentation (milli-GPU), when a workload profile is given. */
  fragDeltaMilli?: number;
  /** GPU capacity model-constrained pods are expected to miss (milli), when the profile knows the models' supply. */
  scarcityMilli?: number;
  /** A share that would leave the node's free whole GPUs under SHARE_CPU_PER_FREE_GPU_MILLI each (ranks it after one that would not). */
  leavesGpusShortOfCpu?: boolean;
}

export type NodeDecision =
  | {
      node: string;
      fits: true;
      /** Chosen GPU indices, ascending. */
      gpus: number[];
      breakdown: ScoreBreakdown;
      /** Totally ordered node preference (higher is better); the extender maps it to kube-scheduler's 0..10. */
      rawScore: number;
    }
  /** `constraint`: the reason is about this user constraint (the extender names the annotation). */
  | { node: string; fits: false; reason: string; constraint?: import('./no-fit.js').NoFitConstraint };
