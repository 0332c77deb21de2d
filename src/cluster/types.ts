/**
 * The boundary between the cluster state (src/cluster) and its readers (extender, CLI).
 * The cache is fed by informers (list+watch) or by a static file; readers see only this.
 */
import type { NodeState } from '../core/types.js';
import type { Topology } from '../topology/types.js';
import type { AssignedGpuRef } from '../api/annotations.js';

/** What a GPUNode object says, parsed into plain data. */
export interface GpuNodeRecord {
  name: string;
  topology: Topology;
  /** GPU index → reason it is unhealthy. */
  unhealthy: Record<number, string>;
  /** Last heartbeat of the agent (ms since epoch); undefined = never. */
  heartbeatMs?: number;
  /** NVLink pairs degraded now (topology has them as no NVLink); kept for the web view's picture. */
  degradedLinks?: { gpus: [number, number]; reasons: string[] }[];
}

/** A pod holding GPUs on a node (bound and not finished, or assumed between bind and watch). */
export interface PodAssignment {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  gpus: AssignedGpuRef[];
  /** Milli-GPU held on each of those GPUs (1000 = whole). */
  milliPerGpu: number;
  /** True while only our bind knows it (the watch has not confirmed it yet). */
  assumed: boolean;
  /** CPU (milli) and memory (MiB) the pod requests, counted against the node while assumed. */
  cpuMilli?: number;
  memoryMiB?: number;
}

export type NodeLookup =
  | { ok: true; state: NodeState; gpuNode: GpuNodeRecord }
  /** `noGpuNode`: linkpack knows no GPUs there (no GPUNode): a CPU-only pod strands nothing on it. */
  | { ok: false; reason: string; noGpuNode?: true };

export interface ClusterView {
  /** Every informer has listed once and no watch is out of sync. */
  synced(): boolean;
  /** Scoring input for a node, or why it cannot be used (no GPUNode, stale heartbeat…). */
  lookupNode(name: string, nowMs: number): NodeLookup;
  /** lookupNode for every name, in order (optional: a view may answer a whole candidate list faster). */
  lookupNodes?(names: readonly string[], nowMs: number): NodeLookup[];
  nodeNames(): string[];
  assignmentsOn(node: string): PodAssignment[];
  /** Raw pod object as last seen (Kubernetes JSON), for bind and explain. */
  getPod(namespace: string, name: string): unknown | undefined;
  /** Run fn with the node's decisions serialised: no two binds on one node interleave. */
  withNodeLock<T>(node: string, fn: () => Promise<T>): Promise<T>;
  /** Record a decision before the watch confirms it; it counts against free capacity at once. */
  assume(a: PodAssignment): void;
  /** Drop an assumption (bind failed). */
  forget(uid: string): void;
  /** Where the pod with this uid sits in the view (views fed by the API server). */
  locatePod?(uid: string): { namespace: string; name: string; node?: string } | undefined;
  /**
   * The API server says this pod is gone (its watch event has not arrived yet): drop it now and
   * ignore late watch events for its uid.
   */
  podGone?(namespace: string, name: string, uid: string): void;
}

/** Writes a decision to the cluster: annotations (with precondition), Binding, Event. */
export interface PodBinder {
  bind(args: {
    namespace: string;
    name: string;
    uid: string;
    node: string;
    annotations: Record<string, string>;
    /** Precondition for the annotation patch; undefined = patch without precondition. */
    resourceVersion?: string;
    /** One-line decision for the pod Event. */
    eventMessage: string;
    /** The Pod as kube-scheduler sent it, given when the cache had none (the watch lags). */
    pod?: unknown;
  }): Promise<void>;
}
