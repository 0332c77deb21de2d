/**
 * After a preemption kube-scheduler retries the preemptor as soon as its own cache has dropped the
 * victims. Our watch may be a few events behind: the filter then asks the API server about the
 * victims it named before it refuses the node (else kube-scheduler preempts a second set elsewhere,
 * as the real scheduler did in test/e2e/scheduler-extender.e2e.test.ts). The cache is fed the
 * JSON the informers deliver; `podsGone` answers from a set of pods the "API server" still has
 * (kubePodsGone itself runs against the real kube-apiserver in test/e2e/informers.e2e.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ClusterCache } from '../../src/cluster/cache.js';
import type { PodIdentity } from '../../src/cluster/k8s-pods-gone.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { PreemptionVictims } from '../../src/extender/victims.js';
import { RecordingBinder } from './memory-cluster.js';
import { argsByName, schedulerPod } from './fixtures.js';
import { gpuNodeJson, podJson } from '../support/cluster-fixtures.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
let cache: ClusterCache;
let app: FastifyInstance;
/** uids the API server still has; asked: how often podsGone was called. */
let apiHas: Set<string>;
let asked: PodIdentity[][];

const low = (i: number) => podJson('ml', `low-${i}`, { node: 'h100', gpus: [i], uid: `uid-low-${i}` });
const vip = () => ({ ...schedulerPod('vip', 4, {}, 'uid-vip'), spec: { ...schedulerPod('vip', 4).spec, priority: 1000 } });
const post = (url: string, body: unknown) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

async function start(withPodsGone: boolean): Promise<void> {
  cache = new ClusterCache({ heartbeatTimeoutMs: Infinity, now: () => NOW });
  cache.upsertGpuNode(gpuNodeJson('h100', 'hgx-h100'));
  apiHas = new Set();
  for (let i = 0; i < 8; i++) {
    cache.upsertPod(low(i));
    apiHas.add(`uid-low-${i}`);
  }
  cache.markSynced('test', true);
  asked = [];
  const podsGone = async (pods: readonly PodIdentity[]) => {
    asked.push([...pods]);
    return pods.filter((p) => !apiHas.has(p.uid));
  };
  app = buildExtenderServer({ cluster: cache, binder: new RecordingBinder(), now: () => NOW, ...(withPodsGone ? { podsGone } : {}) });
  await app.ready();
}
afterEach(async () => {
  await app.close();
});

/** The preempt call as kube-scheduler makes it after its dry run; returns the victims we named. */
async function preempt(): Promise<string[]> {
  const res = await post('/preempt', {
    Pod: vip(),
    NodeNameToVictims: null,
    NodeNameToMetaVictims: { h100: { Pods: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ UID: `uid-low-${i}` })), NumPDBViolations: 0 } },
  });
  return (res.json().NodeNameToMetaVictims.h100.Pods as { UID: string }[]).map((p) => p.UID);
}

describe('preemptor filtered while the watch lags behind the victims’ deletion', () => {
  beforeEach(async () => start(true));

  it('asks the API server about the victims it named, drops the gone ones and passes the node', async () => {
    const named = await preempt();
    expect(named).toHaveLength(4);
    // kube-scheduler deleted them; our watch has delivered the deletion of only one.
    for (const uid of named) apiHas.delete(uid);
    cache.deletePod(low(Number(named[0]!.replace('uid-low-', ''))));
    const res = (await post('/filter', argsByName(vip(), ['h100']))).json();
    expect(res.NodeNames).toEqual(['h100']);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.map((p) => p.uid).sort()).toEqual(named.slice(1).sort());
    // A late MODIFIED event of a gone victim does not bring it back; its DELETED event is harmless.
    const late = low(Number(named[1]!.replace('uid-low-', '')));
    late.metadata.deletionTimestamp = '2026-12-01T11:59:59Z';
    cache.upsertPod(late);
    expect(cache.locatePod(named[1]!)).toBeUndefined();
    cache.deletePod(late);
    expect((await post('/filter', argsByName(vip(), ['h100']))).json().NodeNames).toEqual(['h100']);
  });

  it('victims the API server still has keep the node refused (kube-scheduler evicted elsewhere, or not yet)', async () => {
    await preempt();
    const res = (await post('/filter', argsByName(vip(), ['h100']))).json();
    expect(res.NodeNames).toEqual([]);
    expect(res.FailedNodes.h100).toMatch(/in use/);
    expect(asked).toHaveLength(1);
  });

  it('with a nominated node, only the victims there are checked', async () => {
    cache.upsertGpuNode(gpuNodeJson('h100-b', 'hgx-h100'));
    for (let i = 0; i < 8; i++) cache.upsertPod(podJson('ml', `b-${i}`, { node: 'h100-b', gpus: [i], uid: `uid-b-${i}` }));
    await post('/preempt', {
      Pod: vip(),
      NodeNameToVictims: null,
      NodeNameToMetaVictims: {
        h100: { Pods: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ UID: `uid-low-${i}` })), NumPDBViolations: 0 },
        'h100-b': { Pods: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ UID: `uid-b-${i}` })), NumPDBViolations: 0 },
      },
    });
    const nominatedVip = { ...vip(), status: { nominatedNodeName: 'h100-b' } };
    await post('/filter', argsByName(nominatedVip, ['h100', 'h100-b']));
    expect(asked).toHaveLength(1);
    expect(new Set(asked[0]!.map((p) => p.name.slice(0, 2)))).toEqual(new Set(['b-']));
  });

  it('other pods are never checked: only a preemptor, only its victims, only on refused nodes', async () => {
    await preempt();
    const other = schedulerPod('other', 4, {}, 'uid-other');
    expect((await post('/filter', argsByName(other, ['h100']))).json().NodeNames).toEqual([]);
    expect(asked).toHaveLength(0);
  });
});

describe('without an API server (standalone)', () => {
  beforeEach(async () => start(false));
  it('the cache alone decides: the lagging victims keep the node refused', async () => {
    const named = await preempt();
    for (const uid of named) apiHas.delete(uid);
    expect((await post('/filter', argsByName(vip(), ['h100']))).json().NodeNames).toEqual([]);
  });
});

describe('PreemptionVictims', () => {
  it('keeps the last answer per preemptor, per node, until bound or expired', () => {
    let t = 0;
    const v = new PreemptionVictims(() => t, 1000);
    v.record('p', new Map([['a', ['x', 'y']], ['b', ['z']]]));
    expect(v.on('p', new Set(['a']))).toEqual([{ node: 'a', uid: 'x' }, { node: 'a', uid: 'y' }]);
    v.record('p', new Map([['b', ['w']]]));
    expect(v.on('p', new Set(['a', 'b']))).toEqual([{ node: 'b', uid: 'w' }]);
    v.forget('p');
    expect(v.on('p', new Set(['b']))).toEqual([]);
    v.record('q', new Map([['a', ['x']]]));
    t = 1000;
    expect(v.on('q', new Set(['a']))).toEqual([]);
  });
});
