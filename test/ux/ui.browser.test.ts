/**
 * The web view in a real headless Chromium (Debian's package, driven by playwright-core) against
 * `linkpack extender --cluster-file deploy/examples/cluster.yaml`: every node of the file is shown,
 * a bind made over HTTP appears without a reload, clicking a GPU shows its pod. Also: the
 * simulation report's table fits the page.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Browser, Page } from 'playwright-core';
import type { RunningExtender } from '../../src/extender/command.js';
import { runSynthetic } from '../../src/sim/run.js';
import { writeReport } from '../../src/sim/report.js';
import { repoRoot } from '../support/paths.js';
import { extenderOn, launchChromium, skipBrowser as skip } from './browser.js';

const examples = path.join(repoRoot, 'deploy/examples');
let browser: Browser;
let running: RunningExtender;
let page: Page;

describe.skipIf(skip !== undefined)('web view /ui in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    running = await extenderOn(path.join(examples, 'cluster.yaml'));
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  it('shows every node of the cluster file, its NVLink islands and who holds which GPU', async () => {
    const docs = parseAllDocuments(readFileSync(path.join(examples, 'cluster.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    const nodeNames = docs.filter((d) => d.kind === 'Node').map((d) => d.metadata.name).sort();
    expect(nodeNames.length).toBeGreaterThan(0);
    await page.goto(`${running.address}/ui?every=200`);
    await page.waitForSelector('.node');
    const shown = await page.$$eval('.node', (els) => els.map((e) => e.getAttribute('data-node')!).sort());
    expect(shown).toEqual(nodeNames);
    // The H100 box is one NVLink island of 8; the PCIe box has none (each GPU alone).
    expect(await page.locator('[data-node="gpu-h100-a"] .island:not(.single)').count()).toBe(1);
    expect(await page.locator('[data-node="gpu-h100-a"] .island .gpu').count()).toBe(8);
    expect(await page.locator('[data-node="gpu-pcie-a"] .island:not(.single)').count()).toBe(0);
    // running-llm holds GPUs in the file: its cells name it.
    const holders = await page.locator('.gpu .pod', { hasText: 'running-llm' }).count();
    expect(holders).toBeGreaterThan(0);
  });

  it('a bind made over HTTP appears without a reload, with the decision in words', async () => {
    await page.goto(`${running.address}/ui?every=200`);
    await page.waitForSelector('.node');
    const before = await page.locator('.gpu .pod', { hasText: 'trainer-0' }).count();
    expect(before).toBe(0);
    const post = (verb: string, body: unknown) =>
      fetch(`${running.address}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const filterReq = JSON.parse(readFileSync(path.join(examples, 'filter-request.json'), 'utf8'));
    await post('filter', filterReq);
    const bind = JSON.parse(readFileSync(path.join(examples, 'bind-request.json'), 'utf8'));
    expect((await post('bind', bind)).Error).toBe('');
    // A mark on the window survives only if the page is not reloaded.
    await page.evaluate(() => ((globalThis as { lpMark?: number }).lpMark = 42));
    await page.locator(`[data-node="${bind.Node}"] .gpu .pod`, { hasText: 'trainer-0' }).first().waitFor({ timeout: 5000 });
    expect(await page.locator(`[data-node="${bind.Node}"] .gpu .pod`, { hasText: 'trainer-0' }).count()).toBe(4);
    expect(await page.evaluate(() => (globalThis as { lpMark?: number }).lpMark)).toBe(42);
    const decision = page.locator('.decision[data-pod="ml/trainer-0"]');
    await decision.waitFor();
    // "ml/trainer-0 → gpu-h100-b GPUs 4,5,6,7: NVLink all pairs (…); fills the node exactly" — said once.
    expect(await decision.textContent()).toMatch(new RegExp(`ml/trainer-0 → ${bind.Node} GPUs [\\d,]+: NVLink all pairs \\(bottleneck \\d+ GB/s\\)`));
    expect(await decision.textContent()).not.toMatch(/Bound to node/);
  });

  it('clicking a GPU shows its pod', async () => {
    const cell = page.locator('.gpu', { hasText: 'trainer-0' }).first();
    await cell.click();
    const pod = page.locator('#detail .detail-pod');
    await pod.first().waitFor();
    expect(await pod.first().getAttribute('data-pod')).toBe('ml/trainer-0');
    expect(await page.locator('#detail h3').first().textContent()).toMatch(/gpu-h100-b · GPU \d/);
    // A free GPU says so.
    await page.locator('[data-node="gpu-pcie-a"] .gpu.free').first().click();
    expect(await page.locator('#detail .detail-pod').textContent()).toBe('no pod holds this GPU');
  });

  it('the simulation report table fits a 1280-pixel page', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-report-'));
    const report = runSynthetic({ policies: ['random', 'dotprod', 'gpuclustering', 'gpupacking', 'bestfit', 'fgd', 'linkpack'], seeds: [42], jobs: 300, withMapa: false });
    const file = await writeReport(report, dir, {});
    const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await p.goto(`file://${file}`);
    const overflow = await p.$$eval('.wide', (els) => els.map((e) => e.scrollWidth - e.clientWidth));
    expect(overflow.length).toBeGreaterThan(0);
    expect(Math.max(...overflow)).toBeLessThanOrEqual(0);
    // Runs in the page (no DOM types in this tsconfig): the whole document is no wider than the window.
    expect(await p.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await p.close();
  }, 60_000);
});
