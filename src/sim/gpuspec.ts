/**
 * Model-constrained workload variants built in memory (never written into the repository): the
 * construction of the trace's `gpuspecNN` lists, read off the published files (the trace README
 * says only "NN% of GPU pods get a GPU-model constraint"; comparing gpuspec05/10/25 with
 * `default` shows the rest): every column but gpu_spec is the default list's; a uniform random
 * NN% of the GPU pods (CPU-only pods never) get a constraint; the constraint depends on the pod's
 * class — shares get T4 or P100, whole GPUs mostly T4/G2/V100, multi-GPU pods mostly G2/G3 — so
 * it is drawn from the constraints that pods of the same class carry in a source list (the
 * published gpuspec25, the largest sample: 1,759 constrained pods).
 */
import { Rng } from './rng.js';
import type { TracePod } from './trace.js';

/** Class of a GPU pod for drawing its constraint: share, or the whole-GPU count. */
function classOf(p: TracePod): string {
  return p.milliPerGpu < 1000 ? 'share' : `whole${p.gpuCount}`;
}

/** The constraints that GPU pods of each class carry in `source`, in file order. */
export function constraintPool(source: readonly TracePod[]): Map<string, string[][]> {
  const pool = new Map<string, string[][]>();
  for (const p of source) {
    if (p.gpuCount === 0 || p.gpuSpec.length === 0) continue;
    const c = classOf(p);
    const list = pool.get(c) ?? [];
    list.push(p.gpuSpec);
    pool.set(c, list);
  }
  return pool;
}

/**
 * `base` with round(pct% of its GPU pods) given a model constraint drawn from `pool` by class
 * (a class the pool lacks draws from all of the pool's whole-GPU constraints). Seeded: the same
 * seed builds the same list. Existing constraints are dropped first, so `base` may be any list.
 */
export function withModelConstraints(base: readonly TracePod[], pct: number, pool: ReadonlyMap<string, readonly string[][]>, seed: number): TracePod[] {
  if (!(pct >= 0 && pct <= 100)) throw new Error(`model-constrained share must be 0..100%, got ${pct}`);
  const all = [...pool.entries()].filter(([c]) => c !== 'share').flatMap(([, v]) => v);
  if (all.length === 0 && pct > 0) throw new Error('the constraint pool has no whole-GPU constraints');
  const rng = new Rng(seed);
  const out = base.map((p) => ({ ...p, gpuSpec: [] as string[] }));
  const gpuIdx = out.flatMap((p, i) => (p.gpuCount > 0 ? [i] : []));
  const chosen = rng.shuffle(gpuIdx).slice(0, Math.round((pct / 100) * gpuIdx.length));
  for (const i of chosen) {
    const from = pool.get(classOf(out[i])) ?? all;
    out[i].gpuSpec = [...from[rng.int(from.length)]];
  }
  return out;
}

/** `gpuspec15` → 15; anything else → undefined. */
export function constrainedPctOf(workload: string): number | undefined {
  const m = /^gpuspec(\d{2})$/.exec(workload);
  return m ? Number(m[1]) : undefined;
}
