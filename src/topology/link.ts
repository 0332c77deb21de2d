/**
 * Link legend → kind, NVLink count and estimated bandwidth. The estimates are what the core
 * compares; they are one direction, per pair of GPUs (see docs/objective.md for their sources).
 */
import type { LinkKind, LinkLegend } from './types.js';

export interface LinkInfo {
  kind: LinkKind;
  /** Bonded NVLinks between the pair (0 for PCIe paths). */
  nvlinks: number;
}

const PCIE_KINDS: readonly LinkKind[] = ['PIX', 'PXB', 'PHB', 'NODE', 'SYS'];

/** PCIe path estimates (GB/s): one switch hop ≈ PCIe Gen3 x16 peer-to-peer; each extra hop costs. */
export const PCIE_GBPS: Readonly<Record<Exclude<LinkKind, 'NV'>, number>> = {
  PIX: 12,
  PXB: 11,
  PHB: 10,
  NODE: 9,
  SYS: 6,
};

/** Per-link NVLink bandwidth by generation (GB/s, one direction). */
export const NVLINK_GBPS_PER_LINK = {
  nvlink1: 20, // P100
  nvlink2: 25, // V100
  nvlink3: 25, // A100
  nvlink4: 26.562, // H100/H200/H800, as `nvidia-smi nvlink -s` reports
  nvlink5: 50, // B200
  bridgeAmpere: 14.062, // RTX 3090 / A6000 bridge
} as const;

/** Parse one matrix cell; null when it is not a legend value. */
export function parseLinkLegend(cell: string): LinkInfo | null {
  const c = cell.trim().toUpperCase();
  const nv = /^NV(\d{1,2})$/.exec(c);
  if (nv) {
    const n = Number(nv[1]);
    return n >= 1 ? { kind: 'NV', nvlinks: n } : null;
  }
  if (c === 'SOC') return { kind: 'SYS', nvlinks: 0 };
  if ((PCIE_KINDS as readonly string[]).includes(c)) return { kind: c as LinkKind, nvlinks: 0 };
  return null;
}

/** Guess the per-link NVLink speed from the GPU model, else from the widest bond in the matrix. */
export function nvlinkGBpsPerLinkFor(model: string | undefined, maxNvlinks: number): number {
  const m = (model ?? '').toUpperCase();
  if (/P100/.test(m)) return NVLINK_GBPS_PER_LINK.nvlink1;
  if (/V100/.test(m)) return NVLINK_GBPS_PER_LINK.nvlink2;
  if (/A100|A800/.test(m)) return NVLINK_GBPS_PER_LINK.nvlink3;
  if (/H100|H200|H800|H20\b|GH200/.test(m)) return NVLINK_GBPS_PER_LINK.nvlink4;
  if (/B200|B100|GB200/.test(m)) return NVLINK_GBPS_PER_LINK.nvlink5;
  if (/3090|A6000|A40\b/.test(m)) return NVLINK_GBPS_PER_LINK.bridgeAmpere;
  return maxNvlinks >= 18 ? NVLINK_GBPS_PER_LINK.nvlink4 : NVLINK_GBPS_PER_LINK.nvlink2;
}

/** Estimated bandwidth of a link (GB/s); 0 for the diagonal 'X'. Throws on a non-legend cell. */
export function linkBandwidthGBps(legend: LinkLegend, perLinkGBps: number = NVLINK_GBPS_PER_LINK.nvlink2): number {
  if (legend.trim().toUpperCase() === 'X') return 0;
  const info = parseLinkLegend(legend);
  if (!info) throw new Error(`"${legend}" is not a topology legend value (X, NV<n>, PIX, PXB, PHB, NODE, SYS)`);
  return info.kind === 'NV' ? info.nvlinks * perLinkGBps : PCIE_GBPS[info.kind];
}

export function isNvlink(legend: LinkLegend): boolean {
  return /^\s*NV\d+\s*$/i.test(legend);
}
