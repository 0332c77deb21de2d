/**
 * `kubectl linkpack` without a cluster: its arguments as the real program parses them, the tables
 * it prints from an extender's answers, and the built executable's error style (one line
 * `kubectl linkpack <command>: …`, exit 2 for usage). The API side runs in kubectl-linkpack.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildKubectlProgram, parseService, podRef, type GlobalOptions } from '../../src/cli/kubectl/program.js';
import { age, formatNodes, formatPending, oneLine } from '../../src/cli/kubectl/format.js';
import type { UiGpu, UiNode, UiState } from '../../src/extender/ui.js';
import { repoRoot, requireBuilt } from '../support/paths.js';

const BIN = path.join(repoRoot, 'dist/src/cli/kubectl-linkpack.js');

/** The options and arguments one command line gives its action (nothing runs). */
function parse(args: string[]): { command: string; args: unknown[]; opts: Record<string, unknown>; globals: GlobalOptions } {
  const program = buildKubectlProgram();
  let seen: ReturnType<typeof parse> | undefined;
  for (const c of program.commands) {
    c.action((...a: unknown[]) => {
      const cmd = a.at(-1) as Command;
      seen = { command: c.name(), args: a.slice(0, -2), opts: a.at(-2) as Record<string, unknown>, globals: cmd.optsWithGlobals() as GlobalOptions };
    });
  }
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  program.parse(['node', 'kubectl-linkpack', ...args]);
  return seen!;
}

describe('kubectl linkpack arguments', () => {
  it('defaults reach the chart\'s extender Service in linkpack-system', () => {
    const p = parse(['nodes']);
    expect(p.globals).toMatchObject({ namespaceOfLinkpack: 'linkpack-system', service: { scheme: 'http', name: 'linkpack-extender', port: '8888' } });
    expect(p.globals.kubeconfig).toBeUndefined();
  });

  it('global flags work after the command too (kubectl style)', () => {
    const p = parse(['explain', 'ml/trainer-0', '--context', 'prod', '--kubeconfig', '/k', '--namespace-of-linkpack', 'lp', '--service', 'https:lp-extender:9443', '--json']);
    expect(p).toMatchObject({ command: 'explain', args: ['ml/trainer-0'], opts: { json: true } });
    expect(p.globals).toMatchObject({ context: 'prod', kubeconfig: '/k', namespaceOfLinkpack: 'lp', service: { scheme: 'https', name: 'lp-extender', port: '9443' } });
    expect(parse(['why-pending', '-A', '--scheduler-name', 'gpu']).opts).toEqual({ allNamespaces: true, schedulerName: 'gpu' });
    expect(parse(['why-pending', '-n', 'ml']).opts).toEqual({ namespace: 'ml', schedulerName: 'linkpack-scheduler' });
  });

  it('--service takes [scheme:]name[:port], as the proxy path does', () => {
    expect(parseService('x')).toEqual({ scheme: 'http', name: 'x', port: '8888' });
    expect(parseService('x:9000')).toEqual({ scheme: 'http', name: 'x', port: '9000' });
    expect(parseService('https:x')).toEqual({ scheme: 'https', name: 'x', port: '8888' });
    expect(parseService('http:x:metrics')).toEqual({ scheme: 'http', name: 'x', port: 'metrics' });
    for (const bad of ['', 'ftp:x:1', 'X', 'x:0', 'x:70000', 'http:x:1:2', 'x/y']) expect(() => parseService(bad), bad).toThrow(/expected \[http:\|https:\]<service>\[:<port>\]/);
  });

  it('a pod is <ns>/<pod>, or <pod> with -n, or <pod> in the context\'s namespace', () => {
    const ctx = () => 'team-a';
    expect(podRef('ml/trainer-0', undefined, ctx)).toEqual({ namespace: 'ml', name: 'trainer-0' });
    expect(podRef('trainer-0', 'ml', ctx)).toEqual({ namespace: 'ml', name: 'trainer-0' });
    expect(podRef('trainer-0', undefined, ctx)).toEqual({ namespace: 'team-a', name: 'trainer-0' });
    expect(podRef('ml/t', 'ml', ctx)).toEqual({ namespace: 'ml', name: 't' });
    expect(() => podRef('ml/t', 'other', ctx)).toThrow('"ml/t" names namespace ml, but -n says other');
    for (const bad of ['ML/t', 'ml/', '/t', 'a/b/c', 'T']) expect(() => podRef(bad, undefined, ctx), bad).toThrow(/is not <pod> or <namespace>\/<pod>/);
  });

  it('bad flags are usage errors from the parser', () => {
    expect(() => parse(['why-pending', '-n', 'Bad_NS'])).toThrow(/not a namespace name/);
    expect(() => parse(['nodes', '--service', 'ftp:x:1'])).toThrow(/expected \[http:\|https:\]/);
    expect(() => parse(['explain'])).toThrow(/missing required argument/);
  });
});

const gpu = (index: number, model: string, o: Partial<UiGpu> = {}): UiGpu => ({ index, model, freeMilli: 1000, healthy: true, pods: [], ...o });
// Casts: the web view's state carries more (summaries, pending pods) than these tables read.
const node = (name: string, gpus: UiGpu[], largest: number, o: Partial<UiNode> = {}): UiNode => ({ name, ok: true, gpus, islands: [], largestFreeNvlinkSet: largest, ...o }) as UiNode;
const H100 = 'NVIDIA H100 80GB HBM3';
const V100 = 'Tesla V100-SXM2-16GB';

describe('kubectl linkpack nodes table', () => {
  const state = {
    atIso: '2026-12-07T20:00:00.000Z',
    synced: true,
    decisions: [],
    nodes: [
      // A whole GPU in use, a share, an unhealthy one, 5 free.
      node('h1', [gpu(0, H100, { freeMilli: 0, pods: [{ pod: 'ml/a', milli: 1000, assumed: false }] }), gpu(1, H100, { freeMilli: 500, pods: [{ pod: 'ml/b', milli: 500, assumed: false }] }), gpu(2, H100, { healthy: false, unhealthyReason: 'XID 79' }), ...[3, 4, 5, 6, 7].map((i) => gpu(i, H100))], 5),
      node('h2', [0, 1, 2, 3, 4, 5, 6, 7].map((i) => gpu(i, H100)), 8),
      // Not usable now: its GPUs count, none is free.
      node('v1', [0, 1, 2, 3].map((i) => gpu(i, V100)), 0, { ok: false, reason: 'GPUNode heartbeat 300 s old' }),
      node('cpu-only', [], 0),
    ],
  } as unknown as UiState;

  it('one row per node, one per GPU model and all models (as the web view counts), fragmentation, the time', () => {
    expect(formatNodes(state).split('\n')).toEqual([
      'NODE      MODEL                  GPUS  FREE  IN USE  UNHEALTHY  LARGEST FREE NVLINK SET  STATUS',
      'cpu-only  -                      0     0     0       0          0                        ok',
      'h1        NVIDIA H100 80GB HBM3  8     5     2       1          5                        ok',
      'h2        NVIDIA H100 80GB HBM3  8     8     0       0          8                        ok',
      'v1        Tesla V100-SXM2-16GB   4     0     0       0          0                        GPUNode heartbeat 300 s old',
      '',
      'MODEL                  NODES  GPUS  FREE  IN USE  UNHEALTHY  UNAVAILABLE  LARGEST FREE NVLINK SET  NODES WITH A FREE NVLINK SET OF 2/4/8',
      'NVIDIA H100 80GB HBM3  2      16    13    2       1          0            8                        2/2/1',
      'Tesla V100-SXM2-16GB   1      4     0     0       0          4            0                        0/0/0',
      'all models             3      20    13    2       1          4            8                        2/2/1',
      '',
      'Fragmentation: not measured: no typical GPU pod shape known yet (the extender learns it from running GPU pods; --profile none turns it off).',
      'As of 2026-12-07T20:00:00.000Z.',
    ]);
  });

  it('says when the extender has nothing yet, or has not finished listing', () => {
    expect(formatNodes({ ...state, nodes: [], synced: false })).toBe("No nodes in the extender's cache (as of 2026-12-07T20:00:00.000Z, not synced yet).");
    expect(formatNodes({ ...state, synced: false })).toMatch(/counts may be low\)\.$/);
  });

  it("prints the extender's own summary when /ui/state carries one (its fragmentation included)", () => {
    const h100 = { model: H100, nodes: 2, gpus: 16, free: 9, inUse: 6, unhealthy: 1, unavailable: 0, nvlinkSetNodes: { 2: 2, 4: 1, 8: 0 } };
    const withSummary = { ...state, nodes: state.nodes.slice(0, 2), summary: { models: [h100], all: { ...h100, model: 'all models' }, fragmentationPercent: 12.5, fragmentationMeaning: 'of the free GPU capacity sits where the typical GPU pod cannot use it' } } as UiState;
    const lines = formatNodes(withSummary).split('\n');
    expect(lines.find((l) => l.startsWith('NVIDIA'))!.split(/\s{2,}/)).toEqual([H100, '2', '16', '9', '6', '1', '0', '8', '2/1/0']);
    expect(lines.some((l) => l.startsWith('all models'))).toBe(false);
    expect(lines).toContain('Fragmentation: 12.5% of the free GPU capacity sits where the typical GPU pod cannot use it.');
  });
});

describe('kubectl linkpack why-pending table', () => {
  it('one line per pod, the reason on one line, escaped', () => {
    const text = formatPending(
      [
        { pod: 'ml/big', age: '3m', reason: 'ml/big fits on none of 2 nodes — pairs: no NVLink-connected set of 8.' },
        { pod: 'ml/x', age: '45s', reason: 'two\nlines\u0007' },
      ],
      'in namespace ml',
      'linkpack-scheduler',
    );
    expect(text.split('\n')).toEqual(['POD     AGE  REASON', 'ml/big  3m   ml/big fits on none of 2 nodes — pairs: no NVLink-connected set of 8.', 'ml/x    45s  two lines\\x07']);
    expect(formatPending([], 'in any namespace', 'linkpack-scheduler')).toBe('No pending pods with schedulerName linkpack-scheduler in any namespace.');
  });

  it('ages as kubectl prints them', () => {
    const now = Date.parse('2026-12-07T20:00:00Z');
    const ago = (s: number) => new Date(now - s * 1000).toISOString();
    expect([ago(5), ago(119), ago(600), ago(3 * 3600), ago(3 * 86400)].map((t) => age(t, now))).toEqual(['5s', '119s', '10m', '3h', '3d']);
    expect(age(undefined, now)).toBe('?');
    expect(oneLine('a'.repeat(400)).length).toBeLessThan(340);
  });
});

describe('the kubectl-linkpack executable', () => {
  requireBuilt(BIN);
  const home = mkdtempSync(path.join(tmpdir(), 'lp-kubectl-home-'));
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' }, timeout: 20_000 });
  const hint = "(add --help for the options, or run 'kubectl linkpack help <command>')";

  it('a usage error is one line with the kubectl linkpack prefix and the hint, exit 2', () => {
    const r = run('explain', 'ml/Trainer');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`kubectl linkpack explain: "ml/Trainer" is not <pod> or <namespace>/<pod> (e.g. ml/trainer-0)`, hint]);
    const flag = run('nodes', '--bogus');
    expect(flag.status).toBe(2);
    expect(flag.stderr.split('\n')[0]).toBe("kubectl linkpack nodes: unknown option '--bogus'");
  });

  it('without a cluster it says where it looked and what else to run, exit 2', () => {
    const r = run('nodes');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^kubectl linkpack nodes: no cluster found: .*linkpack explain <namespace>\/<pod> --server http:\/\/127\.0\.0\.1:8888/);
  });

  it('--version and --help answer', () => {
    const v = run('--version');
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = run('--help');
    expect(h.stdout).toMatch(/explain \[options\] <pod>[\s\S]*nodes[\s\S]*why-pending/);
  });
});
