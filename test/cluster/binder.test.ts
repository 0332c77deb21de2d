/**
 * KubePodBinder against the test API server through the real client-node, and the whole write
 * path with a cache + informers: assume → bind → watch confirms; a restart rebuilds the same state.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANN_ASSIGNED_GPUS } from '../../src/api/annotations.js';
import { ClusterCache } from '../../src/cluster/cache.js';
import { ClusterInformers } from '../../src/cluster/informers.js';
import { BindError, EVENT_REASON_PLACED, KubePodBinder } from '../../src/cluster/k8s-binder.js';
import type { PodAssignment } from '../../src/cluster/types.js';
import { TestApiServer, type KObject } from '../support/apiserver.js';
import { gpuNodeJson, podJson } from '../support/cluster-fixtures.js';
import { waitFor } from '../support/wait.js';

let api: TestApiServer;
beforeEach(async () => {
  api = await TestApiServer.start();
});
afterEach(async () => api.close());

function args(pod: KObject, node: string, gpus: string, over: Partial<Parameters<KubePodBinder['bind']>[0]> = {}) {
  return {
    namespace: pod.metadata.namespace as string,
    name: pod.metadata.name as string,
    uid: pod.metadata.uid as string,
    node,
    annotations: { [ANN_ASSIGNED_GPUS]: gpus, 'linkpack.io/decision': 'gpus=0,1 nvlink=all-pairs' },
    resourceVersion: pod.metadata.resourceVersion as string,
    eventMessage: `placed on ${node} GPUs ${gpus}`,
    ...over,
  };
}

async function bindError(p: Promise<unknown>): Promise<BindError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BindError);
    return e as BindError;
  }
  throw new Error('expected bind to fail');
}

describe('KubePodBinder', () => {
  it('annotates with a merge patch carrying the preconditions, binds, then records a Normal event', async () => {
    const pod = api.create('pods', podJson('ml', 'p'));
    await new KubePodBinder({ kubeConfig: api.kubeConfig(), component: 'linkpack-test' }).bind(args(pod, 'n1', '0,1'));
    const writes = api.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'PATCH /api/v1/namespaces/ml/pods/p 200',
      'POST /api/v1/namespaces/ml/pods/p/binding 201',
      'POST /api/v1/namespaces/ml/events 201',
    ]);
    expect(writes[0]!.contentType).toBe('application/merge-patch+json');
    expect(writes[0]!.body).toEqual({ metadata: { annotations: args(pod, 'n1', '0,1').annotations, uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion } });
    const bound = api.get('pods', 'ml', 'p')!;
    expect(bound.spec.nodeName).toBe('n1');
    expect(bound.metadata.annotations[ANN_ASSIGNED_GPUS]).toBe('0,1');
    const [ev] = api.list('events', 'ml');
    expect(ev).toMatchObject({
      reason: EVENT_REASON_PLACED,
      type: 'Normal',
      message: 'placed on n1 GPUs 0,1',
      involvedObject: { kind: 'Pod', namespace: 'ml', name: 'p', uid: pod.metadata.uid },
      source: { component: 'linkpack-test' },
    });
  });

  it('refuses with a clear 409 when the pod changed since the decision, and leaves it untouched', async () => {
    const pod = api.create('pods', podJson('ml', 'p'));
    api.modify('pods', 'ml', 'p', (p) => (p.metadata.labels = { touched: 'yes' }));
    const err = await bindError(new KubePodBinder({ kubeConfig: api.kubeConfig() }).bind(args(pod, 'n1', '0')));
    expect(err).toMatchObject({ step: 'annotate', statusCode: 409 });
    expect(err.message).toMatch(/^pod ml\/p changed since it was scheduled \(precondition resourceVersion=\d+, uid=[0-9a-f-]+\): Operation cannot be fulfilled on pods "p": the object has been modified/);
    const now = api.get('pods', 'ml', 'p')!;
    expect(now.spec.nodeName).toBeUndefined();
    expect(now.metadata.annotations[ANN_ASSIGNED_GPUS]).toBeUndefined();
    expect(api.requests.some((r) => r.path.endsWith('/binding'))).toBe(false);
  });

  it('refuses a pod that was deleted and recreated under the same name (uid precondition)', async () => {
    const old = api.create('pods', podJson('ml', 'p'));
    api.remove('pods', 'ml', 'p');
    const recreated = api.create('pods', podJson('ml', 'p'));
    const err = await bindError(new KubePodBinder({ kubeConfig: api.kubeConfig() }).bind(args(old, 'n1', '0', { resourceVersion: recreated.metadata.resourceVersion })));
    expect(err).toMatchObject({ step: 'annotate', statusCode: 422 });
    expect(err.message).toMatch(/^pod ml\/p was deleted and recreated since it was scheduled .*metadata\.uid: .*field is immutable/);
    expect(api.get('pods', 'ml', 'p')!.metadata.annotations[ANN_ASSIGNED_GPUS]).toBeUndefined();
  });

  it('reports a missing pod (404) and an already-bound pod (409 at the binding step)', async () => {
    const binder = new KubePodBinder({ kubeConfig: api.kubeConfig() });
    const ghost = podJson('ml', 'ghost');
    expect(await bindError(binder.bind(args(ghost, 'n1', '0', { uid: '', resourceVersion: undefined })))).toMatchObject({ step: 'annotate', statusCode: 404, message: expect.stringMatching(/^pod ml\/ghost no longer exists: pods "ghost" not found/) });
    const pod = api.create('pods', podJson('ml', 'p', { node: 'n9' }));
    const err = await bindError(binder.bind(args(pod, 'n1', '0')));
    expect(err).toMatchObject({ step: 'bind', statusCode: 409 });
    expect(err.message).toMatch(/^binding pod ml\/p to n1 failed \(HTTP 409\): .*already assigned to node "n9"/);
  });

  it('binds without a uid precondition when the caller only knows "ns/name"', async () => {
    const pod = api.create('pods', podJson('ml', 'p'));
    await new KubePodBinder({ kubeConfig: api.kubeConfig() }).bind(args(pod, 'n1', '0', { uid: 'ml/p' }));
    expect(api.get('pods', 'ml', 'p')!.spec.nodeName).toBe('n1');
    expect(api.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ metadata: { annotations: expect.any(Object), resourceVersion: pod.metadata.resourceVersion } });
    expect(api.list('events', 'ml')[0]!.involvedObject.uid).toBeUndefined();
  });

  it('does not fail the bind when the event cannot be created', async () => {
    const pod = api.create('pods', podJson('ml', 'p'));
    api.addFault({ method: 'POST', path: /\/events$/, status: 500, message: 'etcd is sad' });
    const logs: string[] = [];
    await new KubePodBinder({ kubeConfig: api.kubeConfig(), log: (l, m) => logs.push(`${l}: ${m}`) }).bind(args(pod, 'n1', '2'));
    expect(api.get('pods', 'ml', 'p')!.spec.nodeName).toBe('n1');
    expect(logs).toEqual([`warn: pod ml/p is bound, but its ${EVENT_REASON_PLACED} event failed: etcd is sad`]);
  });

  it('truncates event messages to what the API server accepts', async () => {
    const pod = api.create('pods', podJson('ml', 'p'));
    await new KubePodBinder({ kubeConfig: api.kubeConfig() }).bind(args(pod, 'n1', '0', { eventMessage: 'x'.repeat(5000) }));
    expect(api.list('events', 'ml')[0]!.message).toHaveLength(1024);
  });
});

describe('write path with cache + informers', () => {
  const fast = { initialMs: 5, maxMs: 50, jitter: 0.5 };

  /** What the extender does per pod: under the node lock, assume, bind, forget on failure. */
  async function place(cache: ClusterCache, binder: KubePodBinder, ns: string, name: string, node: string, gpus: number[]): Promise<void> {
    await cache.withNodeLock(node, async () => {
      const pod = cache.getPod(ns, name) as KObject;
      const a: PodAssignment = { uid: pod.metadata.uid, namespace: ns, name, node, gpus: gpus.map((index) => ({ index })), milliPerGpu: 1000, assumed: true };
      cache.assume(a);
      try {
        await binder.bind(args(pod, node, gpus.join(',')));
      } catch (e) {
        cache.forget(a.uid);
        throw e;
      }
    });
  }

  function freeAll(cache: ClusterCache): Record<string, readonly number[] | string> {
    return Object.fromEntries(cache.nodeNames().map((n) => {
      const l = cache.lookupNode(n, Date.now());
      return [n, l.ok ? l.state.freeMilli : l.reason];
    }));
  }

  it('assumes at once, is confirmed by the watch without double counting, and a restarted cache rebuilds the same capacity', async () => {
    for (const n of ['n1', 'n2']) api.create('gpunodes', gpuNodeJson(n, 'pcie-4x'));
    for (const p of ['a', 'b', 'c', 'd']) api.create('pods', podJson('ml', p));
    api.create('pods', podJson('ml', 'prebound', { node: 'n2', gpus: [3] }));

    const cache = new ClusterCache();
    const inf = new ClusterInformers({ kubeConfig: api.kubeConfig(), cache, backoff: fast });
    await inf.start();
    const binder = new KubePodBinder({ kubeConfig: api.kubeConfig() });

    await place(cache, binder, 'ml', 'a', 'n1', [0, 1]);
    // Counted before or after the watch catches up — never zero, never twice.
    expect(freeAll(cache).n1).toEqual([0, 0, 1000, 1000]);
    await place(cache, binder, 'ml', 'b', 'n1', [2]);
    await place(cache, binder, 'ml', 'c', 'n2', [0]);
    // A bind that loses a race (the pod changed under us) releases its assumption.
    api.modify('pods', 'ml', 'd', (p) => (p.metadata.labels = { changed: '1' }));
    await waitFor(() => (cache.getPod('ml', 'd') as KObject).metadata.labels?.changed === '1', 'label seen');
    api.modify('pods', 'ml', 'd', (p) => (p.metadata.labels = { changed: '2' }));
    await expect(place(cache, binder, 'ml', 'd', 'n2', [1])).rejects.toThrow(/changed since it was scheduled/);

    await waitFor(() => cache.assignmentsOn('n1').every((a) => !a.assumed) && cache.assignmentsOn('n2').every((a) => !a.assumed) && cache.assignmentsOn('n1').length === 2, 'watch confirms binds');
    const expected = { n1: [0, 0, 0, 1000], n2: [0, 1000, 1000, 0] };
    expect(freeAll(cache)).toEqual(expected);
    expect(cache.problems()).toEqual([]);
    await inf.stop();

    // Restart: nothing in memory, everything from the API.
    const cache2 = new ClusterCache();
    const inf2 = new ClusterInformers({ kubeConfig: api.kubeConfig(), cache: cache2, backoff: fast });
    await inf2.start();
    expect(freeAll(cache2)).toEqual(expected);
    expect(cache2.assignmentsOn('n1').map((a) => `${a.name}:${a.gpus.map((g) => g.index)}:${a.assumed}`).sort()).toEqual(['a:0,1:false', 'b:2:false']);
    expect(cache2.problems()).toEqual([]);
    await inf2.stop();
  });
});
