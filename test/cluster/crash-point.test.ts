import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

const script = (point: string) => `import('${path.join(repoRoot, 'dist/src/cluster/crash-point.js')}').then((m) => { m.crashPoint('${point}'); console.log('ran on'); });`;

describe('the test-only crash point', () => {
  it('kills the process the first time it reaches the named point, then lets a restarted one run on; never without the variable', () => {
    const marker = path.join(mkdtempSync(path.join(tmpdir(), 'linkpack-crash-')), 'marker');
    const env = { ...process.env, LINKPACK_CRASH_AT: `after-annotate:${marker}` };
    const first = spawnSync(process.execPath, ['-e', script('after-annotate')], { env, encoding: 'utf8' });
    expect(first.signal).toBe('SIGKILL');
    expect(existsSync(marker)).toBe(true);
    const second = spawnSync(process.execPath, ['-e', script('after-annotate')], { env, encoding: 'utf8' });
    expect(second.stdout.trim()).toBe('ran on');
    const other = spawnSync(process.execPath, ['-e', script('after-binding')], { env: { ...process.env, LINKPACK_CRASH_AT: `after-annotate:${marker}-2` }, encoding: 'utf8' });
    expect(other.stdout.trim()).toBe('ran on');
    const unset = spawnSync(process.execPath, ['-e', script('after-annotate')], { env: { ...process.env, LINKPACK_CRASH_AT: '' }, encoding: 'utf8' });
    expect(unset.stdout.trim()).toBe('ran on');
  });
});
