/** Text table, JSON and Markdown renderings of a simulation report. */
import type { MapaSummary } from './mapa.js';
import { JSON_POINTS, round2, type PointValues } from './metrics.js';
import { pairedAgainstBestBaseline } from './paired.js';
import type { SimulationReport } from './run.js';

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function assumptionsText(report: SimulationReport): string {
  const rows = report.assumptions.map((a) => [a.model, String(a.gpuCount), String(a.nodes), a.topology]);
  return textTable(['model', 'GPUs', 'nodes', 'assumed topology'], rows);
}

export function comparisonRows(report: SimulationReport): { header: string[]; rows: string[][] } {
  const pts = report.points;
  const w = report.pointHalfWidth > 0 ? `±${report.pointHalfWidth}` : '';
  const header = [
    'policy',
    ...pts.map((k) => `unalloc@${k}${w}%`),
    `frag@${pts.includes(100) ? 100 : pts[0]}${w}%`,
    'dropped demand %',
    'multi-GPU pods',
    'NVLink-connected %',
    '(where possible)',
    'bottleneck GB/s',
    'ms/run',
  ];
  const fragPoint = pts.includes(100) ? 100 : pts[0];
  const rows = report.summaries.map((s) => [
    s.policy,
    ...pts.map((k) => fmt(s.unallocatedPct[k])),
    fmt(s.fragAmountPct[fragPoint]),
    fmt(s.droppedDemandPct),
    fmt(s.nvlink.multiGpuPods, 1),
    fmt(s.nvlink.connectedPct, 1),
    fmt(s.nvlink.connectedPctWhereAllowed, 1),
    fmt(s.nvlink.meanBottleneckGBps, 1),
    fmt(s.meanRunMs, 0),
  ]);
  return { header, rows };
}

/** The points a trace report's JSON (and its paired table) give; every point of a built-in run. */
function reportedPoints(report: SimulationReport): readonly number[] {
  return report.mode === 'trace' ? JSON_POINTS : report.points;
}

/** The core and its deployed pick, each against the best baseline at each point (paired.ts). */
const PAIRED_POLICIES = ['linkpack', 'linkpack-deployed'] as const;

function pairedAll(report: SimulationReport) {
  return PAIRED_POLICIES.flatMap((p) => pairedAgainstBestBaseline(report.summaries, reportedPoints(report), p));
}

/** linkpack (and linkpack-deployed) minus the best baseline at each point, seed by seed; empty without both. */
export function pairedRows(report: SimulationReport): { header: string[]; rows: string[][] } {
  const w = report.pointHalfWidth > 0 ? `±${report.pointHalfWidth}` : '';
  return {
    header: ['policy', 'arrived', 'best baseline', 'minus it', '95% CI ±', 'seeds with fewer'],
    rows: pairedAll(report).map((d) => [
      d.policy,
      `${d.point}${w}%`,
      d.against,
      (d.meanPct > 0 ? '+' : '') + fmt(d.meanPct),
      fmt(d.ci95Pct),
      `${d.fewerSeeds} of ${d.seeds}`,
    ]),
  };
}

export const PAIRED_TITLE = 'linkpack against the best baseline at each point, seed by seed (unallocated GPU points, policy minus baseline; negative = fewer left unallocated):';

export function mapaRows(mapa: readonly MapaSummary[]): { header: string[]; rows: string[][] } {
  return {
    header: ['policy', 'jobs', 'min GB/s', 'p25', 'p50', 'p75', 'NVLink-connected %', 'mean slowdown', 'makespan (units)'],
    rows: mapa.map((m) => [
      m.policy,
      String(m.jobs),
      fmt(m.bandwidthGBps.min, 1),
      fmt(m.bandwidthGBps.p25, 1),
      fmt(m.bandwidthGBps.p50, 1),
      fmt(m.bandwidthGBps.p75, 1),
      fmt(m.connectedPct, 1),
      fmt(m.meanSlowdown, 3),
      fmt(m.makespanUnits, 1),
    ]),
  };
}

export function reportText(report: SimulationReport): string {
  const parts: string[] = [];
  const title =
    report.mode === 'trace'
      ? `Workload ${report.workload}: ${report.clusterNodes} GPU nodes, ${report.clusterGpus} GPUs; FGD protocol (arrivals only, 1.3× capacity), seeds ${seedText(report.seeds)}; ties: ${tiesText(report)}`
      : `Built-in synthetic scenario: ${report.clusterNodes} nodes, ${report.clusterGpus} GPUs; MLTask-like jobs with arrivals and departures (offered load 1.3×), seeds ${seedText(report.seeds)}; ties: ${tiesText(report)}`;
  parts.push(title, '', 'Topology assumptions:', assumptionsText(report), '');
  const { header, rows } = comparisonRows(report);
  parts.push('Unallocated GPU % (lower is better) at arrived demand k% of capacity, and NVLink locality of multi-GPU pods:', textTable(header, rows));
  const paired = pairedRows(report);
  if (paired.rows.length > 0) parts.push('', PAIRED_TITLE, textTable(paired.header, paired.rows));
  if (report.mapa) {
    const m = mapaRows(report.mapa);
    parts.push('', 'MAPA scenario (one DGX-1 V100, 1,000 jobs of 2–5 GPUs, FIFO); per-job bottleneck bandwidth:', textTable(m.header, m.rows));
  }
  return parts.join('\n');
}

/** The tie rule as the reports name it (the extender's own order named when it is asked for). */
export function tiesText(report: SimulationReport): string {
  return `${report.ties}${report.extenderTies === 'names' ? " (the deployed variants' extender by node name)" : ''}`;
}

export function seedText(seeds: readonly number[]): string {
  if (seeds.length > 2 && seeds.every((s, i) => i === 0 || s === seeds[i - 1] + 1)) return `${seeds[0]}–${seeds[seeds.length - 1]}`;
  return seeds.join(',');
}

/** The `--json` document: per policy, means over seeds. */
export function reportJson(report: SimulationReport): unknown {
  return {
    mode: report.mode,
    cluster: { nodes: report.clusterNodes, gpus: report.clusterGpus },
    ties: report.ties,
    extenderTies: report.extenderTies,
    ...(report.gTopology ? { gTopology: report.gTopology } : {}),
    topologyAssumptions: report.assumptions,
    results: report.summaries.map((s) => ({
      policy: s.policy,
      workload: s.workload,
      seeds: s.seeds,
      unallocatedPct: mapPoints(s.unallocatedPct, reportedPoints(report)),
      fragAmountPct: mapPoints(s.fragAmountPct, reportedPoints(report)),
      nvlink: {
        multiGpuPods: round2(s.nvlink.multiGpuPods),
        connectedPct: round2(s.nvlink.connectedPct),
        meanBottleneckGBps: round2(s.nvlink.meanBottleneckGBps),
        connectedPctWhereAllowed: round2(s.nvlink.connectedPctWhereAllowed),
      },
      droppedPods: round2(s.failedPods),
      droppedDemandPct: round2(s.droppedDemandPct),
    })),
    pairedAgainstBestBaseline: pairedAll(report).map((d) => ({
      ...d,
      meanPct: round2(d.meanPct),
      ci95Pct: d.ci95Pct === null ? null : round2(d.ci95Pct),
    })),
    ...(report.mapa ? { mapa: report.mapa } : {}),
  };
}

function mapPoints(values: PointValues, points: readonly number[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of points) out[String(k)] = round2(values[k]);
  return out;
}

export { fmt };
