/**
 * The FGD evaluation protocol (Weng et al., ATC'23; README of the trace): per seed, shuffle the pod
 * list, resample it with replacement up to 1.3× the cluster's GPU capacity, then place pods one at
 * a time, arrivals only; a pod that fits nowhere is dropped. After every pod: used, arrived and
 * fragmented milli-GPU.
 */
import type { WorkloadProfile } from '../core/index.js';
import type { SimCluster, SimPod } from './cluster.js';
import { emptyTally, tally, type LocalityTally } from './locality.js';
import type { Placement, Policy, PolicyContext, TieBreak } from './policies.js';
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

/** Place `arrivals` in order on an emptied cluster (arrivals only, drop on failure). */
export function runArrivals(cluster: SimCluster, arrivals: readonly SimPod[], policy: Policy, seed: number, profile: WorkloadProfile, ties: TieBreak = 'first'): RunResult {
  const t0 = performance.now();
  cluster.setFragProfile(profile);
  cluster.reset();
  policy.reset?.();
  const ctx: PolicyContext = { cluster, rng: policyRng(seed), profile, ties };
  const n = arrivals.length;
  const events: EventSeries = { arrivedMilli: new Float64Array(n), usedMilli: new Float64Array(n), fragMilli: new Float64Array(n) };
  const locality = emptyTally();
  let arrived = 0;
  let placed = 0;
  let failed = 0;
  let failedMilli = 0;
  for (let i = 0; i < n; i++) {
    const pod = arrivals[i];
    arrived += pod.totalMilli;
    const choice = policy.choose(pod, ctx);
    if (choice) {
      checkPlacement(cluster, pod, choice, policy.name);
      cluster.place(choice.node, pod, choice.gpus);
      tally(locality, cluster.compiled[choice.node], choice.gpus);
      placed++;
    } else {
      failed++;
      failedMilli += pod.totalMilli;
    }
    events.arrivedMilli[i] = arrived;
    events.usedMilli[i] = cluster.usedMilli;
    events.fragMilli[i] = cluster.fragTotal;
  }
  return {
    policy: policy.name,
    seed,
    capacityMilli: cluster.capacityMilli,
    events,
    placedPods: placed,
    failedPods: failed,
    failedMilli,
    locality,
    elapsedMs: performance.now() - t0,
  };
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
  return runArrivals(cluster, buildArrivals(pods, cluster.capacityMilli, seed, opts.ratio ?? DEFAULT_TUNE_RATIO), policy, seed, profile, opts.ties ?? 'first');
}
