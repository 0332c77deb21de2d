/**
 * The web view at /ui: nodes × GPUs, NVLink islands, which pod holds each GPU, health, and the
 * last decisions in words. The page (ui-page.ts) is one self-contained HTML file with inline
 * script and style — nothing fetched from the network — that polls GET /ui/state.
 * The state is a snapshot of the ClusterView, rebuilt at most once a second (ui-snapshot.ts) so
 * that viewers never load the scheduling path.
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterView, GpuNodeRecord } from '../cluster/types.js';
import { freeCapacity } from '../core/index.js';
import { GPU_MILLI } from '../core/types.js';
import type { WorkloadProfile } from '../core/types.js';
import { islands } from '../topology/index.js';
import { clusterSnapshot } from './cluster-metrics.js';
import { UI_HTML } from './ui-page.js';
import type { PendingPod, PendingPods } from './ui-pending.js';
import { SnapshotCache } from './ui-snapshot.js';
import { summarize, type UiSummary } from './ui-summary.js';

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
  /** NVLink pairs degraded now; `islands` is drawn from the baseline so the broken link shows. */
  degradedLinks: { gpus: [number, number]; reasons: string[] }[];
}

export interface UiState {
  atIso: string;
  synced: boolean;
  nodes: UiNode[];
  decisions: readonly UiDecision[];
  summary: UiSummary;
  /** GPU pods filtered but not bound, newest first, with the extender's last reason. */
  pending: PendingPod[];
}

export interface UiSources {
  pending?: PendingPods;
  profile?: () => WorkloadProfile | undefined;
}

/** The topology as the agent first saw it: degraded pairs count as NVLink again for the picture. */
function baselineIslands(record: GpuNodeRecord): number[][] {
  const t = record.topology;
  if (!record.degradedLinks?.length) return islands(t);
  const links = t.links.map((row) => [...row]);
  for (const { gpus: [a, b] } of record.degradedLinks) links[a]![b] = links[b]![a] = 'NV1';
  return islands({ ...t, links });
}

/** Bound (the cache shows a node) or deleted (the cache knew it and has it no more). */
function settled(cluster: ClusterView, key: string, inCache: boolean): boolean {
  const cut = key.indexOf('/');
  const pod = cluster.getPod(key.slice(0, cut), key.slice(cut + 1)) as { spec?: { nodeName?: string } } | undefined;
  return pod === undefined ? inCache : typeof pod.spec?.nodeName === 'string' && pod.spec.nodeName !== '';
}

type WithGpuNode = ClusterView & { gpuNode?: (name: string) => GpuNodeRecord | undefined };

export function uiState(cluster: ClusterView, nowMs: number, decisions: readonly UiDecision[], src: UiSources = {}): UiState {
  const nodes: UiNode[] = [];
  for (const name of cluster.nodeNames()) {
    const look = cluster.lookupNode(name, nowMs);
    // A node that cannot be used (e.g. stale heartbeat) still shows its GPUs when the cache has them.
    const record = look.ok ? look.gpuNode : (cluster as WithGpuNode).gpuNode?.(name);
    if (!record) {
      nodes.push({ name, ok: false, reason: look.ok ? undefined : look.reason, gpus: [], islands: [], largestFreeNvlinkSet: 0, degradedLinks: [] });
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
    const isl = baselineIslands(record);
    // A connected set, as the core would give it (free GPUs of one island need not be connected);
    // a node the extender cannot use gives nothing.
    const largestFreeNvlinkSet = look.ok ? freeCapacity(look.state).largestFreeNvlinkSet : 0;
    nodes.push({ name, ok: look.ok, ...(look.ok ? {} : { reason: look.reason }), gpus, islands: isl, largestFreeNvlinkSet, degradedLinks: record.degradedLinks ?? [] });
  }
  const profile = src.profile ?? (() => undefined);
  const summary = summarize(nodes, clusterSnapshot({ cluster, now: () => nowMs, profile }));
  const pending = src.pending?.list(nowMs, (k, inCache) => settled(cluster, k, inCache)) ?? [];
  return { atIso: new Date(nowMs).toISOString(), synced: cluster.synced(), nodes, decisions, summary, pending };
}

export interface UiOptions extends UiSources {
  cluster: ClusterView;
  now: () => number;
  decisions: DecisionLog;
  /** Monotonic clock of the snapshot cache (tests); default performance.now. */
  clock?: () => number;
}

/** Registers /ui and /ui/state; returns the snapshot cache (its `builds` count is for tests). */
export function registerUi(app: FastifyInstance, opts: UiOptions): SnapshotCache<string> {
  // The JSON text itself is cached: 500 nodes serialise to a few hundred KiB.
  const snapshot = new SnapshotCache(() => JSON.stringify(uiState(opts.cluster, opts.now(), opts.decisions.list(), opts)), opts.clock);
  app.get('/ui', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(UI_HTML));
  app.get('/ui/state', async (_req, reply) => reply.type('application/json; charset=utf-8').header('cache-control', 'no-store').send(snapshot.get()));
  return snapshot;
}
