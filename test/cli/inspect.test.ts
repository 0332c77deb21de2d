/** The real binary (built by `npm test`'s tsc step), run as a user would. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, hasShared, repoRoot, requireBuilt, sharedFixture } from '../support/paths.js';

const run = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: repoRoot });
const json = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [cliPath, ...args, '--json'], { encoding: 'utf8' }));

describe('linkpack inspect', () => {
  requireBuilt();
  it('lists presets', () => {
    const names = json('inspect', '--list-presets').presets.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['dgx1-v100', 'dgx2', 'dgx-a100', 'hgx-h100', 'pcie-8x-2socket', 'pcie-4x', 'pcie-8x-nvlink-pairs', 'nvlink-bridge-2x']));
  });

  it('prints a preset as JSON: gpus, matrix with X diagonal, islands', () => {
    const r = json('inspect', '--topo', 'dgx1-v100');
    expect(r.gpus.map((g: { index: number }) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.matrix[0][0]).toBe('X');
    expect(r.matrix[0][3]).toBe('NV2');
    expect(r.matrix[0][5]).toBe('SYS');
    expect(r.islands).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    const pcie = json('inspect', '--topo', 'pcie-8x-nvlink-pairs');
    expect(pcie.islands).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
  });

  it('adds the best set for a request, and a reason when it cannot fit', () => {
    const r = json('inspect', '--topo', 'dgx1-v100', '--request', '2', '--free', '0,1,2,3,5,6');
    expect(r.best.gpus).toEqual([5, 6]);
    expect(r.best.breakdown.nvlinkConnected).toBe(true);
    const noRun = run('inspect', '--topo', 'pcie-4x', '--request', '2', '--topology', 'require-nvlink', '--json');
    expect(noRun.status).toBe(3); // does not fit
    const no = JSON.parse(noRun.stdout);
    expect(no.best.fits).toBe(false);
    expect(no.best.reason).toMatch(/no NVLink-connected set of 2/);
  });

  it('prints a human table by default', () => {
    const r = run('inspect', '--topo', 'hgx-h100', '--request', '4');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/NVLink islands: \{0,1,2,3,4,5,6,7\}/);
    expect(r.stdout).toMatch(/Best set: 0,1,2,3/);
  });

  it('a malformed file exits non-zero with the parser message naming the line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-'));
    const bad = path.join(dir, 'bad.txt');
    writeFileSync(bad, '\tGPU0\tGPU1\nGPU0\t X \tNV9Z\nGPU1\tNV1\t X \n');
    const r = run('inspect', '--topo', bad);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.txt:2/);
    const missing = run('inspect', '--topo', path.join(dir, 'nope.txt'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/--topo ".*nope\.txt" is neither a preset nor a file/);
    const badReq = run('inspect', '--topo', 'dgx1-v100', '--request', 'two');
    expect(badReq.status).not.toBe(0);
    expect(badReq.stderr).toMatch(/--request takes a number of GPUs/);
  });

  it.skipIf(!hasShared)('reads a real topo -m file (DGX-1 with NICs) and agrees with the preset', () => {
    const file = json('inspect', '--topo', sharedFixture('topo-dgx1-v100-mlx5-4nic.txt'), '--request', '4');
    const preset = json('inspect', '--topo', 'dgx1-v100', '--request', '4');
    expect(file.matrix).toEqual(preset.matrix);
    expect(file.best.gpus).toEqual(preset.best.gpus);
    const partial = run('inspect', '--topo', sharedFixture('topo-dgx2-v100-16gpu-nvswitch-nv6-partial.txt'));
    expect(partial.status).not.toBe(0);
    expect(partial.stderr).toMatch(/no row for GPU4/);
  });

  it('--as-gpunode prints a GPUNode the cluster cache accepts', async () => {
    const { parse } = await import('yaml');
    const { parseGpuNode } = await import('../../src/cluster/gpunode.js');
    const r = run('inspect', '--topo', 'dgx1-v100', '--as-gpunode', 'gpu-7');
    expect(r.status).toBe(0);
    const obj = parse(r.stdout);
    expect(obj.kind).toBe('GPUNode');
    expect(obj.metadata.name).toBe('gpu-7');
    const parsed = parseGpuNode(obj);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.value.record.topology.links[0][3]).toBe('NV2');
  });

  it('--as-resourceslice prints the ResourceSlice JSON the agent would publish', () => {
    const r = run('inspect', '--topo', 'pcie-8x-nvlink-pairs', '--as-resourceslice', 'gpu-7');
    expect(r.status).toBe(0);
    const obj = JSON.parse(r.stdout);
    expect(obj).toMatchObject({ apiVersion: 'resource.k8s.io/v1', kind: 'ResourceSlice', spec: { driver: 'gpu.linkpack.io', nodeName: 'gpu-7', pool: { name: 'gpu-7' } } });
    expect(obj.spec.devices.map((d: { attributes: { nvlinkIsland: { int: number } } }) => d.attributes.nvlinkIsland.int)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(obj.spec.devices[0].capacity).toEqual({ memory: { value: '81559Mi' } });
    const both = run('inspect', '--topo', 'dgx1-v100', '--as-resourceslice', 'a', '--as-gpunode', 'a');
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give one of them/);
    expect(run('inspect', '--topo', 'dgx1-v100', '--as-resourceslice', 'Bad_Name').status).toBe(2);
  });

  it.skipIf(!hasShared)('measured NVLink speed from nvlink -s replaces the estimate', () => {
    const r = json('inspect', '--topo', sharedFixture('topo-2x-h100-pcie-nvlink-bridge-nv12.txt'), '--nvlink', sharedFixture('nvlink-s-2x-h100-pcie-bridge-inactive-links.txt'));
    expect(r.nvlinkGBpsPerLink).toBe(26.562);
    expect(r.bandwidthGBps[0][1]).toBeCloseTo(12 * 26.562);
  });
});
