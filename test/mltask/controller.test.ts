/**
 * The controller (informers + queue + reconciler) against the fault-injecting test API server:
 * the lifecycle (create → Running → Succeeded / Failed, suspend, roll-out, recreate), 409 storms,
 * dropped watches, and a restart mid-reconcile. The test plays the StatefulSet controller and
 * kubelet by writing pods itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MLTaskController } from '../../src/mltask/controller.js';
import { kubeApiWriter, type ApiWriter } from '../../src/mltask/client.js';
import type { TestApiServer, KObject } from '../support/apiserver.js';
import { waitFor } from '../support/wait.js';
import { startTestApi } from './api.js';
import { rawInstance as rawTask } from './fixtures.js';
import { grants, verbOf } from './grants.js';

let api: TestApiServer;
let controllers: MLTaskController[] = [];
const logs: string[] = [];

function startController(): MLTaskController {
  const c = new MLTaskController({ kubeConfig: api.kubeConfig(), workers: 2, informer: { backoff: { initialMs: 20, maxMs: 200 } }, log: (_l, m) => logs.push(m) });
  controllers.push(c);
  void c.start();
  return c;
}

beforeEach(async () => {
  api = await startTestApi();
  logs.length = 0;
});
afterEach(async () => {
  for (const c of controllers) await c.stop();
  controllers = [];
  await api.close();
});

const task = (name = 'train') => api.get('mltasks', 'ml', name);
const sts = (name = 'train') => api.get('statefulsets', 'ml', name);
const events = (reason?: string) => api.list('events', 'ml').filter((e) => !reason || e.reason === reason);

/** What the StatefulSet controller and kubelet would do: one pod per ordinal, Running and Ready. */
function runPods(name = 'train', n = 2, extra: (i: number) => KObject = () => ({})): void {
  const owner = sts(name)!;
  for (let i = 0; i < n; i++) {
    api.create('pods', {
      metadata: {
        name: `${name}-${i}`,
        namespace: 'ml',
        labels: { 'linkpack.io/mltask': name, 'apps.kubernetes.io/pod-index': String(i) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid: owner.metadata.uid, controller: true }],
      },
      spec: { nodeName: `node-${i}`, containers: [{ name: 'worker', image: 'x' }] },
    });
    exitPod(name, i, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'worker', restartCount: 0, state: { running: {} } }], ...extra(i) });
  }
}
function exitPod(name: string, i: number, status: KObject): void {
  api.modify('pods', 'ml', `${name}-${i}`, (p) => {
    p.status = { ...p.status, ...status };
  });
}
const exited = (code: number, restarts = 1): KObject => ({ containerStatuses: [{ name: 'worker', restartCount: restarts, state: { running: {} }, lastState: { terminated: { exitCode: code } } }] });

describe('MLTaskController on the test API server', () => {
  it('creates the Service and StatefulSet, follows the workers to Succeeded and scales to 0', async () => {
    startController();
    api.create('mltasks', rawTask());
    await waitFor(() => sts() !== undefined && api.get('services', 'ml', 'train') !== undefined && task()?.status?.phase === 'Pending', 'children + Pending', 5000);
    const t = task()!;
    expect(sts()!.metadata.ownerReferences[0]).toMatchObject({ kind: 'MLTask', uid: t.metadata.uid, controller: true });
    expect(sts()!.spec.replicas).toBe(2);
    expect(t.status.observedGeneration).toBe(1);
    await waitFor(() => events().length === 3, 'three Events', 5000);
    expect(events().map((e) => e.reason).sort()).toEqual(['CreatedService', 'CreatedStatefulSet', 'Pending']);

    runPods();
    await waitFor(() => task()!.status.phase === 'Running', 'Running', 5000);
    expect(task()!.status).toMatchObject({ readyWorkers: 2, ready: '2/2', gpus: 8 });
    exitPod('train', 0, exited(0));
    await waitFor(() => task()!.status.workers[0].succeeded === true, 'worker 0 done', 5000);
    expect(task()!.status.phase).toBe('Running');
    // The first status write of the success meets a conflict: nothing may be scaled down before
    // the success is stored (scaling down deletes the pods that prove it).
    api.addFault({ method: 'PUT', path: /mltasks\/train\/status$/, status: 409, message: 'the object has been modified', times: 1 });
    exitPod('train', 1, exited(0));
    await waitFor(() => task()!.status.phase === 'Succeeded' && sts()!.spec.replicas === 0, 'Succeeded and scaled to 0', 5000);
    const log = api.requests.filter((r) => r.method === 'PUT' && /\/(statefulsets\/train|mltasks\/train\/status)$/.test(r.path));
    const scaledDown = log.findIndex((r) => r.path.endsWith('statefulsets/train') && (r.body as KObject).spec.replicas === 0);
    const storedSuccess = log.findIndex((r) => r.path.endsWith('/status') && r.status === 200 && (r.body as KObject).status.phase === 'Succeeded');
    expect(log.some((r) => r.status === 409)).toBe(true);
    expect(storedSuccess).toBeGreaterThanOrEqual(0);
    expect(scaledDown).toBeGreaterThan(storedSuccess);
    expect(task()!.status.completionTime).toBeDefined();
    await waitFor(() => events('ScaledWorkers').length === 1 && events('Succeeded').length === 1, 'Events', 5000);
    expect(events('ScaledWorkers')[0]!.message).toMatch(/from 2 to 0 worker\(s\) \(task Succeeded, state kept\)/);
    expect(events('Succeeded')).toHaveLength(1);
  });

  it('more failures than backoffLimit: Failed, scaled to 0, Warning Event', async () => {
    startController();
    api.create('mltasks', rawTask({ backoffLimit: 1 }));
    await waitFor(() => sts() !== undefined, 'StatefulSet', 5000);
    runPods();
    exitPod('train', 0, exited(2, 1));
    exitPod('train', 1, exited(137, 1));
    await waitFor(() => task()?.status?.phase === 'Failed' && sts()!.spec.replicas === 0 && events('Failed').length === 1, 'Failed', 5000);
    const failed = events('Failed')[0]!;
    expect(failed.type).toBe('Warning');
    expect(failed.message).toMatch(/2 failures \(worker 0: 1, worker 1: 1\) exceed backoffLimit 1/);
  });

  it('suspend scales to 0 (Suspended), resume scales back; an image change rolls; a claim template recreates', async () => {
    startController();
    api.create('mltasks', rawTask());
    await waitFor(() => sts() !== undefined, 'StatefulSet', 5000);
    const firstUid = sts()!.metadata.uid;
    api.modify('mltasks', 'ml', 'train', (t) => (t.spec.suspend = true));
    await waitFor(() => sts()!.spec.replicas === 0 && task()!.status?.phase === 'Suspended', 'Suspended', 5000);
    api.modify('mltasks', 'ml', 'train', (t) => (t.spec.suspend = false));
    await waitFor(() => sts()!.spec.replicas === 2 && task()!.status.phase === 'Pending', 'resumed', 5000);

    api.modify('mltasks', 'ml', 'train', (t) => (t.spec.image = 'trainer:2'));
    await waitFor(() => sts()!.spec.template.spec.containers[0].image === 'trainer:2', 'rolled out', 5000);
    expect(sts()!.metadata.uid).toBe(firstUid);
    await waitFor(() => events('UpdatedStatefulSet').length === 1, 'UpdatedStatefulSet Event', 5000);

    api.modify('mltasks', 'ml', 'train', (t) => (t.spec.scratch = { size: '10Gi', storageClassName: 'nvme' }));
    await waitFor(() => sts() !== undefined && sts()!.metadata.uid !== firstUid, 'recreated', 5000);
    expect(sts()!.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('nvme');
    expect(events('RecreatingStatefulSet')[0]!.message).toMatch(/spec changes volumeClaimTemplates, which a StatefulSet cannot take/);
    await waitFor(() => task()!.status.observedGeneration === task()!.metadata.generation, 'status observed the last generation', 5000);

    // deploy/controller/rbac.yaml grants every call made here (and nothing is needed beyond it).
    const granted = grants();
    const used = new Set(api.requests.map(verbOf));
    for (const u of ['apps/statefulsets:delete', 'apps/statefulsets:update', 'linkpack.io/mltasks/status:update', '/events:create', '/pods:watch']) expect(used).toContain(u);
    for (const u of used) expect(granted.has(u), `RBAC misses ${u}`).toBe(true);
  });

  it('409 storms on every write: converges with exactly one Service and StatefulSet', async () => {
    api.addFault({ method: 'PUT', status: 409, message: 'the object has been modified', times: 6 });
    api.addFault({ method: 'POST', path: /statefulsets$/, status: 409, message: 'injected conflict', times: 3 });
    startController();
    for (const n of ['a', 'b', 'c']) api.create('mltasks', rawTask({}, n));
    await waitFor(() => ['a', 'b', 'c'].every((n) => sts(n) && task(n)?.status?.phase === 'Pending'), 'all three reconciled', 10_000);
    runPods('a');
    await waitFor(() => task('a')!.status.phase === 'Running', 'a Running through the storm', 10_000);
    expect(api.list('statefulsets', 'ml')).toHaveLength(3);
    expect(api.list('services', 'ml')).toHaveLength(3);
    // The storm was met (logged with the server's own words), not skipped.
    expect(logs.some((l) => /the object has been modified|injected conflict/.test(l))).toBe(true);
  });

  it('a dropped watch (and a compacted history) loses nothing', async () => {
    const c = startController();
    api.create('mltasks', rawTask({}, 'a'));
    await waitFor(() => sts('a') !== undefined, 'a', 5000);
    api.compact();
    api.closeWatches({ abrupt: true });
    api.create('mltasks', rawTask({}, 'b'));
    runPods('a');
    await waitFor(() => sts('b') !== undefined && task('a')!.status.phase === 'Running', 'b created and a Running after the drop', 10_000);
    expect(c.feedStats().some((f) => f.relistsAfterExpired + f.watchFailures > 0)).toBe(true);
  });

  it('two replicas with leader election: only the leader writes; the standby takes over when it stops', async () => {
    const writes = new Map<string, number>();
    const counted = (id: string): ApiWriter => {
      const w = kubeApiWriter(api.kubeConfig());
      const count = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A) => {
        writes.set(id, (writes.get(id) ?? 0) + 1);
        return f(...a);
      };
      return { create: count(w.create), update: count(w.update), remove: count(w.remove), updateTaskStatus: count(w.updateTaskStatus), createEvent: count(w.createEvent) };
    };
    const replica = (id: string) => {
      const c = new MLTaskController({
        kubeConfig: api.kubeConfig(),
        api: counted(id),
        identity: id,
        leaderElection: { namespace: 'sys', name: 'ctl', identity: id, leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 150 },
        informer: { backoff: { initialMs: 20, maxMs: 200 } },
      });
      controllers.push(c);
      void c.start();
      return c;
    };
    const a = replica('a');
    const b = replica('b');
    await waitFor(() => a.isLeader() !== b.isLeader(), 'one leader', 5000);
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    const [lid, sid] = leader === a ? ['a', 'b'] : ['b', 'a'];
    api.create('mltasks', rawTask({}, 'one'));
    await waitFor(() => sts('one') !== undefined && task('one')?.status?.phase === 'Pending', 'reconciled by the leader', 5000);
    expect(writes.get(sid) ?? 0).toBe(0);
    await leader.stop();
    controllers = controllers.filter((c) => c !== leader);
    await waitFor(() => standby.isLeader(), 'standby leads', 5000);
    api.create('mltasks', rawTask({}, 'two'));
    await waitFor(() => sts('two') !== undefined, 'reconciled by the new leader', 5000);
    expect(writes.get(sid)!).toBeGreaterThan(0);
    expect(writes.get(lid)!).toBeGreaterThan(0);
    expect(api.list('statefulsets', 'ml')).toHaveLength(2);
  });

  it('a restart mid-reconcile duplicates nothing and loses nothing', async () => {
    // The first replica gets the Service in, then dies while its StatefulSet create fails.
    api.addFault({ method: 'POST', path: /statefulsets$/, status: 500, message: 'etcd leader changed' });
    const first = startController();
    api.create('mltasks', rawTask());
    await waitFor(() => api.get('services', 'ml', 'train') !== undefined && api.requests.some((r) => r.method === 'POST' && /statefulsets$/.test(r.path)), 'service in, sts attempted', 5000);
    await first.stop();
    controllers = controllers.filter((c) => c !== first);
    api.clearFaults();
    // A slow server: the second replica's writes hang a while; it is killed in the middle of one.
    api.addFault({ method: 'POST', path: /statefulsets$/, delayMs: 300, times: 1 });
    const second = startController();
    await waitFor(() => api.requests.filter((r) => r.method === 'POST' && /statefulsets$/.test(r.path)).length >= 2, 'second attempt', 5000);
    await second.stop();
    controllers = controllers.filter((c) => c !== second);
    startController();
    runPodsWhenReady();
    await waitFor(() => task()?.status?.phase === 'Running', 'Running after two restarts', 10_000);
    expect(api.list('statefulsets', 'ml')).toHaveLength(1);
    expect(api.list('services', 'ml')).toHaveLength(1);
    expect(events('CreatedService')).toHaveLength(1);
    expect(events('CreatedStatefulSet')).toHaveLength(1);
  });
});

/** `group/resource:verb` of a request, as RBAC sees it. */
function runPodsWhenReady(): void {
  const tick = setInterval(() => {
    if (sts() && !api.get('pods', 'ml', 'train-0')) {
      clearInterval(tick);
      runPods();
    }
  }, 20);
}
