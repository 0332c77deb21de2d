/**
 * Commands never crash, hang or go quiet on bad input (issue 25): the built CLI is spawned with one
 * bad input per case and must answer at once with one line `linkpack <command>: …` (plus the hint
 * for a usage error), exit 2 for usage and 1 for a failure, and no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable } from '../../src/cli/errors.js';
import { USAGE_HINT } from '../../src/cli/usage.js';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';

requireBuilt();

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const home = mkdtempSync(path.join(tmpdir(), 'lp-cli-home-'));
/** No cluster anywhere: no $KUBECONFIG, an empty home, not in a pod. */
const noCluster = { ...process.env, HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };

function run(args: string[], env: NodeJS.ProcessEnv = noCluster, timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** One line of error (and the hint for a usage error), no stack trace. */
function expectOneLine(r: Ran, prefix: string, code: 1 | 2): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
  expect(r.code).toBe(code);
  expect(lines[0]!.startsWith(`${prefix}: `)).toBe(true);
  expect(lines.slice(1)).toEqual(code === 2 ? [USAGE_HINT] : []);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

describe('bad input is one line, at once', () => {
  let dir: string;
  let aFile: string;
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lp-cli-'));
    aFile = path.join(dir, 'a-file');
    writeFileSync(aFile, 'not a directory');
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as AddressInfo).port;
  });
  afterAll(() => busy?.close());

  it('`--version` answers in under 0.3 s (no command module is loaded)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(['--version']);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
      times.push(r.ms);
    }
    expect(Math.min(...times)).toBeLessThan(300);
  });

  it('device-plugin --plugin-dir <a file> fails before it starts, without a trace', async () => {
    const r = await run(['device-plugin', '--node-name', 'n', '--fake', 'hgx-h100', '--plugin-dir', aFile]);
    expect(expectOneLine(r, 'linkpack device-plugin', 2)).toBe(`linkpack device-plugin: --plugin-dir ${aFile}: not a directory (expected the kubelet's device-plugins directory)`);
  });

  it('device-plugin without a cluster says so and names --no-api, instead of retrying localhost', async () => {
    const r = await run(['device-plugin', '--node-name', 'n', '--fake', 'hgx-h100', '--plugin-dir', dir]);
    expect(expectOneLine(r, 'linkpack device-plugin', 2)).toMatch(/^linkpack device-plugin: no cluster found: .*run without a cluster: linkpack device-plugin --no-api/);
  });

  it('simulate --out /proc/nope fails at once with one line', async () => {
    const r = await run(['simulate', '--out', '/proc/nope']);
    expect(expectOneLine(r, 'linkpack simulate', 2)).toBe('linkpack simulate: --out /proc/nope: cannot write there (it cannot be created)');
    expect(r.ms).toBeLessThan(10_000);
  });

  it('simulate --out <a file> fails at once', async () => {
    const r = await run(['simulate', '--out', aFile]);
    expect(expectOneLine(r, 'linkpack simulate', 2)).toBe(`linkpack simulate: --out ${aFile}: cannot write there (not a directory)`);
  });

  it('extender with $KUBECONFIG naming a missing file says which, and how to run without a cluster', async () => {
    const missing = path.join(dir, 'no-such-kubeconfig');
    const r = await run(['extender'], { ...noCluster, KUBECONFIG: missing });
    expect(expectOneLine(r, 'linkpack extender', 2)).toBe(
      `linkpack extender: no cluster found: $KUBECONFIG names ${missing}, which does not exist. Give --kubeconfig <file>, or run without a cluster: linkpack extender --cluster-file deploy/examples/cluster.yaml`,
    );
  });

  it('agent with $KUBECONFIG naming a missing file says which, and offers --dry-run', async () => {
    const missing = path.join(dir, 'no-such-kubeconfig');
    const r = await run(['agent', '--node-name', 'n', '--fake', 'hgx-h100', '--once'], { ...noCluster, KUBECONFIG: missing });
    expect(expectOneLine(r, 'linkpack agent', 2)).toBe(
      `linkpack agent: no cluster found: $KUBECONFIG names ${missing}, which does not exist. Give --kubeconfig <file>, or run without a cluster: linkpack agent --dry-run (read nvidia-smi and serve /metrics only)`,
    );
  });

  it('extender --kubeconfig <missing> names it', async () => {
    const r = await run(['extender', '--kubeconfig', '/nope/kubeconfig']);
    expect(expectOneLine(r, 'linkpack extender', 2)).toMatch(/^linkpack extender: --kubeconfig \/nope\/kubeconfig: no such file\. .*--cluster-file/);
  });

  it('a bad --log-level gets our message with the allowed values, not the logger’s', async () => {
    for (const cmd of ['extender', 'device-plugin']) {
      const r = await run([cmd, '--log-level', 'loud']);
      expect(expectOneLine(r, `linkpack ${cmd}`, 2)).toBe(`linkpack ${cmd}: --log-level "loud": expected one of fatal, error, warn, info, debug, trace, silent`);
    }
    // The agent logs only info and warn: its choices say so.
    const agent = await run(['agent', '--log-level', 'loud']);
    expect(expectOneLine(agent, 'linkpack agent', 2)).toBe("linkpack agent: option '--log-level <level>' argument 'loud' is invalid. Allowed choices are info, warn.");
  });

  it('non-printable input is escaped and long input truncated', async () => {
    const r = await run(['inspect', '--topo', `\u0001\u001b[31mred${'x'.repeat(1000)}`]);
    const line = expectOneLine(r, 'linkpack inspect', 2);
    expect(line).not.toMatch(/[\u0000-\u001f]/);
    expect(line).toContain('\\x01\\x1b[31mred');
    expect(line.length).toBeLessThan(500);
    expect(line).toMatch(/… \(\d+ more characters\)$/);
  });

  it('a port in use is one line, exit 1', async () => {
    const r = await run(['extender', '--cluster-file', 'deploy/examples/cluster.yaml', '--port', String(busyPort), '--log-level', 'silent']);
    expect(expectOneLine(r, 'linkpack extender', 1)).toBe(`linkpack extender: port ${busyPort} on 127.0.0.1 is already in use (another process listens there); choose another with --port`);
  });

  it('an unknown command or option has the same prefix', async () => {
    expect(expectOneLine(await run(['nosuch']), 'linkpack nosuch', 2)).toBe("linkpack nosuch: unknown command 'nosuch'");
    expect(expectOneLine(await run(['extender', '--bogus']), 'linkpack extender', 2)).toBe("linkpack extender: unknown option '--bogus'");
    expect(expectOneLine(await run(['help', 'nosuch']), 'linkpack help', 2)).toMatch(/^linkpack help: no command "nosuch" \(commands: simulate, extender, /);
  });

  it('a file named on the command line that is not there is a usage error (exit 2) in every command', async () => {
    expect(expectOneLine(await run(['extender', '--cluster-file', '/nope.yaml']), 'linkpack extender', 2)).toBe('linkpack extender: --cluster-file /nope.yaml: does not exist');
    expect(expectOneLine(await run(['inspect', '--topo', 'hgx-h100', '--gpus', '/nope.csv']), 'linkpack inspect', 2)).toBe('linkpack inspect: --gpus /nope.csv: does not exist');
    expect(expectOneLine(await run(['simulate', '--nodes', '/nope.csv', '--pods', '/nope.csv']), 'linkpack simulate', 2)).toBe('linkpack simulate: --nodes /nope.csv: does not exist');
  });

  it('the device plugin says it waits for the kubelet while unregistered', async () => {
    const child = spawn(process.execPath, [cliPath, 'device-plugin', '--node-name', 'n', '--fake', 'hgx-h100', '--no-api', '--plugin-dir', dir], { cwd: repoRoot, env: noCluster });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const take = (d: Buffer) => {
          out += String(d);
          const m = /waiting for the kubelet at [^"]+/.exec(out);
          if (m) resolve(m[0]);
        };
        child.stdout.on('data', take);
        child.stderr.on('data', take);
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      expect(line).toBe(`waiting for the kubelet at ${path.join(dir, 'kubelet.sock')} (registers as soon as it appears)`);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('explain --server that is no http(s) URL is a usage error, not an unreachable extender', async () => {
    for (const server of ['notaurl', 'http://', 'ftp://x']) {
      expect(expectOneLine(await run(['explain', 'ml/p', '--server', server]), 'linkpack explain', 2)).toBe(
        `linkpack explain: option '--server <url>' argument '${server}' is invalid. expected the extender's http:// or https:// URL (e.g. http://127.0.0.1:8888), got "${server}"`,
      );
    }
  });

  it('a bad cluster file is one line', async () => {
    const empty = path.join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    const r = await run(['extender', '--cluster-file', empty, '--port', '0']);
    expect(expectOneLine(r, 'linkpack extender', 1)).toBe(`linkpack extender: ${empty}: the file holds no Node, GPUNode or Pod (see deploy/examples/cluster.yaml)`);
  });
});

describe('printable', () => {
  it.each([
    ['plain', 'plain'],
    ['a\u0000b\u007fc', 'a\\x00b\\x7fc'],
    ['line\nbreak', 'line\\x0abreak'],
    ['\u2028', '\\u2028'],
  ])('%j → %s', (input, out) => expect(printable(input)).toBe(out));
  it('truncates', () => expect(printable('y'.repeat(10), 4)).toBe('yyyy… (6 more characters)'));
});
