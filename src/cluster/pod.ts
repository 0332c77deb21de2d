/**
 * What the cluster cache needs to know about a pod, read from its Kubernetes JSON: identity, node,
 * whether it still holds resources, and the GPUs linkpack gave it (annotations).
 */
import { ANN_ASSIGNED_GPUS, ANN_GPU_MILLI, parseAssignedGpus, type AssignedGpuRef } from '../api/annotations.js';
import { GPU_MILLI } from '../core/types.js';
import { cpuMilliOf, memoryMiBOf } from '../kube/quantity.js';

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
  /** kube-scheduler's effective CPU / memory request (effectiveRequest), overhead included. */
  cpuMilli: number;
  memoryMiB: number;
  /** Bad annotation values, each naming the pod and the annotation. */
  problems: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The container fields the request rule reads. */
export interface RequestContainer {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, unknown> | null; limits?: Record<string, unknown> | null } | null;
}
export type Amount = { ok: true; value: number } | { ok: false; error: string };

/**
 * kube-scheduler's effective request of one resource: max(Σ regular containers + Σ restartable
 * init containers (sidecars), max over each plain init container of (its request + the sidecars
 * started before it)). `read` gives one container's amount (or why it is invalid).
 */
export function effectiveRequest(
  spec: { containers?: readonly RequestContainer[] | null; initContainers?: readonly RequestContainer[] | null } | undefined,
  read: (c: RequestContainer, where: string) => Amount,
): Amount {
  let containersSum = 0;
  for (const [i, c] of (spec?.containers ?? []).entries()) {
    const g = read(c, `spec.containers[${i}] (${c.name ?? '?'})`);
    if (!g.ok) return g;
    containersSum += g.value;
  }
  let sidecarsSoFar = 0;
  let initMax = 0;
  for (const [i, c] of (spec?.initContainers ?? []).entries()) {
    const g = read(c, `spec.initContainers[${i}] (${c.name ?? '?'})`);
    if (!g.ok) return g;
    if (c.restartPolicy === 'Always') {
      sidecarsSoFar += g.value;
      initMax = Math.max(initMax, sidecarsSoFar);
    } else {
      initMax = Math.max(initMax, sidecarsSoFar + g.value);
    }
  }
  return { ok: true, value: Math.max(containersSum + sidecarsSoFar, initMax) };
}

/** A container's request of cpu or memory (requests, else limits: the API server defaults one from the other). */
function requestReader(resource: 'cpu' | 'memory'): (c: RequestContainer, where: string) => Amount {
  const parse = resource === 'cpu' ? cpuMilliOf : memoryMiBOf;
  return (c, where) => {
    const raw = c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource];
    if (raw === undefined || raw === null) return { ok: true, value: 0 };
    const v = parse(raw);
    return v === undefined ? { ok: false, error: `${where}: ${resource} request ${JSON.stringify(raw)} is not a quantity` } : { ok: true, value: v };
  };
}
const CPU_READER = requestReader('cpu');
const MEMORY_READER = requestReader('memory');

/** CPU (milli) and memory (MiB) a pod holds on its node, as kube-scheduler counts them (+ spec.overhead). */
export function podRequests(spec: unknown): { cpuMilli: number; memoryMiB: number; problem?: string } {
  const s = isObj(spec) ? (spec as { containers?: RequestContainer[]; initContainers?: RequestContainer[]; overhead?: Record<string, unknown> }) : undefined;
  const cpu = effectiveRequest(s, CPU_READER);
  const mem = effectiveRequest(s, MEMORY_READER);
  const overhead = isObj(s?.overhead) ? s.overhead : {};
  const out = { cpuMilli: (cpu.ok ? cpu.value : 0) + (cpuMilliOf(overhead.cpu) ?? 0), memoryMiB: (mem.ok ? mem.value : 0) + (memoryMiBOf(overhead.memory) ?? 0) };
  const problem = !cpu.ok ? cpu.error : !mem.ok ? mem.error : undefined;
  return problem === undefined ? out : { ...out, problem };
}

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
  const req = podRequests(spec);
  const facts: PodFacts = { ...key, active: node !== undefined && phase !== 'Succeeded' && phase !== 'Failed', milliPerGpu: GPU_MILLI, cpuMilli: req.cpuMilli, memoryMiB: req.memoryMiB, problems: [] };
  if (node !== undefined) facts.node = node;
  const who = `pod ${key.namespace}/${key.name}`;
  if (req.problem) facts.problems.push(`${who}: ${req.problem}; counted as 0`);
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
