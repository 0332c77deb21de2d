/**
 * The README as a new user reads it: two commands to a running standalone extender with the web
 * view, and no reference to a file or command that is not there.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

function block(heading: string): string[] {
  const at = readme.indexOf(`## ${heading}`);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))!;
  return m[1]!.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

describe('README', () => {
  it('two commands from a clone to a standalone extender serving the web view', async () => {
    const cmds = block('The extender without a cluster');
    expect(cmds).toHaveLength(2);
    expect(cmds[0]).toBe('npm ci');
    const args = cmds[1]!.split(/\s+/);
    expect(args.slice(0, 2)).toEqual(['npx', 'linkpack']);
    requireBuilt();
    // What `npx linkpack` runs (package.json bin), on a free port instead of 8888.
    const child = spawn(process.execPath, [cliPath, ...args.slice(2), '--port', '0'], { cwd: repoRoot });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += String(c);
          const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const page = await (await fetch(`${address}/ui`)).text();
      expect(page).toMatch(/<title>linkpack — GPUs<\/title>/);
      const state = (await (await fetch(`${address}/ui/state`)).json()) as { nodes: unknown[] };
      expect(state.nodes.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).bin.linkpack).toBe('dist/src/cli/main.js');
  });

  it('every file and folder it names exists; no link to DESIGN.md', () => {
    expect(readme).not.toMatch(/DESIGN\.md/);
    const paths = new Set([...readme.matchAll(/(?<![\w./-])((?:docs|deploy|daemonset|charts|src|test|bench)\/[\w./-]*[\w/])(?![\w*-])/g)].map((m) => m[1]!.replace(/\/$/, '')));
    expect(paths.size).toBeGreaterThan(5);
    const missing = [...paths].filter((p) => !p.includes('<') && !existsSync(path.join(repoRoot, p)));
    expect(missing).toEqual([]);
  });
});
