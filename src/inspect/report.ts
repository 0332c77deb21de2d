/** `linkpack inspect`: what linkpack sees in a topology and, optionally, what it would choose. */
import { compileTopology, placeOnNode, type GpuRequest, type NodeDecision } from '../core/index.js';
import { perLinkGBpsOf } from '../core/compile.js';
import { islands, linkBandwidthGBps } from '../topology/index.js';
import type { GpuInfo, Topology } from '../topology/types.js';

export interface InspectReport {
  name?: string;
  gpus: GpuInfo[];
  matrix: string[][];
  islands: number[][];
  nvlinkGBpsPerLink: number;
  bandwidthGBps: number[][];
  best?: ({ fits: true; gpus: number[]; breakdown: object } | { fits: false; reason: string }) & { request: GpuRequest; freeGpus: number[] };
}

export function inspectTopology(t: Topology, request?: GpuRequest, freeGpus?: number[]): InspectReport {
  const ct = compileTopology(t); // validates the matrix
  const per = perLinkGBpsOf(t);
  const report: InspectReport = {
    ...(t.name ? { name: t.name } : {}),
    gpus: t.gpus,
    matrix: t.links,
    islands: islands(t),
    // Rounded to the MB/s: 18 × 26.562 is 478.116, not 478.11600000000004.
    nvlinkGBpsPerLink: round3(per),
    bandwidthGBps: t.links.map((row) => row.map((c) => round3(linkBandwidthGBps(c, per)))),
  };
  if (request) {
    const free = freeGpus ?? t.gpus.map((g) => g.index);
    for (const g of free) if (g < 0 || g >= ct.n) throw new Error(`--free lists GPU ${g}, but the topology has GPUs 0..${ct.n - 1}`);
    const d: NodeDecision = placeOnNode(
      { name: t.name ?? 'node', topology: ct, freeMilli: t.gpus.map((g) => (free.includes(g.index) ? 1000 : 0)) },
      request,
    );
    report.best = d.fits
      ? { fits: true, gpus: d.gpus, breakdown: d.breakdown, request, freeGpus: free }
      : { fits: false, reason: d.reason, request, freeGpus: free };
  }
  return report;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

export function formatInspect(r: InspectReport): string {
  const head = ['', ...r.gpus.map((g) => `GPU${g.index}`), 'NUMA', 'Model'];
  const rows = r.matrix.map((row, i) => [`GPU${i}`, ...row, String(r.gpus[i].numaNode ?? '-'), r.gpus[i].model ?? '-']);
  const bwRows = r.bandwidthGBps.map((row, i) => [`GPU${i}`, ...row.map((b, j) => (i === j ? 'X' : String(b)))]);
  const out = [
    `Topology${r.name ? ` ${r.name}` : ''}: ${r.gpus.length} GPUs`,
    '',
    table([head, ...rows]),
    '',
    `NVLink islands: ${r.islands.map((i) => `{${i.join(',')}}`).join(' ')}`,
    `Estimated bandwidth (GB/s, one direction; NVLink ${r.nvlinkGBpsPerLink} GB/s per link):`,
    table([['', ...r.gpus.map((g) => `GPU${g.index}`)], ...bwRows]),
  ];
  if (r.best) {
    const q = r.best.request;
    out.push('', `Request: ${q.gpuCount} GPU${q.gpuCount > 1 ? 's' : ''} × ${q.milliPerGpu} milli, ${q.topology}, ${q.policy}; free GPUs ${r.best.freeGpus.join(',')}`);
    if (r.best.fits) {
      const b = r.best.breakdown as Record<string, unknown>;
      out.push(`Best set: ${r.best.gpus.join(',')}`);
      for (const [k, v] of Object.entries(b)) out.push(`  ${k}: ${typeof v === 'number' ? round3(v) : v}`);
    } else out.push(`Does not fit: ${r.best.reason}`);
  }
  return out.join('\n');
}
