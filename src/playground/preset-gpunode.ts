import { gpuNodeObject, type GpuNodeObjectOptions } from '../cluster/gpunode.js';
import { getPreset } from '../topology/presets.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KObj = Record<string, any>;

/** A GPUNode object for a preset's GPUs, UUIDs `GPU-<node>-<index>` (plain JSON). */
export function presetGpuNodeJson(name: string, preset: string, opts: GpuNodeObjectOptions = {}): KObj {
  const topo = getPreset(preset);
  if (!topo) throw new Error(`no preset ${preset}`);
  topo.gpus.forEach((g) => (g.uuid = `GPU-${name}-${g.index}`));
  return JSON.parse(JSON.stringify(gpuNodeObject(name, topo, opts)));
}
