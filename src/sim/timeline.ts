/**
 * Arrivals with departures: jobs arrive at their time, hold their GPUs for their duration, then
 * leave. As in the FGD protocol a job that fits nowhere is dropped (no queue). Metrics are taken
 * after every arrival, with the arrived demand counted cumulatively (so it passes 100%).
 */
import type { WorkloadProfile } from '../core/index.js';
import type { SimCluster, SimPod } from './cluster.js';
import { emptyTally, tally } from './locality.js';
import type { Policy, PolicyContext, TieBreak } from './policies.js';
import { checkPlacement, policyRng, type EventSeries, type RunResult } from './protocol.js';

export interface TimedPod {
  pod: SimPod;
  arriveAt: number;
  duration: number;
}

interface Running {
  end: number;
  node: number;
  gpus: number[];
  pod: SimPod;
}

/** Binary min-heap on `end`. */
class DepartureHeap {
  private readonly a: Running[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Running | undefined {
    return this.a[0];
  }
  push(r: Running): void {
    const a = this.a;
    a.push(r);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].end <= a[i].end) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): Running | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].end < a[m].end) m = l;
        if (r < a.length && a[r].end < a[m].end) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

export function runTimeline(cluster: SimCluster, jobs: readonly TimedPod[], policy: Policy, seed: number, profile: WorkloadProfile, ties: TieBreak = 'first'): RunResult {
  const t0 = performance.now();
  cluster.setFragProfile(profile);
  cluster.reset();
  policy.reset?.();
  const ctx: PolicyContext = { cluster, rng: policyRng(seed), profile, ties };
  const order = [...jobs].sort((a, b) => a.arriveAt - b.arriveAt);
  const n = order.length;
  const events: EventSeries = { arrivedMilli: new Float64Array(n), usedMilli: new Float64Array(n), fragMilli: new Float64Array(n) };
  const locality = emptyTally();
  const heap = new DepartureHeap();
  let arrived = 0;
  let placed = 0;
  let failed = 0;
  let failedMilli = 0;
  for (let i = 0; i < n; i++) {
    const job = order[i];
    while (heap.size > 0 && heap.peek()!.end <= job.arriveAt) {
      const r = heap.pop()!;
      cluster.remove(r.node, r.pod, r.gpus);
    }
    arrived += job.pod.totalMilli;
    const choice = policy.choose(job.pod, ctx);
    if (choice) {
      checkPlacement(cluster, job.pod, choice, policy.name);
      cluster.place(choice.node, job.pod, choice.gpus);
      tally(locality, cluster.compiled[choice.node], choice.gpus);
      heap.push({ end: job.arriveAt + job.duration, node: choice.node, gpus: choice.gpus, pod: job.pod });
      placed++;
    } else {
      failed++;
      failedMilli += job.pod.totalMilli;
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
