/**
 * Filter + Score for one node: does the request fit, which GPUs, and how good is this node.
 * Pure: plain data in, a decision with its reasons out.
 */
import { type CompiledTopology, isConnectedQuality, popcount, unpackQuality } from './compile.js';
import { fragmentationOf, healthyMask } from './fragmentation.js';
import { bestWholeSet, type ConnectivityRule } from './search.js';
import type { GpuRequest, NodeDecision, NodeState, ScoreBreakdown, WorkloadProfile } from './types.js';
import { GPU_MILLI, PACKING_POLICIES, TOPOLOGY_MODES } from './types.js';

/** A human error for a malformed request, or null. */
export function validateRequest(req: GpuRequest): string | null {
  if (!Number.isInteger(req.gpuCount) || req.gpuCount < 1) return `GPU count must be a whole number ≥ 1, got ${req.gpuCount}`;
  if (!Number.isInteger(req.milliPerGpu) || req.milliPerGpu < 1 || req.milliPerGpu > GPU_MILLI) {
    return `GPU share must be a whole number of milli-GPU in 1..1000, got ${req.milliPerGpu}`;
  }
  if (req.milliPerGpu < GPU_MILLI && req.gpuCount !== 1) return `a GPU share (${req.milliPerGpu} milli) is only allowed with 1 GPU, not ${req.gpuCount}`;
  if (!TOPOLOGY_MODES.includes(req.topology)) return `topology must be one of ${TOPOLOGY_MODES.join(' | ')}, got "${req.topology}"`;
  if (!PACKING_POLICIES.includes(req.policy)) return `policy must be one of ${PACKING_POLICIES.join(' | ')}, got "${req.policy}"`;
  if (req.minMemoryMiB !== undefined && !(req.minMemoryMiB >= 0)) return `minimum GPU memory must be ≥ 0 MiB, got ${req.minMemoryMiB}`;
  return null;
}

function listGpus(mask: number): number[] {
  const out: number[] = [];
  for (let r = mask; r; r &= r - 1) out.push(31 - Math.clz32(r & -r));
  return out;
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
      const wanted = (req.models ?? []).map((s) => s.toLowerCase());
      for (let i = 0; i < ct.n; i++) {
        const modelOk = wanted.length === 0 || wanted.some((w) => ct.modelsLower[i].includes(w));
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
const W_TIER = 1e12; // NVLink tier of the chosen set: all pairs > connected > not (multi-GPU, NVLink modes)
const W_FRAG = 1e7; // per milli-GPU of fragmentation growth (with a workload profile)
const W_PRESERVE = 1e2; // per GB/s of NVLink bandwidth taken out of the free pool
// packing: 0..100, weight 1

function whyNot(node: NodeState, req: GpuRequest, healthy: number, cons: number, capacity: number): string {
  const n = node.topology.n;
  const want = req.milliPerGpu === GPU_MILLI ? `${req.gpuCount} whole GPU${req.gpuCount > 1 ? 's' : ''}` : `${req.milliPerGpu} milli of 1 GPU`;
  const parts: string[] = [];
  const unhealthy = n - popcount(healthy);
  if (unhealthy) parts.push(`${unhealthy} unhealthy`);
  const busy = popcount(healthy & ~capacity);
  if (busy) parts.push(`${busy} in use`);
  const excluded = popcount(healthy & capacity & ~cons);
  if (excluded) parts.push(`${excluded} excluded by model/memory/include/exclude`);
  const ok = popcount(healthy & capacity & cons);
  return `needs ${want}; ${ok} of ${n} GPUs qualify${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

export function placeOnNode(node: NodeState, req: GpuRequest, profile?: WorkloadProfile): NodeDecision {
  const ct = node.topology;
  const n = ct.n;
  if (node.freeMilli.length !== n) {
    return { node: node.name, fits: false, reason: `node state lists ${node.freeMilli.length} GPUs but its topology has ${n}` };
  }
  if (req.cpuMilli !== undefined && node.cpuFreeMilli !== undefined && node.cpuFreeMilli < req.cpuMilli) {
    return { node: node.name, fits: false, reason: `not enough CPU: needs ${req.cpuMilli}m, ${node.cpuFreeMilli}m free` };
  }
  if (req.memoryMiB !== undefined && node.memoryFreeMiB !== undefined && node.memoryFreeMiB < req.memoryMiB) {
    return { node: node.name, fits: false, reason: `not enough memory: needs ${req.memoryMiB}Mi, ${node.memoryFreeMiB}Mi free` };
  }
  const healthy = healthyMask(node);
  const cons = constraintMask(ct, req);
  let fullFree = 0;
  let canShare = 0;
  let usedMilli = 0;
  for (let i = 0; i < n; i++) {
    if (!(healthy & (1 << i))) continue;
    const f = node.freeMilli[i];
    usedMilli += GPU_MILLI - f;
    if (f >= GPU_MILLI) fullFree |= 1 << i;
    if (f >= req.milliPerGpu) canShare |= 1 << i;
  }
  const rule = ruleFor(req);
  let chosen: number;
  if (req.milliPerGpu >= GPU_MILLI) {
    const eligible = cons & fullFree;
    if (popcount(eligible) < req.gpuCount) return { node: node.name, fits: false, reason: whyNot(node, req, healthy, cons, fullFree) };
    chosen = bestWholeSet(ct, cons & healthy, fullFree, req.gpuCount, rule);
    if (chosen === -1) {
      return {
        node: node.name,
        fits: false,
        reason: `no NVLink-connected set of ${req.gpuCount} among free GPUs ${listGpus(eligible).join(',')}`,
      };
    }
  } else {
    chosen = bestShareGpu(node, req, cons & canShare, fullFree, healthy, profile);
    if (chosen === -1) return { node: node.name, fits: false, reason: whyNot(node, req, healthy, cons, canShare) };
  }

  const q = unpackQuality(ct.quality[chosen]);
  const multi = req.gpuCount >= 2;
  const freeAfter = fullFree & ~chosen;
  const size = 1 << n;
  let largest = popcount(freeAfter) > 0 ? 1 : 0;
  for (let s = popcount(freeAfter); s >= 2; s--) {
    if (isConnectedQuality(ct.bestQuality[s * size + freeAfter])) {
      largest = s;
      break;
    }
  }
  const nvBefore = ct.nvAggGBps[fullFree];
  const nvAfter = ct.nvAggGBps[freeAfter];
  const healthyCount = popcount(healthy);
  const usedAfter = healthyCount === 0 ? 1 : (usedMilli + req.gpuCount * req.milliPerGpu) / (healthyCount * GPU_MILLI);
  const allPairs = multi && q.minPairGBps > 0 && allPairsNvlink(ct, chosen);
  const breakdown: ScoreBreakdown = {
    nvlinkConnected: q.nvlinkConnected,
    nvlinkAllPairs: !multi || allPairs,
    bottleneckGBps: multi ? q.bottleneckGBps : 0,
    minPairGBps: multi ? q.minPairGBps : 0,
    aggregateGBps: multi ? q.aggregateGBps : 0,
    freeGpusAfter: popcount(freeAfter),
    largestNvlinkSetAfter: largest,
    leftoverQuality: nvBefore === 0 ? 1 : nvAfter / nvBefore,
    gpuUsedAfter: usedAfter,
  };
  let raw = 0;
  if (rule !== 'ignore') raw += W_TIER * (allPairs ? 2 : q.nvlinkConnected ? 1 : 0);
  if (profile && profile.shapes.length > 0) {
    const delta = fragDelta(node, req, chosen, healthy, profile);
    breakdown.fragDeltaMilli = delta;
    if (req.policy === 'binpack') raw -= W_FRAG * delta;
  }
  raw -= W_PRESERVE * (nvBefore - nvAfter);
  raw += req.policy === 'binpack' ? usedAfter * 100 : (1 - usedAfter) * 100;
  return { node: node.name, fits: true, gpus: listGpus(chosen), breakdown, rawScore: raw };
}

function allPairsNvlink(ct: CompiledTopology, set: number): boolean {
  for (let r = set; r; r &= r - 1) {
    const i = 31 - Math.clz32(r & -r);
    if ((ct.nvAdj[i] & set) !== (set & ~(1 << i))) return false;
  }
  return true;
}

function freeAfterPlacing(node: NodeState, set: number, milli: number): number[] {
  const after = Array.from(node.freeMilli);
  for (let r = set; r; r &= r - 1) after[31 - Math.clz32(r & -r)] -= milli;
  return after;
}

function fragDelta(node: NodeState, req: GpuRequest, set: number, healthy: number, profile: WorkloadProfile): number {
  const ct = node.topology;
  const before = fragmentationOf(node.freeMilli, healthy, ct.modelsLower, node.cpuFreeMilli, profile);
  const cpuAfter = node.cpuFreeMilli !== undefined ? node.cpuFreeMilli - (req.cpuMilli ?? 0) : undefined;
  const after = fragmentationOf(freeAfterPlacing(node, set, req.milliPerGpu), healthy, ct.modelsLower, cpuAfter, profile);
  return after - before;
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
