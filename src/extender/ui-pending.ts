/**
 * GPU pods the extender has filtered but not bound, each with the last reason it gave, for the
 * web view's "pending" list. Bounded (a flood of unschedulable pods cannot grow the extender),
 * cleared when the pod binds, when the cache shows it bound or gone, or after a quiet while.
 */
import type { FilterOutcome } from './decide.js';
import type { PodGpuAsk } from './preferences.js';

export interface PendingPod {
  pod: string;
  /** What the pod asks, in words ("4 GPUs", "a share of one GPU"). */
  ask: string;
  reason: string;
  /** Nodes that passed the last filter (0: none fits). */
  fits: number;
  candidates: number;
  atIso: string;
}

/** Longest kept texts: the wire schema does not bound names, and 500 entries must stay small. */
const MAX_KEY = 320;
const MAX_TEXT = 1000;
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Distinct reasons quoted in one line; the rest are counted. */
const REASONS_SHOWN = 3;

/** What a GPU pod asks, in words. */
export function askInWords(ask: PodGpuAsk): string {
  if (ask.kind !== 'gpu') return ask.kind === 'invalid' ? 'an invalid GPU request' : 'no GPU';
  const b = ask.base;
  const what = b.milliPerGpu < 1000 ? `a share of one GPU (${b.milliPerGpu} milli-GPU)` : b.gpuCount === 1 ? '1 GPU' : `${b.gpuCount} GPUs`;
  return b.models?.length ? `${what}, ${b.models.join(' or ')}` : what;
}

/** One line from a filter outcome: the reasons grouped, with the nodes that gave each. */
export function filterReason(r: FilterOutcome, candidates: number): string {
  if (r.passed.length > 0) return `${r.passed.length} of ${candidates} nodes fit; waiting for kube-scheduler to bind`;
  const byReason = new Map<string, string[]>();
  for (const m of [r.failed, r.unresolvable]) {
    for (const [node, why] of Object.entries(m)) {
      const list = byReason.get(why) ?? [];
      list.push(node);
      byReason.set(why, list);
    }
  }
  if (byReason.size === 0) return 'no candidate nodes';
  // The reason most nodes give first: it is the one to fix.
  const sorted = [...byReason].sort((a, b) => b[1].length - a[1].length);
  const nodesOf = (ns: string[]) => (ns.length <= 2 ? ns.join(', ') : `${ns[0]} and ${ns.length - 1} more`);
  const parts = sorted.slice(0, REASONS_SHOWN).map(([why, ns]) => `${nodesOf(ns)}: ${why}`);
  const more = sorted.length > REASONS_SHOWN ? `; ${sorted.length - REASONS_SHOWN} other reasons` : '';
  return `no node fits (${candidates} nodes) — ${parts.join('; ')}${more}`;
}

export class PendingPods {
  private readonly map = new Map<string, PendingPod & { atMs: number; inCache: boolean }>();
  constructor(
    private readonly max = 500,
    /** kube-scheduler retries an unschedulable pod at least every 5 min: silence longer than this means it is gone. */
    private readonly ttlMs = 15 * 60_000,
  ) {}

  /** `inCache`: the cache knew the pod then, so its absence later means it was deleted. */
  note(p: PendingPod, atMs: number, inCache = false): void {
    // Re-insert so Map order is least recently noted first: the oldest is dropped at the bound.
    const pod = cut(p.pod, MAX_KEY);
    this.map.delete(pod);
    this.map.set(pod, { ...p, pod, ask: cut(p.ask, MAX_TEXT), reason: cut(p.reason, MAX_TEXT), atMs, inCache });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  /** A failed bind is the pod's latest reason; what it asks stays as the filter recorded it. */
  noteBindFailure(pod: string, reason: string, atMs: number): void {
    const prev = this.map.get(cut(pod, MAX_KEY));
    if (prev) this.note({ ...prev, reason, atIso: new Date(atMs).toISOString() }, atMs, prev.inCache);
  }

  /** The pod was bound (by us, or the cache shows it on a node): it is not pending any more. */
  bound(pod: string): void {
    this.map.delete(cut(pod, MAX_KEY));
  }

  get size(): number {
    return this.map.size;
  }

  /**
   * Newest first, after dropping the pods that are settled: `settled(pod, inCache)` says whether
   * the cache shows it bound or deleted.
   */
  list(nowMs: number, settled: (pod: string, inCache: boolean) => boolean): PendingPod[] {
    for (const [k, v] of this.map) if (nowMs - v.atMs > this.ttlMs || settled(k, v.inCache)) this.map.delete(k);
    return [...this.map.values()].reverse().map(({ atMs: _a, inCache: _c, ...p }) => p);
  }
}
