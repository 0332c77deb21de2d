/**
 * The one rule set of an MLTask, applied at the edge (CLI, controller) to untrusted JSON: every
 * problem as `<field path>: <what is wrong>`, all of them at once, or the typed task with defaults
 * applied. The CRD (deploy/crds/mltasks.linkpack.io.yaml) states the same rules as OpenAPI + CEL;
 * test/mltask/crd.test.ts checks that the patterns, ranges, enums and defaults agree.
 */
import { PACKING_POLICIES, TOPOLOGY_MODES, type PackingPolicy, type TopologyMode } from '../core/types.js';
import { GROUP_VERSION, USER_ANNOTATIONS } from '../api/annotations.js';
import { didYouMean } from '../api/nearest.js';
import {
  DEFAULT_BACKOFF_LIMIT,
  DEFAULT_MODE,
  MAX_DURATION_SECONDS,
  MLTASK_MODES,
  type EnvFromSource,
  type MLTaskMode,
  DEFAULT_GPUS,
  DEFAULT_PARALLELISM,
  DEFAULT_POLICY,
  DEFAULT_TOPOLOGY,
  MAX_BACKOFF_LIMIT,
  MAX_GPUS_PER_WORKER,
  MAX_NAME_LENGTH,
  MAX_PARALLELISM,
  MLTASK_KIND,
  RESERVED_ENV,
  RESERVED_ENV_PREFIX,
  type DataSource,
  type EnvVar,
  type MLTask,
  type MLTaskSpec,
  type ScratchSpec,
} from './types.js';

/** Patterns, shared verbatim with the CRD (the test compares the strings). */
export const PATTERNS = {
  /** DNS-1035 label: Service names must be one. */
  name: '^[a-z]([-a-z0-9]*[a-z0-9])?$',
  /** DNS-1123 label. */
  namespace: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  /** DNS-1123 subdomain (PVC and StorageClass names). */
  subdomain: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  /** A positive Kubernetes quantity without exponent: `500m`, `2`, `100Gi`. */
  quantity: '^([0-9]*[1-9][0-9]*(\\.[0-9]+)?|[0-9]+\\.[0-9]*[1-9][0-9]*)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$',
  /** The linkpack.io/gpu-memory-min vocabulary: MiB, or Mi/Gi/Ti. */
  memoryMin: '^[0-9]+(\\.[0-9]+)?(Mi|Gi|Ti)?$',
  /** scheme://rest */
  uri: '^[a-zA-Z][a-zA-Z0-9+.-]*://\\S+$',
  /** A relative path inside the volume: no leading '/', no '..' segment. */
  subPath: '^[^/](.*)?$',
  envName: '^[A-Za-z_][A-Za-z0-9_.-]*$',
  /** A Secret/ConfigMap key. */
  configKey: '^[-._a-zA-Z0-9]+$',
  image: '^\\S+$',
} as const;

export const LIMITS = {
  listItems: 64,
  envItems: 64,
  stringLength: 4096,
  modelLength: 128,
} as const;

const re = Object.fromEntries(Object.entries(PATTERNS).map(([k, v]) => [k, new RegExp(v)])) as Record<keyof typeof PATTERNS, RegExp>;

export type ParseResult = { ok: true; task: MLTask } | { ok: false; errors: string[] };

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

export class Errors {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  /** Fields the schema does not know: the real server refuses them too (strict field validation). */
  unknownKeys(o: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.add(`${path}.${k}`, `unknown field (known: ${known.join(', ')})`);
  }
}

export function str(e: Errors, o: Obj, key: string, path: string, opts: { required?: boolean; pattern?: keyof typeof PATTERNS; maxLength?: number; what?: string } = {}): string | undefined {
  const v = o[key];
  const p = `${path}.${key}`;
  if (v === undefined || v === null) {
    if (opts.required) e.add(p, 'required');
    return undefined;
  }
  if (typeof v !== 'string') {
    e.add(p, `must be a string (got ${show(v)})`);
    return undefined;
  }
  if (opts.required && v === '') {
    e.add(p, 'must not be empty');
    return undefined;
  }
  const max = opts.maxLength ?? LIMITS.stringLength;
  if (v.length > max) {
    e.add(p, `must be at most ${max} characters (got ${v.length})`);
    return undefined;
  }
  if (opts.pattern && !re[opts.pattern].test(v)) {
    e.add(p, `${show(v)} is not ${opts.what ?? `a valid ${opts.pattern}`}`);
    return undefined;
  }
  return v;
}

export function int(e: Errors, o: Obj, key: string, path: string, min: number, max: number, fallback: number): number {
  const v = o[key];
  const p = `${path}.${key}`;
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    e.add(p, `must be a whole number (got ${show(v)})`);
    return fallback;
  }
  if (v < min) e.add(p, `must be ≥ ${min} (got ${v})`);
  else if (v > max) e.add(p, `must be ≤ ${max} (got ${v})`);
  return v;
}

export function enumOf<T extends string>(e: Errors, o: Obj, key: string, path: string, accepted: readonly T[], fallback: T): T {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !accepted.includes(v as T)) {
    e.add(`${path}.${key}`, `must be one of ${accepted.join(', ')} (got ${show(v)})`);
    return fallback;
  }
  return v as T;
}

export function stringList(e: Errors, o: Obj, key: string, path: string): string[] | undefined {
  const v = o[key];
  const p = `${path}.${key}`;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    e.add(p, `must be a list of strings (got ${show(v)})`);
    return undefined;
  }
  if (v.length > LIMITS.listItems) e.add(p, `must have at most ${LIMITS.listItems} items (got ${v.length})`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') e.add(`${p}[${i}]`, `must be a string (got ${show(s)})`);
    else if (s.length > LIMITS.stringLength) e.add(`${p}[${i}]`, `must be at most ${LIMITS.stringLength} characters`);
  });
  return v.filter((s): s is string => typeof s === 'string');
}

export function isReservedEnv(name: string): boolean {
  return (RESERVED_ENV as readonly string[]).includes(name) || name.startsWith(RESERVED_ENV_PREFIX);
}

/** `{name, value}` or Kubernetes' own `valueFrom: {secretKeyRef | configMapKeyRef: {name, key, optional?}}`. */
export function envList(e: Errors, o: Obj, path: string, checkReserved = true): EnvVar[] | undefined {
  const v = o.env;
  const p = `${path}.env`;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    e.add(p, `must be a list of {name, value} or {name, valueFrom} (got ${show(v)})`);
    return undefined;
  }
  if (v.length > LIMITS.envItems) e.add(p, `must have at most ${LIMITS.envItems} items (got ${v.length})`);
  const out: EnvVar[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const ip = `${p}[${i}]`;
    if (!isObj(item)) {
      e.add(ip, `must be an object {name, value} or {name, valueFrom} (got ${show(item)})`);
      return;
    }
    e.unknownKeys(item, ip, ['name', 'value', 'valueFrom']);
    const name = str(e, item, 'name', ip, { required: true, pattern: 'envName', maxLength: 256, what: 'an environment variable name' });
    const hasFrom = item.valueFrom !== undefined && item.valueFrom !== null;
    if (hasFrom && item.value !== undefined && item.value !== null) e.add(ip, 'set value or valueFrom, not both');
    const valueFrom = hasFrom ? keyRefSource(e, item.valueFrom, `${ip}.valueFrom`) : undefined;
    const value = hasFrom ? undefined : (str(e, item, 'value', ip) ?? '');
    if (name === undefined) return;
    if (checkReserved && isReservedEnv(name)) e.add(`${ip}.name`, `${name} is set by the controller (reserved: ${RESERVED_ENV.join(', ')}, ${RESERVED_ENV_PREFIX}*)`);
    else if (seen.has(name)) e.add(`${ip}.name`, `${name} is listed twice`);
    seen.add(name);
    if (valueFrom) out.push({ name, valueFrom });
    else if (value !== undefined) out.push({ name, value });
  });
  return out;
}

function keyRef(e: Errors, v: unknown, p: string): { name: string; key: string; optional?: boolean } | undefined {
  if (!isObj(v)) {
    e.add(p, `must be an object {name, key, optional?} (got ${show(v)})`);
    return undefined;
  }
  e.unknownKeys(v, p, ['name', 'key', 'optional']);
  const name = str(e, v, 'name', p, { required: true, pattern: 'subdomain', maxLength: 253, what: 'a Secret/ConfigMap name' });
  const key = str(e, v, 'key', p, { required: true, pattern: 'configKey', maxLength: 253, what: 'a key (letters, digits, -, _, .)' });
  if (v.optional !== undefined && typeof v.optional !== 'boolean') e.add(`${p}.optional`, `must be true or false (got ${show(v.optional)})`);
  if (name === undefined || key === undefined) return undefined;
  return { name, key, ...(v.optional === true ? { optional: true } : {}) };
}

function keyRefSource(e: Errors, v: unknown, p: string): Extract<EnvVar, { valueFrom: unknown }>['valueFrom'] | undefined {
  if (!isObj(v)) {
    e.add(p, `must be an object {secretKeyRef} or {configMapKeyRef} (got ${show(v)})`);
    return undefined;
  }
  e.unknownKeys(v, p, ['secretKeyRef', 'configMapKeyRef']);
  const hasS = v.secretKeyRef !== undefined && v.secretKeyRef !== null;
  const hasC = v.configMapKeyRef !== undefined && v.configMapKeyRef !== null;
  if (hasS === hasC) {
    e.add(p, `must set exactly one of secretKeyRef or configMapKeyRef (${hasS ? 'both are set' : 'neither is set'})`);
    return undefined;
  }
  const ref = keyRef(e, hasS ? v.secretKeyRef : v.configMapKeyRef, `${p}.${hasS ? 'secretKeyRef' : 'configMapKeyRef'}`);
  if (!ref) return undefined;
  return hasS ? { secretKeyRef: ref } : { configMapKeyRef: ref };
}

/** Kubernetes' `envFrom: [{secretRef | configMapRef: {name, optional?}, prefix?}]`. */
export function envFromList(e: Errors, o: Obj, path: string): EnvFromSource[] | undefined {
  const v = o.envFrom;
  const p = `${path}.envFrom`;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    e.add(p, `must be a list of {secretRef} or {configMapRef} (got ${show(v)})`);
    return undefined;
  }
  if (v.length > LIMITS.listItems) e.add(p, `must have at most ${LIMITS.listItems} items (got ${v.length})`);
  const out: EnvFromSource[] = [];
  v.forEach((item, i) => {
    const ip = `${p}[${i}]`;
    if (!isObj(item)) {
      e.add(ip, `must be an object {secretRef} or {configMapRef} (got ${show(item)})`);
      return;
    }
    e.unknownKeys(item, ip, ['secretRef', 'configMapRef', 'prefix']);
    const prefix = str(e, item, 'prefix', ip, { pattern: 'envName', maxLength: 256, what: 'an environment variable prefix' });
    if (prefix !== undefined && isReservedEnv(prefix)) e.add(`${ip}.prefix`, `${prefix} would give reserved names (${RESERVED_ENV_PREFIX}*)`);
    const hasS = item.secretRef !== undefined && item.secretRef !== null;
    const hasC = item.configMapRef !== undefined && item.configMapRef !== null;
    if (hasS === hasC) {
      e.add(ip, `must set exactly one of secretRef or configMapRef (${hasS ? 'both are set' : 'neither is set'})`);
      return;
    }
    const rp = `${ip}.${hasS ? 'secretRef' : 'configMapRef'}`;
    const ref = hasS ? item.secretRef : item.configMapRef;
    if (!isObj(ref)) {
      e.add(rp, `must be an object {name, optional?} (got ${show(ref)})`);
      return;
    }
    e.unknownKeys(ref, rp, ['name', 'optional']);
    const name = str(e, ref, 'name', rp, { required: true, pattern: 'subdomain', maxLength: 253, what: 'a Secret/ConfigMap name' });
    if (ref.optional !== undefined && typeof ref.optional !== 'boolean') e.add(`${rp}.optional`, `must be true or false (got ${show(ref.optional)})`);
    if (name === undefined) return;
    const r = { name, ...(ref.optional === true ? { optional: true } : {}) };
    out.push({ ...(prefix ? { prefix } : {}), ...(hasS ? { secretRef: r } : { configMapRef: r }) });
  });
  return out;
}

function dataSource(e: Errors, o: Obj, key: 'trainingData' | 'modelOutput', path: string): DataSource | undefined {
  const v = o[key];
  const p = `${path}.${key}`;
  if (v === undefined || v === null) {
    e.add(p, 'required (exactly one of uri or pvc)');
    return undefined;
  }
  if (!isObj(v)) {
    e.add(p, `must be an object with exactly one of uri or pvc (got ${show(v)})`);
    return undefined;
  }
  e.unknownKeys(v, p, ['uri', 'credentialsSecret', 'pvc']);
  const hasUri = v.uri !== undefined && v.uri !== null;
  const hasPvc = v.pvc !== undefined && v.pvc !== null;
  if (hasUri === hasPvc) {
    e.add(p, `must set exactly one of uri or pvc (${hasUri ? 'both are set' : 'neither is set'})`);
    return undefined;
  }
  if (hasUri) {
    const uri = str(e, v, 'uri', p, { required: true, pattern: 'uri', what: 'a URI (scheme://…)' });
    const credentialsSecret = str(e, v, 'credentialsSecret', p, { pattern: 'subdomain', maxLength: 253, what: 'a Secret name' });
    return uri === undefined ? undefined : { uri, ...(credentialsSecret ? { credentialsSecret } : {}) };
  }
  const pp = `${p}.pvc`;
  if (!isObj(v.pvc)) {
    e.add(pp, `must be an object {claimName, subPath?} (got ${show(v.pvc)})`);
    return undefined;
  }
  if (v.credentialsSecret !== undefined && v.credentialsSecret !== null) e.add(`${p}.credentialsSecret`, 'only with uri (a PVC needs no credentials)');
  e.unknownKeys(v.pvc, pp, ['claimName', 'subPath']);
  const claimName = str(e, v.pvc, 'claimName', pp, { required: true, pattern: 'subdomain', maxLength: 253, what: 'a PersistentVolumeClaim name' });
  const subPath = str(e, v.pvc, 'subPath', pp, { pattern: 'subPath', what: 'a relative path' });
  if (subPath !== undefined && subPath.split('/').includes('..')) e.add(`${pp}.subPath`, `${show(subPath)} must not contain '..'`);
  if (claimName === undefined) return undefined;
  return { pvc: subPath === undefined ? { claimName } : { claimName, subPath } };
}

function scratchSpec(e: Errors, o: Obj, path: string): ScratchSpec | undefined {
  const v = o.scratch;
  const p = `${path}.scratch`;
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    e.add(p, `must be an object {size, medium?, storageClassName?} (got ${show(v)})`);
    return undefined;
  }
  e.unknownKeys(v, p, ['size', 'medium', 'storageClassName']);
  const size = str(e, v, 'size', p, { required: true, pattern: 'quantity', what: 'a positive quantity (e.g. 100Gi)' });
  const medium = v.medium === undefined || v.medium === null ? undefined : enumOf(e, v, 'medium', p, ['Memory'] as const, 'Memory');
  const storageClassName = str(e, v, 'storageClassName', p, { pattern: 'subdomain', maxLength: 253, what: 'a StorageClass name' });
  if (medium !== undefined && storageClassName !== undefined) e.add(p, 'medium: Memory and storageClassName exclude each other (memory scratch is an emptyDir)');
  if (size === undefined) return undefined;
  return { size, ...(medium ? { medium } : {}), ...(storageClassName ? { storageClassName } : {}) };
}

const SPEC_KEYS = [
  'mode',
  'className',
  'image',
  'command',
  'args',
  'env',
  'envFrom',
  'trainingData',
  'modelOutput',
  'scratch',
  'parallelism',
  'resources',
  'gpu',
  'backoffLimit',
  'suspend',
  'activeDeadlineSeconds',
  'ttlSecondsAfterFinished',
] as const;

function optionalSeconds(e: Errors, o: Obj, key: string, path: string, min: number, mode: MLTaskMode): number | undefined {
  if (o[key] === undefined || o[key] === null) return undefined;
  const v = int(e, o, key, path, min, MAX_DURATION_SECONDS, 0);
  if (mode !== 'Job') e.add(`${path}.${key}`, 'only for mode Job (an instance runs until deleted)');
  return v;
}

function parseSpec(e: Errors, v: unknown): MLTaskSpec | undefined {
  const p = 'spec';
  if (!isObj(v)) {
    e.add(p, v === undefined ? 'required' : `must be an object (got ${show(v)})`);
    return undefined;
  }
  e.unknownKeys(v, p, SPEC_KEYS);
  const mode = enumOf<MLTaskMode>(e, v, 'mode', p, MLTASK_MODES, DEFAULT_MODE);
  const className = str(e, v, 'className', p, { pattern: 'subdomain', maxLength: 253, what: 'an MLTaskClass name' });
  const envFrom = envFromList(e, v, p);
  const image = str(e, v, 'image', p, { required: true, pattern: 'image', maxLength: 1024, what: 'an image reference (no spaces)' });
  const command = stringList(e, v, 'command', p);
  const args = stringList(e, v, 'args', p);
  const env = envList(e, v, p);
  const trainingData = dataSource(e, v, 'trainingData', p);
  const modelOutput = dataSource(e, v, 'modelOutput', p);
  const scratch = scratchSpec(e, v, p);
  const parallelism = int(e, v, 'parallelism', p, 1, MAX_PARALLELISM, DEFAULT_PARALLELISM);

  let resources: MLTaskSpec['resources'] = { gpus: DEFAULT_GPUS };
  const rp = `${p}.resources`;
  if (v.resources !== undefined && v.resources !== null) {
    if (!isObj(v.resources)) e.add(rp, `must be an object {gpus, cpu?, memory?} (got ${show(v.resources)})`);
    else {
      e.unknownKeys(v.resources, rp, ['gpus', 'cpu', 'memory']);
      const gpus = int(e, v.resources, 'gpus', rp, 0, MAX_GPUS_PER_WORKER, DEFAULT_GPUS);
      const cpu = str(e, v.resources, 'cpu', rp, { pattern: 'quantity', what: 'a positive CPU quantity (e.g. 8 or 500m)' });
      const memory = str(e, v.resources, 'memory', rp, { pattern: 'quantity', what: 'a positive memory quantity (e.g. 64Gi)' });
      resources = { gpus, ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) };
    }
  }

  let gpu: MLTaskSpec['gpu'] = { topology: DEFAULT_TOPOLOGY, policy: DEFAULT_POLICY };
  const gp = `${p}.gpu`;
  if (v.gpu !== undefined && v.gpu !== null) {
    if (!isObj(v.gpu)) e.add(gp, `must be an object {model?, memoryMin?, topology?, policy?} (got ${show(v.gpu)})`);
    else {
      e.unknownKeys(v.gpu, gp, ['model', 'memoryMin', 'topology', 'policy']);
      const model = str(e, v.gpu, 'model', gp, { required: false, maxLength: LIMITS.modelLength });
      if (model === '') e.add(`${gp}.model`, 'must not be empty (omit it to accept any model)');
      const memoryMin = str(e, v.gpu, 'memoryMin', gp, { pattern: 'memoryMin', what: 'a size in MiB ("81920") or with Mi, Gi or Ti ("80Gi")' });
      const topology = enumOf<TopologyMode>(e, v.gpu, 'topology', gp, TOPOLOGY_MODES, DEFAULT_TOPOLOGY);
      const policy = enumOf<PackingPolicy>(e, v.gpu, 'policy', gp, PACKING_POLICIES, DEFAULT_POLICY);
      gpu = { topology, policy, ...(model ? { model } : {}), ...(memoryMin ? { memoryMin } : {}) };
    }
  }

  const backoffLimit = int(e, v, 'backoffLimit', p, 0, MAX_BACKOFF_LIMIT, DEFAULT_BACKOFF_LIMIT);
  let suspend = false;
  if (v.suspend !== undefined && v.suspend !== null) {
    if (typeof v.suspend !== 'boolean') e.add(`${p}.suspend`, `must be true or false (got ${show(v.suspend)})`);
    else suspend = v.suspend;
  }

  const activeDeadlineSeconds = optionalSeconds(e, v, 'activeDeadlineSeconds', p, 1, mode);
  const ttlSecondsAfterFinished = optionalSeconds(e, v, 'ttlSecondsAfterFinished', p, 0, mode);

  if (image === undefined || trainingData === undefined || modelOutput === undefined) return undefined;
  return {
    mode,
    ...(className ? { className } : {}),
    image,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    ...(env ? { env } : {}),
    ...(envFrom ? { envFrom } : {}),
    trainingData,
    modelOutput,
    ...(scratch ? { scratch } : {}),
    parallelism,
    resources,
    gpu,
    backoffLimit,
    suspend,
    ...(activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds } : {}),
    ...(ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished } : {}),
  };
}

/** Annotation keys kubectl writes for itself: never copied to the workload. */
const NOT_PROPAGATED_PREFIX = 'kubectl.kubernetes.io/';

/**
 * Labels and annotations of the task (they reach the workload and its pods). A `linkpack.io/*`
 * annotation must be one of the pod vocabulary: a misspelt requirement must not vanish.
 */
function stringMap(e: Errors, m: Obj, key: 'labels' | 'annotations'): Record<string, string> | undefined {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    e.add(`metadata.${key}`, `must be a map of strings (got ${show(v)})`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') e.add(`metadata.${key}.${k}`, `must be a string (got ${show(val)})`);
    else out[k] = val;
  }
  if (key === 'annotations') {
    for (const k of Object.keys(out)) {
      if (k.startsWith('linkpack.io/') && !USER_ANNOTATIONS.includes(k)) {
        const hint = didYouMean(k, USER_ANNOTATIONS);
        e.add(`metadata.annotations.${k}`, `unknown linkpack.io annotation${hint || `; known: ${USER_ANNOTATIONS.join(', ')}`}`);
      }
      if (k.startsWith(NOT_PROPAGATED_PREFIX)) delete out[k];
    }
  }
  return out;
}

/**
 * Untrusted object (YAML/JSON/watch event) → MLTask, or every problem. Status is taken as it is
 * (the controller wrote it); only spec and identity are checked.
 */
export function parseMLTask(raw: unknown): ParseResult {
  const e = new Errors();
  if (!isObj(raw)) return { ok: false, errors: [`MLTask: must be an object (got ${show(raw)})`] };
  if (raw.apiVersion !== undefined && raw.apiVersion !== GROUP_VERSION) e.add('apiVersion', `must be ${GROUP_VERSION} (got ${show(raw.apiVersion)})`);
  if (raw.kind !== undefined && raw.kind !== MLTASK_KIND) e.add('kind', `must be ${MLTASK_KIND} (got ${show(raw.kind)})`);
  const meta = isObj(raw.metadata) ? raw.metadata : undefined;
  if (!meta) e.add('metadata', 'required (with a name)');
  const name = meta ? str(e, meta, 'name', 'metadata', { required: true, pattern: 'name', maxLength: MAX_NAME_LENGTH, what: 'a DNS-1035 label (lower case letters, digits, -; starts with a letter)' }) : undefined;
  const namespace = meta ? str(e, meta, 'namespace', 'metadata', { pattern: 'namespace', maxLength: 63, what: 'a namespace name' }) : undefined;
  const labels = meta ? stringMap(e, meta, 'labels') : undefined;
  const annotations = meta ? stringMap(e, meta, 'annotations') : undefined;
  const spec = parseSpec(e, raw.spec);
  if (e.list.length > 0 || !spec || !name) return { ok: false, errors: e.list };
  const m = meta!;
  const task: MLTask = {
    metadata: {
      name,
      namespace: namespace ?? 'default',
      uid: typeof m.uid === 'string' ? m.uid : '',
      generation: typeof m.generation === 'number' ? m.generation : 1,
      ...(typeof m.resourceVersion === 'string' ? { resourceVersion: m.resourceVersion } : {}),
      ...(typeof m.creationTimestamp === 'string' ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(typeof m.deletionTimestamp === 'string' ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(labels ? { labels } : {}),
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    },
    spec,
    ...(isObj(raw.status) ? { status: raw.status as unknown as MLTask['status'] } : {}),
  };
  return { ok: true, task };
}
