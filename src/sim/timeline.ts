/**
 * Arrivals with departures: jobs arrive at their time, hold their GPUs for their duration, then
 * leave. As in the FGD protocol a job that fits nowhere is dropped (no queue). Metrics are taken
 * after every arrival, with the arrived demand counted cumulatively (so it passes 100%).
 */
import type { WorkloadProfile } from '../core/index.js';
import type { SimCluster, SimPod } from './cluster.js';
import { FGD_TIES, type Policy, type TieBreak } from './policies.js';
import { PlacementRun, type RunResult } from './protocol.js';

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

export function runTimeline(cluster: SimCluster, jobs: readonly TimedPod[], policy: Policy, seed: number, profile: WorkloadProfile, ties: TieBreak = FGD_TIES): RunResult {
  const run = new PlacementRun(cluster, policy, seed, profile, ties, jobs.length);
  const order = [...jobs].sort((a, b) => a.arriveAt - b.arriveAt);
  const heap = new DepartureHeap();
  for (const job of order) {
    while (heap.size > 0 && heap.peek()!.end <= job.arriveAt) {
      const r = heap.pop()!;
      cluster.remove(r.node, r.pod, r.gpus);
      policy.departed?.(r.pod);
    }
    const choice = run.arrive(job.pod);
    if (choice) heap.push({ end: job.arriveAt + job.duration, node: choice.node, gpus: choice.gpus, pod: job.pod });
  }
  return run.result();
}
