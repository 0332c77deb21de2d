/**
 * Metrics at arrival points (FGD, Figure 9): for k% of capacity arrived, the mean over the events
 * whose arrived demand rounds to k% (widened to k±1 when no event does) of
 *  - unallocated GPU %  = 100 − 100 · used / capacity,
 *  - fragmentation %    = 100 · frag / capacity (amount) and 100 · frag / idle (ratio).
 */
import type { EventSeries, RunResult } from './protocol.js';
import { mergeTallies, summarizeLocality, type LocalitySummary } from './locality.js';

export const ARRIVAL_POINTS = [50, 60, 70, 80, 90, 95, 100, 105, 110, 120, 130] as const;
/** The points of the --json output. */
export const JSON_POINTS = [90, 95, 100, 110, 120, 130] as const;

export type PointValues = Record<number, number | null>;

export interface PointMetrics {
  unallocatedPct: PointValues;
  fragAmountPct: PointValues;
  fragRatioPct: PointValues;
}

/** Mean of `value(i)` over events i whose arrived % rounds to k (then k±1); null when none. */
export function meanAtArrival(events: EventSeries, capacityMilli: number, k: number, value: (i: number) => number, halfWidth = 0): number | null {
  for (const width of halfWidth > 0 ? [halfWidth] : [0, 1]) {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < events.arrivedMilli.length; i++) {
      const pct = Math.round((100 * events.arrivedMilli[i]) / capacityMilli);
      if (pct >= k - width && pct <= k + width) {
        sum += value(i);
        count++;
      }
    }
    if (count > 0) return sum / count;
  }
  return null;
}

/** `halfWidth` > 0 averages over the window k ± halfWidth instead (runs with departures). */
export function pointMetrics(events: EventSeries, capacityMilli: number, points: readonly number[] = ARRIVAL_POINTS, halfWidth = 0): PointMetrics {
  const out: PointMetrics = { unallocatedPct: {}, fragAmountPct: {}, fragRatioPct: {} };
  for (const k of points) {
    out.unallocatedPct[k] = meanAtArrival(events, capacityMilli, k, (i) => 100 - (100 * events.usedMilli[i]) / capacityMilli, halfWidth);
    out.fragAmountPct[k] = meanAtArrival(events, capacityMilli, k, (i) => (100 * events.fragMilli[i]) / capacityMilli, halfWidth);
    out.fragRatioPct[k] = meanAtArrival(
      events,
      capacityMilli,
      k,
      (i) => {
        const idle = capacityMilli - events.usedMilli[i];
        return idle > 0 ? (100 * events.fragMilli[i]) / idle : 0;
      },
      halfWidth,
    );
  }
  return out;
}

export interface Stat {
  mean: number | null;
  sd: number | null;
}

export function meanSd(values: ReadonlyArray<number | null>): Stat {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return { mean: null, sd: null };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd };
}

/** Means over seeds of one policy on one workload. */
export interface PolicySummary {
  policy: string;
  workload: string;
  seeds: number[];
  unallocatedPct: PointValues;
  unallocatedSd: PointValues;
  fragAmountPct: PointValues;
  fragRatioPct: PointValues;
  nvlink: LocalitySummary;
  placedPods: number;
  failedPods: number;
  /** Dropped GPU demand as % of the arrived GPU demand. */
  droppedDemandPct: number;
  meanRunMs: number;
  /** Per-seed unallocated % at each point (for charts and spreads). */
  perSeed: { seed: number; metrics: PointMetrics }[];
}

export function summarizeRuns(workload: string, runs: readonly RunResult[], points: readonly number[] = ARRIVAL_POINTS, halfWidth = 0): PolicySummary {
  if (runs.length === 0) throw new Error('no runs to summarise');
  const perSeed = runs.map((r) => ({ seed: r.seed, metrics: pointMetrics(r.events, r.capacityMilli, points, halfWidth) }));
  const agg = (pick: (m: PointMetrics) => PointValues): { mean: PointValues; sd: PointValues } => {
    const mean: PointValues = {};
    const sd: PointValues = {};
    for (const k of points) {
      const s = meanSd(perSeed.map((p) => pick(p.metrics)[k]));
      mean[k] = s.mean;
      sd[k] = s.sd;
    }
    return { mean, sd };
  };
  const unalloc = agg((m) => m.unallocatedPct);
  return {
    policy: runs[0].policy,
    workload,
    seeds: runs.map((r) => r.seed),
    unallocatedPct: unalloc.mean,
    unallocatedSd: unalloc.sd,
    fragAmountPct: agg((m) => m.fragAmountPct).mean,
    fragRatioPct: agg((m) => m.fragRatioPct).mean,
    nvlink: summarizeLocality(mergeTallies(runs.map((r) => r.locality)), runs.length),
    placedPods: runs.reduce((a, r) => a + r.placedPods, 0) / runs.length,
    failedPods: runs.reduce((a, r) => a + r.failedPods, 0) / runs.length,
    droppedDemandPct: meanSd(runs.map((r) => {
      const arrived = r.events.arrivedMilli[r.events.arrivedMilli.length - 1] ?? 0;
      return arrived > 0 ? (100 * r.failedMilli) / arrived : 0;
    })).mean ?? 0,
    meanRunMs: runs.reduce((a, r) => a + r.elapsedMs, 0) / runs.length,
    perSeed,
  };
}

/** Round for output (2 decimals), keeping null. */
export function round2(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(v * 100) / 100;
}
