import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerSimulateCommand } from '../../src/sim/command.js';
import { POLICY_NAMES } from '../../src/sim/policies.js';

async function run(args: string[]): Promise<string> {
  const program = new Command('linkpack').exitOverride();
  registerSimulateCommand(program);
  program.commands.forEach((c) => c.exitOverride());
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    lines.push(a.join(' '));
  });
  try {
    await program.parseAsync(['simulate', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'linkpack-sim-'));
}

const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

describe('linkpack simulate', () => {
  it('with no arguments runs the built-in scenario, prints the table and writes a self-contained HTML report', async () => {
    const dir = tmp();
    process.chdir(dir);
    const out = await run([]);
    expect(out).toMatch(/Built-in synthetic scenario/);
    expect(out).toMatch(/DGX-1 V100 hybrid cube-mesh/);
    for (const p of ['random', 'dotprod', 'gpuclustering', 'gpupacking', 'bestfit', 'fgd', 'linkpack', 'lowest-index', 'besteffort']) expect(out).toMatch(new RegExp(`^${p}\\s`, 'm'));
    const html = readFileSync(path.join(dir, 'linkpack-report', 'index.html'), 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3);
    expect(html).toMatch(/Unallocated GPU/);
    expect(html).not.toMatch(/<script|src="http/);
    expect(html).toMatch(/<h2>linkpack against the best baseline<\/h2>/);
    const json = JSON.parse(readFileSync(path.join(dir, 'linkpack-report', 'report.json'), 'utf8'));
    expect(json.results).toHaveLength(POLICY_NAMES.length);
  }, 60_000);

  it('replays a trace and prints the documented JSON', async () => {
    const dir = tmp();
    const nodes = path.join(dir, 'nodes.csv');
    const pods = path.join(dir, 'openb_pod_list_tiny.csv');
    writeFileSync(nodes, 'sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,8,V100M16\nn1,32000,131072,2,T4\n');
    writeFileSync(pods, 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,8000,16384,2,1000\np1,4000,8192,1,500\np2,2000,4096,0,0\np3,8000,16384,4,1000\n');
    process.chdir(dir);
    const out = await run(['--nodes', nodes, '--pods', pods, '--policy', 'bestfit,linkpack', '--seeds', '42-43', '--json']);
    const doc = JSON.parse(out);
    expect(doc.results.map((r: { policy: string }) => r.policy)).toEqual(['bestfit', 'linkpack']);
    const r = doc.results[0];
    expect(r.workload).toBe('tiny');
    expect(r.seeds).toEqual([42, 43]);
    expect(Object.keys(r.unallocatedPct)).toEqual(['90', '95', '100', '110', '120', '130']);
    expect(Object.keys(r.fragAmountPct)).toEqual(['90', '95', '100', '110', '120', '130']);
    expect(r.nvlink).toMatchObject({ multiGpuPods: expect.any(Number), connectedPct: expect.any(Number), meanBottleneckGBps: expect.any(Number) });
    expect(doc.topologyAssumptions).toEqual([
      { model: 'T4', gpuCount: 2, nodes: 1, topology: 'PCIe only, one socket' },
      { model: 'V100M16', gpuCount: 8, nodes: 1, topology: 'DGX-1 hybrid cube-mesh (NV1/NV2)' },
    ]);
    // A trace run writes its report by default too.
    expect(existsSync(path.join(dir, 'linkpack-report', 'index.html'))).toBe(true);
  });

  it("--extender-ties names: the deployed variants break equal raw scores by the extender's nodeTieRank of the node names", async () => {
    const dir = tmp();
    process.chdir(dir);
    const args = ['--policy', 'linkpack-deployed', '--seeds', '42-44', '--json', '--no-report'];
    const order = JSON.parse(await run(args));
    const names = JSON.parse(await run([...args, '--extender-ties', 'names']));
    expect(order.extenderTies).toBe('order');
    expect(names.extenderTies).toBe('names');
    // The same jobs placed by another tie order end elsewhere.
    expect(names.results[0].unallocatedPct).not.toEqual(order.results[0].unallocatedPct);
    await expect(run([...args, '--extender-ties', 'hash'])).rejects.toThrow(/--extender-ties.*hash.*order, names/);
  }, 60_000);

  it("the built-in breaks ties by the FGD artifact's per-run node order unless told, and pairs linkpack with the best baseline seed by seed", async () => {
    const dir = tmp();
    process.chdir(dir);
    const args = ['--policy', 'bestfit,linkpack', '--seeds', '42-44', '--no-report'];
    const dflt = JSON.parse(await run([...args, '--json']));
    const first = JSON.parse(await run([...args, '--json', '--ties', 'first']));
    expect(dflt.ties).toBe('permuted');
    expect(first.ties).toBe('first');
    expect(dflt.results[1].unallocatedPct).not.toEqual(first.results[1].unallocatedPct);
    const paired = dflt.pairedAgainstBestBaseline;
    expect(paired.map((d: { point: number }) => d.point)).toEqual([200, 400, 600, 800]);
    for (const d of paired) {
      expect(d).toMatchObject({ policy: 'linkpack', against: 'bestfit', seeds: 3 });
      const k = String(d.point);
      // The mean of the paired differences is the difference of the means.
      expect(d.meanPct).toBeCloseTo(dflt.results[1].unallocatedPct[k] - dflt.results[0].unallocatedPct[k], 1);
    }
    const text = await run(args);
    expect(text).toMatch(/seeds 42–44; ties: permuted/);
    expect(text).toMatch(/linkpack against the best baseline at each point, seed by seed/);
    expect(text).toMatch(/^linkpack\s+800±100%\s+bestfit\s+[+-]\d+\.\d\d\s+\d+\.\d\d\s+\d of 3$/m);
    // The deployed pick is paired too when it runs.
    const withDeployed = JSON.parse(await run(['--policy', 'bestfit,linkpack,linkpack-deployed', '--seeds', '42-43', '--no-report', '--json']));
    expect(withDeployed.pairedAgainstBestBaseline.map((d: { policy: string }) => d.policy)).toEqual([...Array(4).fill('linkpack'), ...Array(4).fill('linkpack-deployed')]);
  }, 60_000);

  it('fails naming a missing or malformed file, and a lone --nodes', async () => {
    const dir = tmp();
    const nodes = path.join(dir, 'nodes.csv');
    writeFileSync(nodes, 'sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,8,V100M16\n');
    const missing = path.join(dir, 'missing.csv');
    await expect(run(['--nodes', nodes, '--pods', missing])).rejects.toThrow(`--pods ${missing}: does not exist`);
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,8000,16384,two,1000\n');
    await expect(run(['--nodes', nodes, '--pods', bad])).rejects.toThrow(`${bad}:2 column "num_gpu": expected an integer, got "two"`);
    await expect(run(['--nodes', nodes])).rejects.toThrow(/--nodes and --pods go together/);
    await expect(run(['--policy', 'tetris'])).rejects.toThrow(/unknown policy "tetris"/);
    await expect(run(['--seeds', 'x'])).rejects.toThrow(/--seeds/);
  });

  it('runs the MAPA scenario alone', async () => {
    const out = await run(['--mapa', '--json']);
    const doc = JSON.parse(out);
    expect(doc.mapa.map((m: { policy: string }) => m.policy)).toEqual(['lowest-index', 'besteffort', 'linkpack']);
    expect(doc.mapa[0].jobs).toBe(1000);
  });
});
