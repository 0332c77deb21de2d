/**
 * "As deployed": the node kube-scheduler would pick with the linkpack extender, not the core's
 * top raw score. Read from a KubeSchedulerConfiguration (the shipped deploy/scheduler file, a
 * ConfigMap holding config.yaml, or the bare configuration), for the linkpack-scheduler profile:
 * - which nodes are scored: percentageOfNodesToScore (0/absent = adaptive 50 − n/125 %, at least
 *   5% and 100 nodes), found from a start index that rotates by the nodes examined (as
 *   schedule_one.go's nextStartNodeIndex);
 * - total = Σ plugin weight × plugin score (0..100) + extender level (0..10, the extender's own
 *   mapping) × extender weight × 10; the highest total wins, ties by the run's rule.
 * Score plugins modelled from kube-scheduler v1.37 (pkg/scheduler/framework/plugins/noderesources):
 * NodeResourcesFit LeastAllocated / MostAllocated (integer Σ w_r·score_r / Σ w_r over the listed
 * resources; an extended resource the pod does not request is skipped) and
 * NodeResourcesBalancedAllocation (50 + (50 + score with the pod − score without)/2, score =
 * (1 − std of the requested fractions) · 100). The other default score plugins (TaintToleration,
 * NodeAffinity, PodTopologySpread, InterPodAffinity, ImageLocality) give every simulated node the
 * same score — no taints, affinities, selectors or images in a trace — so they cannot change a pick.
 * With countDevices the scheduler's filter adds its device count: a share pod asks one
 * nvidia.com/gpu (devicesFit), of deviceSlotsPerGpu devices per GPU (the device plugin's
 * --share-slots; 1 = one device per GPU). Simplification: pods' CPU/memory requests are the trace's (no non-zero defaults).
 */
import { parse as parseYaml } from 'yaml';
import { extenderScoresFromRaw } from '../extender/scores.js';
import type { SimCluster, SimPod } from './cluster.js';

export type FitStrategy = 'LeastAllocated' | 'MostAllocated';
export type ResourceName = 'cpu' | 'memory' | 'nvidia.com/gpu';
export interface ResourceWeight {
  name: ResourceName;
  weight: number;
}

export interface DeployedConfig {
  /** Where it was read from, for the report. */
  source: string;
  extenderWeight: number;
  /** 0 = kube-scheduler's adaptive default. */
  percentageOfNodesToScore: number;
  fit: { weight: number; strategy: FitStrategy; resources: ResourceWeight[] } | null;
  balanced: { weight: number; resources: ResourceWeight[] } | null;
  /** Apply kube-scheduler's nvidia.com/gpu device count in the filter (devicesFit). */
  countDevices?: boolean;
  /** Devices the device plugin advertises per GPU (`--share-slots`; default 1): kube-scheduler's nvidia.com/gpu allocatable is GPUs × this. */
  deviceSlotsPerGpu?: number;
  /**
   * The extender lists `managedResources`: kube-scheduler then asks it only about pods that
   * request one of them (nvidia.com/gpu), and CPU-only pods are placed by the plugins alone.
   */
  extenderGpuPodsOnly: boolean;
  /**
   * The extender knows each node's free CPU and memory (from the Node feed: allocatable minus the
   * pods' requests). false: the GPU view alone, as an extender without Node objects (a cluster
   * file without Nodes) scores.
   */
  extenderSeesCpu: boolean;
}

const DEFAULT_RESOURCES: ResourceWeight[] = [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
];

/** kube-scheduler's defaults with one extender of this weight (what a profile without overrides gets). */
export function defaultDeployedConfig(extenderWeight = 5, source = 'kube-scheduler defaults'): DeployedConfig {
  return {
    source,
    extenderWeight,
    percentageOfNodesToScore: 0,
    fit: { weight: 1, strategy: 'LeastAllocated', resources: DEFAULT_RESOURCES },
    balanced: { weight: 1, resources: DEFAULT_RESOURCES },
    extenderGpuPodsOnly: true,
    extenderSeesCpu: true,
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function resourcesOf(v: unknown, where: string): ResourceWeight[] {
  if (!Array.isArray(v)) throw new Error(`${where}: resources must be a list of {name, weight}`);
  return v.map((r, i) => {
    if (!isObj(r) || typeof r.name !== 'string') throw new Error(`${where}: resources[${i}] needs a name`);
    if (!['cpu', 'memory', 'nvidia.com/gpu'].includes(r.name)) throw new Error(`${where}: resources[${i}] "${r.name}" is not modelled (cpu, memory, nvidia.com/gpu)`);
    const weight = r.weight === undefined ? 1 : r.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1) throw new Error(`${where}: resources[${i}].weight must be a whole number ≥ 1`);
    return { name: r.name as ResourceName, weight };
  });
}

/**
 * The linkpack-scheduler profile of a KubeSchedulerConfiguration (YAML text; a ConfigMap with
 * data["config.yaml"] is unwrapped). `file` names the source in errors.
 */
export function parseDeployedConfig(text: string, file: string, schedulerName = 'linkpack-scheduler'): DeployedConfig {
  let doc: unknown = parseYaml(text);
  if (isObj(doc) && doc.kind === 'ConfigMap') {
    const inner = isObj(doc.data) ? doc.data['config.yaml'] : undefined;
    if (typeof inner !== 'string') throw new Error(`${file}: the ConfigMap has no data["config.yaml"]`);
    doc = parseYaml(inner);
  }
  if (!isObj(doc) || doc.kind !== 'KubeSchedulerConfiguration') throw new Error(`${file}: not a KubeSchedulerConfiguration`);
  const profiles = Array.isArray(doc.profiles) ? doc.profiles.filter(isObj) : [];
  const profile = profiles.find((p) => p.schedulerName === schedulerName);
  if (!profile) throw new Error(`${file}: no profile with schedulerName ${schedulerName}`);
  const extenders = Array.isArray(doc.extenders) ? doc.extenders.filter(isObj) : [];
  const ext = extenders.find((e) => e.prioritizeVerb);
  if (!ext) throw new Error(`${file}: no extender with a prioritizeVerb`);
  const extenderWeight = ext.weight ?? 1;
  if (typeof extenderWeight !== 'number' || !Number.isInteger(extenderWeight) || extenderWeight < 1) throw new Error(`${file}: extender weight must be a whole number ≥ 1`);
  const cfg = defaultDeployedConfig(extenderWeight, file);
  cfg.extenderGpuPodsOnly = Array.isArray(ext.managedResources) && ext.managedResources.length > 0;
  const pct = profile.percentageOfNodesToScore ?? doc.percentageOfNodesToScore ?? 0;
  if (typeof pct !== 'number' || !(pct >= 0 && pct <= 100)) throw new Error(`${file}: percentageOfNodesToScore must be 0..100`);
  cfg.percentageOfNodesToScore = pct;
  const score = isObj(profile.plugins) && isObj(profile.plugins.score) ? profile.plugins.score : {};
  const names = (list: unknown) => (Array.isArray(list) ? list.filter(isObj) : []);
  for (const d of names(score.disabled)) {
    if (d.name === '*' || d.name === 'NodeResourcesFit') cfg.fit = null;
    if (d.name === '*' || d.name === 'NodeResourcesBalancedAllocation') cfg.balanced = null;
  }
  for (const e of names(score.enabled)) {
    const w = typeof e.weight === 'number' ? e.weight : 1;
    if (e.name === 'NodeResourcesFit') cfg.fit = { ...(cfg.fit ?? { strategy: 'LeastAllocated', resources: DEFAULT_RESOURCES }), weight: w };
    if (e.name === 'NodeResourcesBalancedAllocation') cfg.balanced = { ...(cfg.balanced ?? { resources: DEFAULT_RESOURCES }), weight: w };
  }
  for (const pc of names(profile.pluginConfig)) {
    const args = isObj(pc.args) ? pc.args : {};
    if (pc.name === 'NodeResourcesFit' && cfg.fit && isObj(args.scoringStrategy)) {
      const s = args.scoringStrategy;
      if (s.type !== undefined && s.type !== 'LeastAllocated' && s.type !== 'MostAllocated') throw new Error(`${file}: NodeResourcesFit scoringStrategy.type "${String(s.type)}" is not modelled`);
      cfg.fit = { ...cfg.fit, strategy: (s.type as FitStrategy | undefined) ?? 'LeastAllocated', resources: s.resources === undefined ? DEFAULT_RESOURCES : resourcesOf(s.resources, `${file}: NodeResourcesFit`) };
    }
    if (pc.name === 'NodeResourcesBalancedAllocation' && cfg.balanced && args.resources !== undefined) {
      cfg.balanced = { ...cfg.balanced, resources: resourcesOf(args.resources, `${file}: NodeResourcesBalancedAllocation`) };
    }
  }
  return cfg;
}

/** kube-scheduler's numFeasibleNodesToFind. */
export function nodesToScore(pct: number, all: number): number {
  if (all < 100) return all;
  let p = pct;
  if (p === 0) p = Math.max(5, 50 - Math.trunc(all / 125));
  return Math.max(100, Math.trunc((all * p) / 100));
}

/** Allocatable, requested before, and the pod's request of one resource on one node (0 allocatable = skipped). */
function amounts(cluster: SimCluster, node: number, pod: SimPod, r: ResourceName, slotsPerGpu = 1): [number, number, number] {
  const spec = cluster.specs[node];
  if (r === 'cpu') return [spec.cpuMilli, spec.cpuMilli - cluster.cpuFree[node], pod.cpuMilli];
  if (r === 'memory') return [spec.memoryMiB, spec.memoryMiB - cluster.memFree[node], pod.memoryMiB];
  if (pod.gpuCount === 0) return [0, 0, 0]; // an extended resource the pod does not ask: skipped
  let devices = 0;
  for (let k = 0; k < 17; k++) devices += cluster.classCount[node * 17 + k] * Math.max(1, k);
  return [spec.gpuCount * slotsPerGpu, devices, pod.gpuCount];
}

/**
 * kube-scheduler's own NodeResourcesFit filter on nvidia.com/gpu: it counts devices, and a GPU
 * share asks for one (docs/extender.md), so a node holds at most as many GPU pods as it has GPUs
 * however small their shares — a limit the FGD protocol does not have.
 */
export function devicesFit(cluster: SimCluster, node: number, pod: SimPod, slotsPerGpu = 1): boolean {
  if (pod.gpuCount === 0) return true;
  const [cap, before, ask] = amounts(cluster, node, pod, 'nvidia.com/gpu', slotsPerGpu);
  return before + ask <= cap;
}

const trunc = Math.trunc;

function fitScore(strategy: FitStrategy, resources: readonly ResourceWeight[], cluster: SimCluster, node: number, pod: SimPod, slotsPerGpu: number): number {
  let sum = 0;
  let weights = 0;
  for (const r of resources) {
    const [cap, before, ask] = amounts(cluster, node, pod, r.name, slotsPerGpu);
    if (cap === 0) continue;
    const req = before + ask;
    const s = strategy === 'LeastAllocated' ? (req > cap ? 0 : trunc(((cap - req) * 100) / cap)) : trunc((Math.min(req, cap) * 100) / cap);
    sum += s * r.weight;
    weights += r.weight;
  }
  return weights === 0 ? 0 : trunc(sum / weights);
}

function balancedOf(fractions: number[]): number {
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0] - fractions[1]) / 2);
  else if (fractions.length > 2) {
    const mean = fractions.reduce((a, f) => a + f, 0) / fractions.length;
    std = Math.sqrt(fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length);
  }
  return trunc((1 - std) * 100);
}

function balancedScore(resources: readonly ResourceWeight[], cluster: SimCluster, node: number, pod: SimPod, slotsPerGpu: number): number {
  const withPod: number[] = [];
  const without: number[] = [];
  for (const r of resources) {
    const [cap, before, ask] = amounts(cluster, node, pod, r.name, slotsPerGpu);
    if (cap === 0) continue;
    withPod.push(Math.min(1, (before + ask) / cap));
    without.push(Math.min(1, before / cap));
  }
  return 50 + trunc((50 + balancedOf(withPod) - balancedOf(without)) / 2);
}

/** Σ weight × score of the modelled plugins for one node (the constant ones left out). */
export function pluginTotal(cfg: DeployedConfig, cluster: SimCluster, node: number, pod: SimPod): number {
  let t = 0;
  const slots = cfg.deviceSlotsPerGpu ?? 1;
  if (cfg.fit) t += cfg.fit.weight * fitScore(cfg.fit.strategy, cfg.fit.resources, cluster, node, pod, slots);
  if (cfg.balanced) t += cfg.balanced.weight * balancedScore(cfg.balanced.resources, cluster, node, pod, slots);
  return t;
}

/** The run's tie rule over one scan (the simulator's `BestNode`): offered each scored node once. */
export interface NodePick {
  readonly node: number;
  offer(node: number, score: number): boolean;
}

/**
 * One scheduling cycle: the scored nodes (from `start`, until enough feasible ones), the pick, and
 * how many nodes were examined (the next start moves by that). `raw` gives the core's raw score
 * of a node (NaN = the extender filters it out); `pick` holds the run's tie rule, so equal totals
 * are broken as every other policy breaks them.
 */
export function deployedPick(
  cfg: DeployedConfig,
  cluster: SimCluster,
  pod: SimPod,
  start: number,
  raw: (node: number) => number,
  pick: NodePick,
  tieRank?: (node: number) => number,
): { node: number; examined: number } {
  const n = cluster.n;
  const want = nodesToScore(cfg.percentageOfNodesToScore, n);
  const feasible: number[] = [];
  let examined = 0;
  for (; examined < n && feasible.length < want; examined++) {
    const node = (start + examined) % n;
    if (cluster.fits(node, pod) && (!cfg.countDevices || devicesFit(cluster, node, pod, cfg.deviceSlotsPerGpu))) feasible.push(node);
  }
  const passed: number[] = [];
  const passedRaw: number[] = [];
  // managedResources nvidia.com/gpu: kube-scheduler asks the extender only about GPU pods.
  const asked = !cfg.extenderGpuPodsOnly || pod.gpuCount > 0;
  for (const node of feasible) {
    const r = asked ? raw(node) : 0;
    if (r !== r) continue; // the extender's filter refuses it
    passed.push(node);
    passedRaw.push(r);
  }
  if (passed.length === 0) return { node: -1, examined };
  const levels = asked ? extenderScoresFromRaw(Float64Array.from(passedRaw), tieRank && ((i) => tieRank(passed[i]))) : new Uint8Array(passed.length);
  passed.forEach((node, i) => pick.offer(node, pluginTotal(cfg, cluster, node, pod) + levels[i] * cfg.extenderWeight * 10));
  return { node: pick.node, examined };
}
