/**
 * The one workload-profile builder (FGD's typical pod shapes), used by the simulator (trace pods)
 * and the extender (the pods its cache sees): group pods by (cpu milli, GPU count, milli per GPU,
 * allowed models), keep the most popular shapes until they cover 95% of pods, renormalise.
 * Ties in popularity are broken by the shape's key, so the input order never changes the result.
 */
import type { PodShape, WorkloadProfile } from './types.js';

export interface ShapeSource {
  cpuMilli: number;
  gpuCount: number;
  milliPerGpu: number;
  /** Allowed GPU models, as written (matched by the core's model rule); empty = any. */
  gpuSpec: readonly string[];
}

export const TYPICAL_COVERAGE = 0.95;

/** Build a profile from counted shapes: most popular first, until `coverage` of pods (FGD: 0.95). */
export function profileFromShapes(
  counts: ReadonlyArray<{ shape: Omit<PodShape, 'weight'>; count: number }>,
  coverage = TYPICAL_COVERAGE,
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

export function typicalProfile(pods: Iterable<ShapeSource>, coverage = TYPICAL_COVERAGE): WorkloadProfile {
  const counts = new Map<string, { shape: Omit<PodShape, 'weight'>; count: number }>();
  const demand = new Map<string, { models: readonly string[]; gpus: number }>();
  let gpusDemanded = 0;
  for (const p of pods) {
    gpusDemanded += (p.gpuCount * p.milliPerGpu) / 1000;
    if (p.gpuSpec.length > 0 && p.gpuCount > 0) {
      const key = p.gpuSpec.join('|');
      const d = demand.get(key) ?? { models: [...p.gpuSpec], gpus: 0 };
      d.gpus += (p.gpuCount * p.milliPerGpu) / 1000;
      demand.set(key, d);
    }
    const key = `${p.cpuMilli}|${p.gpuCount}|${p.milliPerGpu}|${p.gpuSpec.join('|')}`;
    const c = counts.get(key);
    if (c) c.count++;
    else {
      const shape: Omit<PodShape, 'weight'> = { cpuMilli: p.cpuMilli, gpuCount: p.gpuCount, milliPerGpu: p.milliPerGpu };
      if (p.gpuSpec.length > 0) shape.models = [...p.gpuSpec];
      counts.set(key, { shape, count: 1 });
    }
  }
  // Deterministic order among equally popular shapes: by key (profileFromShapes sorts stably by count).
  const list = [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, v]) => v);
  const profile = profileFromShapes(list, coverage);
  if (demand.size === 0) return profile;
  const modelDemand = [...demand.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, d]) => ({ models: d.models, share: d.gpus / gpusDemanded }));
  return { ...profile, modelDemand };
}
