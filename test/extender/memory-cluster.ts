/**
 * Test double of cluster *state* (not of the behaviour under test): a ClusterView over plain data,
 * plus a PodBinder that records what it was asked to write. The extender's own logic and the real
 * core run unchanged on top of it.
 */
import { compileTopology } from '../../src/core/index.js';
import { GPU_MILLI } from '../../src/core/types.js';
import type { ClusterView, GpuNodeRecord, NodeLookup, PodAssignment, PodBinder } from '../../src/cluster/types.js';
import type { Topology } from '../../src/topology/types.js';

export function withUuids(t: Topology, prefix: string): Topology {
  return { ...t, gpus: t.gpus.map((g) => ({ ...g, uuid: `GPU-${prefix}-${g.index}` })) };
}

export class MemoryCluster implements ClusterView {
  readonly nodes = new Map<string, GpuNodeRecord>();
  readonly assignments = new Map<string, PodAssignment>();
  readonly pods = new Map<string, unknown>();
  isSynced = true;
  private readonly locks = new Map<string, Promise<unknown>>();

  addNode(name: string, topology: Topology, opts: { unhealthy?: Record<number, string>; heartbeatMs?: number } = {}): void {
    this.nodes.set(name, { name, topology, unhealthy: opts.unhealthy ?? {}, heartbeatMs: opts.heartbeatMs });
  }
  addPod(pod: { metadata: { namespace?: string; name: string } } & Record<string, unknown>): void {
    this.pods.set(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`, pod);
  }
  /** A running pod holding GPUs (as the watch would report it). */
  hold(a: Omit<PodAssignment, 'assumed'>): void {
    this.assignments.set(a.uid, { ...a, assumed: false });
  }

  synced(): boolean {
    return this.isSynced;
  }
  lookupNode(name: string, _nowMs: number): NodeLookup {
    const g = this.nodes.get(name);
    if (!g) return { ok: false, reason: `no GPUNode for node ${name}`, noGpuNode: true };
    const free = new Array<number>(g.topology.gpus.length).fill(GPU_MILLI);
    for (const a of this.assignments.values()) if (a.node === name) for (const r of a.gpus) free[r.index] = Math.max(0, free[r.index]! - a.milliPerGpu);
    let unhealthyMask = 0;
    for (const k of Object.keys(g.unhealthy)) unhealthyMask |= 1 << Number(k);
    return { ok: true, gpuNode: g, state: { name, topology: compileTopology(g.topology), freeMilli: free, unhealthyMask } };
  }
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }
  assignmentsOn(node: string): PodAssignment[] {
    return [...this.assignments.values()].filter((a) => a.node === node);
  }
  getPod(namespace: string, name: string): unknown {
    return this.pods.get(`${namespace}/${name}`);
  }
  async withNodeLock<T>(node: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(node) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    this.locks.set(
      node,
      run.catch(() => undefined),
    );
    return run;
  }
  assume(a: PodAssignment): void {
    this.assignments.set(a.uid, a);
  }
  forget(uid: string): void {
    if (this.assignments.get(uid)?.assumed) this.assignments.delete(uid);
  }
}

export type BindCall = Parameters<PodBinder['bind']>[0];

/** Records binds; optionally fails or delays them (to open race windows). */
export class RecordingBinder implements PodBinder {
  readonly calls: BindCall[] = [];
  failWith: Error | undefined;
  delayMs = 0;
  async bind(args: BindCall): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    this.calls.push(args);
  }
}

export function gpuPod(name: string, gpus: number, annotations: Record<string, string> = {}, extra: { uid?: string; namespace?: string; priority?: number } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: extra.namespace ?? 'default', uid: extra.uid ?? `uid-${name}`, resourceVersion: '7', annotations },
    spec: {
      schedulerName: 'linkpack-scheduler',
      ...(extra.priority !== undefined ? { priority: extra.priority } : {}),
      containers: [{ name: 'main', image: 'pytorch', resources: gpus > 0 ? { requests: { [`nvidia.com/gpu`]: String(gpus) }, limits: { 'nvidia.com/gpu': String(gpus) } } : {} }],
    },
    status: { phase: 'Pending' },
  };
}
