/**
 * Gang planning: the workers of one MLTask (pods annotated `linkpack.io/gang: <uid>/<size>`) are
 * placed all together or not at all.
 * - The first worker filtered plans GPU sets for every worker still unplaced, at once, through
 *   the one core (placeOnNode per node; each an NVLink set when the task requires it), greedily:
 *   each set goes where the core scores best given the sets already planned.
 * - The plan is a reservation: other pods (and other gangs) see those GPUs as taken; each worker
 *   is given one slot (node + GPU set) and is steered there (other nodes fail with the reason);
 *   its bind uses exactly that set.
 * - If the whole gang does not fit now, nothing is reserved and every worker fails with a reason
 *   in words ("4 workers need 4 NVLink-connected 8-GPU sets; 3 exist free"): no partial start.
 * - A reservation lives `ttlMs` (default 60 s) from its last progress (plan or bind); expired or
 *   abandoned plans are dropped on the next call. A plan whose workers are all bound is done.
 * Pure with respect to I/O: state in memory, clock from the DecideContext.
 */
import { ANN_GANG } from '../api/annotations.js';
import type { ClusterView, NodeLookup, PodAssignment, PodBinder } from '../cluster/types.js';
import { placeOnNode } from '../core/index.js';
import { GPU_MILLI, type NodeDecision, type NodeState } from '../core/types.js';
import { bindPod, filterNodes, prioritizeNodes, type BindOutcome, type DecideContext, type FilterOutcome, type GpuAsk } from './decide.js';
import { requestForNode, type PodGpuAsk, type PodLike } from './preferences.js';

export const DEFAULT_GANG_TTL_MS = 60_000;

export interface GangRef {
  uid: string;
  size: number;
}

/** `<uid>/<size>` → the gang; undefined without the annotation; a string error when malformed. */
export function parseGang(pod: PodLike): GangRef | string | undefined {
  const raw = pod.metadata?.annotations?.[ANN_GANG];
  if (raw === undefined || raw === null) return undefined;
  const m = /^([A-Za-z0-9][A-Za-z0-9-]{0,62})\/(\d{1,4})$/.exec(raw.trim());
  const size = m ? Number(m[2]) : NaN;
  if (!m || !(size >= 1)) return `invalid annotation ${ANN_GANG}="${raw}": expected <mltask uid>/<workers ≥ 1> (written by the MLTask controller)`;
  return { uid: m[1]!, size };
}

export interface Slot {
  node: string;
  gpus: number[];
  /** Pod UID holding this slot, once a worker has been steered to it. */
  member?: string;
  bound?: boolean;
}

interface Plan {
  gang: GangRef;
  slots: Slot[];
  expiresMs: number;
}

export type GangStep =
  /** Not a gang pod: decide as usual (other gangs' reservations hidden from it). */
  | { kind: 'solo'; ctx: DecideContext; ask: PodGpuAsk }
  /** A worker with its slot: only `node` may pass, and only with `ask` (the slot's GPUs). */
  | { kind: 'slot'; ctx: DecideContext; ask: GpuAsk; node: string }
  /** The gang cannot be placed now: every node fails with this reason. */
  | { kind: 'wait'; reason: string };

/** A ClusterView whose free GPUs exclude the given reservations. */
class ReservedView implements ClusterView {
  constructor(
    private readonly inner: ClusterView,
    private readonly reserved: ReadonlyMap<string, readonly number[]>,
  ) {}
  synced(): boolean {
    return this.inner.synced();
  }
  lookupNode(name: string, nowMs: number): NodeLookup {
    const look = this.inner.lookupNode(name, nowMs);
    const held = this.reserved.get(name);
    if (!look.ok || !held || held.length === 0) return look;
    const free = [...look.state.freeMilli];
    for (const i of held) if (i >= 0 && i < free.length) free[i] = 0;
    return { ...look, state: { ...look.state, freeMilli: free } };
  }
  nodeNames(): string[] {
    return this.inner.nodeNames();
  }
  assignmentsOn(node: string): PodAssignment[] {
    return this.inner.assignmentsOn(node);
  }
  getPod(namespace: string, name: string): unknown {
    return this.inner.getPod(namespace, name);
  }
  withNodeLock<T>(node: string, fn: () => Promise<T>): Promise<T> {
    return this.inner.withNodeLock(node, fn);
  }
  assume(a: PodAssignment): void {
    this.inner.assume(a);
  }
  forget(uid: string): void {
    this.inner.forget(uid);
  }
}

export interface GangPlannerOptions {
  ttlMs?: number;
}

export interface GangStats {
  plans: number;
  refused: number;
  expired: number;
  completed: number;
}

export class GangPlanner {
  readonly ttlMs: number;
  private readonly plans = new Map<string, Plan>();
  readonly stats: GangStats = { plans: 0, refused: 0, expired: 0, completed: 0 };

  constructor(opts: GangPlannerOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_GANG_TTL_MS;
    if (!(this.ttlMs > 0)) throw new Error(`gang reservation time must be > 0 ms (got ${this.ttlMs})`);
  }

  /** Reservations still open, for explain/metrics. */
  open(): Array<{ uid: string; size: number; slots: Slot[]; expiresMs: number }> {
    return [...this.plans.values()].map((p) => ({ uid: p.gang.uid, size: p.gang.size, slots: p.slots.map((s) => ({ ...s })), expiresMs: p.expiresMs }));
  }

  private expire(nowMs: number): void {
    for (const [uid, p] of this.plans) {
      if (p.expiresMs <= nowMs) {
        this.plans.delete(uid);
        this.stats.expired += 1;
      }
    }
  }

  /** GPUs reserved but not yet bound, per node, leaving out one slot (the caller's own). */
  private reservedExcept(own?: Slot): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const p of this.plans.values()) {
      for (const s of p.slots) {
        if (s === own || s.bound) continue;
        const list = out.get(s.node) ?? [];
        list.push(...s.gpus);
        out.set(s.node, list);
      }
    }
    return out;
  }

  private view(ctx: DecideContext, own?: Slot): DecideContext {
    if (this.plans.size === 0) return ctx;
    return { ...ctx, cluster: new ReservedView(ctx.cluster, this.reservedExcept(own)) };
  }

  /** How this pod is to be decided now (filter, prioritize and bind all ask). */
  step(ctx: DecideContext, pod: PodLike, ask: PodGpuAsk, names: readonly string[], opts: { plan: boolean } = { plan: true }): GangStep {
    this.expire(ctx.nowMs);
    const gang = parseGang(pod);
    if (gang === undefined || ask.kind !== 'gpu') return { kind: 'solo', ctx: this.view(ctx), ask: typeof gang === 'string' && ask.kind === 'gpu' ? { kind: 'invalid', reason: gang } : ask };
    if (typeof gang === 'string') return { kind: 'wait', reason: gang };
    const podUid = pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    let plan = this.plans.get(gang.uid);
    if (plan && plan.gang.size !== gang.size) {
      // The task was resized: its old plan is void.
      this.plans.delete(gang.uid);
      plan = undefined;
    }
    if (!plan) {
      if (!opts.plan) return { kind: 'solo', ctx: this.view(ctx), ask };
      const made = this.makePlan(ctx, gang, ask, names, podUid);
      if (typeof made === 'string') {
        this.stats.refused += 1;
        return { kind: 'wait', reason: made };
      }
      if (made === undefined) return { kind: 'solo', ctx: this.view(ctx), ask }; // every other worker is already placed
      plan = made;
      this.plans.set(gang.uid, plan);
      this.stats.plans += 1;
    }
    let slot = plan.slots.find((s) => s.member === podUid);
    if (!slot) {
      slot = plan.slots.find((s) => s.member === undefined && !s.bound);
      if (!slot) return { kind: 'solo', ctx: this.view(ctx), ask }; // more pods than planned (a replacement): decide alone
      slot.member = podUid;
    }
    const slotAsk: GpuAsk = { ...ask, base: { ...ask.base, includeGpus: slot.gpus } };
    return { kind: 'slot', ctx: this.view(ctx, slot), ask: slotAsk, node: slot.node };
  }

  /** The worker bound: its slot is now a real assignment; the plan is done when every slot is. */
  bound(pod: PodLike, nowMs: number): void {
    const gang = parseGang(pod);
    if (!gang || typeof gang === 'string') return;
    const plan = this.plans.get(gang.uid);
    if (!plan) return;
    const slot = plan.slots.find((s) => s.member === pod.metadata?.uid);
    if (!slot) return;
    slot.bound = true;
    plan.expiresMs = nowMs + this.ttlMs;
    if (plan.slots.every((s) => s.bound)) {
      this.plans.delete(gang.uid);
      this.stats.completed += 1;
    }
  }

  /** Workers of this gang already holding GPUs (bound earlier, e.g. before a pod was replaced). */
  private placedMembers(ctx: DecideContext, gang: GangRef, exceptUid: string): number {
    let n = 0;
    for (const node of ctx.cluster.nodeNames()) {
      for (const a of ctx.cluster.assignmentsOn(node)) {
        if (a.uid === exceptUid) continue;
        const p = ctx.cluster.getPod(a.namespace, a.name) as PodLike | undefined;
        const g = p ? parseGang(p) : undefined;
        if (g && typeof g !== 'string' && g.uid === gang.uid) n += 1;
      }
    }
    return n;
  }

  /** Sets for every unplaced worker, or why not (undefined: nothing left to plan). */
  private makePlan(ctx: DecideContext, gang: GangRef, ask: GpuAsk, names: readonly string[], podUid: string): Plan | string | undefined {
    const needed = gang.size - this.placedMembers(ctx, gang, podUid);
    if (needed <= 0) return undefined;
    const reserved = this.reservedExcept();
    const states = new Map<string, { state: NodeState; req: ReturnType<typeof requestForNode> }>();
    const best = new Map<string, NodeDecision>();
    const evaluate = (name: string) => {
      const s = states.get(name)!;
      best.set(name, placeOnNode(s.state, s.req, ctx.profile));
    };
    for (const name of names) {
      const look = ctx.cluster.lookupNode(name, ctx.nowMs);
      if (!look.ok) continue;
      const free = [...look.state.freeMilli];
      for (const i of reserved.get(name) ?? []) if (i >= 0 && i < free.length) free[i] = 0;
      states.set(name, { state: { ...look.state, freeMilli: free }, req: requestForNode(ask, look.gpuNode.topology) });
      evaluate(name);
    }
    const slots: Slot[] = [];
    while (slots.length < needed) {
      let pick: { name: string; d: Extract<NodeDecision, { fits: true }> } | undefined;
      for (const [name, d] of best) if (d.fits && (!pick || d.rawScore > pick.d.rawScore)) pick = { name, d };
      if (!pick) break;
      slots.push({ node: pick.name, gpus: pick.d.gpus });
      // Only the picked node changed: take its set out and ask the core about that node again.
      const s = states.get(pick.name)!;
      const free = [...s.state.freeMilli];
      for (const i of pick.d.gpus) free[i] = Math.max(0, free[i]! - (ask.base.milliPerGpu ?? GPU_MILLI));
      s.state = { ...s.state, freeMilli: free };
      evaluate(pick.name);
    }
    if (slots.length < needed) return gangShortfall(gang, ask, needed, slots.length);
    return { gang, slots, expiresMs: ctx.nowMs + this.ttlMs };
  }
}

/** "4 workers need 4 NVLink-connected 8-GPU sets; 3 exist free". */
export function gangShortfall(gang: GangRef, ask: GpuAsk, needed: number, found: number): string {
  const k = ask.base.gpuCount;
  const share = k === 1 && ask.base.milliPerGpu < GPU_MILLI;
  const what = k >= 2 && ask.base.topology === 'require-nvlink' ? `NVLink-connected ${k}-GPU sets` : share ? `shares of ${ask.base.milliPerGpu} milli-GPU` : k === 1 ? 'free GPUs' : `sets of ${k} GPUs`;
  const placed = gang.size - needed;
  const already = placed > 0 ? ` (${placed} of ${gang.size} already placed)` : '';
  return `gang ${gang.uid}: ${needed} workers need ${needed} ${what}${already}; ${found} exist free — no worker is placed until all fit`;
}

/** filterNodes with the gang rules: solo pods as usual (reservations hidden), workers only on their slot. */
export function filterWithGangs(gangs: GangPlanner, ctx: DecideContext, pod: PodLike, ask: PodGpuAsk, names: readonly string[]): FilterOutcome {
  const step = gangs.step(ctx, pod, ask, names);
  if (step.kind === 'solo') return filterNodes(step.ctx, step.ask, names);
  const out: FilterOutcome = { passed: [], failed: Object.create(null), unresolvable: Object.create(null), rejects: {} };
  if (step.kind === 'wait') {
    for (const n of names) out.failed[n] = step.reason;
    out.rejects.insufficient = names.length;
    return out;
  }
  const at = names.indexOf(step.node);
  const r = at >= 0 ? filterNodes(step.ctx, step.ask, [step.node]) : undefined;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (i === at && r && r.passed.length === 1) out.passed.push(i);
    else if (i === at && r) out.failed[n] = r.failed[n] ?? r.unresolvable[n] ?? 'reserved slot no longer fits';
    else out.failed[n] = `reserved for its gang on node ${step.node}`;
  }
  if (names.length > out.passed.length) out.rejects.insufficient = names.length - out.passed.length;
  return out;
}

/** prioritizeNodes with the gang rules (a waiting gang scores 0 everywhere). */
export function prioritizeWithGangs(gangs: GangPlanner, ctx: DecideContext, pod: PodLike, ask: PodGpuAsk, names: readonly string[]): ArrayLike<number> {
  const step = gangs.step(ctx, pod, ask, names, { plan: false });
  if (step.kind === 'wait') return new Uint8Array(names.length);
  return prioritizeNodes(step.ctx, step.ask, names);
}

/** bindPod with the gang rules: a worker binds exactly its reserved set; the plan learns it. */
export async function bindWithGangs(
  gangs: GangPlanner,
  ctx: DecideContext & { binder: PodBinder },
  req: Parameters<typeof bindPod>[1],
  ask: PodGpuAsk,
  pod: PodLike,
): Promise<BindOutcome> {
  const step = gangs.step(ctx, pod, ask, [], { plan: false });
  if (step.kind === 'wait') return { ok: false, failure: 'no-fit', error: step.reason };
  if (step.kind === 'slot' && step.node !== req.node) {
    return { ok: false, failure: 'no-fit', error: `pod ${req.namespace}/${req.name} has GPUs reserved for its gang on node ${step.node}, not ${req.node}` };
  }
  const outcome = await bindPod({ ...step.ctx, binder: ctx.binder }, req, step.ask, pod);
  if (outcome.ok) gangs.bound(pod, ctx.nowMs);
  return outcome;
}
