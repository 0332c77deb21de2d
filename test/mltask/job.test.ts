/**
 * Mode Job, pure parts: the Indexed Job rendering (run to completion, gang failure policy, DNS,
 * torchrun rank), the class merge, secrets by reference, the new fields' validation, and planJob's
 * decisions (gang restart counted once, disruptions not, deadline, queue, spec change).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chooseClass, parseMLTaskClass, type MLTaskClass } from '../../src/mltask/class.js';
import { ANN_SPEC_HASH, renderJob, renderTask, type KubeObject } from '../../src/mltask/render.js';
import { planJob, type JobObservation } from '../../src/mltask/status.js';
import type { MLTask } from '../../src/mltask/types.js';
import { parseMLTask } from '../../src/mltask/validate.js';
import { exampleRaw, rawTask, task } from './fixtures.js';
import { memoryAdvice } from '../../src/mltask/advice.js';
import { renderText } from '../../src/mltask/command.js';

const T0 = '2025-01-01T00:00:00Z';
const envOf = (obj: KubeObject): Record<string, KubeObject> => Object.fromEntries(obj.spec.template.spec.containers[0].env.map((e: KubeObject) => [e.name, e]));
const errorsOf = (raw: KubeObject): string[] => {
  const r = parseMLTask(raw);
  return r.ok ? [] : r.errors;
};

function cls(spec: KubeObject, name = 'gpu-default', annotations: Record<string, string> = {}): MLTaskClass {
  const r = parseMLTaskClass({ apiVersion: 'linkpack.io/v1alpha1', kind: 'MLTaskClass', metadata: { name, annotations }, spec });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}

describe('renderJob', () => {
  const t = task({ parallelism: 4, resources: { gpus: 2 }, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 600 });
  const job = renderJob(t);

  it('an Indexed Job: completions = parallelism = workers, restartPolicy Never, one failure fails it', () => {
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'train', namespace: 'ml' } });
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4, backoffLimit: 0, suspend: false, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 600 });
    expect(job.spec.podFailurePolicy.rules).toEqual([
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { containerName: 'worker', operator: 'NotIn', values: [0] } },
    ]);
    expect(job.spec.template.spec).toMatchObject({ restartPolicy: 'Never', subdomain: 'train', schedulerName: 'linkpack-scheduler' });
    expect(job.metadata.ownerReferences[0]).toMatchObject({ kind: 'MLTask', uid: 'uid-1', controller: true });
  });

  it('torchrun: worker 0 by its stable DNS name, rank from the completion index', () => {
    const env = envOf(job);
    expect(env.MASTER_ADDR!.value).toBe('train-0.train');
    expect(env.WORLD_SIZE!.value).toBe('8');
    for (const k of ['NODE_RANK', 'PET_NODE_RANK']) expect(env[k]!.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } });
  });

  it('the deadline is the task\'s over all attempts; a per-worker claim becomes an ephemeral volume', () => {
    expect(renderJob(t, { elapsedSeconds: 1000.7 }).spec.activeDeadlineSeconds).toBe(2600);
    expect(renderJob(t, { elapsedSeconds: 99999 }).spec.activeDeadlineSeconds).toBe(1);
    const eph = renderJob(task({ scratch: { size: '100Gi', storageClassName: 'nvme' } }));
    expect(eph.spec.template.spec.volumes.find((v: KubeObject) => v.name === 'scratch').ephemeral.volumeClaimTemplate.spec).toMatchObject({ storageClassName: 'nvme' });
  });

  it('the task\'s labels and annotations reach the Job and its pods; a queue label starts it suspended', () => {
    const raw = rawTask();
    raw.metadata.labels = { 'kueue.x-k8s.io/queue-name': 'team-a', team: 'nlp' };
    raw.metadata.annotations = { 'example.com/owner': 'ana', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    const p = parseMLTask(raw);
    if (!p.ok) throw new Error(p.errors.join());
    const j = renderJob(p.task);
    expect(j.spec.suspend).toBe(true);
    // A suspended task renders what the controller creates: the Job, suspended.
    expect(renderJob(task({ suspend: true })).spec.suspend).toBe(true);
    expect(j.metadata.labels).toMatchObject({ 'kueue.x-k8s.io/queue-name': 'team-a', team: 'nlp', 'linkpack.io/mltask': 'train' });
    expect(j.spec.template.metadata.labels).toMatchObject({ 'kueue.x-k8s.io/queue-name': 'team-a', team: 'nlp' });
    expect(j.spec.template.metadata.annotations['example.com/owner']).toBe('ana');
    expect(j.spec.template.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
  });

  it('secrets stay references: valueFrom, envFrom and data credentials never carry a value', () => {
    const j = renderJob(
      task({
        trainingData: { uri: 's3://data/x', credentialsSecret: 's3-creds' },
        env: [{ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'apiKey' } } }, { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode', optional: true } } }],
        envFrom: [{ secretRef: { name: 'hf-token' }, prefix: 'HF_' }],
      }),
    );
    const c = j.spec.template.spec.containers[0];
    expect(envOf(j).WANDB_API_KEY).toEqual({ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'apiKey' } } });
    expect(envOf(j).MODE!.valueFrom.configMapKeyRef.optional).toBe(true);
    expect(c.envFrom).toEqual([{ secretRef: { name: 's3-creds' } }, { prefix: 'HF_', secretRef: { name: 'hf-token' } }]);
  });

  it('a spec change changes spec-hash; the deadline left and the class do not', () => {
    const h = (x: KubeObject) => x.metadata.annotations[ANN_SPEC_HASH];
    expect(h(renderJob(task({ parallelism: 8 })))).not.toBe(h(renderJob(task())));
    expect(h(renderJob(t, { elapsedSeconds: 5 }))).toBe(h(job));
    expect(h(renderJob({ ...t, spec: { ...t.spec, suspend: true } }))).toBe(h(job));
    expect(h(renderJob(t, { cls: cls({ shmSize: '1Gi' }) }))).toBe(h(job));
  });

  it('world size and completions agree for every size (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 0, max: 16 }), (n, g) => {
        const j = renderJob(task({ parallelism: n, resources: { gpus: g } }));
        expect(j.spec.completions).toBe(n);
        expect(j.spec.parallelism).toBe(n);
        expect(Number(envOf(j).WORLD_SIZE!.value)).toBe(n * Math.max(1, g));
      }),
      { numRuns: 50 },
    );
  });
});

describe('MLTaskClass', () => {
  const platform = cls(
    {
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      nodeSelector: { 'node.kubernetes.io/instance-type': 'p5.48xlarge' },
      priorityClassName: 'training',
      serviceAccountName: 'trainer',
      imagePullSecrets: [{ name: 'registry' }],
      securityContext: { runAsNonRoot: true },
      shmSize: '64Gi',
      resources: { 'rdma/hca': '1' },
      volumes: [{ name: 'datasets-cache', hostPath: { path: '/mnt/cache' } }],
      volumeMounts: [{ name: 'datasets-cache', mountPath: '/cache' }],
      env: [{ name: 'NCCL_IB_HCA', value: 'mlx5' }, { name: 'PYTHONUNBUFFERED', value: '0' }],
      gpu: { model: 'H100', memoryMin: '79Gi' },
    },
    'h100',
    { 'linkpack.io/default-class': 'true' },
  );

  it('merges pod-template settings into every worker; the task\'s own env wins', () => {
    const j = renderJob(task({ env: [{ name: 'PYTHONUNBUFFERED', value: '1' }] }), { cls: platform });
    const pod = j.spec.template.spec;
    const c = platform.spec;
    expect(pod).toMatchObject({ tolerations: c.tolerations, nodeSelector: c.nodeSelector, priorityClassName: 'training', serviceAccountName: 'trainer', imagePullSecrets: c.imagePullSecrets, securityContext: c.securityContext });
    expect(pod.volumes).toContainEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '64Gi' } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'shm', mountPath: '/dev/shm' });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'datasets-cache', mountPath: '/cache' });
    expect(pod.containers[0].resources.limits['rdma/hca']).toBe('1');
    expect(pod.containers[0].resources.requests['rdma/hca']).toBe('1');
    expect(envOf(j).NCCL_IB_HCA!.value).toBe('mlx5');
    expect(envOf(j).PYTHONUNBUFFERED!.value).toBe('1');
    expect(j.spec.template.metadata.annotations).toMatchObject({ 'linkpack.io/gpu-model': 'H100', 'linkpack.io/gpu-memory-min': '79Gi' });
    // The task's own GPU preference wins over the class's.
    const own = renderJob(task({ gpu: { model: 'H200' } }), { cls: platform });
    expect(own.spec.template.metadata.annotations['linkpack.io/gpu-model']).toBe('H200');
    // Instance mode gets the class too.
    expect(renderTask(task({ mode: 'Instance' }), undefined, platform).workload.spec.template.spec.tolerations).toHaveLength(1);
  });

  it('the named class, else the one default; a missing class or two defaults is said', () => {
    const other = cls({}, 'cpu');
    expect(chooseClass(task(), [other, platform])).toEqual({ ok: true, cls: platform });
    expect(chooseClass(task({ className: 'cpu' }), [other, platform])).toEqual({ ok: true, cls: other });
    expect(chooseClass(task({ className: 'nope' }), [platform])).toEqual({ ok: false, reason: 'MLTaskClass nope (spec.className) does not exist' });
    expect(chooseClass(task(), [other])).toEqual({ ok: true });
    const two = chooseClass(task(), [platform, cls({ default: true }, 'b')]);
    expect(two.ok).toBe(false);
  });

  it('refuses bad classes naming the field', () => {
    const bad = parseMLTaskClass({ metadata: { name: 'x' }, spec: { shmSize: '0', resources: { cpu: '1', 'rdma/hca': 'lots' }, volumes: [{ name: 'shm' }], volumeMounts: [{ name: 'nope', mountPath: '/dev/shm' }], env: [{ name: 'MASTER_ADDR', value: 'x' }], tolerance: [] } });
    expect(bad.ok).toBe(false);
    const errs = bad.ok ? [] : bad.errors;
    for (const f of ['spec.tolerance', 'spec.shmSize', 'spec.resources.cpu', 'spec.resources.rdma/hca', 'spec.volumes[0].name', 'spec.volumeMounts[0].mountPath', 'spec.volumeMounts[0].name', 'spec.env[0].name']) expect(errs.some((e) => e.startsWith(`${f}:`))).toBe(true);
  });
});

describe('validation of the new fields', () => {
  it('mode defaults to Job; the example parses and its GPU memory fits an H100 80GB (81559 MiB)', () => {
    const ex = parseMLTask(exampleRaw());
    expect(ex.ok).toBe(true);
    if (!ex.ok) return;
    expect(ex.task.spec.mode).toBe('Job');
    const m = /^(\d+)(Mi|Gi)$/.exec(ex.task.spec.gpu.memoryMin ?? '');
    const mib = m ? Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1) : NaN;
    expect(mib).toBeLessThanOrEqual(81559);
  });

  it('a memory floor no known GPU of the model meets is told with the numbers, offline', () => {
    expect(memoryAdvice(task({ gpu: { model: 'H100', memoryMin: '80Gi' } }).spec)).toBe(
      'spec.gpu.memoryMin: 80Gi = 81920 MiB is more than any known H100 reports (NVIDIA H100 80GB HBM3 81559 MiB, NVIDIA H100 PCIe 81559 MiB): it never fits; ask at most 81559Mi (e.g. 79Gi)',
    );
    expect(memoryAdvice(task({ gpu: { model: 'H100', memoryMin: '79Gi' } }).spec)).toBeUndefined();
    expect(memoryAdvice(task({ gpu: { model: 'B200', memoryMin: '180Gi' } }).spec)).toBeUndefined();
    const raw = exampleRaw();
    raw.spec.gpu.memoryMin = '80Gi';
    const r = renderText(JSON.stringify(raw), 'x.json');
    expect(r.errors).toEqual([]);
    expect(r.notes).toEqual([expect.stringMatching(/^x\.json:1: spec\.gpu\.memoryMin: 80Gi = 81920 MiB is more than any known H100/)]);
    expect(renderText(JSON.stringify(exampleRaw()), 'ok.json').notes).toEqual([]);
  });

  it('every bad field named', () => {
    const errs = errorsOf(
      rawTask({
        mode: 'Batch',
        className: 'Bad_Class',
        env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'B', valueFrom: { secretKeyRef: { name: 's' } } }, { name: 'C', valueFrom: {} }],
        envFrom: [{ secretRef: { name: 's' }, configMapRef: { name: 'c' } }, { prefix: 'PET_', secretRef: { name: 's' } }],
        modelOutput: { pvc: { claimName: 'out' }, credentialsSecret: 's' },
        activeDeadlineSeconds: 0,
        ttlSecondsAfterFinished: 10_000_000,
      }),
    );
    expect(errs).toEqual([
      'spec.mode: must be one of Job, Instance (got "Batch")',
      'spec.className: "Bad_Class" is not an MLTaskClass name',
      'spec.envFrom[0]: must set exactly one of secretRef or configMapRef (both are set)',
      'spec.envFrom[1].prefix: PET_ would give reserved names (PET_*)',
      'spec.env[0]: set value or valueFrom, not both',
      'spec.env[1].valueFrom.secretKeyRef.key: required',
      'spec.env[2].valueFrom: must set exactly one of secretKeyRef or configMapKeyRef (neither is set)',
      'spec.modelOutput.credentialsSecret: only with uri (a PVC needs no credentials)',
      'spec.activeDeadlineSeconds: must be ≥ 1 (got 0)',
      'spec.ttlSecondsAfterFinished: must be ≤ 604800 (got 10000000)',
    ]);
    expect(errorsOf(rawTask({ mode: 'Instance', ttlSecondsAfterFinished: 5 }))).toEqual(['spec.ttlSecondsAfterFinished: only for mode Job (an instance runs until deleted)']);
  });

  it('an unknown linkpack.io annotation is refused by name, with the nearest known key', () => {
    const raw = rawTask();
    raw.metadata.annotations = { 'linkpack.io/topolgy': 'require-nvlink', 'linkpack.io/policy': 'spread', 'example.com/x': 'y' };
    expect(errorsOf(raw)).toEqual(['metadata.annotations.linkpack.io/topolgy: unknown linkpack.io annotation; did you mean "linkpack.io/topology"?']);
  });
});

describe('planJob', () => {
  const t = task({ parallelism: 2, backoffLimit: 1 });
  const wantHash = renderJob(t).metadata.annotations[ANN_SPEC_HASH];
  const job = (status: KubeObject = {}, extra: KubeObject = {}): KubeObject => ({ metadata: { name: 'train', uid: 'job-1', annotations: { [ANN_SPEC_HASH]: wantHash }, ...extra }, spec: { suspend: false }, status });
  const obs = (o: Partial<JobObservation>): JobObservation => ({ pods: [], disrupted: false, wantHash, queued: false, ...o });
  const jpod = (i: number, phase: string, o: { code?: number; disrupted?: boolean; unschedulable?: string; node?: string; gpus?: string } = {}): KubeObject => ({
    metadata: { name: `train-${i}-abc`, uid: `p${i}-${phase}`, labels: { 'batch.kubernetes.io/job-completion-index': String(i) }, annotations: o.gpus ? { 'linkpack.io/assigned-gpus': o.gpus } : {}, creationTimestamp: T0 },
    spec: o.node ? { nodeName: o.node } : {},
    status: {
      phase,
      conditions: [
        ...(o.disrupted ? [{ type: 'DisruptionTarget', status: 'True' }] : []),
        ...(o.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: o.unschedulable }] : []),
        { type: 'Ready', status: phase === 'Running' ? 'True' : 'False' },
      ],
      containerStatuses: [{ name: 'worker', state: o.code === undefined ? { running: {} } : { terminated: { exitCode: o.code } } }],
    },
  });
  const withStatus = (x: MLTask, s: MLTask['status']): MLTask => ({ ...x, status: s });

  it('no Job: create; waiting for the gang with the scheduler\'s reason; Running with placement', () => {
    expect(planJob(t, obs({}), T0)).toMatchObject({ action: { kind: 'create' }, status: { phase: 'WaitingForGang', mode: 'Job', restarts: 0 } });
    const waiting = planJob(t, obs({ job: job(), pods: [jpod(0, 'Pending', { unschedulable: '0/3 nodes are available: gang abc: 2 workers need 2 NVLink-connected 2-GPU sets; 1 exist free' }), jpod(1, 'Pending')] }), T0);
    expect(waiting.status.phase).toBe('WaitingForGang');
    const mem = task({ parallelism: 2, gpu: { memoryMin: '80Gi' } });
    const memHash = renderJob(mem).metadata.annotations[ANN_SPEC_HASH];
    const short = planJob(mem, obs({ job: job({}, { annotations: { [ANN_SPEC_HASH]: memHash } }), pods: [jpod(0, 'Pending', { unschedulable: '0/3 nodes are available: 3 GPU memory 81559 MiB < 81920 MiB asked.' })], wantHash: memHash }), T0);
    expect(short.status.conditions.find((c) => c.type === 'WaitingForGang')!.message).toContain('GPU memory 81559 MiB < 81920 MiB asked (memoryMin 80Gi)');
    expect(waiting.status.conditions.find((c) => c.type === 'WaitingForGang')).toMatchObject({ reason: 'Unschedulable', message: expect.stringMatching(/^0\/2 workers running; worker 0: .*2 NVLink-connected/) });
    const running = planJob(t, obs({ job: job(), pods: [jpod(0, 'Running', { node: 'n1', gpus: '0:GPU-a,1:GPU-b' }), jpod(1, 'Running', { node: 'n2' })] }), T0);
    expect(running.status).toMatchObject({ phase: 'Running', startTime: T0, jobUID: 'job-1', readyWorkers: 2 });
    expect(running.status.workers[0]).toMatchObject({ index: 0, node: 'n1', gpus: '0:GPU-a,1:GPU-b' });
    // A worker that finished counts as part of the running gang (it is not run again).
    expect(planJob(t, obs({ job: job(), pods: [jpod(0, 'Succeeded', { code: 0 }), jpod(1, 'Running')] }), T0).status.phase).toBe('Running');
  });

  it('a worker failure restarts the whole gang, counted once however often the pass repeats', () => {
    const failedJob = job({ conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy' }] });
    const pods = [jpod(0, 'Failed', { code: 1 }), jpod(1, 'Running')];
    const first = planJob(t, obs({ job: failedJob, pods }), T0);
    expect(first.action).toEqual({ kind: 'restart', jobUID: 'job-1' });
    expect(first.status).toMatchObject({ phase: 'GangRestarting', restarts: 1, uncountedRestarts: 0, endedJobUID: 'job-1' });
    expect(first.status.conditions.find((c) => c.type === 'GangRestarting')).toMatchObject({ reason: 'WorkerFailed', message: 'worker 0 (pod train-0-abc) exited 1: restarting all 2 workers (restart 1 of backoffLimit 1)' });
    // The same Job seen again (delete not yet visible): no second count.
    const again = planJob(withStatus(t, first.status), obs({ job: failedJob, pods }), T0);
    expect(again.status.restarts).toBe(1);
    expect(again.action.kind).toBe('restart');
    const going = planJob(withStatus(t, first.status), obs({ job: job({}, { deletionTimestamp: T0 }) }), T0);
    expect(going).toMatchObject({ action: { kind: 'wait' }, status: { phase: 'GangRestarting', restarts: 1 } });
    const gone = planJob(withStatus(t, going.status), obs({}), T0);
    expect(gone).toMatchObject({ action: { kind: 'create' }, status: { phase: 'GangRestarting', restarts: 1 } });
    // The next attempt fails too: backoffLimit 1 is spent.
    const second = planJob(withStatus(t, gone.status), obs({ job: { ...failedJob, metadata: { ...failedJob.metadata, uid: 'job-2' } }, pods }), T0);
    expect(second).toMatchObject({ action: { kind: 'none' }, status: { phase: 'Failed', restarts: 1 } });
    expect(second.status.conditions.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded' });
  });

  it('a disruption restarts the gang without counting, even when the Job itself failed', () => {
    const d = planJob(t, obs({ job: job({ conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }), pods: [jpod(0, 'Failed', { disrupted: true }), jpod(1, 'Running')], disrupted: true }), T0);
    expect(d.status).toMatchObject({ phase: 'GangRestarting', restarts: 0, uncountedRestarts: 1 });
    expect(d.status.conditions.find((c) => c.type === 'GangRestarting')!.reason).toBe('Disruption');
  });

  it('deadline → Failed with reason DeadlineExceeded; Complete → Succeeded; both final', () => {
    const dl = planJob(task({ activeDeadlineSeconds: 60 }), obs({ job: job({ conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] }) }), T0);
    expect(dl.status.phase).toBe('Failed');
    expect(dl.status.conditions.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'DeadlineExceeded', message: expect.stringContaining('activeDeadlineSeconds 60') });
    const ok = planJob(t, obs({ job: job({ conditions: [{ type: 'Complete', status: 'True' }] }), pods: [jpod(0, 'Succeeded', { code: 0, node: 'n1' }), jpod(1, 'Succeeded', { code: 0 })] }), T0);
    expect(ok.status).toMatchObject({ phase: 'Succeeded', completionTime: T0 });
    // After the TTL removed Job and pods: still Succeeded, nothing created again, placement kept.
    const after = planJob(withStatus(t, ok.status), obs({}), '2025-01-01T01:00:00Z');
    expect(after).toMatchObject({ action: { kind: 'none' }, status: { phase: 'Succeeded', completionTime: T0 } });
    expect(after.status.workers[0]!.node).toBe('n1');
  });

  it('queued by Kueue: Queued, and the controller never unsuspends; spec.suspend without a queue is the controller\'s', () => {
    const q = planJob(t, obs({ job: job({}, {}), queued: true }), T0);
    const suspendedJob = { ...job(), spec: { suspend: true } };
    expect(planJob(t, obs({ job: suspendedJob, queued: true }), T0)).toMatchObject({ action: { kind: 'none' }, status: { phase: 'Queued' } });
    expect(q.action.kind).toBe('none');
    expect(planJob(task({ suspend: true }), obs({ job: job() }), T0)).toMatchObject({ action: { kind: 'suspend', suspend: true }, status: { phase: 'Suspended' } });
    expect(planJob(t, obs({ job: suspendedJob }), T0)).toMatchObject({ action: { kind: 'suspend', suspend: false } });
  });

  it('a spec change while running restarts the gang at the new size, uncounted; a missing class waits', () => {
    const bigger = task({ parallelism: 4 });
    const c = planJob(bigger, obs({ job: job(), pods: [jpod(0, 'Running'), jpod(1, 'Running')], wantHash: renderJob(bigger).metadata.annotations[ANN_SPEC_HASH] }), T0);
    expect(c).toMatchObject({ action: { kind: 'restart' }, status: { phase: 'GangRestarting', uncountedRestarts: 1, restarts: 0 } });
    expect(c.status.conditions.find((x) => x.type === 'GangRestarting')!.reason).toBe('SpecChanged');
    const nc = planJob(t, obs({ classProblem: 'MLTaskClass x (spec.className) does not exist' }), T0);
    expect(nc).toMatchObject({ action: { kind: 'none' }, status: { phase: 'Pending' } });
    expect(nc.status.conditions.find((x) => x.type === 'Pending')).toMatchObject({ reason: 'ClassNotFound' });
  });
});
