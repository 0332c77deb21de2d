/**
 * The MAPA locality scenario (Ranganath et al., arXiv 2110.03214; jobGenerator defaults): one
 * DGX-1 V100, 1,000 jobs of 2–5 whole GPUs (uniform), service times 5–24 units (uniform), all
 * queued at t = 0, FIFO with head-of-line blocking, jobs depart when done. Compared: MAPA's
 * `baseline` (lowest free GPU ids), NVIDIA go-gpuallocator's best-effort policy, and linkpack's core.
 *
 * Execution-time model (our assumption, not MAPA's fitted polynomial): a job's time is its service
 * time × (1 + c · (50 / bottleneck − 1)), with bottleneck the GB/s of the best spanning tree over
 * its GPUs (50 = a double NVLink of V100), c = 0.3 for the bandwidth-sensitive networks (alexnet,
 * inception-v3, resnet-50, vgg16: 4 of MAPA's 6) and c = 0.05 for the others.
 */
import { compileTopology, placeOnNode, type CompiledTopology, type WorkloadProfile } from '../core/index.js';
import { dgx1, parseLinkLegend } from '../topology/index.js';
import type { Topology } from '../topology/types.js';
import { setLocality } from './locality.js';
import { Rng } from './rng.js';

export const MAPA_POLICIES = ['lowest-index', 'besteffort', 'linkpack'] as const;
export type MapaPolicy = (typeof MAPA_POLICIES)[number];

export interface MapaJob {
  id: number;
  gpus: number;
  serviceUnits: number;
  bandwidthSensitive: boolean;
}

const NETWORKS = ['alexnet', 'googlenet', 'caffenet', 'inception-v3', 'resnet-50', 'vgg16'] as const;
const SENSITIVE = new Set<string>(['alexnet', 'inception-v3', 'resnet-50', 'vgg16']);
const REFERENCE_GBPS = 50;
const COMM_SENSITIVE = 0.3;
const COMM_OTHER = 0.05;

export function generateMapaJobs(count: number, seed: number): MapaJob[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, id) => {
    const net = NETWORKS[rng.int(NETWORKS.length)];
    return { id, gpus: rng.intBetween(2, 5), serviceUnits: rng.intBetween(5, 24), bandwidthSensitive: SENSITIVE.has(net) };
  });
}

/** go-gpuallocator's PCIe pair scores (P2P link types). */
const P2P_SCORE = { sameBoard: 60, singleSwitch: 50, multiSwitch: 40, hostBridge: 30, sameCpu: 20, crossCpu: 10 } as const;

/** PCIe tree of go-gpuallocator's DGX-1 Volta fixture: pairs under one switch, host bridge in a socket, cross-CPU otherwise. */
export function dgx1PcieScore(i: number, j: number): number {
  if (i >> 1 === j >> 1) return P2P_SCORE.singleSwitch;
  if (i >> 2 === j >> 2) return P2P_SCORE.hostBridge;
  return P2P_SCORE.crossCpu;
}

/** PCIe pair score read from an nvidia-smi legend (NVLink cells hide the PCIe path: 0). */
export function legendPcieScore(legend: string): number {
  const info = parseLinkLegend(legend);
  switch (info?.kind) {
    case 'PIX':
      return P2P_SCORE.singleSwitch;
    case 'PXB':
      return P2P_SCORE.multiSwitch;
    case 'PHB':
      return P2P_SCORE.hostBridge;
    case 'NODE':
      return P2P_SCORE.sameCpu;
    case 'SYS':
      return P2P_SCORE.crossCpu;
    default:
      return 0;
  }
}

/** Pair score matrix: 100 per NVLink plus the PCIe path score (go-gpuallocator's calculateGPUPairScore). */
export function bestEffortPairScores(t: Topology, pcie: (i: number, j: number) => number = (i, j) => legendPcieScore(t.links[i][j])): number[][] {
  const n = t.gpus.length;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 0 : 100 * (parseLinkLegend(t.links[i][j])?.nvlinks ?? 0) + pcie(i, j))),
  );
}

/**
 * go-gpuallocator best effort: the partition of the available GPUs (padded to a multiple of k)
 * into k-sets with the highest summed set score; then the best set of that partition that has no
 * padding. A set's score is the sum of its pair scores.
 */
export function bestEffortAllocate(available: readonly number[], k: number, pair: readonly (readonly number[])[]): number[] {
  if (k <= 0 || available.length < k) return [];
  if (available.length === k) return [...available];
  const PAD = -1;
  const items = [...available];
  while (items.length % k !== 0) items.push(PAD);
  const setScore = (set: readonly number[]): number => {
    let s = 0;
    for (let a = 0; a < set.length; a++) for (let b = a + 1; b < set.length; b++) if (set[a] !== PAD && set[b] !== PAD) s += pair[set[a]][set[b]];
    return s;
  };
  const best = { partition: [] as number[][], score: -1 };
  const used = new Array<boolean>(items.length).fill(false);
  const current: number[][] = [];
  const recurse = (score: number): void => {
    const first = used.indexOf(false);
    if (first === -1) {
      if (current.some((s) => !s.includes(PAD)) && score > best.score) {
        best.score = score;
        best.partition = current.map((s) => [...s]);
      }
      return;
    }
    used[first] = true;
    const set = [items[first]];
    const pick = (from: number): void => {
      if (set.length === k) {
        current.push([...set]);
        recurse(score + setScore(set));
        current.pop();
        return;
      }
      for (let i = from; i < items.length; i++) {
        if (used[i]) continue;
        used[i] = true;
        set.push(items[i]);
        pick(i + 1);
        set.pop();
        used[i] = false;
      }
    };
    pick(first + 1);
    used[first] = false;
  };
  recurse(0);
  let chosen: number[] = [];
  let chosenScore = -1;
  for (const set of best.partition) {
    if (set.includes(PAD)) continue;
    const s = setScore(set);
    if (s > chosenScore) {
      chosenScore = s;
      chosen = set;
    }
  }
  return [...chosen].sort((a, b) => a - b);
}

export interface MapaJobResult {
  id: number;
  gpus: number[];
  bottleneckGBps: number;
  nvlinkConnected: boolean;
  startUnits: number;
  endUnits: number;
  slowdown: number;
}

export interface MapaResult {
  policy: MapaPolicy;
  jobs: MapaJobResult[];
  makespanUnits: number;
}

type Allocator = (free: readonly number[], job: MapaJob) => number[];

function allocatorFor(policy: MapaPolicy, t: Topology, ct: CompiledTopology): Allocator {
  switch (policy) {
    case 'lowest-index':
      return (free, job) => free.slice(0, job.gpus);
    case 'besteffort': {
      const pair = bestEffortPairScores(t, dgx1PcieScore);
      return (free, job) => bestEffortAllocate(free, job.gpus, pair);
    }
    case 'linkpack': {
      // The core looks ahead with the scenario's job mix (2–5 GPUs, equally likely).
      const profile: WorkloadProfile = { shapes: [2, 3, 4, 5].map((g) => ({ cpuMilli: 0, gpuCount: g, milliPerGpu: 1000, weight: 0.25 })) };
      return (free, job) => {
        const freeMilli = Array.from({ length: ct.n }, (_, i) => (free.includes(i) ? 1000 : 0));
        const d = placeOnNode({ name: 'dgx1', topology: ct, freeMilli }, { gpuCount: job.gpus, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack' }, profile);
        return d.fits ? d.gpus : [];
      };
    }
  }
}

export function slowdownFor(job: MapaJob, bottleneckGBps: number): number {
  const c = job.bandwidthSensitive ? COMM_SENSITIVE : COMM_OTHER;
  return 1 + c * (REFERENCE_GBPS / Math.max(bottleneckGBps, 1e-9) - 1);
}

/** Run the FIFO queue on one DGX-1 V100 until every job is done. */
export function runMapa(jobs: readonly MapaJob[], policy: MapaPolicy, topology: Topology = dgx1()): MapaResult {
  const ct = compileTopology(topology);
  const alloc = allocatorFor(policy, topology, ct);
  const busy = new Array<boolean>(ct.n).fill(false);
  const running: { end: number; gpus: number[] }[] = [];
  const out: MapaJobResult[] = [];
  let now = 0;
  let next = 0;
  while (next < jobs.length || running.length > 0) {
    // Start jobs from the head of the queue while they fit (head-of-line blocking).
    while (next < jobs.length) {
      const job = jobs[next];
      if (job.gpus > ct.n) throw new Error(`job ${job.id} asks ${job.gpus} GPUs, the node has ${ct.n}`);
      const free = busy.flatMap((b, i) => (b ? [] : [i]));
      if (free.length < job.gpus) break;
      const gpus = alloc(free, job);
      if (gpus.length !== job.gpus || gpus.some((g) => busy[g])) throw new Error(`${policy} returned [${gpus.join(',')}] for job ${job.id} (${job.gpus} GPUs, free ${free.join(',')})`);
      const loc = setLocality(ct, gpus);
      const slowdown = slowdownFor(job, loc.bottleneckGBps);
      const end = now + job.serviceUnits * slowdown;
      for (const g of gpus) busy[g] = true;
      running.push({ end, gpus });
      out.push({ id: job.id, gpus, bottleneckGBps: loc.bottleneckGBps, nvlinkConnected: loc.nvlinkConnected, startUnits: now, endUnits: end, slowdown });
      next++;
    }
    if (running.length === 0) break;
    // Advance to the next completion; free every job ending then.
    running.sort((a, b) => a.end - b.end);
    now = running[0].end;
    while (running.length > 0 && running[0].end <= now + 1e-12) for (const g of running.shift()!.gpus) busy[g] = false;
  }
  return { policy, jobs: out, makespanUnits: out.reduce((m, j) => Math.max(m, j.endUnits), 0) };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = (sorted.length - 1) * p;
  const lo = Math.floor(idx);
  const hi = Math.ceil(idx);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (idx - lo);
}

export interface MapaSummary {
  policy: MapaPolicy;
  jobs: number;
  bandwidthGBps: { min: number; p25: number; p50: number; p75: number };
  connectedPct: number;
  meanSlowdown: number;
  makespanUnits: number;
}

export function summarizeMapa(r: MapaResult): MapaSummary {
  const bw = r.jobs.map((j) => j.bottleneckGBps).sort((a, b) => a - b);
  return {
    policy: r.policy,
    jobs: r.jobs.length,
    bandwidthGBps: { min: bw[0], p25: percentile(bw, 0.25), p50: percentile(bw, 0.5), p75: percentile(bw, 0.75) },
    connectedPct: (100 * r.jobs.filter((j) => j.nvlinkConnected).length) / r.jobs.length,
    meanSlowdown: r.jobs.reduce((a, j) => a + j.slowdown, 0) / r.jobs.length,
    makespanUnits: r.makespanUnits,
  };
}

/** The whole scenario: the same 1,000 jobs for every policy. */
export function mapaScenario(seed = 42, count = 1000): MapaSummary[] {
  const jobs = generateMapaJobs(count, seed);
  return MAPA_POLICIES.map((p) => summarizeMapa(runMapa(jobs, p)));
}
