/**
 * Assemble a Topology from what an operator has: a preset name or a `topo -m` file, optionally
 * enriched by `--query-gpu` CSV (uuid, model, memory) and `nvlink -s` (measured per-link speed).
 */
import { readFileSync } from 'node:fs';
import { getPreset } from './presets.js';
import { parseTopoMatrix } from './parse-topo-matrix.js';
import { gpuInfoFromQueryRow, parseQueryGpuCsv } from './parse-query-gpu.js';
import { activeLinkSpeedGBps, parseNvlinkStatus } from './parse-nvlink-status.js';
import type { Topology } from './types.js';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface TopologySources {
  /** Preset name or path of a `nvidia-smi topo -m` output. */
  topo: string;
  /** Path of `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv` output. */
  gpusCsv?: string;
  /** Path of `nvidia-smi nvlink -s` output. */
  nvlinkStatus?: string;
}

export function loadTopology(src: TopologySources): Topology {
  const preset = getPreset(src.topo);
  const topology = preset ?? parseTopoMatrix(readText(src.topo, 'topology file'), src.topo).topology;
  if (!preset) topology.name = src.topo;
  if (src.gpusCsv) {
    const rows = parseQueryGpuCsv(readText(src.gpusCsv, 'GPU CSV'), { source: src.gpusCsv });
    rows.forEach((row, pos) => {
      const info = gpuInfoFromQueryRow(row);
      const index = info.index ?? pos;
      const gpu = topology.gpus[index];
      if (!gpu) throw new Error(`${src.gpusCsv}:${row.line}: GPU ${index} is not in the topology (${topology.gpus.length} GPUs)`);
      Object.assign(gpu, { ...info, index });
    });
  }
  if (src.nvlinkStatus) {
    const speed = activeLinkSpeedGBps(parseNvlinkStatus(readText(src.nvlinkStatus, 'nvlink status file'), src.nvlinkStatus));
    if (speed !== null) topology.nvlinkGBpsPerLink = speed;
  }
  return topology;
}
