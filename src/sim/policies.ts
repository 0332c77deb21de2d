/**
 * Placement policies. The six FGD baselines are reimplemented from their definitions (README of
 * the trace, FGD paper): each is the only node scorer, scores are kube-scheduler integers 0..100
 * (the framework truncates); ties go to the first node of a per-run random node order, as in the
 * FGD artifact (or to the first node in cluster order, or uniformly at random: TieBreak).
 * Inside a node, whole-GPU pods take the lowest-index fully free GPUs, as in the FGD simulator.
 * `linkpack` calls the shipped core (placeOnNode) for GPU pods.
 */
import { availableGpusByModel, fragPoints, modelNeed, modelNeedTable, placeOnNode, popularityProfile, withFreeSupply, type GpuRequest, type NodeDecision, type WorkloadProfile } from '../core/index.js';
import { MILLI, type SimCluster, type SimPod } from './cluster.js';
import type { Rng } from './rng.js';
import { defaultDeployedConfig, deployedPick, parseDeployedConfig, type DeployedConfig } from './deployed.js';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeTieRank } from '../extender/scores.js';
import { ObservedRunProfile } from './profile.js';

export const POLICY_NAMES = ['random', 'dotprod', 'gpuclustering', 'gpupacking', 'bestfit', 'fgd', 'fgd-learned', 'linkpack', 'linkpack-deployed', 'linkpack-deployed-learned', 'linkpack-deployed-nocpu', 'linkpack-kubedefault', 'linkpack-devicecap', 'linkpack-shareslots', 'linkpack-noprofile'] as const;
/**
 * linkpack variants: `linkpack` = the core's top raw score (the objective itself);
 * `linkpack-deployed` = the pick of kube-scheduler with the shipped deploy/scheduler/scheduler-config.yaml
 * (deployed.ts), with the whole pod list's profile from the first pod (an extender that has seen its
 * workload); `linkpack-deployed-learned` = the same with the profile the extender learns from the
 * pods it has seen (profile.ts: none below 20 GPU pods, rebuilt as their count doubles — a cluster
 * just installed); `linkpack-kubedefault` = the same with kube-scheduler's default score plugins and
 * extender weight 5; `linkpack-devicecap` = linkpack-deployed with kube-scheduler's nvidia.com/gpu device
 * count in the filter (with the device plugin's default of one device per GPU a share holds a whole
 * one); `linkpack-shareslots` = the same with the device plugin's `--share-slots 10` (each GPU ten
 * devices, SHARE_SLOTS_MODELLED); `linkpack-deployed-nocpu` = linkpack-deployed with an extender
 * that does not know the nodes' free CPU and memory (no Node objects); `linkpack-noprofile` = the core without a workload profile (the extender
 * before it has seen enough pods).
 */
export const LINKPACK_VARIANTS: readonly PolicyName[] = ['linkpack-deployed', 'linkpack-deployed-learned', 'linkpack-deployed-nocpu', 'linkpack-kubedefault', 'linkpack-devicecap', 'linkpack-shareslots', 'linkpack-noprofile'];
/** Devices per GPU of the `linkpack-shareslots` variant: the device plugin run with `--share-slots 10`. */
export const SHARE_SLOTS_MODELLED = 10;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Spelling of the FGD artifact's result files. */
export const PUBLISHED_POLICY: Partial<Record<PolicyName, string>> = {
  random: '01-Random',
  dotprod: '02-DotProd',
  gpuclustering: '03-GpuClustering',
  gpupacking: '04-GpuPacking',
  bestfit: '05-BestFit',
  fgd: '06-FGD',
};

export interface Placement {
  node: number;
  gpus: number[];
}

/**
 * Tie-breaking among equally scored nodes.
 * - `permuted`: the first node of a random node order drawn once per run from the run's seeded RNG.
 *   This is what the FGD artifact does: its vendored kube-scheduler takes the lexicographically
 *   smallest name among equal scores ("for reproducibility"), but before the run the simulator
 *   renames every node with a random `%04d-` prefix from `rand.Perm` (hkust-adsl/
 *   kubernetes-scheduler-simulator, pkg/simulator/simulator.go, syncClusterResourceList), so the
 *   smallest name is the first node of a per-seed random order, not of the node list.
 * - `first`: the first node in cluster order (the trace's file order).
 * - `random`: uniform among the tied nodes at every decision, as stock kube-scheduler does.
 */
export type TieBreak = 'permuted' | 'first' | 'random';
export const TIE_BREAKS: readonly TieBreak[] = ['permuted', 'first', 'random'];
/** The FGD protocol's tie rule (the artifact's). */
export const FGD_TIES: TieBreak = 'permuted';

/**
 * Per run: each node's place in that run's random node order. Keyed by the run's Rng, which a
 * copied context keeps ({ ...ctx, profile }), so a wrapper cannot draw a new order per pod.
 */
const nodeRanks = new WeakMap<Rng, Int32Array>();

function nodeRankOf(ctx: PolicyContext): Int32Array {
  let rank = nodeRanks.get(ctx.rng);
  if (!rank || rank.length !== ctx.cluster.n) {
    const order = ctx.rng.shuffle(Array.from({ length: ctx.cluster.n }, (_, i) => i));
    rank = new Int32Array(order.length);
    for (let r = 0; r < order.length; r++) rank[order[r]] = r;
    nodeRanks.set(ctx.rng, rank);
  }
  return rank;
}

export interface PolicyContext {
  cluster: SimCluster;
  rng: Rng;
  profile: WorkloadProfile;
  ties?: TieBreak;
}

export interface Policy {
  readonly name: string;
  choose(pod: SimPod, ctx: PolicyContext): Placement | null;
  /** Drop caches keyed by node-state signatures (called when the cluster is reset). */
  reset?(): void;
  /** A placed pod left the cluster (runs with departures). */
  departed?(pod: SimPod): void;
}

// Normalisation constants of BestFit and DotProd (FGD simulator: 128 cores, 8 GPUs).
const MAX_SPEC_CPU = 128_000;
const MAX_SPEC_GPU = 8_000;
const MAX_SCORE = 100;

/** Lowest-index GPUs with at least `milli` free, `count` of them (whole GPUs: fully free ones). */
export function lowestIndexGpus(cluster: SimCluster, node: number, count: number, milli: number): number[] {
  const free = cluster.freeMilliOf(node);
  const out: number[] = [];
  for (let g = 0; g < free.length && out.length < count; g++) if (free[g] >= milli) out.push(g);
  return out;
}

/** Share pods: the GPU with the smallest remainder that fits (lowest index on ties). */
export function bestFitShareGpu(cluster: SimCluster, node: number, milli: number): number {
  const free = cluster.freeMilliOf(node);
  let best = -1;
  for (let g = 0; g < free.length; g++) if (free[g] >= milli && (best === -1 || free[g] < free[best])) best = g;
  return best;
}

function bestFitGpus(cluster: SimCluster, node: number, pod: SimPod): number[] {
  if (pod.gpuCount === 0) return [];
  if (pod.milliPerGpu < MILLI) return [bestFitShareGpu(cluster, node, pod.milliPerGpu)];
  return lowestIndexGpus(cluster, node, pod.gpuCount, MILLI);
}

/**
 * The run's tie rule over one scan of the nodes: the highest score wins; among equal ones the
 * first scanned ('first'), one drawn uniformly (reservoir sampling, 'random') or the first in the
 * run's node order ('permuted'). One rule for every policy that scans.
 */
class BestNode {
  node = -1;
  score = -Infinity;
  private ties = 0;
  private readonly rank: ArrayLike<number> | null;
  constructor(private readonly ctx: PolicyContext) {
    this.rank = ctx.ties === 'permuted' ? nodeRankOf(ctx) : null;
  }
  /** Offer a node; true when it is now the pick. */
  offer(node: number, score: number): boolean {
    if (score > this.score) {
      this.score = score;
      this.node = node;
      this.ties = 1;
      return true;
    }
    if (score !== this.score) return false;
    const wins = this.ctx.ties === 'random' ? this.ctx.rng.int(++this.ties) === 0 : this.rank !== null && this.rank[node] < this.rank[this.node];
    if (wins) this.node = node;
    return wins;
  }
}

/** A policy that scores every feasible node with an integer and takes a best one by the run's tie rule. */
abstract class ScoringPolicy implements Policy {
  abstract readonly name: string;
  protected abstract score(node: number, pod: SimPod, ctx: PolicyContext): number;
  protected gpus(node: number, pod: SimPod, _ctx: PolicyContext): number[] {
    return bestFitGpus(_ctx.cluster, node, pod);
  }

  choose(pod: SimPod, ctx: PolicyContext): Placement | null {
    const { cluster } = ctx;
    const best = new BestNode(ctx);
    for (let node = 0; node < cluster.n; node++) if (cluster.fits(node, pod)) best.offer(node, this.score(node, pod, ctx));
    if (best.node < 0) return null;
    return { node: best.node, gpus: this.gpus(best.node, pod, ctx) };
  }
}

/** A random feasible node; a random fitting GPU for a share. */
class RandomPolicy implements Policy {
  readonly name = 'random';
  choose(pod: SimPod, { cluster, rng }: PolicyContext): Placement | null {
    let chosen = -1;
    let seen = 0;
    for (let node = 0; node < cluster.n; node++) if (cluster.fits(node, pod) && rng.int(++seen) === 0) chosen = node;
    if (chosen < 0) return null;
    if (pod.gpuCount === 0) return { node: chosen, gpus: [] };
    if (pod.milliPerGpu < MILLI) {
      const free = cluster.freeMilliOf(chosen);
      let gpu = -1;
      let c = 0;
      for (let g = 0; g < free.length; g++) if (free[g] >= pod.milliPerGpu && rng.int(++c) === 0) gpu = g;
      return { node: chosen, gpus: [gpu] };
    }
    return { node: chosen, gpus: lowestIndexGpus(cluster, chosen, pod.gpuCount, MILLI) };
  }
}

/** Tetris: 1 − mean of the normalised (free · request) products; smaller alignment scores higher. */
class DotProdPolicy extends ScoringPolicy {
  readonly name = 'dotprod';
  protected score(node: number, pod: SimPod, { cluster }: PolicyContext): number {
    const dot = (cluster.cpuFree[node] / MAX_SPEC_CPU) * (pod.cpuMilli / MAX_SPEC_CPU) + (cluster.totalFreeMilli(node) / MAX_SPEC_GPU) * (pod.totalMilli / MAX_SPEC_GPU);
    return Math.trunc(MAX_SCORE * (1 - dot / 2));
  }
}

/** Prefer nodes that already host the pod's GPU class (share, 1, 2, 4, 8 GPUs), then fuller nodes. */
class GpuClusteringPolicy extends ScoringPolicy {
  readonly name = 'gpuclustering';
  protected score(node: number, pod: SimPod, { cluster }: PolicyContext): number {
    if (pod.gpuClass < 0) return 0;
    const quarter = MAX_SCORE / 4;
    const fullness = Math.trunc((quarter * (MAX_SPEC_GPU - cluster.totalFreeMilli(node))) / MAX_SPEC_GPU);
    const distinct = cluster.classDistinct[node];
    if (cluster.classCount[node * 17 + pod.gpuClass] > 0) return fullness + (distinct === 1 ? 3 * quarter : 2 * quarter);
    return fullness + (distinct === 0 ? quarter : 0);
  }
}

/** Prefer already-shared GPUs, then free GPUs on partly used nodes, then empty nodes. */
class GpuPackingPolicy extends ScoringPolicy {
  readonly name = 'gpupacking';
  protected score(node: number, pod: SimPod, { cluster }: PolicyContext): number {
    if (pod.totalMilli <= 0) return 0;
    const free = cluster.freeMilliOf(node);
    const fullyFree = cluster.fullyFreeCount(node);
    if (fullyFree === free.length) return Math.max(Math.trunc(MAX_SCORE / 3) - fullyFree, fullyFree);
    // The GPUs the pod would take, least free first.
    let need = pod.gpuCount;
    let fullyFreeUsed = 0;
    let freePct = 0;
    let last = -1;
    while (need > 0) {
      // next GPU in ascending (free, index) order after `last`
      let pick = -1;
      for (let g = 0; g < free.length; g++) {
        if (free[g] < pod.milliPerGpu) continue;
        const after = last < 0 || free[g] > free[last] || (free[g] === free[last] && g > last);
        if (after && (pick < 0 || free[g] < free[pick] || (free[g] === free[pick] && g < pick))) pick = g;
      }
      if (pick < 0) return 0;
      if (free[pick] === MILLI) fullyFreeUsed++;
      freePct += Math.trunc((free[pick] * 100) / MILLI);
      last = pick;
      need--;
    }
    if (fullyFreeUsed > 0) return Math.max(Math.trunc(MAX_SCORE / 2) - fullyFreeUsed, Math.trunc(MAX_SCORE / 3));
    return Math.max(MAX_SCORE - Math.trunc(freePct / 10), Math.trunc(MAX_SCORE / 2));
  }
}

/** 100 · (1 − Σ_r w_r (free_r − req_r) / maxSpec_r), r ∈ {CPU, GPU}, w = ½. */
class BestFitPolicy extends ScoringPolicy {
  readonly name = 'bestfit';
  protected score(node: number, pod: SimPod, { cluster }: PolicyContext): number {
    let s = 0;
    s += ((cluster.cpuFree[node] - pod.cpuMilli) / MAX_SPEC_CPU) * 0.5;
    s += ((cluster.totalFreeMilli(node) - pod.totalMilli) / MAX_SPEC_GPU) * 0.5;
    return Math.trunc((1 - s) * MAX_SCORE);
  }
}

/**
 * FGD: ⌊100 · sigmoid((F_n before − F_n after) / 1000)⌋ — the core's fragPoints, the same term
 * linkpack's score leads with; a share takes the GPU with the best such
 * score (lowest index on ties). Results are cached per (node state, request): identical nodes in
 * identical states give identical answers, and most nodes do not change between two pods.
 */
class FgdPolicy extends ScoringPolicy {
  private readonly cache = new Map<number, number>();
  private cacheProfile: WorkloadProfile | null = null;
  /** With `learned`: the profile learned from the pods placed so far (as linkpack-deployed-learned's). */
  private readonly observed: ObservedRunProfile | null;
  private learnedNow: WorkloadProfile | null = null;

  constructor(readonly name: 'fgd' | 'fgd-learned' = 'fgd') {
    super();
    this.observed = name === 'fgd-learned' ? new ObservedRunProfile() : null;
  }

  reset(): void {
    this.cache.clear();
    this.observed?.reset();
  }

  departed(pod: SimPod): void {
    this.observed?.departed(pod);
  }

  override choose(pod: SimPod, ctx: PolicyContext): Placement | null {
    if (!this.observed) return super.choose(pod, ctx);
    this.learnedNow = this.observed.at(pod, ctx.cluster);
    const p = super.choose(pod, ctx);
    if (p) this.observed.placed(pod);
    return p;
  }

  private scoreAndGpu(node: number, pod: SimPod, ctx: PolicyContext): number {
    const cluster = ctx.cluster;
    // FGD as published: its typical pods by popularity alone (no heavy shapes; profile.ts).
    const profile = popularityProfile(this.learnedNow ?? ctx.profile);
    if (this.cacheProfile !== profile) {
      this.cache.clear();
      this.cacheProfile = profile;
    }
    const key = cluster.sig[node] * 1_048_576 + pod.reqId;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const before = cluster.fragOf(node, profile);
    let packed: number;
    if (pod.gpuCount === 1 && pod.milliPerGpu < MILLI) {
      const free = cluster.freeMilliOf(node);
      let bestScore = -1;
      let bestGpu = -1;
      for (let g = 0; g < free.length; g++) {
        if (free[g] < pod.milliPerGpu) continue;
        const after = cluster.fragAfter(node, pod.cpuMilli, [g], pod.milliPerGpu, profile);
        const s = fragPoints(after - before);
        if (bestGpu < 0 || s > bestScore) {
          bestScore = s;
          bestGpu = g;
        }
      }
      packed = bestScore * 64 + bestGpu;
    } else {
      const gpus = lowestIndexGpus(cluster, node, pod.gpuCount, MILLI);
      const after = cluster.fragAfter(node, pod.cpuMilli, gpus, pod.milliPerGpu, profile);
      packed = fragPoints(after - before) * 64;
    }
    this.cache.set(key, packed);
    return packed;
  }

  protected score(node: number, pod: SimPod, ctx: PolicyContext): number {
    return Math.floor(this.scoreAndGpu(node, pod, ctx) / 64);
  }

  protected override gpus(node: number, pod: SimPod, ctx: PolicyContext): number[] {
    if (pod.gpuCount === 1 && pod.milliPerGpu < MILLI) return [this.scoreAndGpu(node, pod, ctx) % 64];
    return lowestIndexGpus(ctx.cluster, node, pod.gpuCount, MILLI);
  }
}

/** The request linkpack's core sees for a trace pod. */
export function coreRequest(pod: SimPod): GpuRequest {
  const req: GpuRequest = {
    gpuCount: pod.gpuCount,
    milliPerGpu: pod.milliPerGpu,
    topology: 'prefer-nvlink',
    policy: 'binpack',
    cpuMilli: pod.cpuMilli,
    memoryMiB: pod.memoryMiB,
  };
  if (pod.gpuSpec.length > 0) req.models = pod.gpuSpec;
  return req;
}

/**
 * linkpack: the shipped core decides every pod (node = highest rawScore, ties by the run's rule;
 * GPUs = the core's set). CPU-only pods are core requests with gpuCount 0: they go where they
 * strand the least GPU capacity.
 */
class LinkpackPolicy implements Policy {
  /**
   * Decisions by the node's model need (the one way a refreshed free supply reaches the core's
   * score: scarcity.ts), then by node state and request. Kept while the shapes stay the same, so
   * a need change re-decides only the nodes of the models whose need changed.
   */
  private readonly cache = new Map<number, Map<number, NodeDecision>>();
  private last: { need: number; byState: Map<number, NodeDecision> } | null = null;
  /** kube-scheduler's rotating start index (deployed mode). */
  private nextStart = 0;

  constructor(
    readonly name: string = 'linkpack',
    private readonly opts: { profile: boolean; deployed?: DeployedConfig; extenderTiesByName?: boolean; observedProfile?: boolean } = { profile: true },
  ) {}
  /** With observedProfile: the profile as the extender learns it from the pods it sees. */
  private readonly observed = new ObservedRunProfile();
  /** nodeTieRank of each node's name, for extenderTiesByName (per cluster). */
  private nameRanks: { cluster: SimCluster; ranks: Float64Array } | null = null;
  private cacheBase: WorkloadProfile | null = null;
  private cacheCluster: SimCluster | null = null;
  /** Calls into the core (for the speed report). */
  coreCalls = 0;

  /** The profile with the cluster's free GPUs per model, as the extender builds it (liveProfile). */
  private live: { base: WorkloadProfile; profile: WorkloadProfile } | null = null;

  reset(): void {
    this.cache.clear();
    this.last = null;
    this.nextStart = 0;
    this.live = null;
    this.observed.reset();
  }

  /** Free GPUs per model plus what the churn so far says held ones will release (availableGpusByModel). */
  private supplyOf(cluster: SimCluster, base: WorkloadProfile): Map<string, number> {
    return availableGpusByModel(base.gpusByModel ?? new Map(), cluster.freeGpusByModel(), cluster.churn());
  }

  /**
   * The run's profile with the free GPUs per model now, so that model scarcity is measured
   * against what is still free (scarcity.ts). A new object only when the need table changes:
   * the decision cache is keyed by the profile and survives the pods that change no need.
   */
  private liveProfile(base: WorkloadProfile, cluster: SimCluster, pod: SimPod): WorkloadProfile {
    if (this.live?.base !== base) {
      if (modelNeedTable(base).size === 0) return base; // no constrained demand: nothing to measure
      this.live = { base, profile: withFreeSupply(base, this.supplyOf(cluster, base)) };
    } else if (pod.gpuCount > 0) this.live.profile = withFreeSupply(base, this.supplyOf(cluster, base), this.live.profile);
    // (a CPU-only pod carries no scarcity: the profile stays)
    return this.live.profile;
  }

  /** The decisions at this need (the last one asked for is kept at hand: most calls repeat it). */
  private byNeed(need: number): Map<number, NodeDecision> {
    if (this.last?.need === need) return this.last.byState;
    let byState = this.cache.get(need);
    if (byState === undefined) this.cache.set(need, (byState = new Map()));
    this.last = { need, byState };
    return byState;
  }

  private decide(cluster: SimCluster, node: number, pod: SimPod, req: GpuRequest, profile: WorkloadProfile | undefined): NodeDecision {
    const byState = this.byNeed(profile && pod.gpuCount > 0 ? modelNeed(cluster.compiled[node].modelsLower, profile) : 0);
    const key = cluster.sig[node] * 1_048_576 + pod.reqId;
    let d = byState.get(key);
    if (d === undefined) {
      d = placeOnNode(cluster.nodeState(node, this.opts.deployed?.extenderSeesCpu ?? true), req, profile);
      this.coreCalls++;
      byState.set(key, d);
    }
    return d;
  }

  /**
   * The extender's order among equal raw scores: its own nodeTieRank of the node names
   * (extenderTiesByName, for a replay of named nodes), else the run's node order standing in for it.
   */
  private extenderTieRank(cluster: SimCluster, rank: ArrayLike<number> | null): (node: number) => number {
    if (this.opts.extenderTiesByName) {
      if (this.nameRanks?.cluster !== cluster) this.nameRanks = { cluster, ranks: Float64Array.from(cluster.specs, (s) => nodeTieRank(s.name)) };
      const ranks = this.nameRanks.ranks;
      return (nd) => ranks[nd]!;
    }
    return (nd) => (rank ? rank[nd]! : nd);
  }

  departed(pod: SimPod): void {
    if (this.opts.observedProfile) this.observed.departed(pod);
  }

  choose(pod: SimPod, ctx: PolicyContext): Placement | null {
    if (!this.opts.observedProfile) return this.chooseWith(ctx.profile, pod, ctx);
    const p = this.chooseWith(this.observed.at(pod, ctx.cluster), pod, ctx);
    if (p) this.observed.placed(pod);
    return p;
  }

  private chooseWith(base: WorkloadProfile, pod: SimPod, ctx: PolicyContext): Placement | null {
    const { cluster } = ctx;
    const withShapes = this.opts.profile && base.shapes.length > 0;
    const profile = withShapes ? this.liveProfile(base, cluster, pod) : undefined;
    if (this.cacheBase !== (withShapes ? base : null) || this.cacheCluster !== cluster) {
      this.cache.clear();
      this.last = null;
      this.cacheBase = withShapes ? base : null;
      this.cacheCluster = cluster;
    }
    const req = coreRequest(pod);
    // Exact ties follow the run's tie rule, as kube-scheduler's own random pick among equal totals
    // would (shares tie among equal FGD points; whole-GPU pods rarely: packing is continuous).
    if (this.opts.deployed) {
      const rank = ctx.ties === 'permuted' ? nodeRankOf(ctx) : null;
      const { node, examined } = deployedPick(this.opts.deployed, cluster, pod, this.nextStart, (nd) => {
        const d = this.decide(cluster, nd, pod, req, profile);
        return d.fits ? d.rawScore : NaN;
      }, new BestNode(ctx), this.extenderTieRank(cluster, rank));
      this.nextStart = (this.nextStart + examined) % cluster.n;
      if (node < 0) return null;
      if (pod.gpuCount === 0) return { node, gpus: [] };
      const d = this.decide(cluster, node, pod, req, profile);
      return d.fits ? { node, gpus: [...d.gpus] } : null;
    }
    const pick = new BestNode(ctx);
    let best: NodeDecision | null = null;
    for (let node = 0; node < cluster.n; node++) {
      if (!cluster.fits(node, pod)) continue;
      const d = this.decide(cluster, node, pod, req, profile);
      if (d.fits && pick.offer(node, d.rawScore)) best = d;
    }
    if (best === null || !best.fits) return null;
    return { node: pick.node, gpus: [...best.gpus] };
  }
}

/** The extender's own order among equal raw scores in the deployed variants (see extenderTieRank). */
export type ExtenderTies = 'order' | 'names';
export const EXTENDER_TIES: readonly ExtenderTies[] = ['order', 'names'];
export const DEFAULT_EXTENDER_TIES: ExtenderTies = 'order';

/**
 * `extenderTies`: 'order' (default) stands the run's node order in for the extender's stable tie
 * order; 'names' uses the extender's own nodeTieRank of the node names (as the replay does).
 */
export function makePolicy(name: PolicyName, opts: { extenderTies?: ExtenderTies } = {}): Policy {
  const extenderTiesByName = opts.extenderTies === 'names';
  const deployed = (cfg: DeployedConfig, observedProfile = false) => deployedPolicy(cfg, name, { observedProfile, extenderTiesByName });
  switch (name) {
    case 'random':
      return new RandomPolicy();
    case 'dotprod':
      return new DotProdPolicy();
    case 'gpuclustering':
      return new GpuClusteringPolicy();
    case 'gpupacking':
      return new GpuPackingPolicy();
    case 'bestfit':
      return new BestFitPolicy();
    case 'fgd':
    case 'fgd-learned':
      return new FgdPolicy(name);
    case 'linkpack':
      return new LinkpackPolicy();
    case 'linkpack-deployed':
      return deployed(shippedSchedulerConfig());
    case 'linkpack-deployed-learned':
      return deployed(shippedSchedulerConfig(), true);
    case 'linkpack-deployed-nocpu':
      return deployed({ ...shippedSchedulerConfig(), extenderSeesCpu: false });
    case 'linkpack-kubedefault':
      return deployed(defaultDeployedConfig(5));
    case 'linkpack-devicecap':
      return deployed(shippedWithDeviceCount(1));
    case 'linkpack-shareslots':
      return deployed(shippedWithDeviceCount(SHARE_SLOTS_MODELLED));
    case 'linkpack-noprofile':
      return new LinkpackPolicy(name, { profile: false });
  }
}

/** linkpack as kube-scheduler would run it with this configuration (deployed.ts). */
export function deployedPolicy(cfg: DeployedConfig, name = 'linkpack-deployed', opts: { extenderTiesByName?: boolean; observedProfile?: boolean } = {}): Policy {
  return new LinkpackPolicy(name, { profile: true, deployed: cfg, ...opts });
}

/** The shipped configuration with kube-scheduler's device count, the device plugin advertising `slotsPerGpu` devices per GPU. */
export function shippedWithDeviceCount(slotsPerGpu: number): DeployedConfig {
  return { ...shippedSchedulerConfig(), countDevices: true, deviceSlotsPerGpu: slotsPerGpu };
}

/** deploy/scheduler/scheduler-config.yaml of this checkout (found upwards from this module), parsed. */
export function shippedSchedulerConfig(): DeployedConfig {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const f = join(dir, 'deploy/scheduler/scheduler-config.yaml');
    if (existsSync(f)) return parseDeployedConfig(readFileSync(f, 'utf8'), f);
  }
  throw new Error('deploy/scheduler/scheduler-config.yaml not found above the simulator (needed by linkpack-deployed)');
}

export function parsePolicies(text: string): PolicyName[] | string {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (names.length === 0) return 'no policy given';
  if (names.length === 1 && names[0] === 'all') return [...POLICY_NAMES];
  for (const n of names) if (!(POLICY_NAMES as readonly string[]).includes(n)) return `unknown policy "${n}" (known: ${POLICY_NAMES.join(', ')}, all)`;
  return names as PolicyName[];
}
