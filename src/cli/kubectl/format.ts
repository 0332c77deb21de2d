/** The tables `kubectl linkpack nodes` and `why-pending` print (pure: tested in test/cli). */
import type { UiGpu, UiNode, UiState } from '../../extender/ui.js';
import { GPU_MILLI } from '../../core/types.js';
import { printable } from '../printable.js';
import { table } from '../table.js';

interface Counts {
  total: number;
  free: number;
  inUse: number;
  unhealthy: number;
}

/**
 * Free: healthy, nothing on it, on a node the extender can use now. In use: held, whole or in
 * part (a share). Unhealthy: marked so by the agent, held or not. A GPU may be in use and unhealthy.
 */
function count(node: UiNode, gpus: UiGpu[]): Counts {
  return {
    total: gpus.length,
    free: node.ok ? gpus.filter((g) => g.healthy && g.freeMilli >= GPU_MILLI && g.pods.length === 0).length : 0,
    inUse: gpus.filter((g) => g.pods.length > 0 || g.freeMilli < GPU_MILLI).length,
    unhealthy: gpus.filter((g) => !g.healthy).length,
  };
}

const modelsOf = (n: UiNode) => [...new Set(n.gpus.map((g) => g.model ?? 'unknown model'))];

export function formatNodes(state: UiState): string {
  if (state.nodes.length === 0) return `No nodes in the extender's cache (as of ${state.atIso}${state.synced ? '' : ', not synced yet'}).`;
  const nodeRows = [['NODE', 'MODEL', 'GPUS', 'FREE', 'IN USE', 'UNHEALTHY', 'LARGEST FREE NVLINK SET', 'STATUS']];
  const perModel = new Map<string, Counts & { largest: number }>();
  for (const n of [...state.nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    const c = count(n, n.gpus);
    const models = modelsOf(n);
    nodeRows.push([n.name, models.join(', ') || '-', String(c.total), String(c.free), String(c.inUse), String(c.unhealthy), String(n.largestFreeNvlinkSet), n.ok ? 'ok' : printable(n.reason ?? 'not usable', 120)]);
    for (const m of models) {
      const mc = count(n, n.gpus.filter((g) => (g.model ?? 'unknown model') === m));
      const sum = perModel.get(m) ?? { total: 0, free: 0, inUse: 0, unhealthy: 0, largest: 0 };
      perModel.set(m, {
        total: sum.total + mc.total,
        free: sum.free + mc.free,
        inUse: sum.inUse + mc.inUse,
        unhealthy: sum.unhealthy + mc.unhealthy,
        // A node of one model: its set is of that model (a mixed node's set may span models).
        largest: Math.max(sum.largest, models.length === 1 ? n.largestFreeNvlinkSet : 0),
      });
    }
  }
  const modelRows = [['MODEL', 'GPUS', 'FREE', 'IN USE', 'UNHEALTHY', 'LARGEST FREE NVLINK SET']];
  for (const [m, c] of [...perModel].sort(([a], [b]) => a.localeCompare(b))) {
    if (c.total > 0) modelRows.push([m, String(c.total), String(c.free), String(c.inUse), String(c.unhealthy), String(c.largest)]);
  }
  const stale = state.synced ? '' : ' (the extender has not finished listing the cluster: counts may be low)';
  return [table(nodeRows), '', table(modelRows), '', `As of ${state.atIso}${stale}.`].join('\n');
}

export interface PendingRow {
  pod: string;
  /** Since the pod was created, e.g. "3m". */
  age: string;
  reason: string;
}

/** "45s", "3m", "2h", "4d": the age column as kubectl prints it. */
export function age(fromIso: string | undefined, nowMs: number): string {
  const t = fromIso ? Date.parse(fromIso) : NaN;
  if (Number.isNaN(t)) return '?';
  const s = Math.max(0, Math.floor((nowMs - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** One line: the extender's summary with its line breaks folded, escaped and cut. */
export function oneLine(text: string, max = 300): string {
  return printable(text.replace(/\s*\n\s*/g, ' ').trim(), max);
}

export function formatPending(rows: PendingRow[], where: string, schedulerName: string): string {
  if (rows.length === 0) return `No pending pods with schedulerName ${schedulerName} ${where}.`;
  return table([['POD', 'AGE', 'REASON'], ...rows.map((r) => [r.pod, r.age, oneLine(r.reason)])]);
}
