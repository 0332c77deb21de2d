/**
 * The one rule set of an MLTask, applied at the edge (CLI, controller) to untrusted JSON: every
 * problem as `<field path>: <what is wrong>`, all of them at once, or the typed task with defaults
 * applied. The CRD (deploy/crds/mltasks.linkpack.io.yaml) states the same rules as OpenAPI + CEL;
 * test/mltask/crd.test.ts checks that the patterns, ranges, enums and defaults agree.
 */
import { PACKING_POLICIES, TOPOLOGY_MODES, type PackingPolicy, type TopologyMode } from '../core/types.js';
import { GROUP_VERSION } from '../api/annotations.js';
import {
  DEFAULT_BACKOFF_LIMIT,
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

class Errors {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  /** Fields the schema does not know: the real server refuses them too (strict field validation). */
  unknownKeys(o: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.add(`${path}.${k}`, `unknown field (known: ${known.join(', ')})`);
  }
}

function str(e: Errors, o: Obj, key: string, path: string, opts: { required?: boolean; pattern?: keyof typeof PATTERNS; maxLength?: number; what?: string } = {}): string | undefined {
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

function int(e: Errors, o: Obj, key: string, path: string, min: number, max: number, fallback: number): number {
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

function enumOf<T extends string>(e: Errors, o: Obj, key: string, path: string, accepted: readonly T[], fallback: T): T {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !accepted.includes(v as T)) {
    e.add(`${path}.${key}`, `must be one of ${accepted.join(', ')} (got ${show(v)})`);
    return fallback;
  }
  return v as T;
}

function stringList(e: Errors, o: Obj, key: string, path: string): string[] | undefined {
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

function envList(e: Errors, o: Obj, path: string): EnvVar[] | undefined {
  const v = o.env;
  const p = `${path}.env`;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    e.add(p, `must be a list of {name, value} (got ${show(v)})`);
    return undefined;
  }
  if (v.length > LIMITS.envItems) e.add(p, `must have at most ${LIMITS.envItems} items (got ${v.length})`);
  const out: EnvVar[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const ip = `${p}[${i}]`;
    if (!isObj(item)) {
      e.add(ip, `must be an object {name, value} (got ${show(item)})`);
      return;
    }
    e.unknownKeys(item, ip, ['name', 'value']);
    const name = str(e, item, 'name', ip, { required: true, pattern: 'envName', maxLength: 256, what: 'an environment variable name' });
    const value = str(e, item, 'value', ip) ?? '';
    if (name === undefined) return;
    if (isReservedEnv(name)) e.add(`${ip}.name`, `${name} is set by the controller (reserved: ${RESERVED_ENV.join(', ')}, ${RESERVED_ENV_PREFIX}*)`);
    else if (seen.has(name)) e.add(`${ip}.name`, `${name} is listed twice`);
    seen.add(name);
    out.push({ name, value });
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
  e.unknownKeys(v, p, ['uri', 'pvc']);
  const hasUri = v.uri !== undefined && v.uri !== null;
  const hasPvc = v.pvc !== undefined && v.pvc !== null;
  if (hasUri === hasPvc) {
    e.add(p, `must set exactly one of uri or pvc (${hasUri ? 'both are set' : 'neither is set'})`);
    return undefined;
  }
  if (hasUri) {
    const uri = str(e, v, 'uri', p, { required: true, pattern: 'uri', what: 'a URI (scheme://…)' });
    return uri === undefined ? undefined : { uri };
  }
  const pp = `${p}.pvc`;
  if (!isObj(v.pvc)) {
    e.add(pp, `must be an object {claimName, subPath?} (got ${show(v.pvc)})`);
    return undefined;
  }
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

const SPEC_KEYS = ['image', 'command', 'args', 'env', 'trainingData', 'modelOutput', 'scratch', 'parallelism', 'resources', 'gpu', 'backoffLimit', 'suspend'] as const;

function parseSpec(e: Errors, v: unknown): MLTaskSpec | undefined {
  const p = 'spec';
  if (!isObj(v)) {
    e.add(p, v === undefined ? 'required' : `must be an object (got ${show(v)})`);
    return undefined;
  }
  e.unknownKeys(v, p, SPEC_KEYS);
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

  if (image === undefined || trainingData === undefined || modelOutput === undefined) return undefined;
  return {
    image,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    ...(env ? { env } : {}),
    trainingData,
    modelOutput,
    ...(scratch ? { scratch } : {}),
    parallelism,
    resources,
    gpu,
    backoffLimit,
    suspend,
  };
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
      ...(isObj(m.labels) ? { labels: m.labels as Record<string, string> } : {}),
    },
    spec,
    ...(isObj(raw.status) ? { status: raw.status as unknown as MLTask['status'] } : {}),
  };
  return { ok: true, task };
}
