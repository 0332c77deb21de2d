/**
 * MLTask → the headless Service and the StatefulSet the controller keeps in place. Pure: the same
 * task gives the same objects, byte for byte, so `linkpack mltask render` shows exactly what the
 * controller creates. Two hashes on the StatefulSet let the reconciler diff against its own
 * rendering instead of the server-defaulted object: `spec-hash` (anything changed → update) and
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
import {
  MASTER_PORT,
  MLTASK_KIND,
  MOUNT_MODEL_OUTPUT,
  MOUNT_SCRATCH,
  MOUNT_TRAINING_DATA,
  POD_INDEX_LABEL,
  SCHEDULER_NAME,
  WORKER_CONTAINER,
  type DataSource,
  type MLTask,
} from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = Record<string, any>;

export const ANN_SPEC_HASH = 'linkpack.io/spec-hash';
export const ANN_IMMUTABLE_HASH = 'linkpack.io/immutable-hash';
export const MANAGED_BY = 'linkpack-controller';
/** Used by `linkpack mltask render` for a task that has not been created yet. */
export const PLACEHOLDER_UID = '00000000-0000-0000-0000-000000000000';

export interface Rendered {
  service: KubeObject;
  statefulSet: KubeObject;
}

/** JSON with object keys sorted: a stable input for hashes. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
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

function labels(task: MLTask): Record<string, string> {
  return { ...selectorLabels(task), 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/component': 'worker' };
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
  const out: Record<string, string> = {};
  if (task.spec.resources.gpus > 0) {
    out[ANN_TOPOLOGY] = g.topology;
    out[ANN_POLICY] = g.policy;
    if (g.model) out[ANN_GPU_MODEL] = g.model;
    if (g.memoryMin) out[ANN_GPU_MEMORY_MIN] = g.memoryMin;
    out[ANN_GANG] = gangValue(task);
  }
  return out;
}

function env(task: MLTask): KubeObject[] {
  const s = task.spec;
  const nproc = Math.max(1, s.resources.gpus);
  const rank = { valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } } };
  const fixed: Array<[string, string]> = [
    ['MASTER_ADDR', masterAddr(task)],
    ['MASTER_PORT', String(MASTER_PORT)],
    ['WORLD_SIZE', String(s.parallelism * nproc)],
    ['NNODES', String(s.parallelism)],
    ['NPROC_PER_NODE', String(nproc)],
  ];
  const out: KubeObject[] = (s.env ?? []).map((e) => ({ name: e.name, value: e.value }));
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

function volumes(task: MLTask): VolumePlan {
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
    if (s.scratch.storageClassName) {
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
  return plan;
}

function container(task: MLTask, mounts: KubeObject[]): KubeObject {
  const s = task.spec;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
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
    env: env(task),
    ports: [{ name: 'rendezvous', containerPort: MASTER_PORT, protocol: 'TCP' }],
    resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) },
    ...(mounts.length ? { volumeMounts: mounts } : {}),
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
export function renderStatefulSet(task: MLTask, replicas: number = task.spec.parallelism): KubeObject {
  const plan = volumes(task);
  const spec: KubeObject = {
    serviceName: task.metadata.name,
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: selectorLabels(task) },
    template: {
      metadata: { labels: labels(task), annotations: podAnnotations(task) },
      spec: {
        schedulerName: SCHEDULER_NAME,
        restartPolicy: 'Always',
        containers: [container(task, plan.mounts)],
        ...(plan.volumes.length ? { volumes: plan.volumes } : {}),
      },
    },
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

export function renderTask(task: MLTask, replicas?: number): Rendered {
  return { service: renderService(task), statefulSet: renderStatefulSet(task, replicas) };
}
