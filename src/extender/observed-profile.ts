/**
 * The workload profile the core's fragmentation look-ahead needs, learned from the pods the
 * cluster cache sees and built by the core's one builder (typicalProfile, as the simulator builds
 * it from a trace) — so the extender scores with the objective the simulator measures.
 * Recomputed every `maxAgeMs`, and early while the pod count doubles; between rebuilds the free
 * GPUs per model are read every `supplyMaxAgeMs`, so model scarcity follows the cluster's fill
 * (the simulator refreshes it every GPU pod).
 */
import { modelNeedTable, typicalProfile, withFreeSupply, type ShapeSource, type WorkloadProfile } from '../core/index.js';
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
  /**
   * How many pods `pods()` would yield, cheaply. With it the profile is rebuilt early whenever
   * the count has doubled since the last build (from MIN_PODS_FOR_PROFILE on), not only every
   * maxAgeMs: a cluster filling from empty gets its profile from its first pods instead of
   * running 30 s on the order without one (bench:replay on gpuspec25 lost T4/P100 that way).
   */
  podCount?: () => number;
  /**
   * How often the free GPUs per model are read again between rebuilds (ms; default 1,000): the
   * scarcity need follows the fill at that pace, the shapes at maxAgeMs. The profile object
   * changes only when the need table does (withFreeSupply), so decision caches survive.
   */
  supplyMaxAgeMs?: number;
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
/**
 * Is a rebuild due, early, at `count` pods seen when the last build saw `builtFrom`? Each time the
 * count has doubled, from MIN_PODS_FOR_PROFILE on (the simulator's ObservedRunProfile follows the
 * same rule).
 */
export function earlyRebuildDue(count: number, builtFrom: number): boolean {
  return count >= MIN_PODS_FOR_PROFILE && count >= 2 * builtFrom;
}

export function observedProfile(
  pods: () => Iterable<unknown>,
  maxAgeMs = 30_000,
  now: () => number = Date.now,
  opts: ObservedProfileOptions = {},
): () => WorkloadProfile | undefined {
  let at = -Infinity;
  let supplyAt = -Infinity;
  let builtFrom = 0;
  let base: WorkloadProfile | undefined;
  let current: WorkloadProfile | undefined;
  const supplyMaxAgeMs = opts.supplyMaxAgeMs ?? 1000;
  return () => {
    const t = now();
    const count = opts.podCount?.();
    if (t - at >= maxAgeMs || (count !== undefined && earlyRebuildDue(count, builtFrom))) {
      base = current = profileFromPods(pods(), opts);
      at = supplyAt = t;
      builtFrom = count ?? 0;
    } else if (base?.freeGpusByModel && opts.freeGpusByModel && t - supplyAt >= supplyMaxAgeMs && modelNeedTable(base).size > 0) {
      current = withFreeSupply(base, opts.freeGpusByModel(), current);
      supplyAt = t;
    }
    return current;
  };
}
