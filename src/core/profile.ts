/**
 * The one workload-profile builder (FGD's typical pod shapes), used by the simulator (trace pods)
 * and the extender (the pods its cache sees): group pods by (cpu milli, GPU count, milli per GPU,
 * allowed models), keep the most popular shapes until they cover 95% of pods, renormalise.
 * Unlike FGD, a shape the popularity cut leaves out is kept anyway when it carries at least
 * 1 − coverage (5%) of the GPU demand: an 8-GPU job that is 5% of pods can be a quarter of the
 * GPUs asked for, and a profile without it lets small pods break every empty 8-GPU node.
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

type CountedShape = { shape: Omit<PodShape, 'weight'>; count: number };

const gpuMilliOf = (c: CountedShape): number => c.count * c.shape.gpuCount * c.shape.milliPerGpu;

/**
 * Build a profile from counted shapes: most popular first, until `coverage` of pods (FGD: 0.95),
 * then the heavy shapes left (each ≥ 1 − coverage of the GPU demand), most popular first.
 */
export function profileFromShapes(counts: readonly CountedShape[], coverage = TYPICAL_COVERAGE): WorkloadProfile {
  const total = counts.reduce((a, c) => a + c.count, 0);
  if (total === 0) return { shapes: [] };
  const totalGpuMilli = counts.reduce((a, c) => a + gpuMilliOf(c), 0);
  const sorted = [...counts].sort((a, b) => b.count - a.count);
  let popular = 0;
  let covered = 0;
  while (popular < sorted.length && covered / total < coverage) covered += sorted[popular++].count;
  const heavy = sorted.slice(popular).filter((c) => totalGpuMilli > 0 && gpuMilliOf(c) / totalGpuMilli >= 1 - coverage);
  const kept = [...sorted.slice(0, popular), ...heavy];
  const keptCount = kept.reduce((a, c) => a + c.count, 0);
  const profile: WorkloadProfile = { shapes: kept.map((c) => ({ ...c.shape, weight: c.count / keptCount })) };
  if (heavy.length > 0) profile.heavyShapes = heavy.length;
  return profile;
}

/** Memo of popularityProfile: one view per profile object (the simulator asks once per pod). */
const popularityMemo = new WeakMap<WorkloadProfile, WorkloadProfile>();

/**
 * FGD's own profile: the popular shapes only, renormalised (the FGD baseline and its
 * fragmentation measure use it; linkpack uses the heavy shapes too). The same object when the
 * profile has no heavy shape.
 */
export function popularityProfile(profile: WorkloadProfile): WorkloadProfile {
  const heavy = profile.heavyShapes ?? 0;
  if (heavy === 0) return profile;
  let view = popularityMemo.get(profile);
  if (!view) {
    const popular = profile.shapes.slice(0, profile.shapes.length - heavy);
    const sum = popular.reduce((a, s) => a + s.weight, 0);
    const { heavyShapes: _dropped, ...rest } = profile;
    view = { ...rest, shapes: popular.map((s) => ({ ...s, weight: s.weight / sum })) };
    popularityMemo.set(profile, view);
  }
  return view;
}

export function typicalProfile(pods: Iterable<ShapeSource>, coverage = TYPICAL_COVERAGE): WorkloadProfile {
  const counts = new Map<string, CountedShape>();
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
