/**
 * The GPU topology model: plain data, produced by the parsers and presets, consumed by the core.
 * Link cells use nvidia-smi's `topo -m` legend so a GPUNode status reads like the tool's output.
 */

/** Kinds of connection between two GPUs, best first (nvidia-smi legend; legacy SOC is SYS). */
export type LinkKind = 'NV' | 'PIX' | 'PXB' | 'PHB' | 'NODE' | 'SYS';

/** One cell of the link matrix as nvidia-smi prints it: 'X' on the diagonal, else e.g. 'NV12', 'PIX', 'SYS'. */
export type LinkLegend = string;

export interface GpuInfo {
  index: number;
  uuid?: string;
  model?: string;
  memoryMiB?: number;
  /** NUMA node of the GPU, or null when nvidia-smi says N/A. */
  numaNode?: number | null;
  /** CPU list as nvidia-smi prints it (`0-23,48-71`), or null when empty / not shown. */
  cpuAffinity?: string | null;
}

export interface Topology {
  /** Free-form description, e.g. the preset name or the source file. */
  name?: string;
  gpus: GpuInfo[];
  /** Symmetric n×n matrix of legend strings; links[i][i] === 'X'. */
  links: LinkLegend[][];
  /** Per-NVLink bandwidth measured by `nvidia-smi nvlink -s` (GB/s, one direction), when known. */
  nvlinkGBpsPerLink?: number;
}

/** A parse failure that names the place and what was expected. */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly source?: string,
  ) {
    super(source !== undefined ? `${source}${line !== undefined ? `:${line}` : ''}: ${message}` : line !== undefined ? `line ${line}: ${message}` : message);
    this.name = 'ParseError';
  }
}
