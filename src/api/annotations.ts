/**
 * The fixed names of DESIGN.md ("Contracts") and the codec of the one annotation that several
 * components read: `linkpack.io/assigned-gpus`. Everything that reads or writes a linkpack.io name
 * imports it from here, so the spellings live in one place.
 */
export const API_GROUP = 'linkpack.io';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** Annotations a user may write on a pod. */
export const ANN_TOPOLOGY = 'linkpack.io/topology';
export const ANN_POLICY = 'linkpack.io/policy';
export const ANN_GPU_MODEL = 'linkpack.io/gpu-model';
export const ANN_GPU_MEMORY_MIN = 'linkpack.io/gpu-memory-min';
export const ANN_GPU_MILLI = 'linkpack.io/gpu-milli';
export const ANN_INCLUDE_GPUS = 'linkpack.io/include-gpus';
export const ANN_EXCLUDE_GPUS = 'linkpack.io/exclude-gpus';

/** Annotations linkpack writes at bind. */
export const ANN_ASSIGNED_GPUS = 'linkpack.io/assigned-gpus';
export const ANN_ASSIGNED_AT = 'linkpack.io/assigned-at';
export const ANN_DECISION = 'linkpack.io/decision';

/** Label on every object the MLTask controller creates: the MLTask's name. */
export const LABEL_MLTASK = 'linkpack.io/mltask';
/** Written by the MLTask controller on its pods: `<mltask uid>/<workers>`. */
export const ANN_GANG = 'linkpack.io/gang';

/** Every linkpack.io/* key a pod may carry; any other is refused (a typo must not drop a requirement). */
export const USER_ANNOTATIONS: readonly string[] = [ANN_TOPOLOGY, ANN_POLICY, ANN_GPU_MODEL, ANN_GPU_MEMORY_MIN, ANN_GPU_MILLI, ANN_INCLUDE_GPUS, ANN_EXCLUDE_GPUS];
export const LINKPACK_WRITTEN_ANNOTATIONS: readonly string[] = [ANN_ASSIGNED_GPUS, ANN_ASSIGNED_AT, ANN_DECISION, ANN_GANG];
export const KNOWN_POD_ANNOTATIONS: ReadonlySet<string> = new Set([...USER_ANNOTATIONS, ...LINKPACK_WRITTEN_ANNOTATIONS]);

/** One GPU given to a pod: its index on the node and, when known, its UUID. */
export interface AssignedGpuRef {
  index: number;
  uuid?: string;
}

/** `0:GPU-aaa,3:GPU-bbb` (UUIDs optional: `0,3`). Indices ascending, as the core returns them. */
export function formatAssignedGpus(gpus: readonly AssignedGpuRef[]): string {
  return gpus.map((g) => (g.uuid ? `${g.index}:${g.uuid}` : String(g.index))).join(',');
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseAssignedGpus(text: string): Parsed<AssignedGpuRef[]> {
  const out: AssignedGpuRef[] = [];
  const seen = new Set<number>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const m = /^(\d{1,3})(?::(\S+))?$/.exec(item);
    if (!m) {
      return { ok: false, error: `${ANN_ASSIGNED_GPUS}: "${item}" is not <index>[:<uuid>] (in "${text}")` };
    }
    const index = Number(m[1]);
    if (seen.has(index)) return { ok: false, error: `${ANN_ASSIGNED_GPUS}: GPU ${index} listed twice (in "${text}")` };
    seen.add(index);
    out.push(m[2] ? { index, uuid: m[2] } : { index });
  }
  return { ok: true, value: out };
}
