/**
 * Orchestration of whole simulations: a trace under the FGD protocol, or the built-in synthetic
 * scenario with departures. Returns plain summaries for the table, the JSON and the report.
 */
import type { WorkloadProfile } from '../core/index.js';
import { runProfile } from './profile.js';
import { SimCluster, nodeSpecsFromTrace, type NodeSpec, type SimPod } from './cluster.js';
import { mapaScenario, type MapaSummary } from './mapa.js';
import { ARRIVAL_POINTS, summarizeRuns, type PolicySummary } from './metrics.js';
import { DEFAULT_EXTENDER_TIES, FGD_TIES, makePolicy, type ExtenderTies, type PolicyName, type TieBreak } from './policies.js';
import { runFgdProtocol, type EventSeries, type RunResult } from './protocol.js';
import { syntheticCluster, syntheticJobs } from './synthetic.js';
import { runTimeline } from './timeline.js';
import { topologyAssumptions, type GTopology, type TopologyAssumptionRow } from './topology-map.js';
import { loadNodeCsv, loadPodCsv, workloadNameOf, type TracePod } from './trace.js';

export type Progress = (done: number, total: number, label: string) => void;

export interface CurvePoint {
  arrivedPct: number;
  unallocatedPct: number;
}

export interface SimulationReport {
  mode: 'trace' | 'synthetic';
  workload: string;
  seeds: number[];
  ties: TieBreak;
  /** The deployed variants' extender tie order ('order' unless asked). */
  extenderTies: ExtenderTies;
  gTopology?: GTopology;
  clusterGpus: number;
  clusterNodes: number;
  assumptions: TopologyAssumptionRow[];
  points: number[];
  /** 0: points are exact arrival levels; > 0: windows of ± this many % around each point. */
  pointHalfWidth: number;
  summaries: PolicySummary[];
  /** Mean unallocated % per arrived-% bin, per policy (for the Figure-9-like chart). */
  curves: Record<string, CurvePoint[]>;
  mapa?: MapaSummary[];
  elapsedMs: number;
}

/** Unallocated % averaged per bin of arrived % (bin width `binPct`) over all events of all runs. */
export function unallocatedCurve(runs: readonly RunResult[], binPct: number, maxPct: number): CurvePoint[] {
  const sums = new Map<number, { s: number; c: number }>();
  for (const r of runs) {
    const ev: EventSeries = r.events;
    for (let i = 0; i < ev.arrivedMilli.length; i++) {
      const pct = (100 * ev.arrivedMilli[i]) / r.capacityMilli;
      if (pct > maxPct + binPct / 2) break;
      const bin = Math.round(pct / binPct) * binPct;
      const e = sums.get(bin) ?? { s: 0, c: 0 };
      e.s += 100 - (100 * ev.usedMilli[i]) / r.capacityMilli;
      e.c++;
      sums.set(bin, e);
    }
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([arrivedPct, { s, c }]) => ({ arrivedPct, unallocatedPct: s / c }));
}

function assumptionsOf(specs: readonly NodeSpec[]): TopologyAssumptionRow[] {
  const rows = new Map<string, TopologyAssumptionRow>();
  for (const s of specs) {
    const key = `${s.model}|${s.gpuCount}|${s.topologyLabel}`;
    const r = rows.get(key);
    if (r) r.nodes++;
    else rows.set(key, { model: s.model, gpuCount: s.gpuCount, nodes: 1, topology: s.topologyLabel });
  }
  return [...rows.values()];
}

export interface TraceRunOptions {
  nodesFile: string;
  podsFile: string;
  policies: readonly PolicyName[];
  seeds: readonly number[];
  gTopology?: GTopology;
  ties?: TieBreak;
  extenderTies?: ExtenderTies;
  onProgress?: Progress;
}

/** A loaded trace, reusable across policies and seeds. */
export interface LoadedTrace {
  workload: string;
  cluster: SimCluster;
  pods: SimPod[];
  profile: WorkloadProfile;
  assumptions: TopologyAssumptionRow[];
}

export function loadTrace(nodesFile: string, podsFile: string, gTopology: GTopology = 'nvswitch'): LoadedTrace {
  return traceOf(nodesFile, loadPodCsv(podsFile), workloadNameOf(podsFile), gTopology);
}

/** A trace from a node file and pods already in memory (e.g. a generated model-constrained variant). */
export function traceOf(nodesFile: string, tracePods: readonly TracePod[], workload: string, gTopology: GTopology = 'nvswitch'): LoadedTrace {
  const nodes = loadNodeCsv(nodesFile);
  const specs = nodeSpecsFromTrace(nodes, gTopology);
  if (specs.length === 0) throw new Error(`${nodesFile}: no node has a GPU`);
  const cluster = new SimCluster(specs);
  return {
    workload,
    cluster,
    pods: tracePods.map((p) => cluster.compilePod(p)),
    profile: runProfile(tracePods, cluster),
    assumptions: topologyAssumptions(nodes, gTopology),
  };
}

export interface TracePoliciesOptions {
  ties?: TieBreak;
  extenderTies?: ExtenderTies;
  onProgress?: Progress;
  /** Progress shared across several calls (bench:placement's workloads). */
  progressBase?: { done: number; total: number };
}

export function runTracePolicies(
  trace: LoadedTrace,
  policies: readonly PolicyName[],
  seeds: readonly number[],
  opts: TracePoliciesOptions = {},
): { summaries: PolicySummary[]; runs: Map<string, RunResult[]> } {
  const { ties = FGD_TIES, extenderTies = DEFAULT_EXTENDER_TIES, onProgress } = opts;
  const progressBase = opts.progressBase ?? { done: 0, total: policies.length * seeds.length };
  const summaries: PolicySummary[] = [];
  const runs = new Map<string, RunResult[]>();
  for (const name of policies) {
    const policy = makePolicy(name, { extenderTies });
    const rs: RunResult[] = [];
    for (const seed of seeds) {
      rs.push(runFgdProtocol(trace.cluster, trace.pods, policy, seed, trace.profile, { ties }));
      progressBase.done++;
      onProgress?.(progressBase.done, progressBase.total, `${trace.workload} ${name} seed ${seed}`);
    }
    runs.set(name, rs);
    summaries.push(summarizeRuns(trace.workload, rs));
  }
  return { summaries, runs };
}

export function runTrace(opts: TraceRunOptions): SimulationReport {
  const t0 = performance.now();
  const gTopology = opts.gTopology ?? 'nvswitch';
  const ties = opts.ties ?? FGD_TIES;
  const trace = loadTrace(opts.nodesFile, opts.podsFile, gTopology);
  const extenderTies = opts.extenderTies ?? DEFAULT_EXTENDER_TIES;
  const { summaries, runs } = runTracePolicies(trace, opts.policies, opts.seeds, { ties, extenderTies, onProgress: opts.onProgress });
  const curves: Record<string, CurvePoint[]> = {};
  for (const [name, rs] of runs) curves[name] = unallocatedCurve(rs, 1, 130);
  return {
    mode: 'trace',
    workload: trace.workload,
    seeds: [...opts.seeds],
    ties,
    extenderTies,
    gTopology,
    clusterGpus: trace.cluster.capacityMilli / 1000,
    clusterNodes: trace.cluster.n,
    assumptions: trace.assumptions,
    points: [...ARRIVAL_POINTS],
    pointHalfWidth: 0,
    summaries,
    curves,
    elapsedMs: performance.now() - t0,
  };
}

/** Points of the synthetic scenario: arrived demand passes 100% many times over (departures). */
export const SYNTHETIC_POINTS = [200, 400, 600, 800] as const;
/** Each synthetic point averages the events within ±100% of arrived demand around it. */
export const SYNTHETIC_HALF_WIDTH = 100;

export interface SyntheticRunOptions {
  policies: readonly PolicyName[];
  seeds: readonly number[];
  jobs?: number;
  ties?: TieBreak;
  extenderTies?: ExtenderTies;
  withMapa?: boolean;
  onProgress?: Progress;
}

export function runSynthetic(opts: SyntheticRunOptions): SimulationReport {
  const t0 = performance.now();
  const ties = opts.ties ?? FGD_TIES;
  const extenderTies = opts.extenderTies ?? DEFAULT_EXTENDER_TIES;
  const specs = syntheticCluster();
  const cluster = new SimCluster(specs);
  const capacityGpus = cluster.capacityMilli / 1000;
  const total = opts.policies.length * opts.seeds.length + (opts.withMapa ? 1 : 0);
  let done = 0;
  const perSeed = opts.seeds.map((seed) => {
    const jobs = syntheticJobs(seed, opts.jobs ?? 1500, capacityGpus);
    return { seed, jobs: jobs.map((j) => ({ pod: cluster.compilePod(j), arriveAt: j.arriveAt, duration: j.duration })), profile: runProfile(jobs, cluster) };
  });
  const summaries: PolicySummary[] = [];
  const curves: Record<string, CurvePoint[]> = {};
  for (const name of opts.policies) {
    const policy = makePolicy(name, { extenderTies });
    const rs = perSeed.map(({ seed, jobs, profile }) => {
      const r = runTimeline(cluster, jobs, policy, seed, profile, ties);
      opts.onProgress?.(++done, total, `synthetic ${name} seed ${seed}`);
      return r;
    });
    summaries.push(summarizeRuns('synthetic', rs, SYNTHETIC_POINTS, SYNTHETIC_HALF_WIDTH));
    curves[name] = unallocatedCurve(rs, 10, 900);
  }
  let mapa: MapaSummary[] | undefined;
  if (opts.withMapa) {
    mapa = mapaScenario(opts.seeds[0] ?? 42);
    opts.onProgress?.(++done, total, 'MAPA scenario');
  }
  return {
    mode: 'synthetic',
    workload: 'synthetic',
    seeds: [...opts.seeds],
    ties,
    extenderTies,
    clusterGpus: capacityGpus,
    clusterNodes: cluster.n,
    assumptions: assumptionsOf(specs),
    points: [...SYNTHETIC_POINTS],
    pointHalfWidth: SYNTHETIC_HALF_WIDTH,
    summaries,
    curves,
    ...(mapa ? { mapa } : {}),
    elapsedMs: performance.now() - t0,
  };
}
