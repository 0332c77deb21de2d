/**
 * Advice on a valid task that cannot work as written, from what is known offline: a GPU memory
 * floor above what every known GPU of the asked model reports (an H100 80GB reports 81559 MiB, so
 * `memoryMin: 80Gi` = 81920 MiB never fits). Known = the recorded topology presets.
 */
import { modelMatches } from '../core/index.js';
import { getPreset, listPresets } from '../topology/presets.js';
import type { MLTaskSpec } from './types.js';

const UNIT_MIB: Record<string, number> = { '': 1, Mi: 1, Gi: 1024, Ti: 1024 * 1024 };

/** The memoryMin vocabulary (validated: `81920`, `79Gi`) → MiB. */
export function memoryMinMiB(raw: string): number {
  const m = /^([0-9.]+)(Mi|Gi|Ti)?$/.exec(raw)!;
  return Math.ceil(Number(m[1]) * UNIT_MIB[m[2] ?? '']!);
}

/** Known GPU models and their memory (MiB), from the presets. */
function knownGpus(): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of listPresets()) for (const g of getPreset(p.name)?.gpus ?? []) if (g.model && g.memoryMiB) out.set(g.model, g.memoryMiB);
  return out;
}

/** One line when `spec.gpu.memoryMin` is more than every known GPU of the asked model has; else undefined. */
export function memoryAdvice(spec: Pick<MLTaskSpec, 'gpu'>): string | undefined {
  const raw = spec.gpu.memoryMin;
  if (!raw) return undefined;
  const asked = memoryMinMiB(raw);
  const matching = [...knownGpus()].filter(([model]) => !spec.gpu.model || modelMatches(model, [spec.gpu.model]));
  if (matching.length === 0 || matching.some(([, mib]) => mib >= asked)) return undefined;
  const best = Math.max(...matching.map(([, mib]) => mib));
  const list = matching.map(([model, mib]) => `${model} ${mib} MiB`).join(', ');
  return `spec.gpu.memoryMin: ${raw} = ${asked} MiB is more than any known ${spec.gpu.model ?? 'GPU'} reports (${list}): it never fits; ask at most ${best}Mi (e.g. ${Math.floor(best / 1024)}Gi)`;
}
