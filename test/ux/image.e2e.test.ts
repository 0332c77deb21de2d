/**
 * What the image runs, rebuilt without Docker: the production dependency set (`npm ci
 * --omit=dev`, as the Dockerfile's deps stage) and the code compiled as its build stage does
 * (tsconfig.build.json, protos copied), laid out as /app. Every `linkpack` command starts from it;
 * the ones that need no cluster do real work (a dev-only import would fail here).
 * In the e2e project: npm ci takes ~20 s.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const app = mkdtempSync(path.join(tmpdir(), 'lp-image-'));
const main = path.join(app, 'dist/src/cli/main.js');
let npmOutput = '';
const linkpack = (...args: string[]) => run(process.execPath, [main, ...args], { cwd: app, env: { ...process.env, NODE_ENV: 'production' } });

beforeAll(async () => {
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(path.join(repoRoot, f), path.join(app, f));
  const ci = await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app });
  npmOutput = ci.stdout + ci.stderr;
  await run(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', path.join(app, 'dist')], { cwd: repoRoot });
  for (const f of readdirSync(path.join(repoRoot, 'src/kubelet')).filter((x) => x.endsWith('.proto'))) {
    copyFileSync(path.join(repoRoot, 'src/kubelet', f), path.join(app, 'dist/src/kubelet', f));
  }
}, 240_000);

describe('the production dependency set', () => {
  it('installs on Node 20 without engine or deprecation warnings', () => {
    expect(npmOutput).not.toMatch(/EBADENGINE|deprecated/i);
  });

  it('starts every command (--help), and --version', async () => {
    const { stdout } = await linkpack('--help');
    const commands = [...stdout.split('Commands:')[1]!.matchAll(/^\s{2}(\S+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['simulate', 'extender', 'inspect', 'explain', 'agent', 'device-plugin', 'controller']));
    for (const c of commands) {
      const r = await linkpack(c, '--help');
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: linkpack ${c}`));
    }
    expect((await linkpack('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // The DaemonSet's own entry points (chart and daemonset/ run these, not the whole CLI).
    for (const [entry, c] of [['agent', 'agent'], ['deviceplugin', 'device-plugin']] as const) {
      const r = await run(process.execPath, [path.join(app, 'dist/src', entry, 'main.js'), c, '--help'], { cwd: app });
      expect(r.stdout, entry).toMatch(new RegExp(`^Usage: linkpack ${c}`));
    }
  }, 120_000);

  it('does real work where no cluster is needed: inspect, simulate with its HTML report', async () => {
    expect((await linkpack('inspect', '--topo', 'dgx1-v100', '--as-gpunode', 'gpu-1')).stdout).toMatch(/kind: GPUNode/);
    const out = path.join(app, 'report');
    const sim = await linkpack('simulate', '--jobs', '60', '--seeds', '42', '--policy', 'bestfit,linkpack', '--out', out);
    expect(sim.stdout).toMatch(/Report: .*index\.html/);
  }, 120_000);

  it('serves the standalone extender with the web view', async () => {
    const child = spawn(process.execPath, [main, 'extender', '--cluster-file', path.join(repoRoot, 'deploy/examples/cluster.yaml'), '--port', '0'], { cwd: app });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (c: Buffer) => {
          buf += String(c);
          const m = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(buf);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`extender exited ${code}: ${buf}`)));
      });
      expect((await fetch(`${address}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${address}/ui`)).text()).toMatch(/<title>linkpack — GPUs<\/title>/);
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});
