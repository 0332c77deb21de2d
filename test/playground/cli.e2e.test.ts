/**
 * The README's playground walk-through, as a user runs it: `linkpack playground up` returns with
 * the cluster running (detached processes), kubectl applies the examples, `status` lists every
 * process, `down` leaves nothing running and removes the folder.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { controlPlaneSkip, kubeBinary, repoRoot } from '../../src/playground/control-plane.js';
import { alive, stopProcesses, type PlaygroundState } from '../../src/playground/state.js';
import { requireBuilt } from '../support/paths.js';

const run = promisify(execFile);
const cli = path.join(repoRoot, 'dist/src/cli/main.js');

describe.skipIf(controlPlaneSkip)('linkpack playground up / down (the README walk-through)', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'linkpack-pgcli-')), 'pg');
  afterAll(async () => {
    // Whatever happened above, leave nothing running.
    const f = path.join(dir, 'playground.json');
    if (existsSync(f)) await stopProcesses((JSON.parse(readFileSync(f, 'utf8')) as PlaygroundState).processes);
  }, 60_000);

  it('up prints KUBECONFIG last; the examples run or say why they wait; down stops every process', async () => {
    requireBuilt();
    const up = await run(process.execPath, [cli, 'playground', 'up', '--dir', dir, '--node', 'a=hgx-h100', '--node', 'b=dgx1-v100'], { timeout: 300_000 });
    const lines = up.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe(`KUBECONFIG=${path.join(dir, 'kubeconfig')}`);
    const env = { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig') };
    const kubectl = (...args: string[]) => run(kubeBinary('kubectl'), args, { env, timeout: 60_000 });
    await kubectl('create', 'namespace', 'ml');
    await kubectl('apply', '-f', path.join(repoRoot, 'deploy/examples/mltask-playground.yaml'));
    await kubectl('apply', '-f', path.join(repoRoot, 'deploy/examples/mltask.yaml'));
    const deadline = Date.now() + 120_000;
    let phase = '';
    while (Date.now() < deadline && phase !== 'Succeeded') {
      phase = (await kubectl('get', 'mltask', 'nvlink-pair', '-n', 'ml', '-o', 'jsonpath={.status.phase}')).stdout;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(phase).toBe('Succeeded');
    const waiting = (await kubectl('get', 'mltask', 'llama-finetune', '-n', 'ml', '-o', 'jsonpath={.status.phase}')).stdout;
    expect(waiting).not.toBe('Succeeded');

    const status = await run(process.execPath, [cli, 'playground', 'status', '--dir', dir]);
    expect(status.stdout).toMatch(/running {2}kubelet-a /);
    expect(status.stdout).not.toContain('STOPPED');
    expect(status.stdout).toMatch(/^memory: \d+ MiB resident in all$/m);

    const state = JSON.parse(readFileSync(path.join(dir, 'playground.json'), 'utf8')) as PlaygroundState;
    const down = await run(process.execPath, [cli, 'playground', 'down', '--dir', dir], { timeout: 60_000 });
    expect(down.stdout).toContain(`playground stopped (${state.processes.length} processes)`);
    expect(state.processes.filter((p) => alive(p.pid))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  }, 400_000);
});
