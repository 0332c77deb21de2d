/**
 * Expected GPU fragmentation of a node (Weng et al., "Beware of Fragmentation", ATC'23): for each
 * typical pod shape m with popularity p_m, the idle milli-GPU that m could not use on this node;
 * summed with the weights. A placement that grows it least keeps the cluster usable.
 */
import { modelMatches } from './model-match.js';
import type { NodeState, PodShape, WorkloadProfile } from './types.js';

/** Idle GPU the shape cannot use on a node with these free amounts (healthy GPUs only). */
function shapeFragMilli(freeMilli: ArrayLike<number>, usable: number, modelOk: boolean, cpuFreeMilli: number | undefined, shape: PodShape): number {
  let idle = 0;
  let fitting = 0;
  let stranded = 0;
  const need = shape.milliPerGpu;
  for (let i = 0; i < freeMilli.length; i++) {
    if (!(usable & (1 << i))) continue;
    const f = freeMilli[i];
    idle += f;
    if (f >= need) fitting++;
    else stranded += f;
  }
  if (shape.gpuCount === 0 || !modelOk) return idle;
  if (cpuFreeMilli !== undefined && cpuFreeMilli < shape.cpuMilli) return idle;
  return fitting >= shape.gpuCount ? stranded : idle;
}

/** Memo: for a profile and a node's models, which shapes may use the node (asked for every node). */
const allowedMemo = new WeakMap<WorkloadProfile, WeakMap<readonly string[], Uint8Array>>();

function allowedShapes(modelsLower: readonly string[], profile: WorkloadProfile): Uint8Array {
  let byNode = allowedMemo.get(profile);
  if (!byNode) allowedMemo.set(profile, (byNode = new WeakMap()));
  let ok = byNode.get(modelsLower);
  if (!ok) {
    ok = Uint8Array.from(profile.shapes, (sh) => (modelAllowed(modelsLower, sh.models) ? 1 : 0));
    byNode.set(modelsLower, ok);
  }
  return ok;
}


export function modelAllowed(modelsLower: readonly string[], shapeModels: readonly string[] | undefined): boolean {
  if (!shapeModels || shapeModels.length === 0) return true;
  // A node is one model in practice; judge by its first GPU.
  return modelMatches(modelsLower[0] ?? '', shapeModels);
}

export function fragmentationOf(
  freeMilli: ArrayLike<number>,
  usable: number,
  modelsLower: readonly string[],
  cpuFreeMilli: number | undefined,
  profile: WorkloadProfile,
): number {
  const allowed = allowedShapes(modelsLower, profile);
  const shapes = profile.shapes;
  let total = 0;
  for (let m = 0; m < shapes.length; m++) {
    total += shapes[m].weight * shapeFragMilli(freeMilli, usable, allowed[m] === 1, cpuFreeMilli, shapes[m]);
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

/**
 * F(after) − F(before) in one pass: the placement takes `takenMilli` from each GPU in `takenSet`
 * and `cpuTakenMilli` of CPU. Same definition as fragmentationOf twice, half the work (it runs
 * for every candidate node on the scoring path).
 */
export function fragDeltaOf(
  freeMilli: ArrayLike<number>,
  usable: number,
  modelsLower: readonly string[],
  cpuFreeMilli: number | undefined,
  profile: WorkloadProfile,
  takenSet: number,
  takenMilli: number,
  cpuTakenMilli: number,
): number {
  const allowed = allowedShapes(modelsLower, profile);
  const shapes = profile.shapes;
  const cpuAfter = cpuFreeMilli === undefined ? undefined : cpuFreeMilli - cpuTakenMilli;
  let delta = 0;
  for (let m = 0; m < shapes.length; m++) {
    const shape = shapes[m];
    const need = shape.milliPerGpu;
    let idleB = 0, fitB = 0, strandB = 0, idleA = 0, fitA = 0, strandA = 0; // prettier-ignore
    for (let i = 0; i < freeMilli.length; i++) {
      const bit = 1 << i;
      if (!(usable & bit)) continue;
      const b = freeMilli[i];
      const a = takenSet & bit ? b - takenMilli : b;
      idleB += b;
      idleA += a;
      if (b >= need) fitB++;
      else strandB += b;
      if (a >= need) fitA++;
      else strandA += a;
    }
    const blocked = shape.gpuCount === 0 || allowed[m] === 0;
    const before = blocked || (cpuFreeMilli !== undefined && cpuFreeMilli < shape.cpuMilli) ? idleB : fitB >= shape.gpuCount ? strandB : idleB;
    const after = blocked || (cpuAfter !== undefined && cpuAfter < shape.cpuMilli) ? idleA : fitA >= shape.gpuCount ? strandA : idleA;
    delta += shape.weight * (after - before);
  }
  return delta;
}
