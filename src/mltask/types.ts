/**
 * MLTask: the training-job resource, as typed plain data. `validate.ts` turns untrusted JSON/YAML
 * into these (defaults applied); render/status/reconciler only ever see validated values.
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
/** StatefulSet pods carry `controller-revision-hash: <name>-<10 chars>`, a 63-character label value. */
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

export type DataSource = { uri: string } | { pvc: { claimName: string; subPath?: string } };

export interface ScratchSpec {
  /** A Kubernetes quantity: `100Gi`. */
  size: string;
  medium?: 'Memory';
  /** Set: a per-worker PersistentVolumeClaim of this class instead of an emptyDir. */
  storageClassName?: string;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface GpuPreferences {
  model?: string;
  /** `80Gi`, `81920` (MiB): the linkpack.io/gpu-memory-min vocabulary. */
  memoryMin?: string;
  topology: TopologyMode;
  policy: PackingPolicy;
}

export interface MLTaskSpec {
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  trainingData: DataSource;
  modelOutput: DataSource;
  scratch?: ScratchSpec;
  parallelism: number;
  resources: { gpus: number; cpu?: string; memory?: string };
  gpu: GpuPreferences;
  backoffLimit: number;
  suspend: boolean;
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
}

export type MLTaskPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Suspended';
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
  startTime?: string;
  completionTime?: string;
}

export interface MLTask {
  metadata: ObjectMetaLite;
  spec: MLTaskSpec;
  status?: MLTaskStatus;
}
