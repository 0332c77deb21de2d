/**
 * The web view's cluster summary: GPUs per model by state, nodes that can still give a free
 * NVLink-connected set of 2/4/8 (the per-node largest set the core computes, so the page and the
 * `linkpack_cluster_free_nvlink_set_nodes` series agree), and the FGD fragmentation of the free
 * capacity as cluster-metrics.ts computes it for Prometheus.
 */
import { NVLINK_SET_SIZES, type ClusterSnapshot } from './cluster-metrics.js';
import { GPU_MILLI } from '../core/types.js';
import type { UiNode } from './ui.js';

export interface UiModelSummary {
  model: string;
  nodes: number;
  gpus: number;
  /** Whole healthy GPUs with nothing on them, on nodes the extender can use. */
  free: number;
  /** Healthy GPUs with a pod on them (whole or shared). */
  inUse: number;
  unhealthy: number;
  /** GPUs on nodes the extender cannot use now (stale heartbeat…): not the scheduler's to give. */
  unavailable: number;
  /** size → nodes whose largest free NVLink-connected set is at least that size. */
  nvlinkSetNodes: Record<number, number>;
}

export interface UiSummary {
  models: UiModelSummary[];
  all: UiModelSummary;
  /** Share of the free capacity the typical pod cannot use, in percent; absent without a profile. */
  fragmentationPercent?: number;
  /** Follows the percentage as a sentence ("12.5% of the free GPU capacity…"), or says why there is none. */
  fragmentationMeaning: string;
}

function empty(model: string): UiModelSummary {
  const nvlinkSetNodes: Record<number, number> = {};
  for (const k of NVLINK_SET_SIZES) nvlinkSetNodes[k] = 0;
  return { model, nodes: 0, gpus: 0, free: 0, inUse: 0, unhealthy: 0, unavailable: 0, nvlinkSetNodes };
}

function add(s: UiModelSummary, n: UiNode): void {
  s.nodes++;
  s.gpus += n.gpus.length;
  for (const g of n.gpus) {
    if (!n.ok) s.unavailable++;
    else if (!g.healthy) s.unhealthy++;
    else if (g.freeMilli >= GPU_MILLI) s.free++;
    else s.inUse++;
  }
  if (n.ok) for (const k of NVLINK_SET_SIZES) if (n.largestFreeNvlinkSet >= k) s.nvlinkSetNodes[k]!++;
}

export function summarize(nodes: readonly UiNode[], snap: Pick<ClusterSnapshot, 'fragmentationMilli' | 'freeMilli'>): UiSummary {
  const byModel = new Map<string, UiModelSummary>();
  const all = empty('all models');
  for (const n of nodes) {
    // A node is one model in practice; a node without GPUNode has none to count.
    if (n.gpus.length === 0) continue;
    const model = n.gpus[0]!.model ?? 'unknown model';
    let s = byModel.get(model);
    if (!s) byModel.set(model, (s = empty(model)));
    add(s, n);
    add(all, n);
  }
  const models = [...byModel.values()].sort((a, b) => b.gpus - a.gpus || a.model.localeCompare(b.model));
  if (snap.fragmentationMilli === undefined) {
    return { models, all, fragmentationMeaning: 'not measured: no typical GPU pod shape known yet (the extender learns it from running GPU pods; --profile none turns it off)' };
  }
  const pct = snap.freeMilli > 0 ? Math.round((1000 * snap.fragmentationMilli) / snap.freeMilli) / 10 : 0;
  return {
    models,
    all,
    fragmentationPercent: pct,
    fragmentationMeaning: `of the free GPU capacity sits where the typical GPU pod cannot use it (too few free GPUs together on a node, or shares too small)`,
  };
}
