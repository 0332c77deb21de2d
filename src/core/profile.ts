/**
 * The one workload-profile builder (FGD's typical pod shapes), used by the simulator (trace pods)
 * and the extender (the pods its cache sees): group pods by (cpu milli, GPU count, milli per GPU,
 * allowed models), keep the most popular shapes until they cover 95% of pods, renormalise.
 * Unlike FGD, the pods the popularity cut leaves out still count when, grouped by their GPU
 * request (count, milli per GPU, models), a group carries at least 1 − coverage (5%) of the GPU
 * demand: 8-GPU jobs that are 5% of pods can be a quarter of the GPUs asked for, spread over many
 * CPU sizes none of which is popular, and a profile without them lets small pods break every
 * empty 8-GPU node. Such a group joins as one "heavy" shape (docs/objective.md).
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

/** The GPU request a shape groups by when the popularity cut has left it out. */
const gpuRequestKey = (c: CountedShape): string => `${c.shape.gpuCount}|${c.shape.milliPerGpu}|${(c.shape.models ?? []).join('|')}`;

/**
 * The heavy shapes among those the popularity cut left out: per GPU request carrying ≥ `share` of
 * the GPU demand, one shape with the group's pods and its smallest CPU request — the group's GPUs
 * are stranded on a node only where even its lightest pod cannot go (the median CPU, or one shape
 * per CPU size, measured worse on most lists: docs/simulator.md, "Heavy shapes").
 */
function heavyShapesOf(left: readonly CountedShape[], totalGpuMilli: number, share: number): CountedShape[] {
  const groups = new Map<string, CountedShape>();
  const milli = new Map<string, number>();
  for (const c of left) {
    if (c.shape.gpuCount === 0) continue;
    const key = gpuRequestKey(c);
    const g = groups.get(key);
    if (!g) groups.set(key, { shape: { ...c.shape }, count: c.count });
    else {
      g.count += c.count;
      g.shape.cpuMilli = Math.min(g.shape.cpuMilli, c.shape.cpuMilli);
    }
    milli.set(key, (milli.get(key) ?? 0) + gpuMilliOf(c));
  }
  return [...groups].filter(([key]) => milli.get(key)! / totalGpuMilli >= share).map(([, g]) => g);
}

/**
 * Build a profile from counted shapes: most popular first, until `coverage` of pods (FGD: 0.95),
 * then the heavy shapes (heavyShapesOf, in the order their groups' first shape comes).
 */
export function profileFromShapes(counts: readonly CountedShape[], coverage = TYPICAL_COVERAGE): WorkloadProfile {
  const total = counts.reduce((a, c) => a + c.count, 0);
  if (total === 0) return { shapes: [] };
  const totalGpuMilli = counts.reduce((a, c) => a + gpuMilliOf(c), 0);
  const sorted = [...counts].sort((a, b) => b.count - a.count);
  let popular = 0;
  let covered = 0;
  while (popular < sorted.length && covered / total < coverage) covered += sorted[popular++].count;
  const heavy = totalGpuMilli > 0 ? heavyShapesOf(sorted.slice(popular), totalGpuMilli, 1 - coverage) : [];
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
