/**
 * The built-in scenario of `linkpack simulate` without arguments: a mixed cluster (DGX-1 V100
 * cube-mesh, A100 and H100 NVSwitch boxes, PCIe boxes) and an MLTask-like job stream — GPU shares
 * for notebooks and inference, 1/2/4/8-GPU training workers, a few CPU-only helpers — with Poisson
 * arrivals and departures, offered at about 1.3× the cluster's GPU capacity.
 */
import type { Topology } from '../topology/types.js';
import { getPreset, pcieBox } from '../topology/index.js';
import type { NodeSpec } from './cluster.js';
import type { TracePod } from './trace.js';
import { Rng } from './rng.js';

function preset(name: string): Topology {
  const t = getPreset(name);
  if (!t) throw new Error(`built-in topology preset "${name}" is missing`);
  return t;
}

function withModel(t: Topology, model: string, memoryMiB: number): Topology {
  return { ...t, gpus: t.gpus.map((g) => ({ ...g, model, memoryMiB })) };
}

interface NodeGroup {
  count: number;
  prefix: string;
  model: string;
  cpuMilli: number;
  memoryMiB: number;
  topology: () => Topology;
  label: string;
}

const GROUPS: readonly NodeGroup[] = [
  { count: 8, prefix: 'dgx1', model: 'V100', cpuMilli: 80_000, memoryMiB: 512 * 1024, topology: () => withModel(preset('dgx1-v100'), 'V100', 32768), label: 'DGX-1 V100 hybrid cube-mesh' },
  { count: 8, prefix: 'a100', model: 'A100', cpuMilli: 128_000, memoryMiB: 1024 * 1024, topology: () => withModel(preset('dgx-a100'), 'A100', 81920), label: 'HGX A100 NVSwitch (NV12)' },
  { count: 4, prefix: 'h100', model: 'H100', cpuMilli: 192_000, memoryMiB: 2048 * 1024, topology: () => withModel(preset('hgx-h100'), 'H100', 81559), label: 'HGX H100 NVSwitch (NV18)' },
  { count: 8, prefix: 't4', model: 'T4', cpuMilli: 64_000, memoryMiB: 256 * 1024, topology: () => withModel(preset('pcie-4x'), 'T4', 15360), label: 'PCIe 4× (pairs under a switch)' },
  {
    count: 4,
    prefix: 'l4',
    model: 'L4',
    cpuMilli: 96_000,
    memoryMiB: 384 * 1024,
    topology: () => withModel(pcieBox(8, { gpusPerSocket: 4, gpusPerSwitch: 2, name: 'pcie-8x-2socket' }), 'L4', 23034),
    label: 'PCIe 8×, two sockets',
  },
];

export function syntheticCluster(): NodeSpec[] {
  const out: NodeSpec[] = [];
  for (const g of GROUPS) {
    for (let i = 0; i < g.count; i++) {
      const topology = g.topology();
      out.push({
        name: `${g.prefix}-${String(i).padStart(2, '0')}`,
        cpuMilli: g.cpuMilli,
        memoryMiB: g.memoryMiB,
        gpuCount: topology.gpus.length,
        model: g.model,
        topology,
        topologyLabel: g.label,
      });
    }
  }
  return out;
}

interface JobKind {
  weight: number;
  gpuCount: number;
  milliPerGpu: number;
  cpuPerGpuMilli: number;
  memPerGpuMiB: number;
  meanDuration: number;
  spec?: string[];
}

// The job mix: shares dominate by count, multi-GPU training by GPU demand (as in openb and MLTask use).
const KINDS: readonly JobKind[] = [
  { weight: 0.12, gpuCount: 1, milliPerGpu: 250, cpuPerGpuMilli: 4000, memPerGpuMiB: 16384, meanDuration: 60 },
  { weight: 0.12, gpuCount: 1, milliPerGpu: 500, cpuPerGpuMilli: 6000, memPerGpuMiB: 24576, meanDuration: 60 },
  { weight: 0.3, gpuCount: 1, milliPerGpu: 1000, cpuPerGpuMilli: 8000, memPerGpuMiB: 32768, meanDuration: 100 },
  { weight: 0.14, gpuCount: 2, milliPerGpu: 1000, cpuPerGpuMilli: 8000, memPerGpuMiB: 32768, meanDuration: 120 },
  { weight: 0.12, gpuCount: 4, milliPerGpu: 1000, cpuPerGpuMilli: 8000, memPerGpuMiB: 49152, meanDuration: 150 },
  { weight: 0.05, gpuCount: 8, milliPerGpu: 1000, cpuPerGpuMilli: 10000, memPerGpuMiB: 65536, meanDuration: 200 },
  { weight: 0.05, gpuCount: 4, milliPerGpu: 1000, cpuPerGpuMilli: 12000, memPerGpuMiB: 65536, meanDuration: 150, spec: ['A100', 'H100'] },
  { weight: 0.1, gpuCount: 0, milliPerGpu: 0, cpuPerGpuMilli: 8000, memPerGpuMiB: 16384, meanDuration: 80 },
];

export interface SyntheticJob extends TracePod {
  arriveAt: number;
  duration: number;
}

/** A seeded job stream; `load` is offered GPU demand ÷ capacity in steady state. */
export function syntheticJobs(seed: number, count = 1500, capacityGpus = 224, load = 1.3): SyntheticJob[] {
  const rng = new Rng(seed);
  const totalW = KINDS.reduce((a, k) => a + k.weight, 0);
  const meanGpuTime = KINDS.reduce((a, k) => a + (k.weight / totalW) * ((k.gpuCount * k.milliPerGpu) / 1000) * k.meanDuration, 0);
  const ratePerUnit = (load * capacityGpus) / meanGpuTime;
  let t = 0;
  const out: SyntheticJob[] = [];
  for (let i = 0; i < count; i++) {
    t += -Math.log(1 - rng.next()) / ratePerUnit;
    let r = rng.next() * totalW;
    let kind = KINDS[KINDS.length - 1];
    for (const k of KINDS) {
      if ((r -= k.weight) < 0) {
        kind = k;
        break;
      }
    }
    const g = Math.max(1, kind.gpuCount);
    out.push({
      name: `job-${String(i).padStart(5, '0')}`,
      cpuMilli: kind.cpuPerGpuMilli * g,
      memoryMiB: kind.memPerGpuMiB * g,
      gpuCount: kind.gpuCount,
      milliPerGpu: kind.milliPerGpu,
      gpuSpec: kind.spec ? [...kind.spec] : [],
      arriveAt: t,
      // Exponential durations, at least one unit.
      duration: Math.max(1, -Math.log(1 - rng.next()) * kind.meanDuration),
    });
  }
  return out;
}
