/**
 * Built-in topologies with the real link matrices of well-known machines, and small builders for
 * the generic shapes (PCIe boxes, NVSwitch boxes) that the simulator maps trace nodes onto.
 */
import type { GpuInfo, LinkLegend, Topology } from './types.js';

export interface PresetInfo {
  name: string;
  description: string;
}

function gpus(n: number, model: string | undefined, memoryMiB: number | undefined, numaOf: (i: number) => number | null): GpuInfo[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    ...(model !== undefined ? { model } : {}),
    ...(memoryMiB !== undefined ? { memoryMiB } : {}),
    numaNode: numaOf(index),
  }));
}

function matrix(n: number, cell: (i: number, j: number) => LinkLegend): LinkLegend[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 'X' : cell(Math.min(i, j), Math.max(i, j)))));
}

/** PCIe-only box: GPUs under one switch are PIX, same socket NODE, across sockets SYS. */
export function pcieBox(n: number, opts: { gpusPerSocket?: number; gpusPerSwitch?: number; model?: string; memoryMiB?: number; name?: string } = {}): Topology {
  const perSocket = opts.gpusPerSocket ?? n;
  const perSwitch = opts.gpusPerSwitch ?? 1;
  const socket = (i: number) => Math.floor(i / perSocket);
  const sw = (i: number) => Math.floor(i / perSwitch);
  return {
    name: opts.name ?? `pcie-${n}x`,
    gpus: gpus(n, opts.model, opts.memoryMiB, socket),
    links: matrix(n, (i, j) => (socket(i) !== socket(j) ? 'SYS' : perSwitch > 1 && sw(i) === sw(j) ? 'PIX' : 'NODE')),
  };
}

/** All-to-all NVLink through NVSwitch (DGX-2, HGX A100/H100): every pair is NV<links>. */
export function nvswitchBox(n: number, nvlinks: number, opts: { model?: string; memoryMiB?: number; gpusPerSocket?: number; name?: string } = {}): Topology {
  const perSocket = opts.gpusPerSocket ?? Math.max(1, n / 2);
  return {
    name: opts.name ?? `nvswitch-${n}x-nv${nvlinks}`,
    gpus: gpus(n, opts.model, opts.memoryMiB, (i) => Math.floor(i / perSocket)),
    links: matrix(n, () => `NV${nvlinks}`),
  };
}

/** The topology restricted to some GPUs, renumbered 0..k-1 in the given order. */
export function subTopology(t: Topology, indices: readonly number[], name?: string): Topology {
  return {
    name: name ?? `${t.name ?? 'topology'}[${indices.join(',')}]`,
    gpus: indices.map((g, index) => ({ ...t.gpus[g], index })),
    links: indices.map((a) => indices.map((b) => t.links[a][b])),
    ...(t.nvlinkGBpsPerLink !== undefined ? { nvlinkGBpsPerLink: t.nvlinkGBpsPerLink } : {}),
  };
}

/** DGX-1 V100 hybrid cube-mesh (go-gpuallocator's NewDGX1VoltaNode; MAPA dgx-v). */
const DGX1_NVLINKS: ReadonlyArray<[number, number, number]> = [
  [0, 1, 1], [0, 2, 1], [0, 3, 2], [0, 4, 2], [1, 2, 2], [1, 3, 1], [1, 5, 2], [2, 3, 2],
  [2, 6, 1], [3, 7, 1], [4, 5, 1], [4, 6, 1], [4, 7, 2], [5, 6, 2], [5, 7, 1], [6, 7, 2],
];

export function dgx1(model = 'Tesla V100-SXM2-16GB', memoryMiB = 16384, name = 'dgx1-v100'): Topology {
  const nv = new Map(DGX1_NVLINKS.map(([a, b, n]) => [`${a}-${b}`, n]));
  const socket = (i: number) => (i < 4 ? 0 : 1);
  return {
    name,
    gpus: gpus(8, model, memoryMiB, socket),
    // Every pair without NVLink in this graph crosses the sockets.
    links: matrix(8, (i, j) => {
      const n = nv.get(`${i}-${j}`);
      return n ? `NV${n}` : socket(i) === socket(j) ? 'PIX' : 'SYS';
    }),
  };
}

type PresetFactory = () => Topology;

const PRESETS: ReadonlyArray<PresetInfo & { make: PresetFactory }> = [
  { name: 'dgx1-v100', description: 'DGX-1 V100: 8 GPUs, NVLink hybrid cube-mesh (NV1/NV2), two sockets', make: () => dgx1() },
  {
    name: 'dgx2',
    description: 'DGX-2: 16 V100 GPUs, all-to-all NV6 through NVSwitch',
    make: () => nvswitchBox(16, 6, { model: 'Tesla V100-SXM3-32GB', memoryMiB: 32768, name: 'dgx2' }),
  },
  {
    name: 'dgx-a100',
    description: 'DGX A100 / HGX A100 8-GPU: all-to-all NV12 through NVSwitch',
    make: () => nvswitchBox(8, 12, { model: 'NVIDIA A100-SXM4-40GB', memoryMiB: 40960, name: 'dgx-a100' }),
  },
  {
    name: 'hgx-h100',
    description: 'HGX H100 8-GPU: all-to-all NV18 through NVSwitch',
    make: () => nvswitchBox(8, 18, { model: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, name: 'hgx-h100' }),
  },
  {
    name: 'pcie-8x-2socket',
    description: '8 PCIe GPUs on two sockets, pairs under one PCIe switch (PIX), NODE within a socket, SYS across',
    make: () => pcieBox(8, { gpusPerSocket: 4, gpusPerSwitch: 2, name: 'pcie-8x-2socket' }),
  },
  {
    name: 'pcie-4x',
    description: '4 PCIe GPUs on one socket, pairs under one PCIe switch (PIX), NODE between pairs',
    make: () => pcieBox(4, { gpusPerSocket: 4, gpusPerSwitch: 2, name: 'pcie-4x' }),
  },
  {
    name: 'pcie-8x-nvlink-pairs',
    description: '8 H100 PCIe on two sockets, NVLink bridges join pairs (0,1) (2,3) (4,5) (6,7) with NV12',
    make: () => {
      const base = pcieBox(8, { gpusPerSocket: 4, gpusPerSwitch: 2, model: 'NVIDIA H100 PCIe', memoryMiB: 81559 });
      return {
        ...base,
        name: 'pcie-8x-nvlink-pairs',
        links: base.links.map((row, i) => row.map((c, j) => (i !== j && i >> 1 === j >> 1 ? 'NV12' : c))),
      };
    },
  },
  {
    name: 'nvlink-bridge-2x',
    description: '2 H100 PCIe joined by an NVLink bridge (NV12)',
    make: () => ({ name: 'nvlink-bridge-2x', gpus: gpus(2, 'NVIDIA H100 PCIe', 81559, () => 0), links: matrix(2, () => 'NV12') }),
  },
];

export function listPresets(): PresetInfo[] {
  return PRESETS.map(({ name, description }) => ({ name, description }));
}

/** A fresh copy of a preset, or undefined for an unknown name. */
export function getPreset(name: string): Topology | undefined {
  return PRESETS.find((p) => p.name === name)?.make();
}
