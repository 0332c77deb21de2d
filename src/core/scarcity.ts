/**
 * Model scarcity: how much of a GPU model's capacity the pods that may run only on some models
 * will ask for. A constraint d (allowed models A_d) asking a share s_d of all GPU demand needs,
 * when the cluster is full, s_d · C GPUs out of the G(A_d) GPUs it may use (C = all GPUs); spread
 * evenly over them, a model M is needed by the constrained pods to the extent
 *   need(M) = min(1, Σ_{d: M ∈ A_d} s_d · C / G(A_d)).
 * A GPU of M taken by a pod is expected capacity that constrained pods will miss: need(M) is
 * their share of M, and need(M) again stands for the chance that M runs out before they arrive.
 * That is idle-capacity-in-the-wrong-place, the unit of FGD's fragmentation, so the core adds
 * takenMilli · need(M)² to the fragmentation growth before scoring (place.ts). Linear need, or
 * "least scarce model first" among equal FGD points, crowd the unconstrained pods onto the
 * plentiful model until its CPU runs out (gpuspec05: +2.4 points against FGD, docs/simulator.md);
 * the square leaves a lightly needed model nearly free to use. Needs the cluster's
 * GPUs per model (profile.gpusByModel); without it, or without constraints, need is 0 everywhere.
 *
 * With the free GPUs per model (profile.freeGpusByModel) the same formula is taken over what is
 * still free — C = free GPUs of all models, G(A_d) = free GPUs of the allowed ones: of the demand
 * that will fill the free capacity, s_d may use only A_d. That is a feedback: a model that fills
 * faster than the rest (unconstrained pods drawn to it) is protected more, one that stays emptier
 * (over-protected) is released. Static need protects from the start by the whole cluster's
 * numbers and over-protected a lightly needed model (gpuspec05: +0.41 points against FGD, free:
 * +0.15; docs/simulator.md, "Model scarcity against the free capacity"). Free need is rounded to
 * 0.01: finer changes would only defeat the callers' decision caches.
 */
import { modelMatches } from './model-match.js';
import type { WorkloadProfile } from './types.js';

/** Per profile: need per lower-cased model (only models with need > 0 are listed). */
const memo = new WeakMap<WorkloadProfile, Map<string, number>>();

/** Need below this step is rounded away when measured against the free capacity. */
const FREE_NEED_STEP = 0.01;

/** The need of every model with need > 0 (memoised per profile; callers that refresh the supply compare tables). */
export function modelNeedTable(profile: WorkloadProfile): ReadonlyMap<string, number> {
  let table = memo.get(profile);
  if (table) return table;
  table = new Map();
  const inventory = profile.gpusByModel;
  const free = profile.freeGpusByModel;
  if (inventory && inventory.size > 0) {
    const models = [...inventory.keys()];
    const supply = (m: string) => (free ? (free.get(m) ?? 0) : (inventory.get(m) ?? 0));
    const capacity = models.reduce((a, m) => a + supply(m), 0);
    let demand = profile.modelDemand;
    if (!demand) {
      // Only typical shapes known: their constrained ones stand in for all constrained pods.
      const total = profile.shapes.reduce((a, s) => a + (s.weight * s.gpuCount * s.milliPerGpu) / 1000, 0);
      demand = total <= 0 ? [] : profile.shapes.flatMap((s) => (s.models && s.models.length > 0 ? [{ models: s.models, share: (s.weight * s.gpuCount * s.milliPerGpu) / 1000 / total }] : []));
    }
    for (const d of demand) {
      if (!(d.share > 0)) continue;
      const allowed = models.filter((m) => modelMatches(m, d.models));
      const gpus = allowed.reduce((a, m) => a + supply(m), 0);
      if (gpus <= 0) continue; // none free: no pod can take one, the need would decide nothing
      for (const m of allowed) table.set(m, (table.get(m) ?? 0) + (d.share * capacity) / gpus);
    }
    for (const [m, v] of table) table.set(m, free ? Math.round(Math.min(1, v) / FREE_NEED_STEP) * FREE_NEED_STEP : Math.min(1, v));
  }
  memo.set(profile, table);
  return table;
}

/** 0..1: how much of a node's model (its first GPU's) constrained pods will need; 0 when unknown. */
export function modelNeed(modelsLower: readonly string[], profile: WorkloadProfile): number {
  const table = modelNeedTable(profile);
  return table.size === 0 ? 0 : (table.get(modelsLower[0] ?? '') ?? 0);
}

/**
 * GPUs per model the coming demand can get: free now plus the share of held GPUs that will be
 * released, estimated by the churn seen so far (GPU milli released ÷ placed, 0..1). No churn (pods
 * only arrive, the FGD protocol) gives the free GPUs; full churn gives the inventory (steady state:
 * each model's flow is its size). The caller's freeGpusByModel for the scarcity term.
 */
export function availableGpusByModel(inventory: ReadonlyMap<string, number>, free: ReadonlyMap<string, number>, churn: number): Map<string, number> {
  const c = churn > 0 ? Math.min(1, churn) : 0;
  const out = new Map<string, number>();
  for (const [m, g] of inventory) {
    const f = free.get(m) ?? 0;
    out.set(m, f + c * (g - f));
  }
  return out;
}

function sameNeed(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [m, v] of a) if (b.get(m) !== v) return false;
  return true;
}

/**
 * `base` measured against `supply` (its freeGpusByModel), or `current` (an earlier result for the
 * same base) when the need table comes out the same: callers key decision caches by the profile
 * object, and most pods change no need. The simulator calls it every GPU pod, the extender every
 * second (observed-profile.ts).
 */
export function withFreeSupply(base: WorkloadProfile, supply: ReadonlyMap<string, number>, current?: WorkloadProfile): WorkloadProfile {
  const next: WorkloadProfile = { ...base, freeGpusByModel: supply };
  return current && sameNeed(modelNeedTable(next), modelNeedTable(current)) ? current : next;
}

/** GPUs per lower-cased model, the supply side of the need (from the cluster's inventory). */
export function gpusByModelOf(nodes: Iterable<{ modelsLower: readonly string[] }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of nodes) for (const m of n.modelsLower) out.set(m, (out.get(m) ?? 0) + 1);
  return out;
}
