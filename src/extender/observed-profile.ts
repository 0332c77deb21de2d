/**
 * The workload profile the core's fragmentation look-ahead needs, learned from the pods the
 * cluster cache sees and built by the core's one builder (typicalProfile, as the simulator builds
 * it from a trace) — so the extender scores with the objective the simulator measures.
 * Recomputed at most every `maxAgeMs` — with the free GPUs per model of that moment, so model
 * scarcity follows the cluster's fill at that pace (the simulator refreshes it every pod).
 */
import { typicalProfile, type ShapeSource, type WorkloadProfile } from '../core/index.js';
import { podGpuAsk, type PodLike } from './preferences.js';

/** Fewer GPU pods than this and the shapes say little: no profile (the tier-first order). */
export const MIN_PODS_FOR_PROFILE = 20;

export interface ObservedProfileOptions {
  /**
   * Is this node a GPU node? CPU-only pods count as shapes (FGD's rule, as in the trace) only when
   * they run on one: pods elsewhere never compete for GPU nodes. Default: none counts.
   */
  isGpuNode?: (node: string) => boolean;
  /** The cluster's GPUs per lower-cased model (for the core's model-scarcity term); none: no term. */
  gpusByModel?: () => Map<string, number>;
  /** Free GPUs per lower-cased model now (the scarcity term measured against what is free); none: against the inventory. */
  freeGpusByModel?: () => Map<string, number>;
}

/**
 * A pod as a shape source, or undefined when it is not one. Shapes carry the pod's CPU request,
 * as the simulator's do (the trace's cpu_milli): with the Node feed the cache knows each node's
 * free CPU, and a shape that cannot get its CPU on a node cannot use that node's GPUs either.
 */
function shapeOf(pod: unknown, isGpuNode: (node: string) => boolean): ShapeSource | undefined {
  const ask = podGpuAsk(pod as PodLike);
  const cpuMilli = ask.kind === 'invalid' ? 0 : (ask.requests?.cpuMilli ?? 0);
  if (ask.kind === 'gpu') return { cpuMilli, gpuCount: ask.base.gpuCount, milliPerGpu: ask.base.milliPerGpu, gpuSpec: ask.base.models ?? [] };
  if (ask.kind !== 'none') return undefined;
  const node = (pod as { spec?: { nodeName?: unknown } }).spec?.nodeName;
  return typeof node === 'string' && node !== '' && isGpuNode(node) ? { cpuMilli, gpuCount: 0, milliPerGpu: 0, gpuSpec: [] } : undefined;
}

/** The profile of these pods, or undefined with fewer than MIN_PODS_FOR_PROFILE GPU pods. */
export function profileFromPods(pods: Iterable<unknown>, opts: ObservedProfileOptions = {}): WorkloadProfile | undefined {
  const isGpuNode = opts.isGpuNode ?? (() => false);
  const sources: ShapeSource[] = [];
  let gpuPods = 0;
  for (const pod of pods) {
    const s = shapeOf(pod, isGpuNode);
    if (!s) continue;
    sources.push(s);
    if (s.gpuCount > 0) gpuPods++;
  }
  if (gpuPods < MIN_PODS_FOR_PROFILE) return undefined;
  const profile = typicalProfile(sources);
  const supply = opts.gpusByModel?.();
  if (!supply || supply.size === 0) return profile;
  const free = opts.freeGpusByModel?.();
  return free ? { ...profile, gpusByModel: supply, freeGpusByModel: free } : { ...profile, gpusByModel: supply };
}

/** A profile source that recomputes from `pods()` when older than maxAgeMs. */
export function observedProfile(
  pods: () => Iterable<unknown>,
  maxAgeMs = 30_000,
  now: () => number = Date.now,
  opts: ObservedProfileOptions = {},
): () => WorkloadProfile | undefined {
  let at = -Infinity;
  let current: WorkloadProfile | undefined;
  return () => {
    const t = now();
    if (t - at >= maxAgeMs) {
      current = profileFromPods(pods(), opts);
      at = t;
    }
    return current;
  };
}
