/**
 * Filter + Score for one node: does the request fit, which GPUs, and how good is this node.
 * Pure: plain data in, a decision with its reasons out. `placeOnNode` gives the full decision;
 * `scoreNodes` gives only the raw scores of many nodes (the prioritize hot path) from the same
 * evaluation, without building decision objects.
 */
import { type CompiledTopology, popcount } from './compile.js';
import { fragDeltaOf, healthyMask } from './fragmentation.js';
import { modelMatches } from './model-match.js';
import { noFitReason, type NoFitConstraint } from './no-fit.js';
import { modelNeed } from './scarcity.js';
import { bestWholeSet, bestWholeSetUncached, describeChoice, type ConnectivityRule, type WholeSetChoice } from './search.js';
import type { GpuRequest, NodeDecision, NodeState, ScoreBreakdown, WorkloadProfile } from './types.js';
import { GPU_MILLI, PACKING_POLICIES, TOPOLOGY_MODES } from './types.js';

/** A human error for a malformed request, or null. */
export function validateRequest(req: GpuRequest): string | null {
  if (!Number.isInteger(req.gpuCount) || req.gpuCount < 0) return `GPU count must be a whole number ≥ 0, got ${req.gpuCount}`;
  if (req.gpuCount === 0) {
    // A CPU-only pod: scored only for the GPU capacity its CPU and memory would strand.
    return req.milliPerGpu === 0 ? null : `a pod with no GPUs must ask for 0 milli-GPU, got ${req.milliPerGpu}`;
  }
  if (!Number.isInteger(req.milliPerGpu) || req.milliPerGpu < 1 || req.milliPerGpu > GPU_MILLI) {
    return `GPU share must be a whole number of milli-GPU in 1..1000, got ${req.milliPerGpu}`;
  }
  if (req.milliPerGpu < GPU_MILLI && req.gpuCount !== 1) return `a GPU share (${req.milliPerGpu} milli) is only allowed with 1 GPU, not ${req.gpuCount}`;
  if (!TOPOLOGY_MODES.includes(req.topology)) return `topology must be one of ${TOPOLOGY_MODES.join(' | ')}, got "${req.topology}"`;
  if (!PACKING_POLICIES.includes(req.policy)) return `policy must be one of ${PACKING_POLICIES.join(' | ')}, got "${req.policy}"`;
  if (req.minMemoryMiB !== undefined && !(req.minMemoryMiB >= 0)) return `minimum GPU memory must be ≥ 0 MiB, got ${req.minMemoryMiB}`;
  return null;
}

/** GPUs allowed by model, memory, include and exclude (health and capacity apart). */
function constraintMask(ct: CompiledTopology, req: GpuRequest): number {
  const all = (1 << ct.n) - 1;
  let mask = all;
  if ((req.models && req.models.length > 0) || req.minMemoryMiB !== undefined) {
    const key = `${(req.models ?? []).join('\u0000')}\u0001${req.minMemoryMiB ?? ''}`;
    let m = ct.eligibilityMasks.get(key);
    if (m === undefined) {
      m = 0;
      const wanted = req.models ?? [];
      for (let i = 0; i < ct.n; i++) {
        const modelOk = wanted.length === 0 || modelMatches(ct.modelsLower[i], wanted);
        const mem = ct.topology.gpus[i].memoryMiB;
        const memOk = req.minMemoryMiB === undefined || (mem !== undefined && mem >= req.minMemoryMiB);
        if (modelOk && memOk) m |= 1 << i;
      }
      ct.eligibilityMasks.set(key, m);
    }
    mask &= m;
  }
  if (req.includeGpus) {
    let inc = 0;
    for (const g of req.includeGpus) if (g >= 0 && g < ct.n) inc |= 1 << g;
    mask &= inc;
  }
  if (req.excludeGpus) for (const g of req.excludeGpus) if (g >= 0 && g < ct.n) mask &= ~(1 << g);
  return mask & all;
}

function ruleFor(req: GpuRequest): ConnectivityRule {
  if (req.gpuCount < 2 || req.topology === 'any') return 'ignore';
  return req.topology === 'require-nvlink' ? 'require' : 'prefer';
}

// Weights of the node score: lexicographic in effect (each term's range is below the next weight).
export const W_TIER = 1e12; // NVLink tier of the chosen set: all pairs > connected > not (multi-GPU, NVLink modes)
/** A rawScore at or above this: the set is NVLink-connected and the tier leads (no profile). */
export const RAW_SCORE_NVLINK_TIER = W_TIER / 2;
const W_FRAG = 1e8; // per point of the FGD score 0..100 (with a workload profile, binpack): < W_TIER / 2
const W_TIER_SOFT = 1e7; // the NVLink tier below the FGD points (fragmentation-aware scoring)
const W_EXACT = 1e10; // the job fills the node exactly (no profile): < W_TIER / 2, > any preservation
const W_PRESERVE = 1e2; // per GB/s of NVLink bandwidth taken out of the free pool (no profile)
const W_NO_NVLINK_TAKEN = 1e6; // with a profile, whole GPUs: the pod takes no NVLink-connected free capacity here (< W_TIER_SOFT)
const W_SHARE_STARVES_GPUS = 1e3; // with a profile, shares: the share leaves the free whole GPUs short of CPU (< one FGD point)
/**
 * CPU a share must leave per free whole GPU, or lose ties (milli-cores). 8 cores: the trace's
 * tightest GPU nodes have 8 per GPU (4-GPU V100 boxes with 32, P100 boxes with 16 for 2). Measured
 * against 4, 6 and 10 cores, the node's own CPU per GPU and the profile's mean (10.7): only 8
 * helped, and it held on unseen seeds (docs/simulator.md, "CPU for the free GPUs").
 */
export const SHARE_CPU_PER_FREE_GPU_MILLI = 8000;
// packing: 0..100, weight 1

/** The outcome of one evaluation; reused between nodes on the hot path. */
interface Evaluation {
  reason: string | null;
  /** The user constraint the reason is about, when it is one. */
  constraint?: NoFitConstraint;
  choice: WholeSetChoice | null;
  usedAfter: number;
  fragDeltaMilli: number | undefined;
  /** Expected GPU capacity that model-constrained pods will miss (milli), with a profile. */
  scarcityMilli: number;
  /** A share leaves the free whole GPUs short of CPU (W_SHARE_STARVES_GPUS). */
  shortOfCpu: boolean;
  raw: number;
}

/** Reason given when the caller did not ask for reasons (the scoring hot path builds no strings). */
const NO_FIT = 'does not fit';

function noFit(out: Evaluation, wantReason: boolean, node: NodeState, req: GpuRequest, healthy: number, cons: number, fullFree: number): Evaluation {
  if (!wantReason) {
    out.reason = NO_FIT;
    return out;
  }
  const r = noFitReason(node, req, healthy, cons, fullFree);
  out.reason = r.reason;
  out.constraint = r.constraint;
  return out;
}

function evaluate(
  node: NodeState,
  req: GpuRequest,
  profile: WorkloadProfile | undefined,
  exhaustive: boolean,
  wantReason: boolean,
  out: Evaluation,
): Evaluation {
  out.reason = null;
  out.constraint = undefined;
  out.choice = null;
  out.fragDeltaMilli = undefined;
  out.scarcityMilli = 0;
  out.shortOfCpu = false;
  const ct = node.topology;
  const n = ct.n;
  if (node.freeMilli.length !== n) {
    out.reason = `node state lists ${node.freeMilli.length} GPUs but its topology has ${n}`;
    return out;
  }
  if (req.cpuMilli !== undefined && node.cpuFreeMilli !== undefined && node.cpuFreeMilli < req.cpuMilli) {
    out.reason = `not enough CPU: needs ${req.cpuMilli}m, ${node.cpuFreeMilli}m free`;
    return out;
  }
  if (req.memoryMiB !== undefined && node.memoryFreeMiB !== undefined && node.memoryFreeMiB < req.memoryMiB) {
    out.reason = `not enough memory: needs ${req.memoryMiB}Mi, ${node.memoryFreeMiB}Mi free`;
    return out;
  }
  const healthy = healthyMask(node);
  const cons = constraintMask(ct, req);
  const milli = req.milliPerGpu;
  let fullFree = 0;
  let canTake = 0;
  let usedMilli = 0;
  for (let i = 0; i < n; i++) {
    if (!(healthy & (1 << i))) continue;
    const f = node.freeMilli[i];
    usedMilli += GPU_MILLI - f;
    if (f >= GPU_MILLI) fullFree |= 1 << i;
    if (f >= milli) canTake |= 1 << i;
  }
  const rule = ruleFor(req);
  if (req.gpuCount === 0) {
    out.choice = describeChoice(ct, 0, fullFree);
  } else if (milli >= GPU_MILLI) {
    if (popcount(cons & fullFree) < req.gpuCount) {
      return noFit(out, wantReason, node, req, healthy, cons, fullFree);
    }
    out.choice = (exhaustive ? bestWholeSetUncached : bestWholeSet)(ct, cons & healthy, fullFree, req.gpuCount, rule);
    if (!out.choice) {
      return noFit(out, wantReason, node, req, healthy, cons, fullFree);
    }
  } else {
    const bit = bestShareGpu(node, req, cons & canTake, fullFree, healthy, profile);
    if (bit === -1) {
      return noFit(out, wantReason, node, req, healthy, cons, fullFree);
    }
    out.choice = describeChoice(ct, bit, fullFree);
  }
  const c = out.choice!;
  const healthyCount = popcount(healthy);
  out.usedAfter = healthyCount === 0 ? 1 : (usedMilli + req.gpuCount * milli) / (healthyCount * GPU_MILLI);
  let raw = 0;
  const tier = rule === 'ignore' ? 0 : c.allPairsNvlink ? 2 : c.quality.nvlinkConnected ? 1 : 0;
  const fragAware = profile !== undefined && profile.shapes.length > 0 && req.policy === 'binpack';
  if (profile && profile.shapes.length > 0) out.fragDeltaMilli = fragDelta(node, req, c.mask, healthy, profile);
  if (fragAware) {
    // Cluster first: a whole FGD point of fragmentation (≈ 40 milli-GPU that typical pods could no
    // longer use) outweighs a soft NVLink preference; among equal points NVLink decides.
    // Model scarcity (scarcity.ts): GPUs of a model that constrained pods will need count as
    // capacity lost, need² per milli taken (need: their share of that model; need again: the
    // chance the model runs out before they arrive). CPU-only pods take no GPU: no term.
    const need = req.gpuCount > 0 ? modelNeed(ct.modelsLower, profile!) : 0;
    out.scarcityMilli = req.gpuCount * milli * need * need;
    raw += W_FRAG * fragPoints(out.fragDeltaMilli! + out.scarcityMilli) + W_TIER_SOFT * tier;
    // A share then follows FGD: the caller's stable node order (first fit, FGD's own tie rule)
    // decides. Packing is a whole-GPU signal and scattered shares (−0.03…−0.19 points on the
    // trace's workloads without it; docs/simulator.md, "Shares and the node order"); the NVLink bit
    // below drew shares to the GPUs no NVLink set can use any more, on nodes whose CPU was then
    // exhausted around whole free GPUs (sixth pass: −0.02…−0.20 points on 13 of 20 lists).
    const share = req.gpuCount > 0 && milli < GPU_MILLI;
    if (!share) {
      // A whole-GPU pod: whether it takes NVLink bandwidth from the free pool at all (a PCIe box
      // or a GPU whose NVLink peers are busy takes none), then packing, then the stable node
      // order. How much bandwidth is not compared across nodes: as a continuous term it outranked
      // packing and scattered pods over the trace (+0.1…0.2 points against dropping it), while
      // dropping the bit cost the built-in scenario's NVLink-connected share (72.5% → 67.6%);
      // which GPUs inside the node still follows preservation (search.ts).
      if (c.nvFreeBeforeGBps - c.nvFreeAfterGBps <= 0) raw += W_NO_NVLINK_TAKEN;
      raw += req.policy === 'binpack' ? out.usedAfter * 100 : (1 - out.usedAfter) * 100;
    } else if (node.cpuFreeMilli !== undefined && node.cpuFreeMilli - (req.cpuMilli ?? 0) < SHARE_CPU_PER_FREE_GPU_MILLI * popcount(c.freeAfter)) {
      // A share that leaves the node's free whole GPUs short of CPU comes after one that does
      // not, among equal points: the whole GPUs behind exhausted CPU were what cpu037 lost
      // (docs/simulator.md, "CPU for the free GPUs", eighth pass).
      raw -= W_SHARE_STARVES_GPUS;
      out.shortOfCpu = true;
    }
    out.raw = raw;
    return out;
  } else {
    // No profile: the NVLink tier, then (binpack) an exact fit — a job that takes a node's last
    // free GPUs strands nothing there, so a 4-GPU job fills the 4 free GPUs of a half-used box
    // before it opens an empty one, whatever each box's NVLink speed. Then NVLink preservation
    // and packing. (Best fit by leftover before preservation measured worse: docs/simulator.md.)
    const exact = req.gpuCount > 0 && healthyCount * GPU_MILLI - usedMilli - req.gpuCount * milli === 0;
    raw += W_TIER * tier + (req.policy === 'binpack' && exact ? W_EXACT : 0);
  }
  raw -= W_PRESERVE * (c.nvFreeBeforeGBps - c.nvFreeAfterGBps);
  raw += req.policy === 'binpack' ? out.usedAfter * 100 : (1 - out.usedAfter) * 100;
  out.raw = raw;
  return out;
}

/**
 * FGD's node score, 100·sigmoid(−ΔF/1000) as a whole number: about one point per 40 milli-GPU of
 * fragmentation growth near zero. The quantisation is deliberate: fragmentation deltas that close
 * are noise against what the next terms (NVLink preservation, packing) know.
 */
export function fragPoints(deltaMilli: number): number {
  return Math.floor(100 / (1 + Math.exp(deltaMilli / 1000)));
}

const newEvaluation = (): Evaluation => ({ reason: null, choice: null, usedAfter: 0, fragDeltaMilli: undefined, scarcityMilli: 0, shortOfCpu: false, raw: 0 });

export function placeOnNode(node: NodeState, req: GpuRequest, profile?: WorkloadProfile, opts: { exhaustive?: boolean } = {}): NodeDecision {
  const e = evaluate(node, req, profile, opts.exhaustive ?? false, true, newEvaluation());
  if (e.reason !== null || !e.choice) return { node: node.name, fits: false, reason: e.reason ?? 'no choice', ...(e.constraint ? { constraint: e.constraint } : {}) };
  const c = e.choice;
  const multi = req.gpuCount >= 2;
  const breakdown: ScoreBreakdown = {
    nvlinkConnected: c.quality.nvlinkConnected,
    nvlinkAllPairs: !multi || c.allPairsNvlink,
    bottleneckGBps: multi ? c.quality.bottleneckGBps : 0,
    minPairGBps: multi ? c.quality.minPairGBps : 0,
    aggregateGBps: multi ? c.quality.aggregateGBps : 0,
    freeGpusAfter: popcount(c.freeAfter),
    largestNvlinkSetAfter: c.largestNvlinkSetAfter,
    leftoverQuality: c.nvFreeBeforeGBps === 0 ? 1 : c.nvFreeAfterGBps / c.nvFreeBeforeGBps,
    gpuUsedAfter: e.usedAfter,
  };
  if (e.fragDeltaMilli !== undefined) breakdown.fragDeltaMilli = e.fragDeltaMilli;
  if (e.scarcityMilli > 0) breakdown.scarcityMilli = e.scarcityMilli;
  if (e.shortOfCpu) breakdown.leavesGpusShortOfCpu = true;
  return { node: node.name, fits: true, gpus: [...c.gpus], breakdown, rawScore: e.raw };
}

/**
 * Raw scores of many nodes for one request (NaN = does not fit), without decision objects: the
 * prioritize hot path. Same evaluation as placeOnNode.
 */
export function scoreNodes(
  nodes: ArrayLike<NodeState | undefined>,
  req: GpuRequest,
  profile?: WorkloadProfile,
  opts: { exhaustive?: boolean } = {},
): Float64Array {
  const out = new Float64Array(nodes.length);
  const e = newEvaluation();
  const exhaustive = opts.exhaustive ?? false;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    out[i] = node && evaluate(node, req, profile, exhaustive, false, e).reason === null ? e.raw : NaN;
  }
  return out;
}

function fragDelta(node: NodeState, req: GpuRequest, set: number, healthy: number, profile: WorkloadProfile): number {
  return fragDeltaOf(node.freeMilli, healthy, node.topology.modelsLower, node.cpuFreeMilli, profile, set, req.milliPerGpu, req.cpuMilli ?? 0);
}

/**
 * A share of one GPU: least fragmentation growth (with a profile), then a GPU already shared
 * (keep whole GPUs whole), then the tightest fit, then the whole GPU whose loss hurts the leftover
 * least, then the lowest index.
 */
function bestShareGpu(node: NodeState, req: GpuRequest, candidates: number, fullFree: number, healthy: number, profile?: WorkloadProfile): number {
  let best = -1;
  let bestKey: number[] = [];
  const ct = node.topology;
  const size = 1 << ct.n;
  for (let r = candidates; r; r &= r - 1) {
    const i = 31 - Math.clz32(r & -r);
    const bit = 1 << i;
    const key: number[] = [];
    key.push(profile && profile.shapes.length > 0 ? -fragDelta(node, req, bit, healthy, profile) : 0);
    key.push(fullFree & bit ? 0 : 1);
    key.push(-(node.freeMilli[i] - req.milliPerGpu));
    const rest = fullFree & ~bit;
    for (let s = popcount(rest); s >= 2; s--) key.push(fullFree & bit ? ct.bestQuality[s * size + rest] : 0);
    if (best === -1 || lexGreater(key, bestKey)) {
      best = bit;
      bestKey = key;
    }
  }
  return best;
}

function lexGreater(a: number[], b: number[]): boolean {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}
