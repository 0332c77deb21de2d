/**
 * The README as a new user reads it: two commands to a running standalone extender with the web
 * view, and no reference to a file or command that is not there.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';

const run = promisify(execFile);
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

function block(heading: string): string[] {
  const at = readme.indexOf(`## ${heading}`);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))!;
  return m[1]!.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** The extender's address, once its log says it listens. */
function listeningAt(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += String(c);
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
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
      const address = await listeningAt(child);
      const page = await (await fetch(`${address}/ui`)).text();
      expect(page).toMatch(/<title>linkpack — GPUs<\/title>/);
      const state = (await (await fetch(`${address}/ui/state`)).json()) as { nodes: unknown[] };
      expect(state.nodes.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).bin.linkpack).toBe('dist/src/cli/main.js');
  });

  it('the walk-through explains before it binds, so the runner-up appears, then shows the bound pod', async () => {
    requireBuilt();
    const at = readme.indexOf('## The extender without a cluster');
    const second = [...readme.slice(at).matchAll(/```sh\n([\s\S]*?)```/g)][1]![1]!;
    const steps = second.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
    expect(steps.map((l) => (l.includes('/filter') ? 'filter' : l.includes('/bind') ? 'bind' : l.includes('linkpack explain') ? 'explain' : l))).toEqual(['filter', 'explain', 'bind', 'explain']);
    const child = spawn(process.execPath, [cliPath, 'extender', '--cluster-file', 'deploy/examples/cluster.yaml', '--port', '0', '--profile', 'none'], { cwd: repoRoot });
    try {
      const address = await listeningAt(child);
      const said: string[] = [];
      for (const step of steps) {
        const body = /-d @(\S+)/.exec(step)?.[1];
        const verb = /localhost:8888\/(\w+)/.exec(step)?.[1];
        if (body && verb) {
          const r = await fetch(`${address}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(path.join(repoRoot, body)) });
          expect(r.status, step).toBe(200);
        } else {
          const pod = step.split(/\s+/).at(-1)!;
          said.push((await run(process.execPath, [cliPath, 'explain', pod, '--server', address])).stdout.split('\n')[0]!);
        }
      }
      expect(said[0]).toMatch(/^ml\/trainer-0 → node \S+, GPUs [\d,]+: .*\. Runner-up \S+ lost: /);
      expect(said[1]).toMatch(/^ml\/trainer-0 is bound to node \S+ on GPUs [\d,]+/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('every file and folder it names exists; no link to DESIGN.md', () => {
    expect(readme).not.toMatch(/DESIGN\.md/);
    const paths = new Set([...readme.matchAll(/(?<![\w./-])((?:docs|deploy|daemonset|charts|src|test|bench)\/[\w./-]*[\w/])(?![\w*-])/g)].map((m) => m[1]!.replace(/\/$/, '')));
    expect(paths.size).toBeGreaterThan(5);
    const missing = [...paths].filter((p) => !p.includes('<') && !existsSync(path.join(repoRoot, p)));
    expect(missing).toEqual([]);
  });
});
