/**
 * End to end: `linkpack extender` as the command starts it (kubeconfig file, informers, the real
 * @kubernetes/client-node, KubePodBinder) against the test API server; kube-scheduler's calls over
 * real HTTP; the results checked in the API server's store. Then races and a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, ANN_DECISION, ANN_TOPOLOGY, parseAssignedGpus } from '../../src/api/annotations.js';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';
import { TestApiServer } from '../support/apiserver.js';
import { gpuNodeJson, podJson, type KObj } from '../support/cluster-fixtures.js';

let api: TestApiServer | undefined;
let running: RunningExtender[] = [];

afterEach(async () => {
  for (const r of running) await r.close();
  running = [];
  await api?.close();
  api = undefined;
});

async function startExtender(server: TestApiServer): Promise<RunningExtender> {
  const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-e2e-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeConfig().exportConfig());
  const r = await runExtender(
    { kubeconfig, port: '0', host: '127.0.0.1', heartbeatTimeout: '600', bodyLimitMib: '16', logLevel: 'silent' },
    pino({ level: 'silent' }),
  );
  running.push(r);
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${r.address}/readyz`)).status === 200) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('extender never became ready');
}

async function call(r: RunningExtender, verb: string, body: unknown): Promise<KObj> {
  const res = await fetch(`${r.address}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as KObj;
}

/** Call until the answer satisfies `ok` (effects that travel over the watch), then return it. */
async function eventually(fn: () => Promise<KObj>, ok: (r: KObj) => boolean): Promise<KObj> {
  let r = await fn();
  for (let i = 0; i < 200 && !ok(r); i++) {
    await new Promise((res) => setTimeout(res, 20));
    r = await fn();
  }
  return r;
}

/** The pod as kube-scheduler would send it: what the API server holds. */
function schedPod(name: string): KObj {
  return api!.get('pods', 'ml', name)!;
}

function assigned(pod: KObj): number[] {
  const text = pod.metadata.annotations?.[ANN_ASSIGNED_GPUS];
  if (!text) return [];
  const p = parseAssignedGpus(text);
  if (!p.ok) throw new Error(p.error);
  return p.value.map((g) => g.index);
}

async function seed(): Promise<TestApiServer> {
  api = await TestApiServer.start();
  api.create('gpunodes', gpuNodeJson('n1', 'hgx-h100'));
  api.create('gpunodes', gpuNodeJson('n2', 'dgx1-v100'));
  api.create('gpunodes', gpuNodeJson('pcie', 'pcie-8x-2socket'));
  api.create('pods', podJson('ml', 'running', { node: 'n1', gpus: [0, 1, 2, 3] }));
  return api;
}

describe('extender against the API server', () => {
  it('filter → prioritize → bind: annotations, Binding and Event land in the API', async () => {
    const server = await seed();
    server.create('pods', podJson('ml', 'trainer-0', { gpuCount: 4, annotations: { [ANN_TOPOLOGY]: 'require-nvlink' } }));
    const ext = await startExtender(server);
    const pod = schedPod('trainer-0');
    const names = ['n1', 'n2', 'pcie', 'missing'];

    const f = await call(ext, 'filter', { Pod: pod, Nodes: null, NodeNames: names });
    expect(f.NodeNames.sort()).toEqual(['n1', 'n2']);
    expect(Object.keys(f.FailedAndUnresolvableNodes).sort()).toEqual(['missing', 'pcie']);
    const p = (await call(ext, 'prioritize', { Pod: pod, Nodes: null, NodeNames: f.NodeNames })) as unknown as { Host: string; Score: number }[];
    expect(p.map((h) => h.Host)).toEqual(f.NodeNames);
    for (const h of p) expect(h.Score).toBeGreaterThanOrEqual(1);
    // kube-scheduler may pick another node than our favourite (other plugins add their scores):
    // bind re-validates on the node it is given.

    const b = await call(ext, 'bind', { PodName: 'trainer-0', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'n1' });
    expect(b).toEqual({ Error: '' });
    const stored = server.get('pods', 'ml', 'trainer-0')!;
    expect(stored.spec.nodeName).toBe('n1');
    expect(assigned(stored)).toEqual([4, 5, 6, 7]);
    expect(stored.metadata.annotations[ANN_ASSIGNED_GPUS]).toContain('4:GPU-n1-4');
    expect(Date.parse(stored.metadata.annotations[ANN_ASSIGNED_AT])).toBeGreaterThan(0);
    expect(stored.metadata.annotations[ANN_DECISION]).toMatch(/^node n1, GPUs 4,5,6,7: NVLink all pairs/);
    const events = server.list('events', 'ml').filter((e) => e.involvedObject?.name === 'trainer-0');
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toMatch(/n1.*GPUs 4,5,6,7.*NVLink/);
    expect(events[0]!.message).not.toContain('\n');

    // The watch brings the bound pod back: n1 is now full for the next 1-GPU pod.
    server.create('pods', podJson('ml', 'next', { gpuCount: 1 }));
    const again = await eventually(
      () => call(ext, 'filter', { Pod: schedPod('next'), Nodes: null, NodeNames: ['n1'] }),
      (r) => Boolean(r.FailedNodes.n1),
    );
    expect(again.FailedNodes.n1).toMatch(/^no free GPU, 1 asked \(all 8 in use\)$/);
  });

  it('a stale resourceVersion is refused by the API (409): the bind fails, nothing is held', async () => {
    const server = await seed();
    server.create('pods', podJson('ml', 'p', { gpuCount: 2 }));
    const ext = await startExtender(server);
    const uid = schedPod('p').metadata.uid;
    // Someone changes the pod after the extender's cache saw it; the watch is held back.
    server.addFault({ watch: true, path: /pods/, delayMs: 2000, times: 1 });
    server.closeWatches();
    server.modify('pods', 'ml', 'p', (o) => {
      o.metadata.labels = { changed: 'yes' };
    });
    const b = await call(ext, 'bind', { PodName: 'p', PodNamespace: 'ml', PodUID: uid, Node: 'n2' });
    expect(b.Error).toMatch(/changed since it was scheduled|409/);
    expect(server.get('pods', 'ml', 'p')!.spec.nodeName).toBeUndefined();
  });

  it('many binds racing on one node: zero double allocations in the API server', async () => {
    const server = await seed();
    for (let i = 0; i < 12; i++) server.create('pods', podJson('ml', `r${i}`, { gpuCount: 1 + (i % 3) }));
    const ext = await startExtender(server);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => call(ext, 'bind', { PodName: `r${i}`, PodNamespace: 'ml', PodUID: schedPod(`r${i}`).metadata.uid, Node: 'n2' })),
    );
    const won = results.filter((r) => r.Error === '').length;
    expect(won).toBeGreaterThan(0);
    for (const r of results) if (r.Error !== '') expect(r.Error).toMatch(/no longer fits on n2/);
    const onN2 = server.list('pods', 'ml').filter((p) => p.spec.nodeName === 'n2');
    expect(onN2).toHaveLength(won);
    const given = onN2.flatMap(assigned);
    expect(new Set(given).size).toBe(given.length);
    expect(given.length).toBeLessThanOrEqual(8);
  });

  it('after a restart the state is rebuilt from the API: nothing lost, nothing given twice', async () => {
    const server = await seed();
    for (let i = 0; i < 3; i++) server.create('pods', podJson('ml', `a${i}`, { gpuCount: 2 }));
    const first = await startExtender(server);
    for (let i = 0; i < 3; i++) {
      expect(await call(first, 'bind', { PodName: `a${i}`, PodNamespace: 'ml', PodUID: schedPod(`a${i}`).metadata.uid, Node: 'n2' })).toEqual({ Error: '' });
    }
    await first.close();
    running = running.filter((r) => r !== first);

    const second = await startExtender(server);
    // 6 of n2's 8 GPUs are taken: a 4-GPU pod no longer fits there, a 2-GPU one gets the last two.
    server.create('pods', podJson('ml', 'big', { gpuCount: 4 }));
    server.create('pods', podJson('ml', 'b', { gpuCount: 2 }));
    const f = await eventually(
      () => call(second, 'filter', { Pod: schedPod('big'), Nodes: null, NodeNames: ['n2'] }),
      (r) => Boolean(r.FailedNodes.n2),
    );
    expect(f.FailedNodes.n2).toMatch(/^only 2 free GPUs, 4 asked \(GPUs [0-9,]+ in use\)$/);
    const bindB = () => call(second, 'bind', { PodName: 'b', PodNamespace: 'ml', PodUID: schedPod('b').metadata.uid, Node: 'n2' });
    expect(await eventually(bindB, (r) => !/not in the extender's cache/.test(r.Error))).toEqual({ Error: '' });
    const given = server
      .list('pods', 'ml')
      .filter((p) => p.spec.nodeName === 'n2')
      .flatMap(assigned);
    expect(given.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
