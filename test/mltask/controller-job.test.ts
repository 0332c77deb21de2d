/**
 * Mode Job through the controller (informers + queue + reconciler) on the fault-injecting test API
 * server. The test plays the Job controller by writing the Job's conditions and its pods. What the
 * real control plane does is in job.e2e.test.ts; this checks what faults can break: a gang restart
 * counted once under 409 storms on the status write, one Job per attempt, and the refusal of a
 * task whose linkpack.io annotation is unknown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MLTaskController } from '../../src/mltask/controller.js';
import type { KObject, TestApiServer } from '../support/apiserver.js';
import { waitFor } from '../support/wait.js';
import { startTestApi } from './api.js';
import { rawTask } from './fixtures.js';
import { grants, verbOf } from './grants.js';

let api: TestApiServer;
let controller: MLTaskController | undefined;

beforeEach(async () => {
  api = await startTestApi();
  controller = new MLTaskController({ kubeConfig: api.kubeConfig(), workers: 2, informer: { backoff: { initialMs: 20, maxMs: 200 } } });
  void controller.start();
});
afterEach(async () => {
  await controller?.stop();
  await api.close();
});

const task = () => api.get('mltasks', 'ml', 'train');
const job = () => api.get('jobs', 'ml', 'train');
const events = (reason: string) => api.list('events', 'ml').filter((e) => e.reason === reason);
/** Jobs created (a POST from a cache that had not seen the Job yet ends in 409 AlreadyExists: no Job). */
const jobPosts = () => {
  const posts = api.requests.filter((r) => r.method === 'POST' && /\/jobs$/.test(r.path));
  expect(posts.every((r) => r.status === 201 || r.status === 409)).toBe(true);
  return posts.filter((r) => r.status === 201).length;
};

/** What the Job controller and kubelet would do: one Running pod per index, owned by the Job. */
function runPods(n = 2): void {
  const j = job()!;
  for (let i = 0; i < n; i++) {
    api.create('pods', {
      metadata: {
        name: `train-${i}-${j.metadata.uid.slice(-5)}`,
        namespace: 'ml',
        labels: { 'linkpack.io/mltask': 'train', 'batch.kubernetes.io/job-completion-index': String(i) },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'train', uid: j.metadata.uid, controller: true }],
      },
      spec: { nodeName: `node-${i}`, containers: [{ name: 'worker', image: 'x' }] },
    });
    api.modify('pods', 'ml', `train-${i}-${j.metadata.uid.slice(-5)}`, (p) => {
      p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'worker', state: { running: {} } }] };
    });
  }
}

function failJob(): void {
  const j = job()!;
  api.modify('pods', 'ml', `train-1-${j.metadata.uid.slice(-5)}`, (p) => {
    p.status = { phase: 'Failed', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'worker', state: { terminated: { exitCode: 1 } } }] };
  });
  api.modify('jobs', 'ml', 'train', (x: KObject) => {
    x.status = { conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy' }] };
  });
}

describe('MLTaskController, mode Job, on the test API server', () => {
  it('a failed attempt is counted once under 409 storms; one Job per attempt; Succeeded after the next', async () => {
    api.create('mltasks', rawTask({ backoffLimit: 2 }));
    await waitFor(() => job() !== undefined && task()?.status?.phase === 'WaitingForGang', 'Job + WaitingForGang', 5000);
    expect(job()!.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, backoffLimit: 0, suspend: false });
    const first = job()!.metadata.uid;
    runPods();
    await waitFor(() => task()!.status.phase === 'Running', 'Running', 5000);

    api.addFault({ method: 'PUT', path: /mltasks\/train\/status$/, status: 409, message: 'the object has been modified', times: 4 });
    failJob();
    await waitFor(() => job() !== undefined && job()!.metadata.uid !== first, 'the next attempt', 8000);
    // The test server deletes at once; the old attempt's pods are the GC's (gone here by hand).
    for (const p of api.list('pods', 'ml')) api.remove('pods', 'ml', p.metadata.name);
    runPods();
    await waitFor(() => task()!.status.phase === 'Running', 'Running again', 5000);
    expect(task()!.status).toMatchObject({ restarts: 1, uncountedRestarts: 0, jobUID: job()!.metadata.uid });
    expect(jobPosts()).toBe(2);
    await waitFor(() => events('GangRestarting').length === 1, `one GangRestarting Event (${api.list('events', 'ml').map((e) => `${e.reason}: ${e.message}`).join('; ')})`, 5000);
    expect(events('GangRestarting')[0]!.type).toBe('Warning');
    // Every delete names the ended attempt by uid (a pass on a stale cache may repeat it: 404/409, harmless).
    const deletes = api.requests.filter((r) => r.method === 'DELETE' && /\/jobs\/train$/.test(r.path));
    for (const d of deletes) expect(d.body).toMatchObject({ propagationPolicy: 'Foreground', preconditions: { uid: first } });
    expect(deletes.filter((d) => d.status === 200)).toHaveLength(1);

    api.modify('jobs', 'ml', 'train', (x: KObject) => {
      x.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    });
    await waitFor(() => task()!.status.phase === 'Succeeded', 'Succeeded', 5000);
    expect(task()!.status.restarts).toBe(1);
    expect(jobPosts()).toBe(2);

    // deploy/controller/rbac.yaml grants every call made here.
    const granted = grants();
    const used = new Set(api.requests.map(verbOf));
    for (const u of ['batch/jobs:create', 'batch/jobs:delete', 'batch/jobs:watch', 'linkpack.io/mltaskclasses:watch']) expect(used).toContain(u);
    for (const u of used) expect(granted.has(u), `RBAC misses ${u}`).toBe(true);
  });

  it('a misspelt linkpack.io annotation: status Failed (InvalidSpec) naming it, nothing created', async () => {
    const raw = rawTask();
    raw.metadata.annotations = { 'linkpack.io/gpu-modle': 'H100' };
    api.create('mltasks', raw);
    await waitFor(() => task()?.status?.phase === 'Failed', 'Failed', 5000);
    expect(task()!.status.conditions[0]).toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('metadata.annotations.linkpack.io/gpu-modle: unknown linkpack.io annotation; did you mean "linkpack.io/gpu-model"?') });
    expect(job()).toBeUndefined();
  });

  it('a class created after the task is merged into its Job; a missing named class waits with the reason', async () => {
    api.create('mltasks', rawTask({ className: 'h100' }));
    await waitFor(() => task()?.status?.phase === 'Pending', 'Pending', 5000);
    expect(task()!.status.conditions.find((c: KObject) => c.type === 'Pending')).toMatchObject({ reason: 'ClassNotFound', message: 'MLTaskClass h100 (spec.className) does not exist' });
    expect(job()).toBeUndefined();
    api.create('mltaskclasses', { apiVersion: 'linkpack.io/v1alpha1', kind: 'MLTaskClass', metadata: { name: 'h100' }, spec: { priorityClassName: 'training', shmSize: '8Gi' } });
    await waitFor(() => job() !== undefined, 'Job', 5000);
    expect(job()!.spec.template.spec.priorityClassName).toBe('training');
    expect(job()!.metadata.annotations['linkpack.io/class']).toBe('h100');
  });

  it('an invalid default class is not skipped: the task waits with its errors', async () => {
    api.create('mltaskclasses', { apiVersion: 'linkpack.io/v1alpha1', kind: 'MLTaskClass', metadata: { name: 'broken' }, spec: { default: true, shmSize: 'lots' } });
    api.create('mltasks', rawTask());
    await waitFor(() => task()?.status?.phase === 'Pending', 'Pending', 5000);
    expect(task()!.status.conditions.find((c: KObject) => c.type === 'Pending')).toMatchObject({ reason: 'ClassInvalid', message: expect.stringMatching(/^MLTaskClass broken is invalid: spec\.shmSize: "lots" is not a positive quantity/) });
    expect(job()).toBeUndefined();
  });
});
