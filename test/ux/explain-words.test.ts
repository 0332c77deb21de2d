/**
 * Explanations a person can read: /explain and `linkpack explain` say why the chosen node won and
 * why the runner-up lost, in words (no raw scores); a bound pod shows its assignment; the
 * linkpack.io/decision annotation uses the same words.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ANN_DECISION } from '../../src/api/annotations.js';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { whyLost } from '../../src/extender/words.js';
import { getPreset } from '../../src/topology/index.js';
import { MemoryCluster, RecordingBinder } from '../extender/memory-cluster.js';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';

const run = promisify(execFile);
const examples = path.join(repoRoot, 'deploy/examples');
let ext: RunningExtender;

beforeAll(async () => {
  ext = await runExtender(
    { clusterFile: path.join(examples, 'cluster.yaml'), port: '0', host: '127.0.0.1', heartbeatTimeout: '120', bodyLimitMib: '8', logLevel: 'silent', profile: 'none' },
    pino({ level: 'silent' }),
  );
});
afterAll(() => ext?.close());

const explain = async (pod: string) => (await fetch(`${ext.address}/explain?pod=${pod}`)).json() as Promise<Record<string, any>>;

describe('/explain in words', () => {
  it('says why the chosen node won and why the runner-up lost, without raw scores', async () => {
    const e = await explain('ml/trainer-0');
    expect(e.summary.startsWith(`ml/trainer-0 → node ${e.best.node}, GPUs ${e.best.gpus.join(',')}: ${e.best.why}. Runner-up ${e.runnerUp.node} lost: ${e.runnerUpLost}.`)).toBe(true);
    // No profile, binpack: after the NVLink tier an exact fit leads — the H100 box with exactly 4
    // free GPUs (running-llm holds the others) beats the DGX-1 and the empty H100 box.
    expect(e.best.node).toBe('gpu-h100-b');
    expect(e.best.why).toMatch(/fills the node exactly/);
    expect(e.runnerUpLost).toMatch(/^gpu-h100-b is filled exactly \(nothing left over\), gpu-\S+ would keep [48] GPUs free$/);
    expect(e.summary).not.toMatch(/rawScore|\d{8,}/);
    expect(e.best.why).toMatch(/^NVLink all pairs/);
  });

  it('`linkpack explain ml/trainer-0 --server URL` prints the same sentence and a node table', async () => {
    requireBuilt();
    const e = await explain('ml/trainer-0');
    const { stdout } = await run(process.execPath, [cliPath, 'explain', 'ml/trainer-0', '--server', ext.address]);
    expect(stdout.split('\n')[0]).toBe(e.summary);
    expect(stdout).toMatch(/^node\s+fits\s+score\s+GPUs\s+why$/m);
    expect(stdout).toMatch(/^gpu-pcie-a\s+no\s+-\s+-\s+\S/m);
  });

  it('`linkpack explain` against nothing, or with a bad pod name, is one clear line', async () => {
    requireBuilt();
    // A port that was free a moment ago: nothing listens there.
    const srv = createServer().listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const down = await run(process.execPath, [cliPath, 'explain', 'ml/x', '--server', `http://127.0.0.1:${port}`]).catch((e) => e);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^linkpack explain: cannot reach the extender at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    const bad = await run(process.execPath, [cliPath, 'explain', 'trainer-0']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"trainer-0" is not <namespace>\/<pod>/);
  });

  it('a bound pod shows its assignment, and the decision annotation uses the same words', async () => {
    const before = await explain('ml/trainer-0');
    const filter = JSON.parse(readFileSync(path.join(examples, 'filter-request.json'), 'utf8'));
    await fetch(`${ext.address}/filter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(filter) });
    const bind = JSON.parse(readFileSync(path.join(examples, 'bind-request.json'), 'utf8'));
    const r = (await (await fetch(`${ext.address}/bind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bind) })).json()) as { Error?: string };
    expect(r.Error).toBe('');
    const after = await explain('ml/trainer-0');
    expect(after.nodesFrom).toBe('bound');
    expect(after.summary).toMatch(/^ml\/trainer-0 is bound to node gpu-h100-b on GPUs 4,5,6,7: NVLink all pairs \(bottleneck 478 GB\/s\); fills the node exactly\. Not decided again/);
    // The words at bind are those /explain gives for that node.
    const onB = before.nodes.find((n: { node: string }) => n.node === 'gpu-h100-b');
    expect(after.summary).toContain(onB.why);
  });

  it('the annotation written at bind is "node X, GPUs …: <the same words>"', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('a', getPreset('hgx-h100')!);
    const binder = new RecordingBinder();
    const app = buildExtenderServer({ cluster, binder });
    const pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u1' }, spec: { containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '8' } } }] } };
    cluster.addPod(pod);
    const why = (await (await app.inject({ url: '/explain?pod=ns/p' })).json()).best.why;
    await app.inject({ method: 'POST', url: '/bind', payload: { PodName: 'p', PodNamespace: 'ns', PodUID: 'u1', Node: 'a' } });
    const call = binder.calls[0]!;
    expect(call.annotations[ANN_DECISION]).toBe(`node a, GPUs 0,1,2,3,4,5,6,7: ${why}`);
    expect(why).toMatch(/^NVLink all pairs \(bottleneck 478 GB\/s\); fills the node exactly$/);
  });
});

describe('whyLost follows the core order', () => {
  const b = (o: Partial<Record<string, number | boolean>>) =>
    ({ nvlinkConnected: true, nvlinkAllPairs: true, bottleneckGBps: 300, minPairGBps: 300, aggregateGBps: 1800, freeGpusAfter: 0, largestNvlinkSetAfter: 0, leftoverQuality: 1, gpuUsedAfter: 1, ...o }) as never;
  const req = { gpuCount: 4, topology: 'prefer-nvlink', policy: 'binpack' } as const;
  it('NVLink tier first, then free NVLink bandwidth kept, then packing', () => {
    expect(whyLost({ node: 'x', breakdown: b({}) }, { node: 'y', breakdown: b({ nvlinkAllPairs: false, nvlinkConnected: false, leftoverQuality: 0 }) }, req, false)).toMatch(/^its best set has no NVLink path/);
    expect(whyLost({ node: 'x', breakdown: b({}) }, { node: 'y', breakdown: b({ leftoverQuality: 0.5, largestNvlinkSetAfter: 2 }) }, req, false)).toMatch(/^it would break up a free NVLink group: y would keep 50%/);
    expect(whyLost({ node: 'x', breakdown: b({ gpuUsedAfter: 0.75, freeGpusAfter: 2 }) }, { node: 'y', breakdown: b({ gpuUsedAfter: 0.5, freeGpusAfter: 4 }) }, req, false)).toBe('binpack fills the fuller node first: x ends 75% used, y would end 50%');
    expect(whyLost({ node: 'x', breakdown: b({ fragDeltaMilli: 0 }) }, { node: 'y', breakdown: b({ fragDeltaMilli: 900 }) }, req, true)).toMatch(/^it would add more expected fragmentation \(900 vs 0 milli-GPU\)/);
    // With a profile, a share at equal points: leaving the free whole GPUs short of CPU loses.
    const share = { gpuCount: 1, topology: 'prefer-nvlink', policy: 'binpack' } as const;
    expect(whyLost({ node: 'x', breakdown: b({ fragDeltaMilli: 0, freeGpusAfter: 3 }) }, { node: 'y', breakdown: b({ fragDeltaMilli: 0, freeGpusAfter: 3, leavesGpusShortOfCpu: true }) }, share, true)).toBe(
      "it would leave y's 3 free whole GPUs less than 8 CPU cores each",
    );
    // No profile: an exact fit comes before NVLink preservation.
    expect(whyLost({ node: 'x', breakdown: b({ leftoverQuality: 0 }), nvlinkTakenGBps: 900 }, { node: 'y', breakdown: b({ gpuUsedAfter: 0.5, freeGpusAfter: 4 }), nvlinkTakenGBps: 100 }, req, false)).toBe(
      'x is filled exactly (nothing left over), y would keep 4 GPUs free',
    );
    expect(whyLost({ node: 'x', breakdown: b({ gpuUsedAfter: 0.5 }), nvlinkTakenGBps: 100 }, { node: 'y', breakdown: b({ gpuUsedAfter: 0.5 }), nvlinkTakenGBps: 900 }, req, false)).toBe(
      'on y it would use up more of the NVLink links between free GPUs (largest free NVLink set left: 0 there, 0 on x)',
    );
  });
});
