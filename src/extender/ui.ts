/**
 * The web view at /ui: nodes × GPUs, NVLink islands, which pod holds each GPU, health, and the
 * last decisions in words. The page (ui-page.ts) is one self-contained HTML file with inline
 * script and style — nothing fetched from the network — that polls GET /ui/state.
 * The state is a snapshot of the ClusterView, built per request (a few hundred nodes: cheap).
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterView, GpuNodeRecord } from '../cluster/types.js';
import { freeCapacity } from '../core/index.js';
import { GPU_MILLI } from '../core/types.js';
import { islands } from '../topology/index.js';
import { UI_HTML } from './ui-page.js';

export interface UiDecision {
  pod: string;
  node?: string;
  gpus: number[];
  atIso: string;
  ok: boolean;
  /** The decision (or the reason it failed) in words, as written to the pod. */
  text: string;
}

/** The last decisions, newest first (a fixed-size ring: the view shows a window, not a history). */
export class DecisionLog {
  private readonly items: UiDecision[] = [];
  constructor(private readonly max = 50) {}
  add(d: UiDecision): void {
    this.items.unshift(d);
    if (this.items.length > this.max) this.items.length = this.max;
  }
  list(): readonly UiDecision[] {
    return this.items;
  }
}

export interface UiGpu {
  index: number;
  uuid?: string;
  model?: string;
  memoryMiB?: number;
  freeMilli: number;
  healthy: boolean;
  unhealthyReason?: string;
  pods: { pod: string; milli: number; assumed: boolean }[];
}

export interface UiNode {
  name: string;
  /** Usable for scheduling now; otherwise `reason` says why not (stale heartbeat, no GPUNode…). */
  ok: boolean;
  reason?: string;
  gpus: UiGpu[];
  /** NVLink islands (connected components), GPU indices; a single GPU is its own island. */
  islands: number[][];
  /** Largest set of free, healthy GPUs inside one island. */
  largestFreeNvlinkSet: number;
}

export interface UiState {
  atIso: string;
  synced: boolean;
  nodes: UiNode[];
  decisions: readonly UiDecision[];
}

type WithGpuNode = ClusterView & { gpuNode?: (name: string) => GpuNodeRecord | undefined };

export function uiState(cluster: ClusterView, nowMs: number, decisions: readonly UiDecision[]): UiState {
  const nodes: UiNode[] = [];
  for (const name of cluster.nodeNames()) {
    const look = cluster.lookupNode(name, nowMs);
    // A node that cannot be used (e.g. stale heartbeat) still shows its GPUs when the cache has them.
    const record = look.ok ? look.gpuNode : (cluster as WithGpuNode).gpuNode?.(name);
    if (!record) {
      nodes.push({ name, ok: false, reason: look.ok ? undefined : look.reason, gpus: [], islands: [], largestFreeNvlinkSet: 0 });
      continue;
    }
    const t = record.topology;
    const free = look.ok ? look.state.freeMilli : undefined;
    const held = new Map<number, UiGpu['pods']>();
    for (const a of cluster.assignmentsOn(name)) {
      for (const g of a.gpus) {
        const list = held.get(g.index) ?? [];
        list.push({ pod: `${a.namespace}/${a.name}`, milli: a.milliPerGpu, assumed: a.assumed });
        held.set(g.index, list);
      }
    }
    const gpus: UiGpu[] = t.gpus.map((g) => {
      const pods = held.get(g.index) ?? [];
      const freeMilli = free?.[g.index] ?? Math.max(0, GPU_MILLI - pods.reduce((s, p) => s + p.milli, 0));
      const reason = record.unhealthy[g.index];
      return {
        index: g.index,
        ...(g.uuid ? { uuid: g.uuid } : {}),
        ...(g.model ? { model: g.model } : {}),
        ...(g.memoryMiB !== undefined ? { memoryMiB: g.memoryMiB } : {}),
        freeMilli,
        healthy: reason === undefined,
        ...(reason !== undefined ? { unhealthyReason: reason } : {}),
        pods,
      };
    });
    const isl = islands(t);
    // A connected set, as the core would give it (free GPUs of one island need not be connected);
    // a node the extender cannot use gives nothing.
    const largestFreeNvlinkSet = look.ok ? freeCapacity(look.state).largestFreeNvlinkSet : 0;
    nodes.push({ name, ok: look.ok, ...(look.ok ? {} : { reason: look.reason }), gpus, islands: isl, largestFreeNvlinkSet });
  }
  return { atIso: new Date(nowMs).toISOString(), synced: cluster.synced(), nodes, decisions };
}

export function registerUi(app: FastifyInstance, opts: { cluster: ClusterView; now: () => number; decisions: DecisionLog }): void {
  app.get('/ui', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(UI_HTML));
  app.get('/ui/state', async (_req, reply) => reply.header('cache-control', 'no-store').send(uiState(opts.cluster, opts.now(), opts.decisions.list())));
}
