/**
 * The openb trace records no GPU topology, so every node is mapped by (model, GPU count) onto an
 * assumed topology. The mapping is an assumption and every report prints it.
 */
import type { Topology } from '../topology/types.js';
import { dgx1, nvswitchBox, pcieBox, subTopology } from '../topology/index.js';

/** What the undisclosed 8-GPU models (G2, G3) are assumed to be. */
export type GTopology = 'nvswitch' | 'cubemesh';
export const G_TOPOLOGIES: readonly GTopology[] = ['nvswitch', 'cubemesh'];

/** GPU memory of the trace's model codes, where the code says it. */
const MEMORY_MIB: Record<string, number> = { V100M16: 16384, V100M32: 32768, T4: 15360, P100: 16384, A10: 23028 };

const V100 = /^V100/i;
const UNDISCLOSED = /^G\d+$/i;

export interface MappedTopology {
  topology: Topology;
  /** Short human label, e.g. "DGX-1 hybrid cube-mesh". */
  label: string;
}

function withModel(t: Topology, model: string): Topology {
  const memoryMiB = MEMORY_MIB[model.toUpperCase()];
  return {
    ...t,
    gpus: t.gpus.map((g) => {
      const out = { ...g, model };
      if (memoryMiB !== undefined) out.memoryMiB = memoryMiB;
      else delete out.memoryMiB;
      return out;
    }),
  };
}

function single(): Topology {
  return { name: 'single-gpu', gpus: [{ index: 0, numaNode: 0 }], links: [['X']] };
}

/** The assumed topology of a trace node with `gpuCount` GPUs of `model`. */
export function assumedTopology(model: string, gpuCount: number, gTopology: GTopology): MappedTopology {
  if (gpuCount < 1) throw new Error(`node with ${gpuCount} GPUs has no GPU topology`);
  if (gpuCount === 1) return { topology: withModel(single(), model), label: 'single GPU' };
  if (V100.test(model) || (UNDISCLOSED.test(model) && gTopology === 'cubemesh')) {
    if (gpuCount === 8) return { topology: withModel(dgx1(), model), label: 'DGX-1 hybrid cube-mesh (NV1/NV2)' };
    if (gpuCount === 4) {
      // GPUs 0-3 of the cube-mesh: every pair has NVLink.
      return { topology: withModel(subTopology(dgx1(), [0, 1, 2, 3], 'nvlink-quad'), model), label: 'NVLink quad (DGX-1 GPUs 0-3)' };
    }
    if (gpuCount < 8) {
      const idx = Array.from({ length: gpuCount }, (_, i) => i);
      return { topology: withModel(subTopology(dgx1(), idx), model), label: `DGX-1 GPUs 0-${gpuCount - 1}` };
    }
  }
  if (UNDISCLOSED.test(model) && gTopology === 'nvswitch') {
    return { topology: withModel(nvswitchBox(gpuCount, 12), model), label: `all-to-all NVSwitch (NV12)` };
  }
  const perSocket = gpuCount <= 4 ? gpuCount : Math.ceil(gpuCount / 2);
  return {
    topology: withModel(pcieBox(gpuCount, { gpusPerSocket: perSocket, gpusPerSwitch: 2 }), model),
    label: gpuCount <= 4 ? 'PCIe only, one socket' : 'PCIe only, two sockets',
  };
}

export interface TopologyAssumptionRow {
  model: string;
  gpuCount: number;
  nodes: number;
  topology: string;
}

/** One row per (model, GPU count) with the assumed topology, for the report. */
export function topologyAssumptions(nodes: ReadonlyArray<{ model: string; gpuCount: number }>, gTopology: GTopology): TopologyAssumptionRow[] {
  const rows = new Map<string, TopologyAssumptionRow>();
  for (const n of nodes) {
    if (n.gpuCount === 0) continue;
    const key = `${n.model}|${n.gpuCount}`;
    const row = rows.get(key);
    if (row) row.nodes++;
    else rows.set(key, { model: n.model, gpuCount: n.gpuCount, nodes: 1, topology: assumedTopology(n.model, n.gpuCount, gTopology).label });
  }
  return [...rows.values()].sort((a, b) => a.model.localeCompare(b.model) || a.gpuCount - b.gpuCount);
}
