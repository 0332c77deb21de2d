/**
 * MLTaskClass: what the platform team decides for every MLTask worker, as typed plain data (a
 * contract: DESIGN.md "Contracts"). src/mltask/class.ts parses untrusted objects into these and
 * merges them into the workers (render.ts).
 */
import type { EnvFromSource, EnvVar } from './mltask.js';

export const MLTASKCLASS_KIND = 'MLTaskClass';
export const MLTASKCLASS_PLURAL = 'mltaskclasses';
/** `"true"` on one class makes it the default (as StorageClass's is-default-class). */
export const ANN_DEFAULT_CLASS = 'linkpack.io/default-class';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8s = Record<string, any>;

export interface MLTaskClassSpec {
  default?: boolean;
  tolerations?: K8s[];
  nodeSelector?: Record<string, string>;
  affinity?: K8s;
  priorityClassName?: string;
  serviceAccountName?: string;
  imagePullSecrets?: Array<{ name: string }>;
  /** Pod-level securityContext. */
  securityContext?: K8s;
  /** Worker-container securityContext. */
  containerSecurityContext?: K8s;
  /** A RAM emptyDir at /dev/shm of this size (a Kubernetes quantity). */
  shmSize?: string;
  /** Extra extended resources per worker (e.g. `rdma/hca: "1"`), requests = limits. */
  resources?: Record<string, string>;
  volumes?: K8s[];
  volumeMounts?: K8s[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  /** GPU preferences a task gets when it does not state them (model, memoryMin). */
  gpu?: { model?: string; memoryMin?: string };
}

export interface MLTaskClass {
  name: string;
  spec: MLTaskClassSpec;
  /** Marked default by annotation or spec.default. */
  isDefault: boolean;
}
