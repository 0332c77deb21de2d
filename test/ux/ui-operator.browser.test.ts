/**
 * The web view as the operator's view, in headless Chromium against `--cluster-file`: the summary
 * per GPU model (numbers from the file), pending GPU pods with the extender's reason, search /
 * filter / sort, dimming when the data goes stale, the polling clamp, 390 px and 1920 px layouts
 * without sideways scrolling (screenshots kept for a person to look at), and a 500-node cluster:
 * degraded links on the picture and the time to the first full render.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningExtender } from '../../src/extender/command.js';
import { gpuNodeObject } from '../../src/cluster/gpunode.js';
import { getPreset } from '../../src/topology/index.js';
import { repoRoot } from '../support/paths.js';
import { extenderOn, launchChromium, skipBrowser } from './browser.js';

const examples = path.join(repoRoot, 'deploy/examples');
const shots = process.env.UI_SCREENSHOT_DIR ?? path.join(tmpdir(), 'linkpack-ui-screens');
let browser: Browser;
let running: RunningExtender;

async function openUi(width: number, height: number, query = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  await page.goto(`${running.address}/ui${query}`);
  await page.waitForSelector('body[data-renders]');
  return page;
}

describe.skipIf(skipBrowser !== undefined)('the operator\'s web view in Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    running = await extenderOn(path.join(examples, 'cluster.yaml'));
    // A pod no node can take (16 GPUs; the largest node has 8): it waits with the extender's reason.
    const filterReq = JSON.parse(readFileSync(path.join(examples, 'filter-request.json'), 'utf8'));
    const huge = structuredClone(filterReq.Pod);
    huge.metadata = { ...huge.metadata, name: 'huge', uid: 'uid-huge' };
    huge.spec.containers[0].resources.limits['nvidia.com/gpu'] = '16';
    const r = await fetch(`${running.address}/filter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...filterReq, Pod: huge }) });
    expect(r.status).toBe(200);
    mkdirSync(shots, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  it('sums GPUs per model, nodes that can still give a free NVLink set of 2/4/8, and fragmentation with its meaning', async () => {
    const page = await openUi(1280, 900);
    const row = async (model: string) =>
      page.$$eval(`#summary-rows tr[data-model="${model}"] td`, (tds) => tds.slice(1).map((td) => Number(td.textContent)));
    // From deploy/examples/cluster.yaml: two HGX H100 (running-llm holds 4 GPUs of gpu-h100-b), a
    // DGX-1 V100, a PCIe L4 box. Columns: nodes, GPUs, free, in use, unhealthy, unavailable, ×2, ×4, ×8.
    expect(await row('NVIDIA H100 80GB HBM3')).toEqual([2, 16, 12, 4, 0, 0, 2, 2, 1]);
    expect(await row('Tesla V100-SXM2-16GB')).toEqual([1, 8, 8, 0, 0, 0, 1, 1, 1]);
    expect(await row('NVIDIA L4')).toEqual([1, 4, 4, 0, 0, 0, 0, 0, 0]);
    expect(await row('all models')).toEqual([4, 28, 24, 4, 0, 0, 3, 3, 2]);
    // One GPU pod in the file: too few to know the typical shape (the 500-node cluster has one).
    expect(await page.textContent('#frag-pct')).toBe('—');
    expect(await page.textContent('#frag-meaning')).toMatch(/^not measured: no typical GPU pod shape known yet/);
    await page.close();
  });

  it('lists a pending GPU pod with the reason the extender gave', async () => {
    const page = await openUi(1280, 900);
    const item = page.locator('.pending[data-pod="ml/huge"]');
    expect(await item.textContent()).toMatch(/ml\/huge asks 16 GPUs: no node fits \(4 nodes\) — .*the node has (8|4) GPUs, 16 asked/);
    expect(await page.textContent('#pending-count')).toBe('1');
    await page.close();
  });

  it('searches by pod and node, filters by model, sorts by free GPUs', async () => {
    const page = await openUi(1280, 900);
    const shown = () => page.$$eval('.node', (els) => els.map((e) => e.getAttribute('data-node')));
    await page.fill('#q', 'running-llm');
    expect(await shown()).toEqual(['gpu-h100-b']);
    await page.fill('#q', 'pcie');
    expect(await shown()).toEqual(['gpu-pcie-a']);
    await page.fill('#q', 'huge');
    expect(await page.locator('.pending[data-pod="ml/huge"]').count()).toBe(1);
    await page.fill('#q', '');
    await page.selectOption('#model', 'Tesla V100-SXM2-16GB');
    expect(await shown()).toEqual(['gpu-v100-a']);
    await page.selectOption('#model', '');
    await page.selectOption('#sort', 'free');
    expect(await shown()).toEqual(['gpu-h100-a', 'gpu-v100-a', 'gpu-h100-b', 'gpu-pcie-a']);
    expect(await page.textContent('#shown')).toBe('4 of 4 nodes');
    await page.close();
  });

  it('dims with the data\'s age once two polls go unanswered, and recovers', async () => {
    const page = await openUi(1280, 900, '?every=1000');
    expect(await page.evaluate('document.body.classList.contains("stale")')).toBe(false);
    await page.route('**/ui/state', (route) => route.abort());
    await page.waitForSelector('body.stale', { timeout: 8000 });
    expect(await page.textContent('#age')).toMatch(/^data is \d+ s old$/);
    expect(Number(await page.evaluate('getComputedStyle(document.querySelector("main")).opacity'))).toBeLessThan(1);
    await page.screenshot({ path: path.join(shots, 'ui-stale.png') });
    await page.unroute('**/ui/state');
    await page.waitForSelector('body:not(.stale)', { timeout: 8000 });
    await page.close();
  });

  it('clamps the polling interval: ?every=-5 sends a request a second at most', async () => {
    const page = await browser.newPage();
    let requests = 0;
    page.on('request', (r) => void (r.url().endsWith('/ui/state') && requests++));
    await page.goto(`${running.address}/ui?every=-5`);
    await page.waitForTimeout(3500);
    console.log(`?every=-5: ${requests} requests to /ui/state in 3.5 s`);
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(5);
    await page.close();
  });

  it.each([
    [390, 844],
    [1920, 1080],
  ])('reads at %i px without scrolling sideways', async (width, height) => {
    const page = await openUi(width, height);
    const file = path.join(shots, `ui-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.close();
  });

  it('a 500-node cluster: degraded links on the picture, and the time to the first full render', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lp-500-')), 'cluster.json');
    writeFileSync(file, JSON.stringify(bigCluster(500)));
    const big = await extenderOn(file);
    try {
      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
      const t0 = Date.now();
      await page.goto(`${big.address}/ui`);
      await page.waitForSelector('body[data-renders]', { timeout: 30_000 });
      const ms = Date.now() - t0;
      expect(await page.locator('.node').count()).toBe(500);
      const renderMs = Math.round(Number(await page.evaluate('window.lpRenderMs')));
      console.log(`500-node cluster: first full render ${ms} ms after navigation (drawing alone ${renderMs} ms)`);
      expect(ms).toBeLessThan(15_000);
      // 125 GPU pods: enough to learn the typical shape, so fragmentation is measured.
      expect(await page.textContent('#frag-pct')).toMatch(/^\d+(\.\d)?%$/);
      expect(await page.textContent('#frag-meaning')).toMatch(/^of the free GPU capacity sits where the typical GPU pod cannot use it/);
      // Every 20th node (an HGX H100) has its 0–1 pair degraded.
      const n = page.locator('[data-node="node-000"]');
      expect(await n.locator('.island.degraded .lbl').textContent()).toBe('NVLink ×8 · 1 link degraded');
      expect(await n.locator('.gpu.link-down').count()).toBe(2);
      expect(await n.locator('.deg').textContent()).toMatch(/degraded NVLink: GPU 0–1 \(GPU 0 NVLink 3 inactive\)/);
      await page.screenshot({ path: path.join(shots, 'ui-500-nodes.png') });
      await page.close();
    } finally {
      await big.close();
    }
  }, 90_000);
});

/** n GPU nodes of four kinds, a third of them with a 4-GPU pod, some unhealthy GPUs and degraded links. */
function bigCluster(n: number): { apiVersion: string; kind: string; items: unknown[] } {
  const presets = ['hgx-h100', 'dgx1-v100', 'pcie-8x-2socket', 'nvlink-bridge-2x'];
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const name = `node-${String(i).padStart(3, '0')}`;
    const base = getPreset(presets[i % presets.length]!)!;
    const t = { ...base, gpus: base.gpus.map((g) => ({ ...g, uuid: `GPU-${name}-${g.index}` })) };
    items.push({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { capacity: { cpu: '96', memory: '1Ti', 'nvidia.com/gpu': String(t.gpus.length) } } });
    items.push(
      gpuNodeObject(name, t, {
        ...(i % 20 === 0 ? { degradedLinks: [{ gpus: [0, 1] as [number, number], reasons: ['GPU 0 NVLink 3 inactive'] }] } : {}),
        ...(i % 7 === 3 ? { unhealthy: { 2: ['XID 79: GPU fell off the bus'] } } : {}),
      }),
    );
    if (i % 3 === 0 && t.gpus.length >= 4) {
      const ann = [0, 1, 2, 3].map((g) => `${g}:GPU-${name}-${g}`).join(',');
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `job-${i}`, namespace: 'ml', annotations: { 'linkpack.io/assigned-gpus': ann } },
        spec: { nodeName: name, containers: [{ name: 'main', image: 'x', resources: { limits: { 'nvidia.com/gpu': '4' } } }] },
      });
    }
  }
  return { apiVersion: 'v1', kind: 'List', items };
}
