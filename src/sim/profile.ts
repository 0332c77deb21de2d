/**
 * The simulator's workload profile: the pods' typical shapes (the core's one builder) and the
 * cluster's GPUs per model (the scarcity term) — for a whole pod list, or, as the extender learns
 * it, for the pods seen so far.
 */
import { gpusByModelOf, typicalProfile, type ShapeSource, type WorkloadProfile } from '../core/index.js';
import { earlyRebuildDue, MIN_PODS_FOR_PROFILE } from '../extender/observed-profile.js';
import type { SimCluster } from './cluster.js';

export function runProfile(pods: Iterable<ShapeSource>, cluster: SimCluster): WorkloadProfile {
  return { ...typicalProfile(pods), gpusByModel: gpusByModelOf(cluster.compiled) };
}

const NO_PROFILE: WorkloadProfile = { shapes: [] };

/**
 * The profile the extender has at each pod (observed-profile.ts with its pod count): none while
 * fewer than MIN_PODS_FOR_PROFILE GPU pods were seen, then rebuilt from the pods seen whenever
 * their number doubles. Seen = the pods placed and not yet departed, plus the pod asking (a
 * dropped pod is deleted; a departed one leaves the extender's cache). Its 30-second rebuild is
 * wall-clock time, which the simulator has not: left out.
 */
export class ObservedRunProfile {
  private readonly seen: ShapeSource[] = [];
  private gpuPods = 0;
  private builtFrom = 0;
  private current: WorkloadProfile = NO_PROFILE;

  reset(): void {
    this.seen.length = 0;
    this.gpuPods = 0;
    this.builtFrom = 0;
    this.current = NO_PROFILE;
  }

  /** The profile when `pod` asks. */
  at(pod: ShapeSource, cluster: SimCluster): WorkloadProfile {
    const count = this.seen.length + 1;
    if (earlyRebuildDue(count, this.builtFrom)) {
      this.builtFrom = count;
      const gpuPods = this.gpuPods + (pod.gpuCount > 0 ? 1 : 0);
      this.current = gpuPods >= MIN_PODS_FOR_PROFILE ? runProfile([...this.seen, pod], cluster) : NO_PROFILE;
    }
    return this.current;
  }

  /** The pod was placed: the extender keeps seeing it. */
  placed(pod: ShapeSource): void {
    this.seen.push(pod);
    if (pod.gpuCount > 0) this.gpuPods++;
  }

  /** The pod departed: the extender's cache drops it (the shapes at the next rebuild leave it out). */
  departed(pod: ShapeSource): void {
    const i = this.seen.lastIndexOf(pod);
    if (i < 0) return;
    this.seen.splice(i, 1);
    if (pod.gpuCount > 0) this.gpuPods--;
  }
}
