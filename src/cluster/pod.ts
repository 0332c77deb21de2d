/**
 * What the cluster cache needs to know about a pod, read from its Kubernetes JSON: identity, node,
 * whether it still holds resources, and the GPUs linkpack gave it (annotations).
 */
import { ANN_ASSIGNED_GPUS, ANN_GPU_MILLI, parseAssignedGpus, type AssignedGpuRef } from '../api/annotations.js';
import { GPU_MILLI } from '../core/types.js';

export interface PodFacts {
  uid: string;
  namespace: string;
  name: string;
  /** spec.nodeName; undefined while pending. */
  node?: string;
  /**
   * Still holds its node's resources: bound and not Succeeded/Failed. Terminating pods (with a
   * deletionTimestamp) still count until they are gone, as in kube-scheduler.
   */
  active: boolean;
  /** From linkpack.io/assigned-gpus; undefined when the pod has none. */
  gpus?: AssignedGpuRef[];
  milliPerGpu: number;
  /** Bad annotation values, each naming the pod and the annotation. */
  problems: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Identity of a pod object, or undefined when it has none (not a pod). */
export function podKey(obj: unknown): { uid: string; namespace: string; name: string } | undefined {
  if (!isObj(obj) || !isObj(obj.metadata)) return undefined;
  const { uid, namespace, name } = obj.metadata;
  if (typeof name !== 'string' || name === '') return undefined;
  return { uid: typeof uid === 'string' ? uid : '', namespace: typeof namespace === 'string' ? namespace : 'default', name };
}

export function podFacts(obj: unknown): PodFacts | undefined {
  const key = podKey(obj);
  if (!key) return undefined;
  const o = obj as Obj;
  const meta = o.metadata as Obj;
  const spec = isObj(o.spec) ? o.spec : {};
  const status = isObj(o.status) ? o.status : {};
  const ann = isObj(meta.annotations) ? (meta.annotations as Record<string, unknown>) : {};
  const node = typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
  const phase = status.phase;
  const facts: PodFacts = { ...key, active: node !== undefined && phase !== 'Succeeded' && phase !== 'Failed', milliPerGpu: GPU_MILLI, problems: [] };
  if (node !== undefined) facts.node = node;
  const who = `pod ${key.namespace}/${key.name}`;
  const assigned = ann[ANN_ASSIGNED_GPUS];
  if (typeof assigned === 'string' && assigned.trim() !== '') {
    const p = parseAssignedGpus(assigned);
    if (p.ok) facts.gpus = p.value;
    else facts.problems.push(`${who}: ${p.error}; its GPUs are not counted`);
  }
  const milli = ann[ANN_GPU_MILLI];
  if (milli !== undefined) {
    const m = typeof milli === 'string' && /^\d+$/.test(milli.trim()) ? Number(milli) : NaN;
    if (m >= 1 && m <= GPU_MILLI) facts.milliPerGpu = m;
    else facts.problems.push(`${who}: ${ANN_GPU_MILLI}="${String(milli)}" is not an integer 1..${GPU_MILLI}; counted as whole GPUs`);
  }
  return facts;
}
