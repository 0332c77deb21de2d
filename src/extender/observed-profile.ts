/**
 * The workload profile the core's fragmentation look-ahead needs (typical pod shapes and their
 * popularity, as in FGD), learned from the GPU pods the cluster cache sees — so the extender
 * scores with the same objective the simulator measures. Recomputed at most every `maxAgeMs`.
 */
import { profileFromShapes, type WorkloadProfile } from '../core/index.js';
import { podGpuAsk, type PodLike } from './preferences.js';

/** Fewer GPU pods than this and the shapes say little: no profile (the tier-first order). */
export const MIN_PODS_FOR_PROFILE = 20;

/** Shapes of GPU pods, keyed by GPU count, share and allowed models (CPU is kube-scheduler's). */
export function profileFromPods(pods: Iterable<unknown>): WorkloadProfile | undefined {
  const counts = new Map<string, { shape: { cpuMilli: number; gpuCount: number; milliPerGpu: number; models?: string[] }; count: number }>();
  let total = 0;
  for (const pod of pods) {
    const ask = podGpuAsk(pod as PodLike);
    if (ask.kind !== 'gpu') continue;
    const { gpuCount, milliPerGpu, models } = ask.base;
    const key = `${gpuCount}|${milliPerGpu}|${(models ?? []).join(',')}`;
    const hit = counts.get(key);
    if (hit) hit.count++;
    else counts.set(key, { shape: { cpuMilli: 0, gpuCount, milliPerGpu, ...(models && models.length ? { models: [...models] } : {}) }, count: 1 });
    total++;
  }
  return total < MIN_PODS_FOR_PROFILE ? undefined : profileFromShapes([...counts.values()]);
}

/** A profile source that recomputes from `pods()` when older than maxAgeMs. */
export function observedProfile(pods: () => Iterable<unknown>, maxAgeMs = 30_000, now: () => number = Date.now): () => WorkloadProfile | undefined {
  let at = -Infinity;
  let current: WorkloadProfile | undefined;
  return () => {
    const t = now();
    if (t - at >= maxAgeMs) {
      current = profileFromPods(pods());
      at = t;
    }
    return current;
  };
}
