/**
 * MLTask mode Job on the real control plane: the real Job controller (kube-controller-manager)
 * runs the Indexed Job, the real kube-scheduler + our extender place the workers as a gang, KWOK
 * runs them and ends them with chosen exit codes (annotation linkpack.test/exit-code, which the
 * task's annotations carry to its pods), the real TTL controller and garbage collector clean up.
 * Kueue is not built here; its suspend contract is tested on the Job controller itself: a
 * suspended Job makes no pods, unsuspending (what Kueue does on admission) makes them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putMLTaskCrdVerbatim } from './real-crd.js';
import { MLTaskController } from '../../src/mltask/controller.js';
import { controlPlaneSkip, kubeBinary, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';
import { startSchedulingStack, type SchedulingStack } from '../support/scheduling.js';

const NS = 'jobs';
const BASE = `/apis/linkpack.io/v1alpha1/namespaces/${NS}/mltasks`;
const SECRET_VALUE = 'sup3r-s3cret-AKIA-do-not-leak';
let cp: ControlPlane;
let stack: SchedulingStack | undefined;
let controller: MLTaskController | undefined;

function mltask(name: string, spec: KObj = {}, meta: KObj = {}): KObj {
  return {
    apiVersion: 'linkpack.io/v1alpha1',
    kind: 'MLTask',
    metadata: { name, namespace: NS, ...meta },
    spec: { image: 'trainer:1', trainingData: { uri: 's3://data/set' }, modelOutput: { uri: 's3://models/out' }, parallelism: 2, resources: { gpus: 2, cpu: '1' }, ...spec },
  };
}

const task = (name: string) => cp.get('linkpack.io/v1alpha1', 'MLTask', name, NS);
const job = (name: string) => cp.get('batch/v1', 'Job', name, NS);
const podsOf = async (name: string) => (await cp.request('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`linkpack.io/mltask=${name}`)}`)).items as KObj[];
const livePods = async (name: string) => (await podsOf(name)).filter((p) => !p.metadata.deletionTimestamp);
const eventsOf = async (name: string) =>
  ((await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=MLTask`)}`)).items as KObj[]).map((e) => `${e.reason}: ${e.message}`);
const exitPod = (pod: KObj, code: number) =>
  cp.request('PATCH', `/api/v1/namespaces/${NS}/pods/${pod.metadata.name}`, { metadata: { annotations: { 'linkpack.test/exit-code': String(code), 'linkpack.test/exit-after-ms': '100' } } }, 'application/merge-patch+json');
const indexOf = (p: KObj) => p.metadata.labels['batch.kubernetes.io/job-completion-index'];

/** Waits, and on a timeout says what the task, its Job and pods looked like. */
async function until(name: string, fn: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  await cp.eventually(fn, what, timeoutMs).catch(async (err) => {
    const t = await task(name);
    const j = await job(name);
    const ps = (await podsOf(name)).map((p) => ({ name: p.metadata.name, idx: indexOf(p), phase: p.status?.phase, node: p.spec.nodeName, del: p.metadata.deletionTimestamp, conds: p.status?.conditions?.map((c: KObj) => `${c.type}=${c.status}`) }));
    throw new Error(`${(err as Error).message}\ntask status: ${JSON.stringify(t?.status)}\njob: ${JSON.stringify({ uid: j?.metadata?.uid, spec: { suspend: j?.spec?.suspend }, status: j?.status })}\npods: ${JSON.stringify(ps)}\nevents:\n${(await eventsOf(name)).join('\n')}`);
  });
}
const phaseIs = (name: string, phase: string) => async () => (await task(name))?.status?.phase === phase;

async function runningGang(name: string, n: number): Promise<KObj[]> {
  await until(name, async () => (await livePods(name)).filter((p) => p.status?.phase === 'Running').length === n, `${n} workers Running`);
  await until(name, phaseIs(name, 'Running'), 'phase Running');
  return livePods(name);
}

async function remove(name: string): Promise<void> {
  await cp.request('DELETE', `${BASE}/${name}`);
  await cp.eventually(async () => !(await task(name)) && (await podsOf(name)).length === 0, `${name} and its pods collected`, 60_000);
}

beforeAll(async () => {
  if (controlPlaneSkip) return;
  cp = await startControlPlane({ crds: true, controllerManager: true, kwok: true });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await putMLTaskCrdVerbatim(cp, NS);
  for (const n of ['g1', 'g2', 'g3']) await cp.createGpuNode(n, 'hgx-h100');
  // A node whose 8 GPUs are NVLink pairs only: no 8-GPU NVLink set. Tasks reach it only through a
  // class's nodeSelector; others never fit a require-nvlink 8-GPU worker there.
  await cp.createGpuNode('p1', 'pcie-8x-nvlink-pairs');
  await cp.eventually(async () => {
    const nodes = await cp.list('v1', 'Node');
    return nodes.length === 4 && nodes.every((n) => (n.status?.conditions ?? []).some((c: KObj) => c.type === 'Ready' && c.status === 'True'));
  }, 'four Ready fake GPU nodes');
  // The extender with the shipped flags, and the real kube-scheduler calling it.
  stack = await startSchedulingStack(cp);
  controller = new MLTaskController({ kubeConfig: cp.kubeConfig, namespace: NS, workers: 2 });
  await controller.start();
}, 240_000);

afterAll(async () => {
  await controller?.stop();
  await stack?.close();
  await cp?.stop();
});

describe.skipIf(controlPlaneSkip)('MLTask mode Job on the real control plane', () => {
  it('4 × 2-GPU workers each run once to exit 0; pods stay after Succeeded and go after the TTL', async () => {
    await cp.request('POST', BASE, mltask('once', { parallelism: 4, ttlSecondsAfterFinished: 8 }, { annotations: { 'linkpack.test/exit-code': '0', 'linkpack.test/exit-after-ms': '3000' } }));
    await until('once', phaseIs('once', 'Succeeded'), 'phase Succeeded');
    const pods = await podsOf('once');
    // One pod per index, each Succeeded: nobody ran twice.
    expect(pods.map(indexOf).sort()).toEqual(['0', '1', '2', '3']);
    expect(pods.every((p) => p.status.phase === 'Succeeded' && p.spec.restartPolicy === 'Never')).toBe(true);
    expect(pods.map((p) => `${p.spec.hostname}.${p.spec.subdomain}`).sort()).toEqual(['once-0.once', 'once-1.once', 'once-2.once', 'once-3.once']);
    for (const p of pods) expect(p.metadata.annotations['linkpack.io/assigned-gpus'].split(',')).toHaveLength(2);
    const t = (await task('once'))!;
    expect(t.status).toMatchObject({ mode: 'Job', restarts: 0, totalWorkers: 4, gpus: 8 });
    // Per worker: node, GPUs, and NVLink (2 GPUs of an NVSwitch box are NVLink-connected).
    expect(t.status.workers.every((w: KObj) => w.succeeded && w.node && w.gpus && w.nvlink === true)).toBe(true);
    expect(t.status.conditions.find((c: KObj) => c.type === 'Succeeded')).toMatchObject({ status: 'True', reason: 'AllWorkersSucceeded' });
    // The TTL controller deletes the Job and its pods; the task stays Succeeded and nothing restarts.
    await until('once', async () => !(await job('once')) && (await podsOf('once')).length === 0, 'Job and pods gone after the TTL', 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await job('once')).toBeUndefined();
    expect((await task('once'))!.status.phase).toBe('Succeeded');
    await remove('once');
  });

  it('a worker exits 1: the whole gang restarts once, restarts: 1, then succeeds', async () => {
    await cp.request('POST', BASE, mltask('crash', { backoffLimit: 3 }));
    const first = await runningGang('crash', 2);
    const firstJob = (await job('crash'))!.metadata.uid;
    await exitPod(first.find((p) => indexOf(p) === '1')!, 1);
    await until('crash', async () => {
      const j = await job('crash');
      return j !== undefined && j.metadata.uid !== firstJob && !j.metadata.deletionTimestamp;
    }, 'a new Job for the second attempt');
    const second = await runningGang('crash', 2);
    // Every worker of the second attempt is new: the gang restarted as one.
    expect(second.some((p) => first.some((q) => q.metadata.uid === p.metadata.uid))).toBe(false);
    const t = (await task('crash'))!;
    expect(t.status).toMatchObject({ restarts: 1, uncountedRestarts: 0 });
    expect((await eventsOf('crash')).some((e) => /^GangRestarting: phase \w+ → GangRestarting: WorkerFailed: worker 1 \(pod crash-1-\w+\) exited 1: restarting all 2 workers \(restart 1 of backoffLimit 3\)/.test(e))).toBe(true);
    // kubectl's printer columns.
    const { stdout } = await promisify(execFile)(kubeBinary('kubectl'), ['--kubeconfig', cp.kubeconfigPath, 'get', 'mlt', 'crash', '-n', NS]);
    const [head, row] = stdout.trim().split('\n').map((l: string) => l.trim().split(/\s+/));
    expect(head).toEqual(['NAME', 'MODE', 'PHASE', 'WORKERS', 'RESTARTS', 'GPUS', 'AGE']);
    expect(row!.slice(0, 6)).toEqual(['crash', 'Job', 'Running', '2/2', '1', '4']);
    for (const p of second) await exitPod(p, 0);
    await until('crash', phaseIs('crash', 'Succeeded'), 'phase Succeeded');
    expect((await task('crash'))!.status.restarts).toBe(1);
    await remove('crash');
  });

  it('an eviction restarts the gang without counting it', async () => {
    await cp.request('POST', BASE, mltask('evict', { backoffLimit: 0 }));
    const first = await runningGang('evict', 2);
    const firstJob = (await job('evict'))!.metadata.uid;
    const victim = first[0]!;
    await cp.request('POST', `/api/v1/namespaces/${NS}/pods/${victim.metadata.name}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim.metadata.name, namespace: NS } });
    await until('evict', async () => {
      const j = await job('evict');
      return j !== undefined && j.metadata.uid !== firstJob && !j.metadata.deletionTimestamp;
    }, 'a new Job after the eviction');
    await runningGang('evict', 2);
    const t = (await task('evict'))!;
    // backoffLimit 0: a counted restart would have failed the task.
    expect(t.status).toMatchObject({ phase: 'Running', restarts: 0, uncountedRestarts: 1 });
    expect((await eventsOf('evict')).some((e) => e.startsWith('GangRestarting: ') && e.includes('Disruption: a worker was evicted'))).toBe(true);
    await remove('evict');
  });

  it('the deadline fails the task with reason DeadlineExceeded', async () => {
    await cp.request('POST', BASE, mltask('late', { parallelism: 1, activeDeadlineSeconds: 4 }));
    await until('late', phaseIs('late', 'Failed'), 'phase Failed', 90_000);
    const t = (await task('late'))!;
    expect(t.status.conditions.find((c: KObj) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'DeadlineExceeded', message: expect.stringContaining('activeDeadlineSeconds 4') });
    expect(t.status.restarts).toBe(0);
    // The Job controller's own verdict, after the deadline ran out (not an earlier failure).
    const j = (await job('late'))!;
    expect(j.spec.activeDeadlineSeconds).toBe(4);
    // FailureTarget first (pods still terminating), then Failed: either carries the reason.
    expect(j.status.conditions.find((c: KObj) => c.type === 'Failed' || c.type === 'FailureTarget')).toMatchObject({ status: 'True', reason: 'DeadlineExceeded' });
    expect(Date.parse(t.status.completionTime) - Date.parse(j.status.startTime)).toBeGreaterThanOrEqual(3000);
    await remove('late');
  });

  it('a secret-backed env never appears in any object', async () => {
    await cp.request('POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-creds', namespace: NS }, stringData: { AWS_SECRET_ACCESS_KEY: SECRET_VALUE } });
    await cp.request('POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wandb', namespace: NS }, stringData: { apiKey: SECRET_VALUE } });
    await cp.request(
      'POST',
      BASE,
      mltask('secret', { trainingData: { uri: 's3://data/set', credentialsSecret: 's3-creds' }, env: [{ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'apiKey' } } }] }),
    );
    const pods = await runningGang('secret', 2);
    const c = pods[0]!.spec.containers[0];
    expect(c.envFrom).toEqual([{ secretRef: { name: 's3-creds' } }]);
    expect(c.env.find((e: KObj) => e.name === 'WANDB_API_KEY')).toEqual({ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'apiKey' } } });
    const seen = [await task('secret'), await job('secret'), await cp.get('v1', 'Service', 'secret', NS), ...(await podsOf('secret')), ...((await cp.request('GET', `/api/v1/namespaces/${NS}/events`)).items as KObj[])];
    const text = JSON.stringify(seen);
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    await remove('secret');
  });

  it('a class puts tolerations and /dev/shm on every worker', async () => {
    await cp.request('POST', '/apis/linkpack.io/v1alpha1/mltaskclasses', {
      apiVersion: 'linkpack.io/v1alpha1',
      kind: 'MLTaskClass',
      metadata: { name: 'h100-train' },
      spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'training', effect: 'NoSchedule' }], shmSize: '16Gi', env: [{ name: 'NCCL_DEBUG', value: 'INFO' }] },
    });
    await cp.request('POST', BASE, mltask('classy', { className: 'h100-train', parallelism: 3 }));
    const pods = await runningGang('classy', 3);
    for (const p of pods) {
      expect(p.spec.tolerations).toContainEqual({ key: 'dedicated', operator: 'Equal', value: 'training', effect: 'NoSchedule' });
      expect(p.spec.volumes).toContainEqual(expect.objectContaining({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '16Gi' } }));
      expect(p.spec.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: 'shm', mountPath: '/dev/shm' }));
      expect(p.spec.containers[0].env).toContainEqual({ name: 'NCCL_DEBUG', value: 'INFO' });
    }
    expect((await task('classy'))!.status.className).toBe('h100-train');
    await remove('classy');
  });

  it('a queued task (Kueue label) stays suspended, no pods, until admitted (unsuspended)', async () => {
    await cp.request('POST', BASE, mltask('queued', {}, { labels: { 'kueue.x-k8s.io/queue-name': 'team-a' } }));
    await until('queued', phaseIs('queued', 'Queued'), 'phase Queued');
    const j = (await job('queued'))!;
    expect(j.spec.suspend).toBe(true);
    expect(j.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('team-a');
    expect(j.spec.template.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('team-a');
    // The real Job controller makes no pods for a suspended Job, and the MLTask controller does not unsuspend it.
    await new Promise((r) => setTimeout(r, 4000));
    expect(await podsOf('queued')).toHaveLength(0);
    expect((await job('queued'))!.spec.suspend).toBe(true);
    expect((await task('queued'))!.status.conditions.find((c: KObj) => c.type === 'Queued')).toMatchObject({ reason: 'WaitingForAdmission' });
    // Admission, as Kueue does it: unsuspend the Job.
    await cp.request('PATCH', `/apis/batch/v1/namespaces/${NS}/jobs/queued`, { spec: { suspend: false } }, 'application/merge-patch+json');
    await runningGang('queued', 2);
    expect((await job('queued'))!.spec.suspend).toBe(false);
    await remove('queued');
  });

  it('a require-nvlink gang that cannot fit waits with the extender\'s reason in its status', async () => {
    await cp.request('POST', BASE, mltask('toobig', { parallelism: 4, resources: { gpus: 8, cpu: '1' }, gpu: { topology: 'require-nvlink' } }));
    await until('toobig', async () => {
      const c = (await task('toobig'))?.status?.conditions?.find((x: KObj) => x.type === 'WaitingForGang');
      return c?.reason === 'Unschedulable' && /4 workers need 4 NVLink-connected 8-GPU sets; 3 exist free/.test(c.message);
    }, 'WaitingForGang with the gang reason');
    expect((await podsOf('toobig')).filter((p) => p.spec.nodeName)).toHaveLength(0);
    await remove('toobig');
  });

  it('an 8-GPU require-nvlink task on nodes without such a set shows the extender\'s reason in its status', async () => {
    await cp.request('POST', '/apis/linkpack.io/v1alpha1/mltaskclasses', { apiVersion: 'linkpack.io/v1alpha1', kind: 'MLTaskClass', metadata: { name: 'pcie' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'p1' } } });
    await cp.request('POST', BASE, mltask('nonv', { className: 'pcie', parallelism: 1, resources: { gpus: 8, cpu: '1' }, gpu: { topology: 'require-nvlink' } }));
    await until('nonv', async () => {
      const c = (await task('nonv'))?.status?.conditions?.find((x: KObj) => x.type === 'WaitingForGang');
      return c?.reason === 'Unschedulable' && /no NVLink-connected set of 8/.test(c.message);
    }, 'WaitingForGang with the NVLink reason');
    expect((await podsOf('nonv')).filter((p) => p.spec.nodeName)).toHaveLength(0);
    await remove('nonv');
  });

  it('a memory floor above every GPU waits with the numbers and the field that asked', async () => {
    await cp.request('POST', BASE, mltask('bigmem', { parallelism: 1, gpu: { model: 'H100', memoryMin: '80Gi' } }));
    await until('bigmem', async () => {
      const c = (await task('bigmem'))?.status?.conditions?.find((x: KObj) => x.type === 'WaitingForGang');
      return /GPU memory 81559 MiB < 81920 MiB asked \(memoryMin 80Gi\)/.test(c?.message ?? '');
    }, 'WaitingForGang naming the memory numbers');
    await remove('bigmem');
  });

  it('changing the worker count while running restarts the gang at the new size (never mixed)', async () => {
    await cp.request('POST', BASE, mltask('grow', { parallelism: 2 }));
    await runningGang('grow', 2);
    const cur = (await task('grow'))!;
    await cp.request('PUT', `${BASE}/grow`, { ...cur, spec: { ...cur.spec, parallelism: 3 } });
    await until('grow', async () => (await job('grow'))?.spec?.parallelism === 3, 'a Job of 3 workers');
    const pods = await runningGang('grow', 3);
    // Every live worker sees the same world size.
    expect(new Set(pods.map((p) => p.spec.containers[0].env.find((e: KObj) => e.name === 'NNODES').value))).toEqual(new Set(['3']));
    expect((await task('grow'))!.status).toMatchObject({ restarts: 0, uncountedRestarts: 1 });
    await remove('grow');
  });
});
