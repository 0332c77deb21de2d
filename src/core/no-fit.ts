/**
 * Why a request does not fit a node, in words that name the failing constraint and its numbers
 * ("GPU memory 81559 MiB < 81920 MiB asked", "only 3 free GPUs, 4 asked"). Checked from the most
 * lasting cause to the most passing one (node size, model, memory, include, exclude, health, use,
 * NVLink), so the first failing step is the one to fix. Lists name only the GPUs they claim to.
 * Cold path: built only when a caller asks for reasons.
 */
import { type CompiledTopology, popcount } from './compile.js';
import { largestNvlinkSet } from './free-capacity.js';
import { modelMatches } from './model-match.js';
import type { GpuRequest, NodeState } from './types.js';
import { GPU_MILLI } from './types.js';

/** Which user constraint a reason is about (the extender names the annotation it came from). */
export type NoFitConstraint = 'model' | 'memory' | 'include' | 'exclude';

export interface NoFit {
  reason: string;
  constraint?: NoFitConstraint;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function indices(mask: number): number[] {
  const out: number[] = [];
  for (let r = mask; r; r &= r - 1) out.push(31 - Math.clz32(r & -r));
  return out;
}

/** "GPU 2" / "GPUs 1,4,6". */
function gpuList(mask: number): string {
  const ix = indices(mask);
  return `${ix.length === 1 ? 'GPU' : 'GPUs'} ${ix.join(',')}`;
}

function distinctModels(ct: CompiledTopology, mask: number): string {
  const names = new Set<string>();
  for (const i of indices(mask)) names.add(ct.topology.gpus[i]?.model ?? 'unknown model');
  return [...names].join(', ');
}

/** The fewest GPUs a step may leave: the count asked (a share needs one GPU). */
function asked(req: GpuRequest): number {
  return Math.max(1, req.gpuCount);
}

/** Model, memory, include, exclude: the first that leaves fewer GPUs than asked, or null. */
function constraintReason(ct: CompiledTopology, req: GpuRequest): NoFit | null {
  const n = ct.n;
  const k = asked(req);
  let left = (1 << n) - 1;
  const models = req.models ?? [];
  if (models.length > 0) {
    let m = 0;
    for (let i = 0; i < n; i++) if (modelMatches(ct.modelsLower[i]!, models)) m |= 1 << i;
    const wanted = models.map((x) => JSON.stringify(x)).join(', ');
    if (m === 0) return { reason: `no GPU model matches ${wanted} (node has ${distinctModels(ct, left)})`, constraint: 'model' };
    if (popcount(m) < k) return { reason: `only ${plural(popcount(m), 'GPU')} match model ${wanted}, ${k} asked (node has ${distinctModels(ct, left)})`, constraint: 'model' };
    left &= m;
  }
  if (req.minMemoryMiB !== undefined) {
    let m = 0;
    let largest: number | undefined;
    for (const i of indices(left)) {
      const mem = ct.topology.gpus[i]?.memoryMiB;
      if (mem !== undefined && mem >= req.minMemoryMiB) m |= 1 << i;
      if (mem !== undefined && (largest === undefined || mem > largest)) largest = mem;
    }
    if (m === 0) {
      const have = largest === undefined ? 'GPU memory unknown (the node does not report it)' : `GPU memory ${largest} MiB < ${req.minMemoryMiB} MiB asked`;
      return { reason: largest === undefined ? `${have}, ${req.minMemoryMiB} MiB asked` : have, constraint: 'memory' };
    }
    if (popcount(m) < k) return { reason: `only ${plural(popcount(m), 'GPU')} with ≥ ${req.minMemoryMiB} MiB memory, ${k} asked`, constraint: 'memory' };
    left &= m;
  }
  if (req.includeGpus) {
    let inc = 0;
    for (const g of req.includeGpus) if (g >= 0 && g < n) inc |= 1 << g;
    if (inc === 0) return { reason: 'none of include-gpus is on this node', constraint: 'include' };
    if (popcount(inc) < k) return { reason: `only ${popcount(inc)} of include-gpus ${popcount(inc) === 1 ? 'is' : 'are'} on this node, ${k} asked`, constraint: 'include' };
    if (popcount(inc & left) < k) return { reason: `only ${popcount(inc & left)} of include-gpus on this node also match the model and memory asked, ${k} asked`, constraint: 'include' };
    left &= inc;
  }
  if (req.excludeGpus) {
    let ex = 0;
    for (const g of req.excludeGpus) if (g >= 0 && g < n) ex |= 1 << g;
    if (popcount(left & ~ex) < k) return { reason: `exclude-gpus leaves ${plural(popcount(left & ~ex), 'GPU')}, ${k} asked (excluded here: ${gpuList(ex)})`, constraint: 'exclude' };
  }
  return null;
}

/**
 * Why `req` does not fit `node`. `healthy`: healthy GPUs; `cons`: GPUs the constraints allow;
 * `fullFree`: healthy GPUs with nothing on them. Call only after the core found no placement.
 */
export function noFitReason(node: NodeState, req: GpuRequest, healthy: number, cons: number, fullFree: number): NoFit {
  const ct = node.topology;
  const n = ct.n;
  const k = asked(req);
  if (k > n) return { reason: `the node has ${plural(n, 'GPU')}, ${k} asked` };
  const byConstraint = constraintReason(ct, req);
  if (byConstraint) return byConstraint;
  // The constraints alone leave enough GPUs: health, then use, then links.
  const all = (1 << n) - 1;
  const narrowed = cons !== all;
  const qualify = narrowed ? ` of the ${popcount(cons)} that qualify` : '';
  const unhealthy = cons & ~healthy;
  if (popcount(cons & healthy) < k) {
    return { reason: `only ${plural(popcount(cons & healthy), 'healthy GPU')}${qualify}, ${k} asked (${gpuList(unhealthy)} unhealthy)` };
  }
  const usable = cons & healthy;
  const inUseWords = (inUse: number) => (inUse === usable && popcount(inUse) > 1 ? `all ${popcount(inUse)} in use` : `${gpuList(inUse)} in use`);
  const notes = (inUse: number) => [inUse ? inUseWords(inUse) : '', unhealthy ? `${gpuList(unhealthy)} unhealthy` : ''].filter(Boolean).join('; ');
  if (req.milliPerGpu < GPU_MILLI) {
    let most = 0;
    let mostAt = -1;
    for (const i of indices(cons & healthy)) if (node.freeMilli[i]! > most) [most, mostAt] = [node.freeMilli[i]!, i];
    const where = mostAt === -1 ? `every GPU${qualify} is fully in use` : `the most free on one GPU is ${most} milli-GPU, on GPU ${mostAt}`;
    return { reason: `no GPU has ${req.milliPerGpu} milli-GPU free for a share (${where})` };
  }
  const free = cons & fullFree;
  const inUse = cons & healthy & ~fullFree;
  if (popcount(free) < k) {
    const why = notes(inUse);
    const have = free === 0 ? `no free GPU${narrowed ? ' that qualifies' : ''}` : `only ${plural(popcount(free), 'free GPU')}${qualify}`;
    return { reason: `${have}, ${k} asked${why ? ` (${why})` : ''}` };
  }
  const largest = largestNvlinkSet(ct, free);
  const largestText = `largest NVLink-connected set ${largest}`;
  if (inUse === 0) {
    // Every qualifying healthy GPU is free: the node cannot give the set at all.
    const among = narrowed || unhealthy ? ` among ${gpuList(free)}` : '';
    return { reason: `no NVLink-connected set of ${k} on this node${among} (${largestText}${unhealthy ? `; ${gpuList(unhealthy)} unhealthy` : ''})` };
  }
  return { reason: `no NVLink-connected set of ${k} among free ${gpuList(free)} (${largestText}; ${notes(inUse)})` };
}
