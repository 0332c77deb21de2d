/**
 * Expected GPU fragmentation of a node (Weng et al., "Beware of Fragmentation", ATC'23): for each
 * typical pod shape m with popularity p_m, the idle milli-GPU that m could not use on this node;
 * summed with the weights. A placement that grows it least keeps the cluster usable.
 */
import type { NodeState, PodShape, WorkloadProfile } from './types.js';
import { GPU_MILLI } from './types.js';

/**
 * Idle GPU the shape cannot use on a node with these free amounts (healthy GPUs only), after
 * taking `takenMilli` from each GPU in `takenSet` (0 = as is): the "after" state without a copy.
 */
export function shapeFragMilli(
  freeMilli: ArrayLike<number>,
  usable: number,
  modelOk: boolean,
  cpuFreeMilli: number | undefined,
  shape: PodShape,
  takenSet = 0,
  takenMilli = 0,
): number {
  let idle = 0;
  let fitting = 0;
  let stranded = 0;
  const need = shape.milliPerGpu;
  for (let i = 0; i < freeMilli.length; i++) {
    if (!(usable & (1 << i))) continue;
    const f = takenSet & (1 << i) ? freeMilli[i] - takenMilli : freeMilli[i];
    idle += f;
    if (f >= need) fitting++;
    else stranded += f;
  }
  if (shape.gpuCount === 0 || !modelOk) return idle;
  if (cpuFreeMilli !== undefined && cpuFreeMilli < shape.cpuMilli) return idle;
  return fitting >= shape.gpuCount ? stranded : idle;
}

/** Memo of modelAllowed per (shape, node models): the scoring loop asks it for every node. */
const modelMemo = new WeakMap<PodShape, WeakMap<readonly string[], boolean>>();

function shapeAllowedOn(modelsLower: readonly string[], shape: PodShape): boolean {
  if (!shape.models || shape.models.length === 0) return true;
  let byNode = modelMemo.get(shape);
  if (!byNode) modelMemo.set(shape, (byNode = new WeakMap()));
  let ok = byNode.get(modelsLower);
  if (ok === undefined) byNode.set(modelsLower, (ok = modelAllowed(modelsLower, shape.models)));
  return ok;
}

export function modelAllowed(modelsLower: readonly string[], shapeModels: readonly string[] | undefined): boolean {
  if (!shapeModels || shapeModels.length === 0) return true;
  // A node is one model in practice; judge by its first GPU.
  const m = modelsLower[0] ?? '';
  return shapeModels.some((s) => m.includes(s.toLowerCase()));
}

export function fragmentationOf(
  freeMilli: ArrayLike<number>,
  usable: number,
  modelsLower: readonly string[],
  cpuFreeMilli: number | undefined,
  profile: WorkloadProfile,
  takenSet = 0,
  takenMilli = 0,
): number {
  let total = 0;
  for (const shape of profile.shapes) {
    total += shape.weight * shapeFragMilli(freeMilli, usable, shapeAllowedOn(modelsLower, shape), cpuFreeMilli, shape, takenSet, takenMilli);
  }
  return total;
}

export function healthyMask(node: NodeState): number {
  return ((1 << node.topology.n) - 1) & ~(node.unhealthyMask ?? 0);
}

/** FGD fragmentation of a node, in milli-GPU. */
export function fragmentationMilli(node: NodeState, profile: WorkloadProfile): number {
  return fragmentationOf(node.freeMilli, healthyMask(node), node.topology.modelsLower, node.cpuFreeMilli, profile);
}

/** Build a profile from observed pod shapes: most popular first, until `coverage` of pods (FGD: 0.95). */
export function profileFromShapes(
  counts: ReadonlyArray<{ shape: Omit<PodShape, 'weight'>; count: number }>,
  coverage = 0.95,
): WorkloadProfile {
  const total = counts.reduce((a, c) => a + c.count, 0);
  if (total === 0) return { shapes: [] };
  const sorted = [...counts].sort((a, b) => b.count - a.count);
  const kept: typeof sorted = [];
  let covered = 0;
  for (const c of sorted) {
    if (covered / total >= coverage) break;
    kept.push(c);
    covered += c.count;
  }
  return { shapes: kept.map((c) => ({ ...c.shape, weight: c.count / covered })) };
}

export { GPU_MILLI };
