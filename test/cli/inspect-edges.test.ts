/**
 * The rough edges a new user hit with `linkpack inspect` and the CLI in general, each as the user
 * typed it, through the real binary (dist, built by `npm test`'s tsc step).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectTopology, formatInspect } from '../../src/inspect/report.js';
import { getPreset } from '../../src/topology/index.js';
import { cliPath, hasShared, repoRoot, requireBuilt, sharedFixture } from '../support/paths.js';

const run = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: repoRoot });
const tmp = mkdtempSync(path.join(tmpdir(), 'lp-edges-'));
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
};
/** One error line, one hint line at most: never the help text. */
function expectShortError(r: ReturnType<typeof run>, pattern: RegExp, status = 2) {
  expect(r.status).toBe(status);
  expect(r.stderr).toMatch(pattern);
  // The error, commander's "(Did you mean …?)" when it has one, and the hint.
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
  expect(r.stderr).not.toMatch(/Options:/);
}

describe('inspect output', () => {
  it('bandwidths carry no float noise (18 NVLinks × 26.562 GB/s = 478.116)', () => {
    const t = getPreset('hgx-h100')!;
    t.nvlinkGBpsPerLink = 26.562;
    const r = inspectTopology(t);
    expect(r.bandwidthGBps[0][1]).toBe(478.116);
    expect(formatInspect(r)).not.toMatch(/\d\.\d{4,}/);
  });
});

describe('inspect refuses what it cannot use', () => {
  requireBuilt();
  it('--request 0, -1 and more GPUs than the topology has', () => {
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--request', '0'), /--request 0: ask for at least 1 GPU/);
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--request=-1'), /--request takes a number of GPUs \(1 or more\), got "-1"/);
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--request', '99'), /--request 99: the topology has 8 GPUs/);
  });

  it('"does not fit" exits 3 (and a fit exits 0)', () => {
    const no = run('inspect', '--topo', 'dgx1-v100', '--request', '2', '--free', '0');
    expect(no.stdout).toMatch(/Does not fit/);
    expect(no.status).toBe(3);
    expect(run('inspect', '--topo', 'dgx1-v100', '--request', '2').status).toBe(0);
  });

  it('--free 0,0 and --free without --request', () => {
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--request', '1', '--free', '0,0'), /--free lists GPU 0 twice/);
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--free', '1'), /--free says which GPUs are free for --request; give --request <k> too/);
  });

  it('--as-gpunode with a name Kubernetes would reject', () => {
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--as-gpunode', 'Bad_Name'), /"Bad_Name" is not a Kubernetes node name/);
    expect(run('inspect', '--topo', 'dgx1-v100', '--as-gpunode', 'gpu-1.example').status).toBe(0);
  });

  it('a near-miss preset name gets a suggestion, not ENOENT', () => {
    const r = run('inspect', '--topo', 'dgx-h100');
    expectShortError(r, /--topo "dgx-h100" is neither a preset nor a file; did you mean "dgx-a100" or "hgx-h100"\?/);
    expect(r.stderr).not.toMatch(/ENOENT/);
  });

  it('--gpus: a CSV without header is explained in user terms (no internal option names)', () => {
    const csv = file('noheader.csv', '0, GPU-a, NVIDIA H100, 81559\n1, GPU-b, NVIDIA H100, 81559\n');
    const r = run('inspect', '--topo', 'nvlink-bridge-2x', '--gpus', csv);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/noheader\.csv:1: expected a header of field names/);
    expect(r.stderr).not.toMatch(/opts\./);
  });

  it('--gpus: several samples of the same GPU are refused', () => {
    const csv = file(
      'loop.csv',
      'timestamp, index, uuid, name, memory.total [MiB]\n2026/01/01 00:00:00.000, 0, GPU-a, H100, 81559 MiB\n2026/01/01 00:00:00.000, 1, GPU-b, H100, 81559 MiB\n2026/01/01 00:00:01.000, 0, GPU-a, H100, 81559 MiB\n',
    );
    const r = run('inspect', '--topo', 'nvlink-bridge-2x', '--gpus', csv);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/loop\.csv:4: GPU 0 appears again \(first on line 2\): the file holds several samples \(timestamped/);
  });

  it.skipIf(!hasShared)('--gpus: a real timestamped A10 sample loop without index/uuid is not taken for 4 GPUs', () => {
    const r = run('inspect', '--topo', sharedFixture('topo-4x-a10-pcie-sys-2nic.txt'), '--gpus', sharedFixture('query-gpu-a10-with-units.csv'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has no index or uuid column, so its rows cannot be matched to GPUs/);
  });

  it('--gpus from another machine (another GPU count) is refused', () => {
    const csv = file('other.csv', 'index, uuid, name, memory.total [MiB]\n0, GPU-x0, NVIDIA A10, 23028 MiB\n1, GPU-x1, NVIDIA A10, 23028 MiB\n');
    const r = run('inspect', '--topo', 'hgx-h100', '--gpus', csv);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`linkpack inspect: ${csv}: lists 2 GPUs but the topology has 8: is it from another machine?\n`);
  });

  it.skipIf(!hasShared)('--nvlink from another machine, or with every link inactive', () => {
    const other = run('inspect', '--topo', 'hgx-h100', '--nvlink', sharedFixture('nvlink-s-2x-h100-pcie-bridge-inactive-links.txt'));
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/lists 2 GPUs but the topology has 8: is it from another machine\?/);
    const inactive = run('inspect', '--topo', sharedFixture('topo-2x-h100-pcie-nvlink-bridge-nv12.txt'), '--nvlink', sharedFixture('nvlink-s-2x-a100-pcie-no-nvlink.txt'));
    expect(inactive.status).toBe(1);
    expect(inactive.stderr).toMatch(/every NVLink link is inactive/);
  });
});

describe('every CLI error is one line and a hint', () => {
  requireBuilt();
  it('an unknown option, an unknown command, a bad choice', () => {
    expectShortError(run('inspect', '--topoo', 'x'), /unknown option '--topoo'[\s\S]*add --help/);
    expectShortError(run('inspekt'), /unknown command 'inspekt'/);
    expectShortError(run('inspect', '--topo', 'dgx1-v100', '--request', '2', '--topology', 'nvlink'), /argument 'nvlink' is invalid/);
  });
  it('linkpack --version prints the package version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  });
});
