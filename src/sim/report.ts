/**
 * A self-contained HTML report: settings, topology assumptions, the comparison table and SVG
 * charts rendered headless with vega-lite (no scripts, no external files).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { assumptionsText, comparisonRows, mapaRows, PAIRED_TITLE, pairedRows, seedText, tiesText } from './format.js';
import type { MAPA_POLICIES } from './mapa.js';
import type { POLICY_NAMES } from './policies.js';
import type { SimulationReport } from './run.js';

/**
 * One colour per policy, the same in every chart and every run (vega's default would recolour by
 * the order policies appear). linkpack gets the strongest colour.
 */
export const POLICY_COLOURS: Readonly<Record<(typeof POLICY_NAMES)[number] | (typeof MAPA_POLICIES)[number], string>> = {
  random: '#9e9e9e',
  dotprod: '#8c6d31',
  gpuclustering: '#e377c2',
  gpupacking: '#ff7f0e',
  bestfit: '#2ca02c',
  fgd: '#1f77b4',
  'fgd-learned': '#aec7e8',
  linkpack: '#d62728',
  'linkpack-deployed': '#9467bd',
  'linkpack-deployed-learned': '#c5b0d5',
  'linkpack-deployed-nocpu': '#6a3d9a',
  'linkpack-kubedefault': '#bcbd22',
  'linkpack-devicecap': '#7f7f00',
  'linkpack-shareslots': '#dbdb8d',
  'linkpack-noprofile': '#c49c94',
  'lowest-index': '#7f7f7f',
  besteffort: '#17becf',
};
const colourScale = { domain: Object.keys(POLICY_COLOURS), range: Object.values(POLICY_COLOURS) };

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<td class="l">${esc(c)}</td>` : `<td>${esc(c)}</td>`)).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function unallocatedChartSpec(report: SimulationReport): TopLevelSpec {
  const values = Object.entries(report.curves).flatMap(([policy, pts]) => pts.map((p) => ({ policy, arrived: p.arrivedPct, unallocated: p.unallocatedPct })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 640,
    height: 320,
    title: 'Unallocated GPU (% of capacity) vs arrived workload',
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'arrived', type: 'quantitative', title: 'arrived GPU demand (% of capacity)' },
      y: { field: 'unallocated', type: 'quantitative', title: 'unallocated GPU (%)' },
      color: { field: 'policy', type: 'nominal', title: 'policy', scale: colourScale },
    },
  };
}

/**
 * The same curves from 90% arrived demand on, with the y axis fitted to them: on the full chart
 * the policies overlap there, and that is where they differ.
 */
export function unallocatedZoomSpec(report: SimulationReport, fromPct = 90): TopLevelSpec {
  const values = Object.entries(report.curves).flatMap(([policy, pts]) =>
    pts.filter((p) => p.arrivedPct >= fromPct).map((p) => ({ policy, arrived: p.arrivedPct, unallocated: p.unallocatedPct })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 640,
    height: 320,
    title: `Zoom: arrived workload ≥ ${fromPct}% of capacity`,
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: { size: 14 } },
    encoding: {
      x: { field: 'arrived', type: 'quantitative', title: 'arrived GPU demand (% of capacity)', scale: { zero: false } },
      y: { field: 'unallocated', type: 'quantitative', title: 'unallocated GPU (%)', scale: { zero: false } },
      color: { field: 'policy', type: 'nominal', title: 'policy', scale: colourScale },
    },
  };
}

export function localityChartSpec(report: SimulationReport): TopLevelSpec {
  const values = report.summaries.flatMap((s) => [
    { policy: s.policy, measure: 'NVLink-connected multi-GPU pods (%)', value: s.nvlink.connectedPct ?? 0 },
    { policy: s.policy, measure: 'mean bottleneck bandwidth (GB/s)', value: s.nvlink.meanBottleneckGBps ?? 0 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'NVLink locality of multi-GPU pods, per policy',
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null } },
    spec: {
      width: 280,
      height: 200,
      mark: 'bar',
      encoding: {
        x: { field: 'policy', type: 'nominal', title: null, sort: null },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'policy', type: 'nominal', legend: null, scale: colourScale },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function mapaChartSpec(report: SimulationReport): TopLevelSpec | null {
  if (!report.mapa) return null;
  const values = report.mapa.flatMap((m) =>
    (['min', 'p25', 'p50', 'p75'] as const).map((q) => ({ policy: m.policy, quantile: q, bandwidth: m.bandwidthGBps[q] })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'MAPA scenario: per-job bottleneck bandwidth (GB/s)',
    width: 360,
    height: 200,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'quantile', type: 'nominal', sort: ['min', 'p25', 'p50', 'p75'], title: null },
      xOffset: { field: 'policy', type: 'nominal' },
      y: { field: 'bandwidth', type: 'quantitative', title: 'GB/s' },
      color: { field: 'policy', type: 'nominal', scale: colourScale },
    },
  };
}

/** What each column of the comparison table means (the headers are short to keep it narrow). */
export function columnLegend(report: SimulationReport): [string, string][] {
  const w = report.pointHalfWidth > 0 ? `±${report.pointHalfWidth}` : '';
  const k = report.points.includes(100) ? 100 : report.points[0];
  return [
    [`unalloc@k${w}%`, `unallocated GPU capacity (% of all GPUs, lower is better) when the arrived GPU demand is k% of capacity${w ? `, averaged over a window of ${w} points around k` : ''}`],
    [`frag@${k}${w}%`, `fragmented GPU capacity at ${k}%: free GPU share that the typical workload cannot use (FGD's fragmentation measure, % of capacity; lower is better)`],
    ['dropped demand %', 'GPU demand of pods that fit nowhere, % of the arrived GPU demand'],
    ['multi-GPU pods', 'placed pods with 2 or more GPUs (the locality columns count these)'],
    ['NVLink-connected %', 'share of those pods whose GPUs form an NVLink-connected set'],
    ['(where possible)', 'the same share, counting only pods placed on nodes whose topology has such a set'],
    ['bottleneck GB/s', 'mean bandwidth of the slowest link on the best spanning tree over a pod\'s GPUs'],
    ['ms/run', 'wall time of one simulated run'],
  ];
}

type Direction = 'low' | 'high';
/** Which policy did best on each measure (ties listed together); the reading a table makes hard. */
export function winners(report: SimulationReport): { measure: string; best: string[]; value: number }[] {
  const out: { measure: string; best: string[]; value: number }[] = [];
  const pick = (measure: string, dir: Direction, get: (s: SimulationReport['summaries'][number]) => number | null | undefined) => {
    const vals = report.summaries.map((s) => ({ p: s.policy, v: get(s) })).filter((x): x is { p: string; v: number } => typeof x.v === 'number' && Number.isFinite(x.v));
    if (vals.length < 2) return;
    const bestV = dir === 'low' ? Math.min(...vals.map((x) => x.v)) : Math.max(...vals.map((x) => x.v));
    out.push({ measure, best: vals.filter((x) => Math.abs(x.v - bestV) < 0.005).map((x) => x.p), value: bestV });
  };
  for (const k of report.points) pick(`unallocated at ${k}% arrived`, 'low', (s) => s.unallocatedPct[k]);
  pick('dropped demand', 'low', (s) => s.droppedDemandPct);
  pick('NVLink-connected multi-GPU pods', 'high', (s) => s.nvlink.connectedPct);
  pick('bottleneck bandwidth', 'high', (s) => s.nvlink.meanBottleneckGBps);
  return out;
}

export function winnersText(report: SimulationReport): string {
  return winners(report)
    .map((w) => `${w.measure}: ${w.best.join(' = ')} (${Math.round(w.value * 100) / 100})`)
    .join('\n');
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
td.l,th:first-child{text-align:left}th{background:#f4f4f4}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
.note{color:#555;font-size:.92em}pre{background:#f8f8f8;padding:.6em;overflow:auto}
.wide{max-width:100%;overflow-x:auto}.wide table{font-size:12px}.wide th{white-space:normal;max-width:7em;vertical-align:bottom}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;font-size:.9em}dl.legend dt{font-weight:600}dl.legend dd{margin:0}
ul.won li{margin:.1em 0}svg{max-width:100%;height:auto}`;

export async function reportHtml(report: SimulationReport): Promise<string> {
  const { header, rows } = comparisonRows(report);
  const charts = [await renderSvg(unallocatedChartSpec(report)), await renderSvg(localityChartSpec(report)), await renderSvg(unallocatedZoomSpec(report))];
  const legend = `<dl class="legend">${columnLegend(report).map(([h, d]) => `<dt>${esc(h)}</dt><dd>${esc(d)}</dd>`).join('')}</dl>`;
  const won = `<ul class="won">${winners(report).map((w) => `<li>${esc(w.measure)}: <b>${esc(w.best.join(' = '))}</b> (${esc(String(Math.round(w.value * 100) / 100))})</li>`).join('')}</ul>`;
  const mapaSpec = mapaChartSpec(report);
  const mapaSvg = mapaSpec ? await renderSvg(mapaSpec) : '';
  const scenario =
    report.mode === 'trace'
      ? `Trace workload <b>${esc(report.workload)}</b> under the FGD protocol: seeded shuffle, resampling to 1.3× GPU capacity, arrivals only, a pod that fits nowhere is dropped.`
      : `Built-in synthetic MLTask-like scenario: GPU shares, 1/2/4/8-GPU training jobs and CPU-only helpers, Poisson arrivals and exponential run times (offered load 1.3× capacity), departures; a job that fits nowhere is dropped. Arrived demand is cumulative, so it passes 100%.`;
  const m = report.mapa ? mapaRows(report.mapa) : null;
  const paired = pairedRows(report);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>linkpack simulation — ${esc(report.workload)}</title><style>${STYLE}</style></head><body>
<h1>linkpack placement simulation — ${esc(report.workload)}</h1>
<p>${scenario} Cluster: ${report.clusterNodes} nodes, ${report.clusterGpus} GPUs. Seeds ${esc(seedText(report.seeds))} (figures are means over seeds). Ties between equal node scores: ${esc(tiesText(report))}. Run time ${(report.elapsedMs / 1000).toFixed(1)} s.</p>
<h2>Topology assumptions</h2>
<p class="note">${report.mode === 'trace' ? 'The trace records no GPU topology; every node is mapped by GPU model and count onto an assumed topology.' : 'Built-in presets.'}</p>
<pre>${esc(assumptionsText(report))}</pre>
<h2>Allocation and locality</h2>
<p class="note">Unallocated GPU % = 100 − used/capacity at the events where the arrived demand rounds to k% of capacity. Locality counts placed pods with ≥ 2 GPUs: share on an NVLink-connected set (overall and on nodes whose assumed topology has such a set), and the mean bottleneck of the best spanning tree over their GPUs.</p>
<h2>Which policy won where</h2>
${won}
<div class="wide">${htmlTable(header, rows)}</div>
${legend}
${paired.rows.length > 0 ? `<h2>linkpack against the best baseline</h2><p class="note">${esc(PAIRED_TITLE)} Each seed runs every policy on the same jobs; the interval is Student's t over the per-seed differences.</p>${htmlTable(paired.header, paired.rows)}` : ''}
${charts[0]}
${charts[2]}
${charts[1]}
${m ? `<h2>MAPA scenario</h2><p class="note">One DGX-1 V100, 1,000 jobs of 2–5 GPUs, service 5–24 units, FIFO with head-of-line blocking. Run time = service × (1 + c·(50/bottleneck − 1)), c = 0.3 for bandwidth-sensitive networks, 0.05 otherwise (an assumption).</p><div class="wide">${htmlTable(m.header, m.rows)}</div>${mapaSvg}` : ''}
</body></html>
`;
}

/** Write `index.html` (and `report.json`) into `dir`; returns the HTML path. */
export async function writeReport(report: SimulationReport, dir: string, json: unknown): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.html');
  writeFileSync(file, await reportHtml(report));
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(json, null, 2)}\n`);
  return file;
}
