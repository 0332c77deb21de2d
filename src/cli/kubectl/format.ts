/** The tables `kubectl linkpack nodes` and `why-pending` print (pure: tested in test/cli). */
import type { UiState } from '../../extender/ui.js';
import { summarize, type UiModelSummary, type UiSummary } from '../../extender/ui-summary.js';
import { NVLINK_SET_SIZES } from '../../extender/cluster-metrics.js';
import { printable } from '../printable.js';
import { table } from '../table.js';

/** A GPU model's summary row, as the web view shows it (src/extender/ui-summary.ts). */
function summaryRow(m: UiModelSummary, largest: number): string[] {
  const sets = NVLINK_SET_SIZES.map((k) => String(m.nvlinkSetNodes[k] ?? 0)).join('/');
  return [m.model, String(m.nodes), String(m.gpus), String(m.free), String(m.inUse), String(m.unhealthy), String(m.unavailable), String(largest), sets];
}

/**
 * Per node, then per GPU model with the web view's own summary (the same counts: free, in use,
 * unhealthy and unavailable exclude each other), then fragmentation. An extender whose /ui/state
 * has no summary yet gets one computed here from its nodes.
 */
export function formatNodes(state: UiState): string {
  if (state.nodes.length === 0) return `No nodes in the extender's cache (as of ${state.atIso}${state.synced ? '' : ', not synced yet'}).`;
  // No fragmentation without the extender's profile: the summary then says it is not measured.
  const noSnapshot = { freeMilli: 0, fragmentationMilli: undefined };
  const nodeRows = [['NODE', 'MODEL', 'GPUS', 'FREE', 'IN USE', 'UNHEALTHY', 'LARGEST FREE NVLINK SET', 'STATUS']];
  const largest = new Map<string, number>();
  for (const n of [...state.nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    const c = summarize([n], noSnapshot).all;
    const model = n.gpus[0]?.model ?? (n.gpus.length ? 'unknown model' : '-');
    if (n.ok) largest.set(model, Math.max(largest.get(model) ?? 0, n.largestFreeNvlinkSet));
    nodeRows.push([n.name, model, String(c.gpus), String(c.free), String(c.inUse), String(c.unhealthy), String(n.largestFreeNvlinkSet), n.ok ? 'ok' : printable(n.reason ?? 'not usable', 120)]);
  }
  const summary: UiSummary = state.summary ?? summarize(state.nodes, noSnapshot);
  const sizes = NVLINK_SET_SIZES.join('/');
  const modelRows = [['MODEL', 'NODES', 'GPUS', 'FREE', 'IN USE', 'UNHEALTHY', 'UNAVAILABLE', 'LARGEST FREE NVLINK SET', `NODES WITH A FREE NVLINK SET OF ${sizes}`]];
  for (const m of summary.models) modelRows.push(summaryRow(m, largest.get(m.model) ?? 0));
  if (summary.models.length > 1) modelRows.push(summaryRow(summary.all, Math.max(0, ...largest.values())));
  const frag = summary.fragmentationPercent === undefined ? `Fragmentation: ${summary.fragmentationMeaning}.` : `Fragmentation: ${summary.fragmentationPercent}% ${summary.fragmentationMeaning}.`;
  const stale = state.synced ? '' : ' (the extender has not finished listing the cluster: counts may be low)';
  return [table(nodeRows), '', table(modelRows), '', frag, `As of ${state.atIso}${stale}.`].join('\n');
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
