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

export const GPUS_COMMAND = 'nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv';

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
    // An operator's file always has the header (the command we document prints it); without one
    // the parser would ask for a field list the user cannot give here.
    const rows = parseQueryGpuCsv(readText(src.gpusCsv, 'GPU CSV'), { source: src.gpusCsv, header: true });
    const lineOf = new Map<string, number>();
    const first = rows[0]?.fields ?? {};
    if (!('index' in first) && !('uuid' in first)) {
      // Row order is no identity: a timestamped loop (-l/-lms) prints one row per GPU per sample.
      throw new Error(`${src.gpusCsv}: has no index or uuid column, so its rows cannot be matched to GPUs; record it with: ${GPUS_COMMAND}`);
    }
    rows.forEach((row, pos) => {
      const info = gpuInfoFromQueryRow(row);
      const index = info.index ?? pos;
      const key = info.index !== undefined ? `index ${info.index}` : `uuid ${info.uuid}`;
      const seenOn = lineOf.get(key);
      if (seenOn !== undefined) {
        // `-l`/`-lms` loops print one row per GPU per sample; which sample is meant is a guess.
        throw new Error(
          `${src.gpusCsv}:${row.line}: GPU ${info.index ?? info.uuid} appears again (first on line ${seenOn}): the file holds several samples${'timestamp' in row.fields ? ' (timestamped, recorded with -l/-lms)' : ''}; record one: ${GPUS_COMMAND}`,
        );
      }
      lineOf.set(key, row.line);
      const gpu = topology.gpus[index];
      if (!gpu) throw new Error(`${src.gpusCsv}:${row.line}: GPU ${index} is not in the topology (${topology.gpus.length} GPUs)`);
      Object.assign(gpu, { ...info, index });
    });
    // Fewer rows than GPUs: a CSV of another machine would otherwise name only some of them.
    if (rows.length !== topology.gpus.length) {
      throw new Error(`${src.gpusCsv}: lists ${rows.length} GPUs but the topology has ${topology.gpus.length}: is it from another machine?`);
    }
  }
  if (src.nvlinkStatus) {
    const file = src.nvlinkStatus;
    const status = parseNvlinkStatus(readText(file, 'nvlink status file'), file);
    if (status.length !== topology.gpus.length) {
      throw new Error(`${file}: lists ${status.length} GPUs but the topology has ${topology.gpus.length}: is it from another machine?`);
    }
    for (const s of status) {
      const uuid = topology.gpus[s.index]?.uuid;
      if (uuid !== undefined && uuid.toUpperCase() !== s.uuid.toUpperCase()) {
        throw new Error(`${file}: GPU ${s.index} has UUID ${s.uuid} but the GPU CSV says ${uuid}: the files come from different machines`);
      }
    }
    const speed = activeLinkSpeedGBps(status);
    if (speed === null) {
      throw new Error(`${file}: every NVLink link is inactive, so it measures no speed (links down, or a machine without NVLink); leave out --nvlink to use the topo -m estimate`);
    }
    topology.nvlinkGBpsPerLink = speed;
  }
  return topology;
}
