/**
 * MLTaskClass: what the platform team decides for every worker (cluster-scoped, one marked
 * default), so an ML engineer still writes only the short MLTask. Parsed with the same rule set
 * style as the task (every bad field at once, `<path>: <problem>`); pod-level Kubernetes objects
 * (tolerations, affinity, securityContext, volumes) are passed through as the API server checks
 * them when the workload is created.
 */
import { GROUP_VERSION } from '../api/annotations.js';
import { ANN_DEFAULT_CLASS, MLTASKCLASS_KIND, type MLTaskClass, type MLTaskClassSpec } from '../api/mltaskclass.js';
import { MOUNT_MODEL_OUTPUT, MOUNT_SCRATCH, MOUNT_SHM, MOUNT_TRAINING_DATA, type MLTask } from './types.js';
import { Errors, envFromList, envList, isObj, LIMITS, PATTERNS, show, str, type Obj } from './validate.js';

export { ANN_DEFAULT_CLASS, MLTASKCLASS_KIND, MLTASKCLASS_PLURAL, type MLTaskClass, type MLTaskClassSpec } from '../api/mltaskclass.js';
/** Volume names the controller uses itself. */
export const RESERVED_VOLUMES = ['training-data', 'model-output', 'scratch', 'shm'] as const;
const RESERVED_MOUNTS = [MOUNT_TRAINING_DATA, MOUNT_MODEL_OUTPUT, MOUNT_SCRATCH, MOUNT_SHM];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8s = Record<string, any>;

export const CLASS_KEYS = ['default', 'tolerations', 'nodeSelector', 'affinity', 'priorityClassName', 'serviceAccountName', 'imagePullSecrets', 'securityContext', 'containerSecurityContext', 'shmSize', 'resources', 'volumes', 'volumeMounts', 'env', 'envFrom', 'gpu'] as const;

function objList(e: Errors, o: Obj, key: string, p: string): K8s[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every(isObj)) {
    e.add(`${p}.${key}`, `must be a list of objects (got ${show(v)})`);
    return undefined;
  }
  if (v.length > LIMITS.listItems) e.add(`${p}.${key}`, `must have at most ${LIMITS.listItems} items (got ${v.length})`);
  return v as K8s[];
}

function strMap(e: Errors, o: Obj, key: string, p: string, valuePattern?: RegExp, what?: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    e.add(`${p}.${key}`, `must be a map of strings (got ${show(v)})`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') e.add(`${p}.${key}.${k}`, `must be a string (got ${show(val)})`);
    else if (valuePattern && !valuePattern.test(val)) e.add(`${p}.${key}.${k}`, `${show(val)} is not ${what}`);
    else out[k] = val;
  }
  return out;
}

function obj(e: Errors, o: Obj, key: string, p: string): K8s | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    e.add(`${p}.${key}`, `must be an object (got ${show(v)})`);
    return undefined;
  }
  return v;
}

export type ClassParseResult = { ok: true; value: MLTaskClass } | { ok: false; errors: string[] };

export function parseMLTaskClass(raw: unknown): ClassParseResult {
  const e = new Errors();
  if (!isObj(raw)) return { ok: false, errors: [`MLTaskClass: must be an object (got ${show(raw)})`] };
  if (raw.apiVersion !== undefined && raw.apiVersion !== GROUP_VERSION) e.add('apiVersion', `must be ${GROUP_VERSION} (got ${show(raw.apiVersion)})`);
  if (raw.kind !== undefined && raw.kind !== MLTASKCLASS_KIND) e.add('kind', `must be ${MLTASKCLASS_KIND} (got ${show(raw.kind)})`);
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const name = str(e, meta, 'name', 'metadata', { required: true, pattern: 'subdomain', maxLength: 253, what: 'a DNS-1123 subdomain' });
  const s = raw.spec === undefined || raw.spec === null ? {} : raw.spec;
  const p = 'spec';
  if (!isObj(s)) return { ok: false, errors: [...e.list, `spec: must be an object (got ${show(s)})`] };
  e.unknownKeys(s, p, CLASS_KEYS);
  if (s.default !== undefined && typeof s.default !== 'boolean') e.add(`${p}.default`, `must be true or false (got ${show(s.default)})`);
  const quantity = new RegExp(PATTERNS.quantity);
  const spec: MLTaskClassSpec = {};
  const set = <K extends keyof MLTaskClassSpec>(k: K, v: MLTaskClassSpec[K] | undefined) => {
    if (v !== undefined) spec[k] = v;
  };
  set('default', s.default === true ? true : undefined);
  set('tolerations', objList(e, s, 'tolerations', p));
  set('nodeSelector', strMap(e, s, 'nodeSelector', p));
  set('affinity', obj(e, s, 'affinity', p));
  set('priorityClassName', str(e, s, 'priorityClassName', p, { pattern: 'subdomain', maxLength: 253, what: 'a PriorityClass name' }));
  set('serviceAccountName', str(e, s, 'serviceAccountName', p, { pattern: 'subdomain', maxLength: 253, what: 'a ServiceAccount name' }));
  const pulls = objList(e, s, 'imagePullSecrets', p);
  pulls?.forEach((x, i) => {
    if (typeof x.name !== 'string' || !new RegExp(PATTERNS.subdomain).test(x.name)) e.add(`${p}.imagePullSecrets[${i}].name`, `must be a Secret name (got ${show(x.name)})`);
  });
  set('imagePullSecrets', pulls?.map((x) => ({ name: String(x.name) })));
  set('securityContext', obj(e, s, 'securityContext', p));
  set('containerSecurityContext', obj(e, s, 'containerSecurityContext', p));
  set('shmSize', str(e, s, 'shmSize', p, { pattern: 'quantity', what: 'a positive quantity (e.g. 64Gi)' }));
  const res = strMap(e, s, 'resources', p, quantity, 'a positive quantity');
  for (const k of Object.keys(res ?? {})) if (['cpu', 'memory', 'nvidia.com/gpu'].includes(k)) e.add(`${p}.resources.${k}`, 'is the task\'s own (spec.resources); a class adds other resources such as rdma/hca');
  set('resources', res);
  const vols = objList(e, s, 'volumes', p);
  vols?.forEach((v, i) => {
    if (typeof v.name !== 'string') e.add(`${p}.volumes[${i}].name`, 'required');
    else if ((RESERVED_VOLUMES as readonly string[]).includes(v.name)) e.add(`${p}.volumes[${i}].name`, `${v.name} is the controller's (reserved: ${RESERVED_VOLUMES.join(', ')})`);
  });
  set('volumes', vols);
  const mounts = objList(e, s, 'volumeMounts', p);
  mounts?.forEach((m, i) => {
    if (typeof m.mountPath === 'string' && RESERVED_MOUNTS.includes(m.mountPath)) e.add(`${p}.volumeMounts[${i}].mountPath`, `${m.mountPath} is the controller's`);
    if (typeof m.name === 'string' && !(vols ?? []).some((v) => v.name === m.name)) e.add(`${p}.volumeMounts[${i}].name`, `${m.name} is not one of spec.volumes`);
  });
  set('volumeMounts', mounts);
  set('env', envList(e, s, p));
  set('envFrom', envFromList(e, s, p));
  const g = obj(e, s, 'gpu', p);
  if (g) {
    e.unknownKeys(g, `${p}.gpu`, ['model', 'memoryMin']);
    const model = str(e, g, 'model', `${p}.gpu`, { maxLength: LIMITS.modelLength });
    const memoryMin = str(e, g, 'memoryMin', `${p}.gpu`, { pattern: 'memoryMin', what: 'a size in MiB ("81920") or with Mi, Gi or Ti ("80Gi")' });
    set('gpu', { ...(model ? { model } : {}), ...(memoryMin ? { memoryMin } : {}) });
  }
  if (e.list.length > 0 || !name) return { ok: false, errors: e.list };
  const ann = isObj(meta.annotations) ? meta.annotations : {};
  return { ok: true, value: { name, spec, isDefault: ann[ANN_DEFAULT_CLASS] === 'true' || spec.default === true } };
}

export type ClassChoice = { ok: true; cls?: MLTaskClass } | { ok: false; reason: string };

/** The task's class: the one it names, else the one default (several defaults: none is picked, said). */
export function chooseClass(task: MLTask, classes: readonly MLTaskClass[]): ClassChoice {
  const want = task.spec.className;
  if (want) {
    const c = classes.find((x) => x.name === want);
    return c ? { ok: true, cls: c } : { ok: false, reason: `MLTaskClass ${want} (spec.className) does not exist` };
  }
  const defaults = classes.filter((c) => c.isDefault);
  if (defaults.length > 1) return { ok: false, reason: `${defaults.length} MLTaskClasses are marked default (${defaults.map((c) => c.name).sort().join(', ')}); name one in spec.className` };
  return { ok: true, ...(defaults[0] ? { cls: defaults[0] } : {}) };
}

/** The class's GPU preferences fill what the task left unset. */
export function withClassGpu(task: MLTask, cls: MLTaskClass | undefined): MLTask {
  const g = cls?.spec.gpu;
  if (!g) return task;
  return { ...task, spec: { ...task.spec, gpu: { ...(g.model ? { model: g.model } : {}), ...(g.memoryMin ? { memoryMin: g.memoryMin } : {}), ...task.spec.gpu } } };
}
