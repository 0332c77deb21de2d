/**
 * Pod → what it asks of a GPU node. Parsed once per request at the edge; the per-node step
 * (`requestForNode`) only maps UUID include/exclude lists to that node's indices.
 *
 * GPU count follows kube-scheduler's effective-request rule (see `effectiveGpuCount`). Every
 * linkpack.io annotation is validated; a bad value becomes a reason that names the annotation and
 * the accepted values, so it shows up in the pod's FailedScheduling event instead of being ignored.
 */
import {
  ANN_EXCLUDE_GPUS,
  ANN_GPU_MEMORY_MIN,
  ANN_GPU_MILLI,
  ANN_GPU_MODEL,
  ANN_INCLUDE_GPUS,
  ANN_POLICY,
  ANN_TOPOLOGY,
  GPU_RESOURCE,
  KNOWN_POD_ANNOTATIONS,
  USER_ANNOTATIONS,
} from '../api/annotations.js';
import { didYouMean } from '../api/nearest.js';
import { printable } from '../cli/printable.js';
import { validateRequest } from '../core/index.js';
import { GPU_MILLI, PACKING_POLICIES, TOPOLOGY_MODES } from '../core/types.js';
import type { GpuRequest, PackingPolicy, TopologyMode } from '../core/types.js';
import type { Topology } from '../topology/types.js';
import { effectiveRequest, podRequests } from '../cluster/pod.js';

/** An annotation's key or value as a reason quotes it: escaped and short (it lands in Events). */
const shown = (text: string) => printable(text, ANNOTATION_SHOWN_CHARS);
const ANNOTATION_SHOWN_CHARS = 120;

/** Defaults when the pod says nothing (documented in docs/extender.md). */
export const DEFAULT_TOPOLOGY: TopologyMode = 'prefer-nvlink';
export const DEFAULT_POLICY: PackingPolicy = 'binpack';

export type PodGpuAsk =
  /** The pod requests no nvidia.com/gpu: it passes every node; prioritize scores where it strands least. */
  | { kind: 'none'; requests?: PodRequests }
  /** The pod's request or an annotation is invalid: it fails on every node with this reason. */
  | { kind: 'invalid'; reason: string }
  | {
      kind: 'gpu';
      /** The request without include/exclude (those are per node: UUIDs → indices). */
      base: GpuRequest;
      includeUuids?: readonly string[];
      excludeUuids?: readonly string[];
      /** `linkpack.io/gpu-memory-min=<as written>`, quoted by a memory reason. */
      memoryAnnotation?: string;
      /** CPU and memory the pod asks (for scoring only: kube-scheduler owns CPU fit). */
      requests?: PodRequests;
    };

/** A pod's effective CPU (milli) and memory (MiB) requests. */
export interface PodRequests {
  cpuMilli: number;
  memoryMiB: number;
}

/** The few Pod fields we read (the wire schema checks their types). */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> | null; resourceVersion?: string };
  spec?: { containers?: ContainerLike[] | null; initContainers?: ContainerLike[] | null; priority?: number | null };
}
export interface ContainerLike {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, unknown> | null; limits?: Record<string, unknown> | null } | null;
}

type Count = { ok: true; value: number } | { ok: false; error: string };

/** A container's nvidia.com/gpu: requests, else limits (the API server defaults one from the other). */
export function containerGpus(c: ContainerLike, where: string): Count {
  const r = c.resources;
  const raw = r?.requests?.[GPU_RESOURCE] ?? r?.limits?.[GPU_RESOURCE];
  if (raw === undefined || raw === null) return { ok: true, value: 0 };
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : undefined;
  if (text === undefined || !/^\d{1,4}$/.test(text)) {
    return { ok: false, error: `${where}: ${GPU_RESOURCE} must be a whole number of GPUs (got ${JSON.stringify(raw)})` };
  }
  return { ok: true, value: Number(text) };
}

/** kube-scheduler's effective nvidia.com/gpu request (src/cluster/pod.ts effectiveRequest). */
export function effectiveGpuCount(pod: PodLike): Count {
  return effectiveRequest(pod.spec, containerGpus);
}

function enumValue<T extends string>(ann: Record<string, string>, key: string, accepted: readonly T[], fallback: T): T | string {
  const raw = ann[key];
  if (raw === undefined) return fallback;
  const v = raw.trim() as T;
  if (accepted.includes(v)) return v;
  return `invalid annotation ${key}="${shown(raw)}": accepted values are ${accepted.map((a) => `"${a}"`).join(', ')}`;
}

const UUID_TOKEN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

function uuidList(ann: Record<string, string>, key: string): readonly string[] | string | undefined {
  const raw = ann[key];
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = items.find((s) => !UUID_TOKEN.test(s));
  if (items.length === 0 || bad !== undefined) {
    return `invalid annotation ${key}="${shown(raw)}": accepted value is a comma-separated list of GPU UUIDs (e.g. "GPU-5e2c1f0a-…,GPU-9b…")`;
  }
  return items.map((s) => s.toUpperCase());
}

const MEMORY_UNIT_MIB: Record<string, number> = { '': 1, Mi: 1, Gi: 1024, Ti: 1024 * 1024 };

/** `81920` (MiB), `81920Mi`, `80Gi`, `0.5Ti` → MiB. */
export function parseMemoryMiB(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(Mi|Gi|Ti)?$/.exec(raw.trim());
  if (!m) return undefined;
  const mib = Number(m[1]) * MEMORY_UNIT_MIB[m[2] ?? '']!;
  return Number.isFinite(mib) && mib > 0 ? Math.ceil(mib) : undefined;
}

/** Parse the pod once: GPU count, annotations. Never throws. */
export function podGpuAsk(pod: PodLike): PodGpuAsk {
  const count = effectiveGpuCount(pod);
  if (!count.ok) return { kind: 'invalid', reason: count.error };
  const r = podRequests(pod.spec);
  const requests: PodRequests = { cpuMilli: r.cpuMilli, memoryMiB: r.memoryMiB };
  if (count.value === 0) return { kind: 'none', requests };
  const ann = pod.metadata?.annotations ?? {};
  const unknown = unknownAnnotation(ann);
  if (unknown !== undefined) return { kind: 'invalid', reason: unknown };

  const topology = enumValue(ann, ANN_TOPOLOGY, TOPOLOGY_MODES, DEFAULT_TOPOLOGY);
  if (!TOPOLOGY_MODES.includes(topology as TopologyMode)) return { kind: 'invalid', reason: topology };
  const policy = enumValue(ann, ANN_POLICY, PACKING_POLICIES, DEFAULT_POLICY);
  if (!PACKING_POLICIES.includes(policy as PackingPolicy)) return { kind: 'invalid', reason: policy };

  const base: GpuRequest = {
    gpuCount: count.value,
    milliPerGpu: GPU_MILLI,
    topology: topology as TopologyMode,
    policy: policy as PackingPolicy,
  };

  const milliRaw = ann[ANN_GPU_MILLI];
  if (milliRaw !== undefined) {
    const t = milliRaw.trim();
    const milli = /^\d{1,4}$/.test(t) ? Number(t) : NaN;
    if (!(milli >= 1 && milli <= GPU_MILLI)) {
      return { kind: 'invalid', reason: `invalid annotation ${ANN_GPU_MILLI}="${shown(milliRaw)}": accepted values are whole numbers 1–1000 (thousandths of one GPU)` };
    }
    if (milli < GPU_MILLI && count.value !== 1) {
      return {
        kind: 'invalid',
        reason: `invalid annotation ${ANN_GPU_MILLI}="${shown(milliRaw)}": a share of a GPU needs exactly 1 ${GPU_RESOURCE} (the pod requests ${count.value})`,
      };
    }
    base.milliPerGpu = milli;
  }

  const modelRaw = ann[ANN_GPU_MODEL];
  if (modelRaw !== undefined) {
    const models = modelRaw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (models.length === 0) {
      return { kind: 'invalid', reason: `invalid annotation ${ANN_GPU_MODEL}="${shown(modelRaw)}": accepted value is a comma-separated list of GPU model names (e.g. "H100,A100-SXM4-80GB")` };
    }
    base.models = models;
  }

  const memRaw = ann[ANN_GPU_MEMORY_MIN];
  if (memRaw !== undefined) {
    const mib = parseMemoryMiB(memRaw);
    if (mib === undefined) {
      return { kind: 'invalid', reason: `invalid annotation ${ANN_GPU_MEMORY_MIN}="${shown(memRaw)}": accepted values are a positive size in MiB ("81920"), or with a unit Mi, Gi or Ti ("80Gi")` };
    }
    base.minMemoryMiB = mib;
  }
  const memoryAnnotation = memRaw === undefined ? undefined : `${ANN_GPU_MEMORY_MIN}=${memRaw.trim()}`;

  const include = uuidList(ann, ANN_INCLUDE_GPUS);
  if (typeof include === 'string') return { kind: 'invalid', reason: include };
  const exclude = uuidList(ann, ANN_EXCLUDE_GPUS);
  if (typeof exclude === 'string') return { kind: 'invalid', reason: exclude };

  const problem = validateRequest(base);
  if (problem !== null) return { kind: 'invalid', reason: `pod ${podKey(pod)}: ${problem}` };

  return {
    kind: 'gpu',
    base,
    requests,
    ...(include ? { includeUuids: include } : {}),
    ...(exclude ? { excludeUuids: exclude } : {}),
    ...(memoryAnnotation ? { memoryAnnotation } : {}),
  };
}

/**
 * The request for one node. Without include/exclude this is `base` itself (no allocation on the
 * hot path); with them, the UUIDs become this node's indices (UUIDs not on the node are ignored).
 */
export function requestForNode(ask: Extract<PodGpuAsk, { kind: 'gpu' }>, topology: Topology): GpuRequest {
  if (!ask.includeUuids && !ask.excludeUuids) return ask.base;
  const indicesOf = (uuids: readonly string[]): number[] => {
    const out: number[] = [];
    for (const g of topology.gpus) if (g.uuid !== undefined && uuids.includes(g.uuid.toUpperCase())) out.push(g.index);
    return out;
  };
  return {
    ...ask.base,
    ...(ask.includeUuids ? { includeGpus: indicesOf(ask.includeUuids) } : {}),
    ...(ask.excludeUuids ? { excludeGpus: indicesOf(ask.excludeUuids) } : {}),
  };
}

/** A `linkpack.io/*` key nobody reads (a typo would silently drop a requirement), as a reason. */
export function unknownAnnotation(ann: Record<string, string>): string | undefined {
  for (const key of Object.keys(ann)) {
    if (!key.startsWith('linkpack.io/') || KNOWN_POD_ANNOTATIONS.has(key)) continue;
    const hint = didYouMean(key, USER_ANNOTATIONS);
    return `unknown annotation ${shown(key)}${hint || `; valid keys are ${USER_ANNOTATIONS.join(', ')}`}`;
  }
  return undefined;
}

/** `ns/name` of a pod, for messages. */
export function podKey(pod: PodLike): string {
  return `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? '?'}`;
}
