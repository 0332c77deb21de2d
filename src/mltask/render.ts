/**
 * MLTask (+ its MLTaskClass) → the headless Service and the workload the controller keeps in
 * place: an Indexed Job (mode Job) or a StatefulSet (mode Instance). Pure: the same inputs give the
 * same objects, byte for byte, so `linkpack mltask render` shows exactly what the controller
 * creates. Hashes on the workload let the reconciler diff against its own rendering instead of the
 * server-defaulted object: `spec-hash` (anything changed → update, or for a Job a gang restart) and
 * `immutable-hash` (fields a StatefulSet cannot change → delete and recreate).
 */
import { createHash } from 'node:crypto';
import {
  ANN_GANG,
  ANN_GPU_MEMORY_MIN,
  ANN_GPU_MODEL,
  ANN_POLICY,
  ANN_TOPOLOGY,
  GPU_RESOURCE,
  GROUP_VERSION,
  LABEL_MLTASK,
} from '../api/annotations.js';
import { withClassGpu, type MLTaskClass } from './class.js';
import {
  JOB_INDEX_LABEL,
  KUEUE_QUEUE_LABEL,
  MASTER_PORT,
  MLTASK_KIND,
  MOUNT_MODEL_OUTPUT,
  MOUNT_SCRATCH,
  MOUNT_SHM,
  MOUNT_TRAINING_DATA,
  POD_INDEX_LABEL,
  SCHEDULER_NAME,
  WORKER_CONTAINER,
  type DataSource,
  type MLTask,
} from './types.js';
import { canonicalJson } from '../kube/canonical-json.js';

// Re-exported: the reconciler compares with it too.
export { canonicalJson };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = Record<string, any>;

export const ANN_SPEC_HASH = 'linkpack.io/spec-hash';
export const ANN_IMMUTABLE_HASH = 'linkpack.io/immutable-hash';
export const MANAGED_BY = 'linkpack-controller';
/** Used by `linkpack mltask render` for a task that has not been created yet. */
export const PLACEHOLDER_UID = '00000000-0000-0000-0000-000000000000';

export interface Rendered {
  service: KubeObject;
  /** The Indexed Job (mode Job) or the StatefulSet (mode Instance). */
  workload: KubeObject;
}

export function shortHash(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, 16);
}

export function ownerReference(task: MLTask): KubeObject {
  return {
    apiVersion: GROUP_VERSION,
    kind: MLTASK_KIND,
    name: task.metadata.name,
    uid: task.metadata.uid || PLACEHOLDER_UID,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function selectorLabels(task: MLTask): Record<string, string> {
  return { [LABEL_MLTASK]: task.metadata.name };
}

/** The task's own labels reach every object and pod (Kueue's queue name among them); ours win. */
function labels(task: MLTask): Record<string, string> {
  return { ...(task.metadata.labels ?? {}), ...selectorLabels(task), 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/component': 'worker' };
}

/** Worker 0's stable DNS name, through the governing Service (the pod's search path adds the namespace). */
export function masterAddr(task: MLTask): string {
  return `${task.metadata.name}-0.${task.metadata.name}`;
}

/** The gang annotation: `<uid>/<workers>`. */
export function gangValue(task: MLTask): string {
  return `${task.metadata.uid || PLACEHOLDER_UID}/${task.spec.parallelism}`;
}

export function renderService(task: MLTask): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: task.metadata.name,
      namespace: task.metadata.namespace,
      labels: labels(task),
      ownerReferences: [ownerReference(task)],
    },
    spec: {
      clusterIP: 'None',
      // Rank 0 must resolve before it is Ready, or the rendezvous never starts.
      publishNotReadyAddresses: true,
      selector: selectorLabels(task),
      ports: [{ name: 'rendezvous', port: MASTER_PORT, targetPort: MASTER_PORT, protocol: 'TCP' }],
    },
  };
}

function dataLocation(src: DataSource, mount: string): string {
  return 'uri' in src ? src.uri : mount;
}

function podAnnotations(task: MLTask): Record<string, string> {
  const g = task.spec.gpu;
  // The task's annotations (validated: linkpack.io/* keys are the pod vocabulary) reach the pods; spec.gpu wins.
  const out: Record<string, string> = { ...(task.metadata.annotations ?? {}) };
  if (task.spec.resources.gpus > 0) {
    out[ANN_TOPOLOGY] = g.topology;
    out[ANN_POLICY] = g.policy;
    if (g.model) out[ANN_GPU_MODEL] = g.model;
    if (g.memoryMin) out[ANN_GPU_MEMORY_MIN] = g.memoryMin;
    // One worker is no gang: deciding it alone keeps the extender's own reason (e.g. the memory numbers).
    if (task.spec.parallelism > 1) out[ANN_GANG] = gangValue(task);
  }
  return out;
}

/** The worker's rank: the StatefulSet's pod-index label, or the Indexed Job's completion index. */
function rankSource(task: MLTask): KubeObject {
  const fieldPath = task.spec.mode === 'Job' ? `metadata.annotations['${JOB_INDEX_LABEL}']` : `metadata.labels['${POD_INDEX_LABEL}']`;
  return { valueFrom: { fieldRef: { fieldPath } } };
}

function env(task: MLTask, cls: MLTaskClass | undefined): KubeObject[] {
  const s = task.spec;
  const nproc = Math.max(1, s.resources.gpus);
  const rank = rankSource(task);
  const fixed: Array<[string, string]> = [
    ['MASTER_ADDR', masterAddr(task)],
    ['MASTER_PORT', String(MASTER_PORT)],
    ['WORLD_SIZE', String(s.parallelism * nproc)],
    ['NNODES', String(s.parallelism)],
    ['NPROC_PER_NODE', String(nproc)],
  ];
  // The class's env first, the task's by the same name wins; secrets stay references (valueFrom).
  const own = new Set((s.env ?? []).map((e) => e.name));
  const out: KubeObject[] = [...(cls?.spec.env ?? []).filter((e) => !own.has(e.name)), ...(s.env ?? [])].map((e) => ({ ...e }));
  for (const [name, value] of fixed) out.push({ name, value });
  out.push({ name: 'NODE_RANK', ...rank });
  // torchrun reads any flag from PET_<FLAG>.
  out.push({ name: 'PET_MASTER_ADDR', value: masterAddr(task) });
  out.push({ name: 'PET_MASTER_PORT', value: String(MASTER_PORT) });
  out.push({ name: 'PET_NNODES', value: String(s.parallelism) });
  out.push({ name: 'PET_NPROC_PER_NODE', value: String(nproc) });
  out.push({ name: 'PET_NODE_RANK', ...rank });
  out.push({ name: 'LINKPACK_TRAINING_DATA', value: dataLocation(s.trainingData, MOUNT_TRAINING_DATA) });
  out.push({ name: 'LINKPACK_MODEL_OUTPUT', value: dataLocation(s.modelOutput, MOUNT_MODEL_OUTPUT) });
  if (s.scratch) out.push({ name: 'LINKPACK_SCRATCH', value: MOUNT_SCRATCH });
  return out;
}

interface VolumePlan {
  volumes: KubeObject[];
  mounts: KubeObject[];
  claimTemplates: KubeObject[];
}

function volumes(task: MLTask, cls: MLTaskClass | undefined): VolumePlan {
  const s = task.spec;
  const plan: VolumePlan = { volumes: [], mounts: [], claimTemplates: [] };
  const pvc = (src: DataSource, name: string, mountPath: string, readOnly: boolean) => {
    if (!('pvc' in src)) return;
    plan.volumes.push({ name, persistentVolumeClaim: { claimName: src.pvc.claimName, ...(readOnly ? { readOnly: true } : {}) } });
    plan.mounts.push({ name, mountPath, ...(readOnly ? { readOnly: true } : {}), ...(src.pvc.subPath ? { subPath: src.pvc.subPath } : {}) });
  };
  pvc(s.trainingData, 'training-data', MOUNT_TRAINING_DATA, true);
  pvc(s.modelOutput, 'model-output', MOUNT_MODEL_OUTPUT, false);
  if (s.scratch) {
    plan.mounts.push({ name: 'scratch', mountPath: MOUNT_SCRATCH });
    if (s.scratch.storageClassName && s.mode === 'Job') {
      // A Job has no volumeClaimTemplates: a generic ephemeral volume is a PVC per pod.
      plan.volumes.push({
        name: 'scratch',
        ephemeral: { volumeClaimTemplate: { metadata: { labels: selectorLabels(task) }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: s.scratch.storageClassName, resources: { requests: { storage: s.scratch.size } } } } },
      });
    } else if (s.scratch.storageClassName) {
      plan.claimTemplates.push({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'scratch', labels: selectorLabels(task) },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: s.scratch.storageClassName,
          resources: { requests: { storage: s.scratch.size } },
        },
      });
    } else {
      plan.volumes.push({ name: 'scratch', emptyDir: { sizeLimit: s.scratch.size, ...(s.scratch.medium ? { medium: s.scratch.medium } : {}) } });
    }
  }
  const c = cls?.spec;
  if (c?.shmSize) {
    // The runtime's 64 MiB /dev/shm starves PyTorch data loaders; RAM-backed, counted in the pod's memory.
    plan.volumes.push({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: c.shmSize } });
    plan.mounts.push({ name: 'shm', mountPath: MOUNT_SHM });
  }
  for (const v of c?.volumes ?? []) plan.volumes.push(v);
  for (const m of c?.volumeMounts ?? []) plan.mounts.push(m);
  return plan;
}

/** Data credentials by Secret reference, then the class's and the task's envFrom. */
function envFrom(task: MLTask, cls: MLTaskClass | undefined): KubeObject[] {
  const out: KubeObject[] = [];
  for (const src of [task.spec.trainingData, task.spec.modelOutput]) {
    if ('uri' in src && src.credentialsSecret && !out.some((x) => x.secretRef?.name === src.credentialsSecret)) out.push({ secretRef: { name: src.credentialsSecret } });
  }
  for (const e of [...(cls?.spec.envFrom ?? []), ...(task.spec.envFrom ?? [])]) out.push({ ...e });
  return out;
}

function container(task: MLTask, cls: MLTaskClass | undefined, mounts: KubeObject[]): KubeObject {
  const s = task.spec;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const [k, v] of Object.entries(cls?.spec.resources ?? {})) {
    // Extended resources (RDMA): requests must equal limits.
    requests[k] = v;
    limits[k] = v;
  }
  if (s.resources.cpu) requests.cpu = s.resources.cpu;
  if (s.resources.memory) {
    requests.memory = s.resources.memory;
    limits.memory = s.resources.memory;
  }
  if (s.resources.gpus > 0) {
    // Extended resources: requests must equal limits.
    requests[GPU_RESOURCE] = String(s.resources.gpus);
    limits[GPU_RESOURCE] = String(s.resources.gpus);
  }
  return {
    name: WORKER_CONTAINER,
    image: s.image,
    ...(s.command ? { command: s.command } : {}),
    ...(s.args ? { args: s.args } : {}),
    env: env(task, cls),
    ...(envFrom(task, cls).length ? { envFrom: envFrom(task, cls) } : {}),
    ports: [{ name: 'rendezvous', containerPort: MASTER_PORT, protocol: 'TCP' }],
    resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) },
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...(cls?.spec.containerSecurityContext ? { securityContext: cls.spec.containerSecurityContext } : {}),
  };
}

/** The class's pod-level settings (platform-owned: the task cannot set them). */
function classPodFields(cls: MLTaskClass | undefined): KubeObject {
  const c = cls?.spec;
  if (!c) return {};
  return {
    ...(c.serviceAccountName ? { serviceAccountName: c.serviceAccountName } : {}),
    ...(c.priorityClassName ? { priorityClassName: c.priorityClassName } : {}),
    ...(c.nodeSelector ? { nodeSelector: c.nodeSelector } : {}),
    ...(c.affinity ? { affinity: c.affinity } : {}),
    ...(c.tolerations ? { tolerations: c.tolerations } : {}),
    ...(c.imagePullSecrets ? { imagePullSecrets: c.imagePullSecrets } : {}),
    ...(c.securityContext ? { securityContext: c.securityContext } : {}),
  };
}

/** The worker pod template shared by both modes. */
function podTemplate(task: MLTask, cls: MLTaskClass | undefined, plan: VolumePlan): KubeObject {
  const t = withClassGpu(task, cls);
  const job = task.spec.mode === 'Job';
  return {
    metadata: { labels: labels(task), annotations: podAnnotations(t) },
    spec: {
      schedulerName: SCHEDULER_NAME,
      // A Job's workers run to completion; an instance's always restart.
      restartPolicy: job ? 'Never' : 'Always',
      // Indexed Job pods get hostname <job>-<index>; with the Service as subdomain that is <name>-<i>.<name>.
      ...(job ? { subdomain: task.metadata.name } : {}),
      ...classPodFields(cls),
      containers: [container(t, cls, plan.mounts)],
      ...(plan.volumes.length ? { volumes: plan.volumes } : {}),
    },
  };
}

/** The fields of a StatefulSet spec that the API server refuses to change after create. */
export function immutablePart(sts: KubeObject): KubeObject {
  const s = sts.spec ?? {};
  return { selector: s.selector, serviceName: s.serviceName, volumeClaimTemplates: s.volumeClaimTemplates ?? [], podManagementPolicy: s.podManagementPolicy };
}

/**
 * The StatefulSet for `replicas` workers (parallelism while running; 0 when finished or
 * suspended — the replica count is not part of spec-hash, so scaling is never a "change").
 */
export function renderStatefulSet(task: MLTask, replicas: number = task.spec.parallelism, cls?: MLTaskClass): KubeObject {
  const plan = volumes(task, cls);
  const spec: KubeObject = {
    serviceName: task.metadata.name,
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: selectorLabels(task) },
    template: podTemplate(task, cls, plan),
    ...(plan.claimTemplates.length ? { volumeClaimTemplates: plan.claimTemplates } : {}),
    updateStrategy: { type: 'RollingUpdate' },
  };
  const specHash = shortHash(spec);
  const immutableHash = shortHash(immutablePart({ spec }));
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: task.metadata.name,
      namespace: task.metadata.namespace,
      labels: labels(task),
      annotations: { [ANN_SPEC_HASH]: specHash, [ANN_IMMUTABLE_HASH]: immutableHash },
      ownerReferences: [ownerReference(task)],
    },
    spec: { replicas, ...spec },
  };
}

/** Condition type the eviction API, preemption and the taint manager put on a pod they end. */
export const DISRUPTION_TARGET = 'DisruptionTarget';
/** The class merged into a Job (status tells which one). */
export const ANN_CLASS = 'linkpack.io/class';

export interface JobOptions {
  cls?: MLTaskClass;
  /** Seconds of spec.activeDeadlineSeconds already used by earlier attempts (the deadline is the task's). */
  elapsedSeconds?: number;
}

/** Whether a new Job starts suspended: the task says so, or a queue (Kueue) is to admit it. */
export function startsSuspended(task: MLTask): boolean {
  return task.spec.suspend || KUEUE_QUEUE_LABEL in (task.metadata.labels ?? {});
}

/**
 * The Indexed Job of one gang attempt: completions = parallelism = workers, restartPolicy Never, so
 * a worker that exited 0 never runs again and every pod (and its log) stays until the TTL.
 * backoffLimit 0 with a podFailurePolicy: a worker's non-zero exit fails the Job at once (the
 * controller then restarts the whole gang, counted once); a disruption (DisruptionTarget: eviction,
 * preemption, node loss) is ignored by the Job and the controller restarts the gang uncounted.
 * `spec-hash` covers what the task decides (spec, labels, annotations), not the class: editing a
 * class does not restart running gangs; the next attempt takes the class as it is then.
 */
export function renderJob(task: MLTask, opts: JobOptions = {}): KubeObject {
  const s = task.spec;
  const plan = volumes(task, opts.cls);
  const deadline = s.activeDeadlineSeconds === undefined ? undefined : Math.max(1, s.activeDeadlineSeconds - Math.floor(opts.elapsedSeconds ?? 0));
  // suspend is not a change of the gang (it is toggled on the Job), so it is not hashed.
  const specHash = shortHash({ spec: { ...s, suspend: undefined }, labels: task.metadata.labels ?? {}, annotations: task.metadata.annotations ?? {} });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: task.metadata.name,
      namespace: task.metadata.namespace,
      labels: labels(task),
      annotations: { [ANN_SPEC_HASH]: specHash, ...(opts.cls ? { [ANN_CLASS]: opts.cls.name } : {}) },
      ownerReferences: [ownerReference(task)],
    },
    spec: {
      completionMode: 'Indexed',
      completions: s.parallelism,
      parallelism: s.parallelism,
      backoffLimit: 0,
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: DISRUPTION_TARGET, status: 'True' }] },
          { action: 'FailJob', onExitCodes: { containerName: WORKER_CONTAINER, operator: 'NotIn', values: [0] } },
        ],
      },
      suspend: startsSuspended(task),
      ...(deadline !== undefined ? { activeDeadlineSeconds: deadline } : {}),
      ...(s.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: s.ttlSecondsAfterFinished } : {}),
      template: podTemplate(task, opts.cls, plan),
    },
  };
}

export function renderTask(task: MLTask, replicas?: number, cls?: MLTaskClass): Rendered {
  if (task.spec.mode === 'Job') return { service: renderService(task), workload: renderJob(task, cls ? { cls } : {}) };
  return { service: renderService(task), workload: renderStatefulSet(task, replicas, cls) };
}
