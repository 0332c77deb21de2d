/**
 * The workload's typical pod shapes (FGD): group the original pod list, CPU-only pods included, by
 * (cpu_milli, num_gpu, gpu_milli, gpu_spec); keep the most popular until they cover 95% of pods;
 * renormalise. Built with the core's profileFromShapes so the simulator and the core agree.
 */
import { profileFromShapes, type PodShape, type WorkloadProfile } from '../core/index.js';

export interface ShapeSource {
  cpuMilli: number;
  gpuCount: number;
  milliPerGpu: number;
  gpuSpec: readonly string[];
}

export const TYPICAL_COVERAGE = 0.95;

export function typicalProfile(pods: readonly ShapeSource[], coverage = TYPICAL_COVERAGE): WorkloadProfile {
  const counts = new Map<string, { shape: Omit<PodShape, 'weight'>; count: number }>();
  for (const p of pods) {
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
  return profileFromShapes(list, coverage);
}
