/**
 * The test API server against the real @kubernetes/client-node 1.4: if these pass, code that
 * talks to it talks the protocol the client library really speaks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiException, CoreV1Api, CustomObjectsApi, makeInformer, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from '@kubernetes/client-node';
import { TestApiServer, type KObject } from './apiserver.js';
import { waitFor } from './wait.js';

const G = { group: 'linkpack.io', version: 'v1alpha1', plural: 'gpunodes' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function pod(name: string, extra: KObject = {}): V1Pod {
  return { metadata: { name, namespace: 'ml', labels: { app: 'train' }, ...(extra.metadata ?? {}) }, spec: { containers: [{ name: 'c', image: 'x' }], ...(extra.spec ?? {}) } };
}

/** The Status body a failed call carried (client-node keeps it as text). */
function statusOf(e: unknown): KObject {
  expect(e).toBeInstanceOf(ApiException);
  const body = (e as ApiException<unknown>).body;
  return typeof body === 'string' ? JSON.parse(body) : (body as KObject);
}

async function failure(p: Promise<unknown>): Promise<KObject> {
  try {
    await p;
  } catch (e) {
    return statusOf(e);
  }
  throw new Error('expected the call to fail');
}

describe('test API server with the real client-node', () => {
  let api: TestApiServer;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  beforeEach(async () => {
    api = await TestApiServer.start();
    const kc = api.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
  });
  afterEach(async () => api.close());

  it('creates, reads and lists pods with metadata, selectors and a list resourceVersion', async () => {
    const created = await core.createNamespacedPod({ namespace: 'ml', body: pod('a') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.generation).toBe(1);
    expect(created.status?.phase).toBe('Pending');
    await core.createNamespacedPod({ namespace: 'ml', body: pod('b', { metadata: { labels: { app: 'infer' } }, spec: { nodeName: 'n1' } }) });
    await core.createNamespacedPod({ namespace: 'other', body: { ...pod('c'), metadata: { name: 'c', namespace: 'other', labels: { app: 'train' } } } });

    const all = await core.listPodForAllNamespaces();
    expect(all.items.map((p) => p.metadata?.name).sort()).toEqual(['a', 'b', 'c']);
    expect(all.metadata?.resourceVersion).toBe(api.resourceVersion());
    expect((await core.listNamespacedPod({ namespace: 'ml' })).items).toHaveLength(2);
    expect((await core.listPodForAllNamespaces({ labelSelector: 'app=infer' })).items.map((p) => p.metadata?.name)).toEqual(['b']);
    expect((await core.listPodForAllNamespaces({ labelSelector: 'app in (train)' })).items.map((p) => p.metadata?.name).sort()).toEqual(['a', 'c']);
    expect((await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' })).items.map((p) => p.metadata?.name)).toEqual(['b']);
    expect((await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=' })).items).toHaveLength(2);
    const bad = await failure(core.listPodForAllNamespaces({ fieldSelector: 'spec.color=red' }));
    expect(bad).toMatchObject({ kind: 'Status', code: 400 });
    const read = await core.readNamespacedPod({ namespace: 'ml', name: 'a' });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('answers Status objects: 404 NotFound, 409 AlreadyExists', async () => {
    expect(await failure(core.readNamespacedPod({ namespace: 'ml', name: 'nope' }))).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound', message: 'pods "nope" not found' });
    await core.createNamespacedPod({ namespace: 'ml', body: pod('a') });
    expect(await failure(core.createNamespacedPod({ namespace: 'ml', body: pod('a') }))).toMatchObject({ code: 409, reason: 'AlreadyExists' });
  });

  it('enforces resourceVersion preconditions on update and patch (409 Conflict)', async () => {
    const p = await core.createNamespacedPod({ namespace: 'ml', body: pod('a') });
    const rv0 = p.metadata!.resourceVersion!;
    const updated = await core.replaceNamespacedPod({ namespace: 'ml', name: 'a', body: { ...p, metadata: { ...p.metadata, labels: { app: 'x' } } } });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(rv0));
    // The same stale body again: conflict.
    const conflict = await failure(core.replaceNamespacedPod({ namespace: 'ml', name: 'a', body: { ...p, metadata: { ...p.metadata, labels: { app: 'y' } } } }));
    expect(conflict).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(conflict.message).toContain('the object has been modified');
    const patchConflict = await failure(
      core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: { metadata: { resourceVersion: rv0, annotations: { k: 'v' } } } }, merge),
    );
    expect(patchConflict).toMatchObject({ code: 409, reason: 'Conflict' });
    const ok = await core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: { metadata: { resourceVersion: updated.metadata!.resourceVersion, annotations: { k: 'v' } } } }, merge);
    expect(ok.metadata?.annotations).toEqual({ k: 'v' });
    expect(api.get('pods', 'ml', 'a')?.metadata.annotations).toEqual({ k: 'v' });
  });

  it('treats uid like kube-apiserver: a PUT precondition (409), immutable in a patch (422); DELETE preconditions', async () => {
    const p = await core.createNamespacedPod({ namespace: 'ml', body: pod('a') });
    const put = await failure(core.replaceNamespacedPod({ namespace: 'ml', name: 'a', body: { ...p, metadata: { ...p.metadata, uid: 'other' } } }));
    expect(put).toMatchObject({ code: 409, reason: 'Conflict', message: expect.stringContaining('Precondition failed: UID in precondition: other') });
    const patch = await failure(core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: { metadata: { uid: 'other' } } }, merge));
    expect(patch).toMatchObject({ code: 422, reason: 'Invalid', message: expect.stringContaining('metadata.uid') });
    const del = await failure(core.deleteNamespacedPod({ namespace: 'ml', name: 'a', body: { preconditions: { uid: 'other' } } }));
    expect(del).toMatchObject({ code: 409 });
    await core.deleteNamespacedPod({ namespace: 'ml', name: 'a', body: { preconditions: { uid: p.metadata!.uid } } });
    expect(api.get('pods', 'ml', 'a')).toBeUndefined();
  });

  it('applies the three patch types by Content-Type; client-node sends JSON patch unless told otherwise', async () => {
    await core.createNamespacedPod({ namespace: 'ml', body: pod('a', { metadata: { annotations: { keep: '1', drop: '1' } } }) });
    await core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: [{ op: 'add', path: '/metadata/annotations/linkpack.io~1x', value: 'j' }] });
    expect(api.requests.at(-1)).toMatchObject({ method: 'PATCH', contentType: 'application/json-patch+json', status: 200 });
    await core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: { metadata: { annotations: { drop: null, m: 'merge' } } } }, merge);
    expect(api.requests.at(-1)?.contentType).toBe('application/merge-patch+json');
    await core.patchNamespacedPod(
      { namespace: 'ml', name: 'a', body: { metadata: { annotations: { s: 'smp' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(api.get('pods', 'ml', 'a')?.metadata.annotations).toEqual({ keep: '1', 'linkpack.io/x': 'j', m: 'merge', s: 'smp' });
    // A failed JSON-patch test op is rejected and changes nothing.
    const rv = api.get('pods', 'ml', 'a')?.metadata.resourceVersion;
    expect(await failure(core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: [{ op: 'test', path: '/metadata/name', value: 'b' }] }))).toMatchObject({ code: 422 });
    expect(api.get('pods', 'ml', 'a')?.metadata.resourceVersion).toBe(rv);
    // Apply patches are not supported here: an honest 415, not a silent merge.
    expect(await failure(core.patchNamespacedPod({ namespace: 'ml', name: 'a', body: {} }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)))).toMatchObject({ code: 415 });
  });

  it('binds through pods/binding once, copying Binding annotations; a second bind is 409', async () => {
    const p = await core.createNamespacedPod({ namespace: 'ml', body: pod('a') });
    await core.createNamespacedPodBinding({
      namespace: 'ml',
      name: 'a',
      body: { metadata: { name: 'a', uid: p.metadata!.uid, annotations: { 'linkpack.io/assigned-gpus': '0,1' } }, target: { kind: 'Node', name: 'n1' } },
    });
    const bound = api.get('pods', 'ml', 'a')!;
    expect(bound.spec.nodeName).toBe('n1');
    expect(bound.metadata.annotations['linkpack.io/assigned-gpus']).toBe('0,1');
    expect(bound.status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    const again = await failure(core.createNamespacedPodBinding({ namespace: 'ml', name: 'a', body: { metadata: { name: 'a' }, target: { kind: 'Node', name: 'n2' } } }));
    expect(again).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(again.message).toContain('already assigned to node "n1"');
    expect(await failure(core.createNamespacedPodBinding({ namespace: 'ml', name: 'zz', body: { metadata: { name: 'zz' }, target: { kind: 'Node', name: 'n2' } } }))).toMatchObject({ code: 404 });
  });

  it('creates core/v1 Events', async () => {
    await core.createNamespacedEvent({
      namespace: 'ml',
      body: { metadata: { generateName: 'a.' }, involvedObject: { kind: 'Pod', namespace: 'ml', name: 'a' }, reason: 'LinkpackPlaced', type: 'Normal', message: 'm' },
    });
    const events = await core.listNamespacedEvent({ namespace: 'ml', fieldSelector: 'reason=LinkpackPlaced' });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]!.metadata?.name).toMatch(/^a\./);
  });

  it('serves cluster-scoped GPUNodes with a /status subresource and generation', async () => {
    const gn = await custom.createClusterCustomObject({ ...G, body: { apiVersion: 'linkpack.io/v1alpha1', kind: 'GPUNode', metadata: { name: 'n1' }, spec: { a: 1 }, status: { gpus: [] } } });
    expect(gn.metadata.generation).toBe(1);
    // Status in a main-resource write is ignored, as with a real status subresource.
    expect(gn.status).toBeUndefined();
    const st = await custom.patchClusterCustomObjectStatus({ ...G, name: 'n1', body: { status: { heartbeatTime: '2026-01-01T00:00:00Z' } } }, merge);
    expect(st.status.heartbeatTime).toBe('2026-01-01T00:00:00Z');
    expect(st.metadata.generation).toBe(1);
    const sp = await custom.patchClusterCustomObject({ ...G, name: 'n1', body: { spec: { a: 2 }, status: { heartbeatTime: 'x' } } }, merge);
    expect(sp.metadata.generation).toBe(2);
    expect(sp.status.heartbeatTime).toBe('2026-01-01T00:00:00Z');
    const list = await custom.listClusterCustomObject(G);
    expect(list.items.map((o: KObject) => o.metadata.name)).toEqual(['n1']);
    expect(list.metadata.resourceVersion).toBe(api.resourceVersion());
    expect(await failure(custom.getClusterCustomObject({ ...G, name: 'n2' }))).toMatchObject({ code: 404, message: 'gpunodes.linkpack.io "n2" not found' });
    await custom.createNamespacedCustomObject({ group: 'linkpack.io', version: 'v1alpha1', plural: 'mltasks', namespace: 'ml', body: { metadata: { name: 't' }, spec: {} } });
    expect(api.get('mltasks', 'ml', 't')?.kind).toBe('MLTask');
    await custom.deleteClusterCustomObject({ ...G, name: 'n1' });
    expect(api.get('gpunodes', undefined, 'n1')).toBeUndefined();
  });
});

describe('watch protocol with client-node Watch and makeInformer', () => {
  let api: TestApiServer;
  afterEach(async () => api.close());

  async function collect(w: Watch, path: string, rv: string | undefined) {
    const events: { type: string; name: string; rv: string }[] = [];
    const done: { err?: unknown; called: boolean } = { called: false };
    await w.watch(
      path,
      rv === undefined ? {} : { resourceVersion: rv },
      (type, obj: KObject) => events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
      (err) => Object.assign(done, { err, called: true }),
    );
    return { events, done };
  }

  it('streams ADDED/MODIFIED/DELETED from a resourceVersion; field-selector transitions read as ADDED/DELETED', async () => {
    api = await TestApiServer.start();
    const w = new Watch(api.kubeConfig());
    api.create('pods', { metadata: { name: 'before', namespace: 'ml' } });
    const from = api.resourceVersion();
    const { events } = await collect(w, '/api/v1/pods', from);
    const sel: KObject[] = [];
    await w.watch('/api/v1/pods', { resourceVersion: from, fieldSelector: 'spec.nodeName=n1' }, (type, obj: KObject) => sel.push({ type, name: obj.metadata.name }), () => {});
    api.create('pods', { metadata: { name: 'a', namespace: 'ml' } });
    api.modify('pods', 'ml', 'a', (p) => (p.spec = { nodeName: 'n1' }));
    api.remove('pods', 'ml', 'a');
    await waitFor(() => events.length === 3 && sel.length === 2, 'watch events');
    expect(events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
    expect(Number(events[2]!.rv)).toBeGreaterThan(Number(events[1]!.rv));
    expect(sel).toEqual([
      { type: 'ADDED', name: 'a' },
      { type: 'DELETED', name: 'a' },
    ]);
    // Replay: a new watch from the same version sees the same history.
    const replay = await collect(w, '/api/v1/pods', from);
    await waitFor(() => replay.events.length === 3, 'replayed events');
  });

  it('expires watches from compacted versions: ERROR 410 event, or HTTP 410 when configured', async () => {
    api = await TestApiServer.start();
    const w = new Watch(api.kubeConfig());
    const from = api.resourceVersion();
    api.create('pods', { metadata: { name: 'a', namespace: 'ml' } });
    api.compact();
    const got: KObject[] = [];
    let doneErr: unknown = 'not called';
    await w.watch('/api/v1/pods', { resourceVersion: from }, (type, obj) => got.push({ type, obj }), (err) => (doneErr = err));
    await waitFor(() => doneErr !== 'not called', 'watch end');
    expect(got).toEqual([{ type: 'ERROR', obj: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
    await api.close();

    api = await TestApiServer.start({ expiredWatch: 'http' });
    const w2 = new Watch(api.kubeConfig());
    const from2 = api.resourceVersion();
    api.create('pods', { metadata: { name: 'a', namespace: 'ml' } });
    api.compact();
    let err2: KObject | undefined;
    await w2.watch('/api/v1/pods', { resourceVersion: from2 }, () => {}, (err) => (err2 = err as KObject));
    await waitFor(() => err2 !== undefined, 'watch error');
    expect(err2!.statusCode).toBe(410);
    // The current version is still watchable.
    const ok = await collect(w2, '/api/v1/pods', api.resourceVersion());
    api.create('pods', { metadata: { name: 'b', namespace: 'ml' } });
    await waitFor(() => ok.events.length === 1, 'event after compaction');
  });

  it('auto-compacts past maxHistory', async () => {
    api = await TestApiServer.start({ maxHistory: 2 });
    const from = api.resourceVersion();
    for (const n of ['a', 'b', 'c']) api.create('pods', { metadata: { name: n, namespace: 'ml' } });
    const { events, done } = await collect(new Watch(api.kubeConfig()), '/api/v1/pods', from);
    await waitFor(() => done.called, 'expired watch end');
    expect(events.map((e) => e.type)).toEqual(['ERROR']);
  });

  it('closeWatches ends client watches (done called) and the log records watch requests', async () => {
    api = await TestApiServer.start();
    const { done } = await collect(new Watch(api.kubeConfig()), '/apis/linkpack.io/v1alpha1/gpunodes', api.resourceVersion());
    await waitFor(() => api.openWatchCount('gpunodes') === 1, 'watch open');
    expect(api.closeWatches()).toBe(1);
    await waitFor(() => done.called, 'done callback');
    expect(api.requests.find((r) => r.watch)).toMatchObject({ method: 'GET', path: '/apis/linkpack.io/v1alpha1/gpunodes', status: 200, query: { watch: 'true' } });
  });

  it('drives the client-node informer (list + watch + relist on 410)', async () => {
    api = await TestApiServer.start();
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    api.create('pods', { metadata: { name: 'a', namespace: 'ml' } });
    const inf = makeInformer(api.kubeConfig(), '/api/v1/pods', () => core.listPodForAllNamespaces());
    const seen = new Map<string, string>();
    inf.on('add', (p) => seen.set(p.metadata!.name!, 'add'));
    inf.on('update', (p) => seen.set(p.metadata!.name!, 'update'));
    inf.on('delete', (p) => seen.set(p.metadata!.name!, 'delete'));
    await inf.start();
    await waitFor(() => api.openWatchCount('pods') === 1, 'informer watch');
    api.create('pods', { metadata: { name: 'b', namespace: 'ml' } });
    api.modify('pods', 'ml', 'a', (p) => (p.metadata.labels = { x: 'y' }));
    await waitFor(() => seen.get('b') === 'add' && seen.get('a') === 'update', 'informer events');
    // History gone + a clean server-side close: the informer's resume gets 410 and relists.
    api.closeWatches({ abrupt: false });
    api.create('pods', { metadata: { name: 'c', namespace: 'ml' } });
    api.remove('pods', 'ml', 'b');
    api.compact();
    await waitFor(() => seen.get('c') === 'add' && seen.get('b') === 'delete', 'informer relist');
    expect(api.requests.filter((r) => r.method === 'GET' && !r.watch && r.path === '/api/v1/pods')).toHaveLength(2);
    await inf.stop();
  });
});
