/**
 * The GPUNode custom resource (linkpack.io/v1alpha1, cluster-scoped, name = node name): its
 * status shape, the parser into GpuNodeRecord, and the builder from a Topology. The CRD schema in
 * deploy/crds/gpunodes.linkpack.io.yaml describes the same shape (a test keeps them in sync).
 */
import { GROUP_VERSION, type Parsed } from '../api/annotations.js';
import type { GpuInfo, Topology } from '../topology/types.js';
import type { GpuNodeRecord } from './types.js';

export const GPUNODE_KIND = 'GPUNode';
export const GPUNODE_PLURAL = 'gpunodes';

/** Unknown: the agent could not read the GPU (nvidia-smi failed or left it out); not schedulable. */
export type GpuHealth = 'Healthy' | 'Unhealthy' | 'Unknown';

export interface GpuNodeGpuStatus {
  index: number;
  uuid?: string;
  model?: string;
  memoryMiB?: number;
  health: GpuHealth;
  /** Why the GPU is unhealthy (XID, ECC, lost…); empty when healthy. */
  reasons?: string[];
  numaNode?: number | null;
  /** CPU list as nvidia-smi prints it, e.g. `0-23,48-71`. */
  cpuAffinity?: string | null;
  /** `00000000:8A:00.0` (nvidia-smi's form, 8-digit domain). */
  pciBusId?: string;
}

/**
 * An NVLink pair that was NVLink at baseline and is now degraded (a link of one of the two GPUs went
 * inactive). `links` keeps the baseline; readers treat a degraded pair as having no NVLink.
 */
export interface GpuNodeDegradedLink {
  gpus: [number, number];
  reasons: string[];
}

/** GPUs the kubelet has given a pod (pod-resources API), as the agent saw them. */
export interface GpuNodeAssignment {
  /** `namespace/name`. */
  pod: string;
  uid?: string;
  gpus: number[];
  /** Per container, when known (PodResources reports containers). */
  containers?: { name: string; gpus: number[] }[];
}

export interface GpuNodeStatus {
  gpus: GpuNodeGpuStatus[];
  /** n×n nvidia-smi `topo -m` legend, 'X' on the diagonal. */
  links: string[][];
  nvlinkGBpsPerLink?: number;
  /** Pairs whose NVLink is degraded now (the matrix above is the baseline). */
  degradedLinks?: GpuNodeDegradedLink[];
  /** RFC 3339 time of the agent's last report. */
  heartbeatTime?: string;
  assignments?: GpuNodeAssignment[];
  /** len(gpus) and the Healthy count, for `kubectl get gpunodes` columns. */
  gpuCount?: number;
  healthyCount?: number;
}

export interface GpuNodeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  spec?: Record<string, never>;
  status?: GpuNodeStatus;
}

/** A parsed GPUNode: the contract record plus what the kubelet reports as assigned. */
export interface ParsedGpuNode {
  /** record.topology has every degraded pair turned into SYS (no NVLink), so the core avoids it. */
  record: GpuNodeRecord;
  kubeletAssignments: GpuNodeAssignment[];
  degradedLinks: GpuNodeDegradedLink[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Bad extends Error {}

function int(v: unknown, where: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Bad(`${where}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Bad(`${where}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function parseGpu(v: unknown, i: number): { info: GpuInfo; unhealthy?: string } {
  const at = `status.gpus[${i}]`;
  if (!isObj(v)) throw new Bad(`${at}: expected an object`);
  const info: GpuInfo = { index: int(v.index, `${at}.index`) };
  const uuid = optString(v.uuid, `${at}.uuid`);
  if (uuid !== undefined) info.uuid = uuid;
  const model = optString(v.model, `${at}.model`);
  if (model !== undefined) info.model = model;
  if (v.memoryMiB !== undefined && v.memoryMiB !== null) info.memoryMiB = int(v.memoryMiB, `${at}.memoryMiB`);
  if (v.numaNode === null) info.numaNode = null;
  else if (v.numaNode !== undefined) info.numaNode = int(v.numaNode, `${at}.numaNode`);
  if (v.cpuAffinity === null) info.cpuAffinity = null;
  else if (v.cpuAffinity !== undefined) info.cpuAffinity = optString(v.cpuAffinity, `${at}.cpuAffinity`)!;
  optString(v.pciBusId, `${at}.pciBusId`); // checked only: placement has no use for it
  if (v.health !== 'Healthy' && v.health !== 'Unhealthy' && v.health !== 'Unknown') throw new Bad(`${at}.health: expected "Healthy", "Unhealthy" or "Unknown", got ${JSON.stringify(v.health)}`);
  if (v.reasons !== undefined && !(Array.isArray(v.reasons) && v.reasons.every((r) => typeof r === 'string'))) {
    throw new Bad(`${at}.reasons: expected a list of strings`);
  }
  const reasons = (v.reasons as string[] | undefined) ?? [];
  if (v.health === 'Unknown') return { info, unhealthy: `health unknown: ${reasons.length > 0 ? reasons.join('; ') : 'the agent could not read it'}` };
  return v.health === 'Unhealthy' ? { info, unhealthy: reasons.length > 0 ? reasons.join('; ') : 'reported Unhealthy by the agent' } : { info };
}

function parseLinks(v: unknown, n: number): string[][] {
  if (!Array.isArray(v) || v.length !== n) throw new Bad(`status.links: expected ${n} rows (one per GPU), got ${Array.isArray(v) ? v.length : JSON.stringify(v)}`);
  return v.map((row, i) => {
    if (!Array.isArray(row) || row.length !== n) throw new Bad(`status.links[${i}]: expected ${n} cells`);
    return row.map((cell, j) => {
      if (typeof cell !== 'string') throw new Bad(`status.links[${i}][${j}]: expected a legend string, got ${JSON.stringify(cell)}`);
      return cell;
    });
  });
}

function parseDegraded(v: unknown, n: number): GpuNodeDegradedLink[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Bad('status.degradedLinks: expected a list');
  return v.map((d, i) => {
    const at = `status.degradedLinks[${i}]`;
    if (!isObj(d) || !Array.isArray(d.gpus) || d.gpus.length !== 2) throw new Bad(`${at}.gpus: expected a pair of GPU indices`);
    const a = int(d.gpus[0], `${at}.gpus[0]`);
    const b = int(d.gpus[1], `${at}.gpus[1]`);
    if (a >= n || b >= n || a === b) throw new Bad(`${at}.gpus: expected two different GPU indices below ${n}, got [${a}, ${b}]`);
    if (d.reasons !== undefined && !(Array.isArray(d.reasons) && d.reasons.every((r) => typeof r === 'string'))) throw new Bad(`${at}.reasons: expected a list of strings`);
    return { gpus: [a, b], reasons: [...((d.reasons as string[] | undefined) ?? [])] };
  });
}

function parseAssignments(v: unknown): GpuNodeAssignment[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Bad('status.assignments: expected a list');
  return v.map((a, i) => {
    const at = `status.assignments[${i}]`;
    if (!isObj(a) || typeof a.pod !== 'string' || !a.pod.includes('/')) throw new Bad(`${at}.pod: expected "namespace/name"`);
    if (!Array.isArray(a.gpus)) throw new Bad(`${at}.gpus: expected a list of GPU indices`);
    const out: GpuNodeAssignment = { pod: a.pod, gpus: a.gpus.map((g, k) => int(g, `${at}.gpus[${k}]`)) };
    const uid = optString(a.uid, `${at}.uid`);
    if (uid !== undefined) out.uid = uid;
    if (a.containers !== undefined && a.containers !== null) {
      if (!Array.isArray(a.containers)) throw new Bad(`${at}.containers: expected a list`);
      out.containers = a.containers.map((c, k) => {
        if (!isObj(c) || typeof c.name !== 'string' || !Array.isArray(c.gpus)) throw new Bad(`${at}.containers[${k}]: expected {name, gpus}`);
        return { name: c.name, gpus: c.gpus.map((g, m) => int(g, `${at}.containers[${k}].gpus[${m}]`)) };
      });
    }
    return out;
  });
}

/**
 * Parse a GPUNode object (Kubernetes JSON). Never throws: a bad object is an error naming the
 * GPUNode and the field, so one broken agent cannot take the informer down.
 */
export function parseGpuNode(obj: unknown): Parsed<ParsedGpuNode> {
  const name = isObj(obj) && isObj(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : undefined;
  const label = name !== undefined ? `GPUNode "${name}"` : 'GPUNode';
  try {
    if (!isObj(obj)) throw new Bad('not an object');
    if (obj.kind !== undefined && obj.kind !== GPUNODE_KIND) throw new Bad(`kind is ${JSON.stringify(obj.kind)}, expected ${GPUNODE_KIND}`);
    if (name === undefined || name === '') throw new Bad('metadata.name is missing');
    const status = obj.status;
    if (!isObj(status)) throw new Bad('status is missing (the agent has not reported yet)');
    if (!Array.isArray(status.gpus) || status.gpus.length === 0) throw new Bad('status.gpus: expected a non-empty list');
    const parsed = status.gpus.map(parseGpu).sort((a, b) => a.info.index - b.info.index);
    parsed.forEach((g, i) => {
      if (g.info.index !== i) throw new Bad(`status.gpus: indices must be 0..${parsed.length - 1} without gaps or repeats (found ${parsed.map((p) => p.info.index).join(',')})`);
    });
    const links = parseLinks(status.links, parsed.length);
    const degradedLinks = parseDegraded(status.degradedLinks, parsed.length);
    for (const { gpus: [a, b] } of degradedLinks) {
      // A degraded NVLink is treated as missing: the worst PCIe path, since the real one is unknown.
      if (/^NV\d+$/.test(links[a][b])) links[a][b] = links[b][a] = 'SYS';
    }
    const topology: Topology = { name: `GPUNode ${name}`, gpus: parsed.map((g) => g.info), links };
    if (status.nvlinkGBpsPerLink !== undefined && status.nvlinkGBpsPerLink !== null) {
      if (typeof status.nvlinkGBpsPerLink !== 'number' || !(status.nvlinkGBpsPerLink > 0)) {
        throw new Bad(`status.nvlinkGBpsPerLink: expected a positive number, got ${JSON.stringify(status.nvlinkGBpsPerLink)}`);
      }
      topology.nvlinkGBpsPerLink = status.nvlinkGBpsPerLink;
    }
    const record: GpuNodeRecord = { name, topology, unhealthy: {} };
    for (const g of parsed) if (g.unhealthy !== undefined) record.unhealthy[g.info.index] = g.unhealthy;
    if (degradedLinks.length > 0) record.degradedLinks = degradedLinks;
    if (status.heartbeatTime !== undefined && status.heartbeatTime !== null) {
      const hb = status.heartbeatTime instanceof Date ? status.heartbeatTime.getTime() : typeof status.heartbeatTime === 'string' ? Date.parse(status.heartbeatTime) : NaN;
      if (Number.isNaN(hb)) throw new Bad(`status.heartbeatTime: expected an RFC 3339 time, got ${JSON.stringify(status.heartbeatTime)}`);
      record.heartbeatMs = hb;
    }
    return { ok: true, value: { record, kubeletAssignments: parseAssignments(status.assignments), degradedLinks } };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: `${label}: ${e.message}` };
    return { ok: false, error: `${label}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export interface GpuNodeObjectOptions {
  /** uid of the Node object: adds an ownerReference so the GPUNode goes when the Node goes. */
  nodeUid?: string;
  /** Heartbeat time (default: now). */
  heartbeat?: Date;
  /** GPU index → reasons it is unhealthy. */
  unhealthy?: Record<number, string[]>;
  /** GPU index → health and reasons (overrides `unhealthy` for that GPU). */
  health?: Record<number, { health: GpuHealth; reasons: string[] }>;
  /** GPU index → PCI bus id. */
  pciBusIds?: Record<number, string>;
  degradedLinks?: GpuNodeDegradedLink[];
  assignments?: GpuNodeAssignment[];
  labels?: Record<string, string>;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A GPUNode object describing `topology` (for the agent, `linkpack inspect --as-gpunode`, tests). */
export function gpuNodeObject(nodeName: string, topology: Topology, opts: GpuNodeObjectOptions = {}): GpuNodeObject {
  const gpus: GpuNodeGpuStatus[] = topology.gpus.map((g) => {
    const given = opts.health?.[g.index];
    const reasons = given ? (given.reasons.length > 0 ? given.reasons : undefined) : opts.unhealthy?.[g.index];
    const s: GpuNodeGpuStatus = { index: g.index, health: given?.health ?? (reasons ? 'Unhealthy' : 'Healthy') };
    if (g.uuid !== undefined) s.uuid = g.uuid;
    if (g.model !== undefined) s.model = g.model;
    if (g.memoryMiB !== undefined) s.memoryMiB = g.memoryMiB;
    if (reasons) s.reasons = [...reasons];
    if (g.numaNode !== undefined) s.numaNode = g.numaNode;
    if (g.cpuAffinity !== undefined) s.cpuAffinity = g.cpuAffinity;
    const bus = opts.pciBusIds?.[g.index];
    if (bus !== undefined) s.pciBusId = bus;
    return s;
  });
  const status: GpuNodeStatus = {
    gpus,
    links: topology.links.map((r) => [...r]),
    heartbeatTime: rfc3339(opts.heartbeat ?? new Date()),
    gpuCount: gpus.length,
    healthyCount: gpus.filter((g) => g.health === 'Healthy').length,
  };
  if (topology.nvlinkGBpsPerLink !== undefined) status.nvlinkGBpsPerLink = topology.nvlinkGBpsPerLink;
  if (opts.degradedLinks && opts.degradedLinks.length > 0) status.degradedLinks = opts.degradedLinks.map((d) => ({ gpus: [d.gpus[0], d.gpus[1]], reasons: [...d.reasons] }));
  if (opts.assignments) {
    status.assignments = opts.assignments.map((a) => ({ ...a, gpus: [...a.gpus], ...(a.containers ? { containers: a.containers.map((c) => ({ name: c.name, gpus: [...c.gpus] })) } : {}) }));
  }
  const obj: GpuNodeObject = { apiVersion: GROUP_VERSION, kind: GPUNODE_KIND, metadata: { name: nodeName }, spec: {}, status };
  if (opts.labels) obj.metadata.labels = { ...opts.labels };
  if (opts.nodeUid) {
    obj.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: opts.nodeUid, blockOwnerDeletion: false, controller: false }];
  }
  return obj;
}
