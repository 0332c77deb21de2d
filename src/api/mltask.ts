/**
 * MLTask: the training-job resource, as typed plain data (a contract: DESIGN.md "Contracts").
 * src/mltask/validate.ts turns untrusted JSON/YAML into these (defaults applied); render, status
 * and the reconciler only ever see validated values. src/mltask/types.ts re-exports this file.
 */
import type { PackingPolicy, TopologyMode } from '../core/types.js';

export const MLTASK_KIND = 'MLTask';
export const MLTASK_PLURAL = 'mltasks';
/** The scheduler profile every worker asks for (deploy/scheduler). */
export const SCHEDULER_NAME = 'linkpack-scheduler';
/** torchrun's default rendezvous port (Trainer v2 uses the same). */
export const MASTER_PORT = 29500;
/** The worker container's name (status reads exit codes from it). */
export const WORKER_CONTAINER = 'worker';
/** Set by the StatefulSet controller on each pod (GA in 1.32). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** Set by the Job controller on each pod of an Indexed Job (label since 1.28). */
export const JOB_INDEX_LABEL = 'batch.kubernetes.io/job-completion-index';
/** Kueue's queue label: a task carrying it is created suspended and Kueue unsuspends it. */
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
/** Where an MLTaskClass puts its /dev/shm emptyDir (PyTorch data loaders share memory there). */
export const MOUNT_SHM = '/dev/shm';

/** `spec.mode`: a run-to-completion training job (Indexed Job) or a long-running instance (StatefulSet). */
export const MLTASK_MODES = ['Job', 'Instance'] as const;
export type MLTaskMode = (typeof MLTASK_MODES)[number];
export const DEFAULT_MODE: MLTaskMode = 'Job';

/** Mount points inside each worker. */
export const MOUNT_TRAINING_DATA = '/data/training';
export const MOUNT_MODEL_OUTPUT = '/data/output';
export const MOUNT_SCRATCH = '/scratch';

/** Defaults (the CRD's OpenAPI `default:` values are the same numbers). */
export const DEFAULT_PARALLELISM = 1;
export const DEFAULT_GPUS = 1;
export const DEFAULT_BACKOFF_LIMIT = 3;
export const DEFAULT_TOPOLOGY: TopologyMode = 'prefer-nvlink';
export const DEFAULT_POLICY: PackingPolicy = 'binpack';

/** Ranges (the CRD's minimum/maximum). */
export const MAX_PARALLELISM = 512;
export const MAX_GPUS_PER_WORKER = 16;
export const MAX_BACKOFF_LIMIT = 1000;
/** A week: longer deadlines and TTLs are almost surely a unit mistake (ms for s). */
export const MAX_DURATION_SECONDS = 7 * 24 * 3600;
/**
 * StatefulSet pods carry `controller-revision-hash: <name>-<10 chars>`, a 63-character label
 * value; Indexed Job pods' hostname `<name>-<index>` must be a 63-character label too (index ≤ 511).
 */
export const MAX_NAME_LENGTH = 52;

/** Environment names the controller sets; a user may not set them. */
export const RESERVED_ENV = [
  'MASTER_ADDR',
  'MASTER_PORT',
  'WORLD_SIZE',
  'NNODES',
  'NPROC_PER_NODE',
  'NODE_RANK',
  'LINKPACK_TRAINING_DATA',
  'LINKPACK_MODEL_OUTPUT',
  'LINKPACK_SCRATCH',
] as const;
/** Every PET_* name is torchrun's; reserved too. */
export const RESERVED_ENV_PREFIX = 'PET_';

/** A URI may name a Secret with its credentials (given to the workers as envFrom, never copied). */
export type DataSource = { uri: string; credentialsSecret?: string } | { pvc: { claimName: string; subPath?: string } };

export interface ScratchSpec {
  /** A Kubernetes quantity: `100Gi`. */
  size: string;
  medium?: 'Memory';
  /** Set: a per-worker PersistentVolumeClaim of this class instead of an emptyDir. */
  storageClassName?: string;
}

/** A key of a Secret or ConfigMap: Kubernetes' own shape, so the value never enters the task. */
export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** `{name, value}` or `{name, valueFrom: {secretKeyRef | configMapKeyRef}}`, as in a pod spec. */
export type EnvVar = { name: string; value: string } | { name: string; valueFrom: { secretKeyRef: KeyRef } | { configMapKeyRef: KeyRef } };

/** A whole Secret or ConfigMap as environment, as in a pod spec's envFrom. */
export type EnvFromSource = { prefix?: string } & ({ secretRef: { name: string; optional?: boolean } } | { configMapRef: { name: string; optional?: boolean } });

export interface GpuPreferences {
  model?: string;
  /** `80Gi`, `81920` (MiB): the linkpack.io/gpu-memory-min vocabulary. */
  memoryMin?: string;
  topology: TopologyMode;
  policy: PackingPolicy;
}

export interface MLTaskSpec {
  mode: MLTaskMode;
  /** An MLTaskClass; absent = the class marked default (if any). */
  className?: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  trainingData: DataSource;
  modelOutput: DataSource;
  scratch?: ScratchSpec;
  parallelism: number;
  resources: { gpus: number; cpu?: string; memory?: string };
  gpu: GpuPreferences;
  /** Job: gang restarts tolerated (each failed attempt counts once); Instance: worker failures. */
  backoffLimit: number;
  suspend: boolean;
  /** Job mode: the whole task's time limit (all attempts), then Failed with reason DeadlineExceeded. */
  activeDeadlineSeconds?: number;
  /** Job mode: pods, logs and the Job are kept this long after the end, then deleted (Job TTL controller). */
  ttlSecondsAfterFinished?: number;
}

export interface ObjectMetaLite {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Instance mode uses Pending/Running/Succeeded/Failed/Suspended; Job mode adds Queued (suspended by
 * a queue), WaitingForGang (not every worker Running yet) and GangRestarting (old gang going away).
 */
export type MLTaskPhase = 'Pending' | 'Queued' | 'WaitingForGang' | 'Running' | 'GangRestarting' | 'Succeeded' | 'Failed' | 'Suspended';
export const MLTASK_PHASES: readonly MLTaskPhase[] = ['Pending', 'Queued', 'WaitingForGang', 'Running', 'GangRestarting', 'Succeeded', 'Failed', 'Suspended'];
export const TERMINAL_PHASES: readonly MLTaskPhase[] = ['Succeeded', 'Failed'];

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface WorkerStatus {
  /** Ordinal = NODE_RANK. */
  index: number;
  pod?: string;
  podUID?: string;
  node?: string;
  /** `0:GPU-aaa,1:GPU-bbb` as the extender wrote it at bind. */
  gpus?: string;
  /** The worker's GPUs form an NVLink-connected set (from the extender's decision); absent = unknown. */
  nvlink?: boolean;
  ready: boolean;
  /** This worker's container has exited 0 once: it is done (sticky across pod re-creation). */
  succeeded: boolean;
  /** Non-zero terminations of this worker, over all its pods. */
  failures: number;
  /** Of `failures`, those counted on the current pod (podUID); lets a recreated pod start from 0. */
  podFailures: number;
}

export interface MLTaskStatus {
  phase: MLTaskPhase;
  mode?: MLTaskMode;
  observedGeneration: number;
  readyWorkers: number;
  /** `ready/total`, for the printer column. */
  ready: string;
  totalWorkers: number;
  /** Σ workers' failures; Failed once this exceeds backoffLimit. */
  failures: number;
  /** GPUs of the whole task (workers × gpus), for the printer column. */
  gpus: number;
  topology: TopologyMode;
  workers: WorkerStatus[];
  conditions: Condition[];
  /** Job mode: gang restarts that counted against backoffLimit (a failed worker). */
  restarts?: number;
  /** Job mode: gang restarts that did not count (eviction, preemption, node loss, spec change). */
  uncountedRestarts?: number;
  /** Job mode: the uid of the Job now running the gang. */
  jobUID?: string;
  /** Job mode: the uid of the last Job the controller ended for a gang restart (decided once per Job). */
  endedJobUID?: string;
  /** The MLTaskClass merged into the workers. */
  className?: string;
  startTime?: string;
  completionTime?: string;
}

export interface MLTask {
  metadata: ObjectMetaLite;
  spec: MLTaskSpec;
  status?: MLTaskStatus;
}
