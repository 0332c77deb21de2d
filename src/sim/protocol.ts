/**
 * The FGD evaluation protocol (Weng et al., ATC'23; README of the trace): per seed, shuffle the pod
 * list, resample it with replacement up to 1.3× the cluster's GPU capacity, then place pods one at
 * a time, arrivals only; a pod that fits nowhere is dropped. After every pod: used, arrived and
 * fragmented milli-GPU.
 */
import { popularityProfile, type WorkloadProfile } from '../core/index.js';
import type { SimCluster, SimPod } from './cluster.js';
import { emptyTally, tally, type LocalityTally } from './locality.js';
import { FGD_TIES, type Placement, type Policy, type PolicyContext, type TieBreak } from './policies.js';
import { Rng } from './rng.js';

export const DEFAULT_TUNE_RATIO = 1.3;

/**
 * Seeded arrival order: a shuffle of the pods, then draws with replacement from the original list
 * until the next draw would push the total GPU request over ratio × capacity (that draw is not
 * added). A list already above the target loses random pods until it is not (the FGD simulator's
 * "tune down"; no shared workload needs it).
 */
export function buildArrivals<T extends { totalMilli: number }>(pods: readonly T[], capacityMilli: number, seed: number, ratio = DEFAULT_TUNE_RATIO): T[] {
  if (pods.length === 0) return [];
  const rng = new Rng(seed);
  const out = rng.shuffle([...pods]);
  let total = out.reduce((a, p) => a + p.totalMilli, 0);
  const target = ratio * capacityMilli;
  if (total < target) {
    for (;;) {
      const p = pods[rng.int(pods.length)];
      if (total + p.totalMilli > target) break;
      out.push(p);
      total += p.totalMilli;
      if (out.length > 50 * pods.length + 1_000_000) throw new Error('resampling does not reach the target: the pod list requests no GPU');
    }
  } else {
    while (total > target && out.length > 0) {
      const [p] = out.splice(rng.int(out.length), 1);
      total -= p.totalMilli;
    }
  }
  return out;
}

/** Per-event series: index i = after the i-th arriving pod. */
export interface EventSeries {
  arrivedMilli: Float64Array;
  usedMilli: Float64Array;
  fragMilli: Float64Array;
}

export interface RunResult {
  policy: string;
  seed: number;
  capacityMilli: number;
  events: EventSeries;
  placedPods: number;
  failedPods: number;
  failedMilli: number;
  locality: LocalityTally;
  elapsedMs: number;
}

/** The policy's seeded RNG for ties and random choices: separate from the arrival stream. */
export function policyRng(seed: number): Rng {
  return new Rng(seed * 7919 + 104_729);
}

/** Check a placement against the cluster before applying it: a policy bug is an error, not a silent over-commit. */
export function checkPlacement(cluster: SimCluster, pod: SimPod, p: Placement, policy: string): void {
  if (!cluster.fits(p.node, pod)) throw new Error(`policy ${policy} chose node ${cluster.specs[p.node]?.name ?? p.node} where pod ${pod.name} does not fit`);
  if (p.gpus.length !== pod.gpuCount) throw new Error(`policy ${policy} gave pod ${pod.name} ${p.gpus.length} GPUs, it asks ${pod.gpuCount}`);
  const free = cluster.freeMilliOf(p.node);
  const seen = new Set<number>();
  for (const g of p.gpus) {
    if (seen.has(g) || !(g >= 0 && g < free.length) || free[g] < pod.milliPerGpu) {
      throw new Error(`policy ${policy} gave pod ${pod.name} GPU ${g} of ${cluster.specs[p.node].name}, which cannot take ${pod.milliPerGpu} milli`);
    }
    seen.add(g);
  }
  const mask = pod.modelMask & (1 << cluster.nodeModel[p.node]);
  if (pod.gpuCount > 0 && !mask) throw new Error(`policy ${policy} ignored the GPU model constraint of ${pod.name}`);
}

/**
 * One run's bookkeeping: empties the cluster, offers each arriving pod to the policy, applies
 * (after checking) or drops its choice, and records the per-event series and locality.
 */
export class PlacementRun {
  private readonly t0 = performance.now();
  private readonly ctx: PolicyContext;
  private readonly events: EventSeries;
  private readonly locality = emptyTally();
  private i = 0;
  private arrived = 0;
  private placed = 0;
  private failed = 0;
  private failedMilli = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly policy: Policy,
    private readonly seed: number,
    profile: WorkloadProfile,
    ties: TieBreak,
    arrivals: number,
  ) {
    // The reported fragmentation is FGD's measure, over FGD's popular shapes.
    cluster.setFragProfile(popularityProfile(profile));
    cluster.reset();
    policy.reset?.();
    this.ctx = { cluster, rng: policyRng(seed), profile, ties };
    this.events = { arrivedMilli: new Float64Array(arrivals), usedMilli: new Float64Array(arrivals), fragMilli: new Float64Array(arrivals) };
  }

  /** Offer one arriving pod; returns where it went, or null when dropped. */
  arrive(pod: SimPod): Placement | null {
    const { cluster, policy } = this;
    this.arrived += pod.totalMilli;
    const choice = policy.choose(pod, this.ctx);
    if (choice) {
      checkPlacement(cluster, pod, choice, policy.name);
      cluster.place(choice.node, pod, choice.gpus);
      tally(this.locality, cluster.compiled[choice.node], choice.gpus);
      this.placed++;
    } else {
      this.failed++;
      this.failedMilli += pod.totalMilli;
    }
    this.events.arrivedMilli[this.i] = this.arrived;
    this.events.usedMilli[this.i] = cluster.usedMilli;
    this.events.fragMilli[this.i] = cluster.fragTotal;
    this.i++;
    return choice;
  }

  result(): RunResult {
    return {
      policy: this.policy.name,
      seed: this.seed,
      capacityMilli: this.cluster.capacityMilli,
      events: this.events,
      placedPods: this.placed,
      failedPods: this.failed,
      failedMilli: this.failedMilli,
      locality: this.locality,
      elapsedMs: performance.now() - this.t0,
    };
  }
}

/** Place `arrivals` in order on an emptied cluster (arrivals only, drop on failure). */
export function runArrivals(cluster: SimCluster, arrivals: readonly SimPod[], policy: Policy, seed: number, profile: WorkloadProfile, ties: TieBreak = FGD_TIES): RunResult {
  const run = new PlacementRun(cluster, policy, seed, profile, ties, arrivals.length);
  for (const pod of arrivals) run.arrive(pod);
  return run.result();
}

/** One seed of the FGD protocol: build the arrivals, then place them. */
export function runFgdProtocol(
  cluster: SimCluster,
  pods: readonly SimPod[],
  policy: Policy,
  seed: number,
  profile: WorkloadProfile,
  opts: { ratio?: number; ties?: TieBreak } = {},
): RunResult {
  return runArrivals(cluster, buildArrivals(pods, cluster.capacityMilli, seed, opts.ratio ?? DEFAULT_TUNE_RATIO), policy, seed, profile, opts.ties ?? FGD_TIES);
}
