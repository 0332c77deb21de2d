/**
 * The reconciler's two edges: what it reads (a Store, in the controller the informer caches) and
 * what it writes (an ApiWriter, raw JSON requests through src/kube/request.ts). Keeping them as
 * interfaces leaves the reconciler itself free of HTTP.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../api/annotations.js';
import { kubeJson } from '../kube/request.js';
import type { KubeObject } from './render.js';
import { MLTASKCLASS_PLURAL } from './class.js';
import { MLTASK_PLURAL } from './types.js';

export interface Store {
  getTask(namespace: string, name: string): KubeObject | undefined;
  getStatefulSet(namespace: string, name: string): KubeObject | undefined;
  getService(namespace: string, name: string): KubeObject | undefined;
  getJob(namespace: string, name: string): KubeObject | undefined;
  /** Pods labelled for this task (linkpack.io/mltask=<name>). */
  podsOf(namespace: string, taskName: string): KubeObject[];
  /**
   * Pods of this task seen removed with condition DisruptionTarget (evicted, preempted): a pod
   * deleted by force can vanish before a pass reads it, so the cache remembers it a while.
   */
  disruptedPodsOf(namespace: string, taskName: string): KubeObject[];
  /** Every MLTaskClass (cluster-scoped), as stored. */
  classes(): KubeObject[];
}

export type Kind = 'services' | 'statefulsets' | 'jobs';

export interface ApiWriter {
  create(kind: Kind, obj: KubeObject): Promise<KubeObject>;
  /** PUT with the object's metadata.resourceVersion as precondition (409 when stale). */
  update(kind: Kind, obj: KubeObject): Promise<KubeObject>;
  /**
   * DELETE with a uid precondition. Background (default): the garbage collector removes the pods
   * afterwards; Foreground: the object stays (deletionTimestamp) until its pods are gone.
   */
  remove(kind: Kind, namespace: string, name: string, uid: string, propagation?: 'Background' | 'Foreground'): Promise<void>;
  /** PUT …/mltasks/<name>/status with the task's resourceVersion as precondition. */
  updateTaskStatus(task: KubeObject): Promise<KubeObject>;
  /** POST a core/v1 Event (409 AlreadyExists means it was told before: not an error). */
  createEvent(event: KubeObject): Promise<void>;
}

const enc = encodeURIComponent;

export function collectionPath(kind: Kind | 'pods' | 'events' | typeof MLTASK_PLURAL | typeof MLTASKCLASS_PLURAL, namespace?: string): string {
  const ns = namespace ? `/namespaces/${enc(namespace)}` : '';
  switch (kind) {
    case 'services':
    case 'pods':
    case 'events':
      return `/api/v1${ns}/${kind}`;
    case 'statefulsets':
      return `/apis/apps/v1${ns}/statefulsets`;
    case 'jobs':
      return `/apis/batch/v1${ns}/jobs`;
    case MLTASKCLASS_PLURAL:
      return `/apis/${API_GROUP}/${API_VERSION}/${MLTASKCLASS_PLURAL}`;
    case MLTASK_PLURAL:
      return `/apis/${API_GROUP}/${API_VERSION}${ns}/${MLTASK_PLURAL}`;
  }
}

export function kubeApiWriter(kc: KubeConfig): ApiWriter {
  return {
    async create(kind, obj) {
      return (await kubeJson(kc, 'POST', collectionPath(kind, obj.metadata.namespace), obj)) as KubeObject;
    },
    async update(kind, obj) {
      return (await kubeJson(kc, 'PUT', `${collectionPath(kind, obj.metadata.namespace)}/${enc(obj.metadata.name)}`, obj)) as KubeObject;
    },
    async remove(kind, namespace, name, uid, propagation = 'Background') {
      await kubeJson(kc, 'DELETE', `${collectionPath(kind, namespace)}/${enc(name)}`, {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        propagationPolicy: propagation,
        preconditions: { uid },
      });
    },
    async updateTaskStatus(task) {
      return (await kubeJson(kc, 'PUT', `${collectionPath(MLTASK_PLURAL, task.metadata.namespace)}/${enc(task.metadata.name)}/status`, task)) as KubeObject;
    },
    async createEvent(event) {
      await kubeJson(kc, 'POST', collectionPath('events', event.metadata.namespace), event);
    },
  };
}
