/**
 * The simulation report a new user opens: every table header is defined, the >90% region has its
 * own chart, a policy keeps its colour across charts, and a summary says which policy won where.
 */
import { describe, expect, it } from 'vitest';
import { runSynthetic } from '../../src/sim/run.js';
import { comparisonRows } from '../../src/sim/format.js';
import { columnLegend, localityChartSpec, POLICY_COLOURS, reportHtml, unallocatedChartSpec, unallocatedZoomSpec, winners } from '../../src/sim/report.js';
import { renderSvg } from '../../src/sim/report.js';

const report = runSynthetic({ policies: ['random', 'bestfit', 'linkpack'], seeds: [42], jobs: 300 });

/** The stroke/fill colours an SVG uses. */
const coloursIn = (svg: string) => new Set([...svg.matchAll(/(?:stroke|fill)="(#[0-9a-f]{6})"/gi)].map((m) => m[1]!.toLowerCase()));

describe('simulation report', () => {
  it('defines every column header of the comparison table', () => {
    const { header } = comparisonRows(report);
    const legend = columnLegend(report).map(([h]) => h);
    for (const h of header.slice(1)) {
      const defined = legend.some((l) => l === h || (l.includes('@k') && new RegExp(`^${l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('@k', '@\\d+')}$`).test(h)));
      expect(defined, `header "${h}" has no legend entry`).toBe(true);
    }
  });

  it('has a chart of the region from 90% arrived on, fitted to it', () => {
    const spec = unallocatedZoomSpec(report) as { data: { values: { arrived: number }[] } };
    expect(spec.data.values.length).toBeGreaterThan(0);
    expect(Math.min(...spec.data.values.map((v) => v.arrived))).toBeGreaterThanOrEqual(90);
  });

  it('gives each policy the same colour in every chart', async () => {
    for (const spec of [unallocatedChartSpec(report), localityChartSpec(report), unallocatedZoomSpec(report)]) {
      const svg = await renderSvg(spec);
      for (const p of ['random', 'bestfit', 'linkpack'] as const) expect(coloursIn(svg), `${p} in ${String((spec as { title?: unknown }).title)}`).toContain(POLICY_COLOURS[p]);
    }
  });

  it('says which policy won each measure, and the HTML wraps the table so it fits the page', async () => {
    const w = winners(report);
    const k = report.points[0]!;
    const first = w.find((x) => x.measure === `unallocated at ${k}% arrived`)!;
    const best = Math.min(...report.summaries.map((s) => s.unallocatedPct[k]!));
    expect(first.value).toBeCloseTo(best, 6);
    expect(first.best.every((p) => Math.abs(report.summaries.find((s) => s.policy === p)!.unallocatedPct[k]! - best) < 0.005)).toBe(true);
    const html = await reportHtml(report);
    expect(html).toMatch(/<h2>Which policy won where<\/h2>\s*<ul class="won"><li>unallocated at \d+% arrived: <b>/);
    expect(html).toMatch(/<div class="wide"><table>/);
    expect(html).toMatch(/<dl class="legend"><dt>unalloc@k(±\d+)?%<\/dt>/);
  });
});

describe('progress of long runs', () => {
  it('draws a bar on a TTY and stays silent otherwise', async () => {
    const { PassThrough } = await import('node:stream');
    const { progressReporter } = await import('../../src/sim/command.js');
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    let drawn = '';
    tty.on('data', (c: Buffer) => (drawn += String(c)));
    const p = progressReporter(tty as unknown as NodeJS.WriteStream);
    expect(p.onProgress).toBeTypeOf('function');
    p.onProgress!(1, 4, 'linkpack seed 42');
    p.onProgress!(2, 4, 'linkpack seed 43');
    p.stop();
    expect(drawn).toMatch(/simulate \[.*\] [12]\/4 linkpack seed 4[23]/);
    const pipe = progressReporter(Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream);
    expect(pipe.onProgress).toBeUndefined();
  });
});
