/**
 * The extender's decisions over a ClusterView, all made by the one core (placeOnNode,
 * extenderScores). No HTTP here: server.ts parses the wire and calls these.
 */
import { formatAssignedGpus, ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, ANN_DECISION } from '../api/annotations.js';
import type { AssignedGpuRef } from '../api/annotations.js';
import type { ClusterView, GpuNodeRecord, PodAssignment, PodBinder } from '../cluster/types.js';
import { placeOnNode, type CompiledTopology } from '../core/index.js';
import { extenderScoresFromRaw } from '../core/extender-score.js';
import { GPU_MILLI } from '../core/types.js';
import type { GpuRequest, NodeDecision, NodeState, ScoreBreakdown, WorkloadProfile } from '../core/types.js';
import { requestForNode, type PodGpuAsk } from './preferences.js';

export type GpuAsk = Extract<PodGpuAsk, { kind: 'gpu' }>;
export type FitDecision = Extract<NodeDecision, { fits: true }>;

export interface DecideContext {
  cluster: ClusterView;
  nowMs: number;
  profile?: WorkloadProfile;
}

/** Why a node was refused, as a metric label (low cardinality). */
export type RejectClass = 'invalid-pod' | 'node-unavailable' | 'insufficient' | 'never-fits';

export type NodeOutcome =
  | { fits: true; decision: FitDecision; state: NodeState; gpuNode: GpuNodeRecord }
  /** `unresolvable`: no preemption can help (it does not fit even with every GPU free). */
  | { fits: false; reason: string; unresolvable: boolean; rejectClass: RejectClass };

const fullMilliByCount = new Map<number, readonly number[]>();
function allFree(n: number): readonly number[] {
  let a = fullMilliByCount.get(n);
  if (!a) {
    a = Object.freeze(new Array<number>(n).fill(GPU_MILLI));
    fullMilliByCount.set(n, a);
  }
  return a;
}

/** The node-independent part of an outcome, shared by every node in the same state. */
export type Verdict =
  | { fits: true; rawScore: number }
  | { fits: false; reason: string; unresolvable: boolean; rejectClass: RejectClass };

/**
 * A key for "same topology table, same free capacity, same health": whole-GPU states (every GPU
 * fully free or fully used, the common case) get a number without allocating; others a string.
 */
function stateKey(s: NodeState): number | string | undefined {
  if (s.cpuFreeMilli !== undefined || s.memoryFreeMiB !== undefined) return undefined;
  const free = s.freeMilli;
  let mask = 0;
  for (let i = 0; i < free.length; i++) {
    const f = free[i]!;
    if (f === GPU_MILLI) mask |= 1 << i;
    else if (f !== 0) return `${s.unhealthyMask ?? 0}|${free.join(',')}`;
  }
  return mask + (s.unhealthyMask ?? 0) * 65536;
}

/**
 * Evaluates nodes for one pod. Within one call, nodes with the same topology table and the same
 * free/unhealthy GPUs get the same answer from the core, so the hot path (`verdict`) asks the
 * core once per distinct state: a 5,000-node cluster has a few hundred. "Does it fit on an empty
 * node of this topology" (can preemption help?) is memoised the same way.
 */
export class NodeEvaluator {
  private readonly emptyFit = new Map<string, NodeDecision>();
  private readonly verdicts = new Map<CompiledTopology, Map<number | string, Verdict>>();
  constructor(
    private readonly ctx: DecideContext,
    readonly ask: GpuAsk,
  ) {}

  /** Fit, score or reason for one node; shared objects, nothing node-specific. */
  verdict(name: string): Verdict {
    const look = this.ctx.cluster.lookupNode(name, this.ctx.nowMs);
    if (!look.ok) return { fits: false, reason: look.reason, unresolvable: true, rejectClass: 'node-unavailable' };
    const perNode = this.ask.includeUuids !== undefined || this.ask.excludeUuids !== undefined;
    const key = perNode ? undefined : stateKey(look.state);
    let byState = key === undefined ? undefined : this.verdicts.get(look.state.topology);
    const hit = byState?.get(key!);
    if (hit) return hit;
    const o = this.evaluateState(look.state, look.gpuNode);
    const v: Verdict = o.fits ? { fits: true, rawScore: o.decision.rawScore } : o;
    if (key !== undefined) {
      if (!byState) this.verdicts.set(look.state.topology, (byState = new Map()));
      byState.set(key, v);
    }
    return v;
  }

  /** The full outcome (GPU set, breakdown) for one node. */
  evaluate(name: string): NodeOutcome {
    const look = this.ctx.cluster.lookupNode(name, this.ctx.nowMs);
    if (!look.ok) return { fits: false, reason: look.reason, unresolvable: true, rejectClass: 'node-unavailable' };
    return this.evaluateState(look.state, look.gpuNode);
  }

  evaluateState(state: NodeState, gpuNode: GpuNodeRecord, freeMilli?: readonly number[]): NodeOutcome {
    const req = requestForNode(this.ask, gpuNode.topology);
    const d = placeOnNode(freeMilli ? { ...state, freeMilli } : state, req, this.ctx.profile);
    if (d.fits) return { fits: true, decision: d, state, gpuNode };
    const empty = this.fitsWhenEmpty(state, req);
    if (empty.fits) return { fits: false, reason: d.reason, unresolvable: false, rejectClass: 'insufficient' };
    return { fits: false, reason: empty.reason, unresolvable: true, rejectClass: 'never-fits' };
  }

  private fitsWhenEmpty(state: NodeState, req: GpuRequest): NodeDecision {
    const perNode = req !== this.ask.base; // include/exclude make the answer node-specific
    const key = `${state.topology.fingerprint}|${state.unhealthyMask ?? 0}`;
    if (!perNode) {
      const hit = this.emptyFit.get(key);
      if (hit) return hit;
    }
    const d = placeOnNode({ ...state, freeMilli: allFree(state.topology.n) }, req, this.ctx.profile);
    if (!perNode) this.emptyFit.set(key, d);
    return d;
  }
}

export interface FilterOutcome {
  /** Indices (into the input list) of the nodes that pass. */
  passed: number[];
  failed: Record<string, string>;
  unresolvable: Record<string, string>;
  rejects: Partial<Record<RejectClass, number>>;
}

export function filterNodes(ctx: DecideContext, ask: PodGpuAsk, names: readonly string[]): FilterOutcome {
  // Null-prototype maps: a node named "__proto__" must not vanish into the prototype setter.
  const out: FilterOutcome = { passed: [], failed: Object.create(null), unresolvable: Object.create(null), rejects: {} };
  if (ask.kind === 'none') {
    for (let i = 0; i < names.length; i++) out.passed.push(i);
    return out;
  }
  if (ask.kind === 'invalid') {
    for (const n of names) out.unresolvable[n] = ask.reason;
    out.rejects['invalid-pod'] = names.length;
    return out;
  }
  const ev = new NodeEvaluator(ctx, ask);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const o = ev.verdict(name);
    if (o.fits) {
      out.passed.push(i);
      continue;
    }
    (o.unresolvable ? out.unresolvable : out.failed)[name] = o.reason;
    out.rejects[o.rejectClass] = (out.rejects[o.rejectClass] ?? 0) + 1;
  }
  return out;
}

/** 0..10 per input node, in input order (0 where it does not fit); null for a pod without GPUs. */
export function prioritizeNodes(ctx: DecideContext, ask: PodGpuAsk, names: readonly string[]): ArrayLike<number> | null {
  if (ask.kind === 'none') return null;
  if (ask.kind === 'invalid') return new Uint8Array(names.length);
  const ev = new NodeEvaluator(ctx, ask);
  const raw = new Float64Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const v = ev.verdict(names[i]!);
    raw[i] = v.fits ? v.rawScore : NaN;
  }
  return extenderScoresFromRaw(raw);
}

// ---------------------------------------------------------------------------------------------
// Bind

export interface BindRequest {
  namespace: string;
  name: string;
  uid: string;
  node: string;
}

export type BindOutcome =
  | { ok: true; node: string; gpus: AssignedGpuRef[]; decision: FitDecision | null; message: string }
  | { ok: false; error: string; failure: 'pod-not-found' | 'uid-mismatch' | 'invalid-pod' | 'no-fit' | 'already-bound' | 'api-error' };

/** `0,1 (GPU-aa,GPU-bb)`-free one-line summary used in the annotation and the Event. */
export function describeBreakdown(b: ScoreBreakdown): string {
  const link = b.nvlinkAllPairs ? 'NVLink all pairs' : b.nvlinkConnected ? 'NVLink connected' : 'no NVLink path';
  const parts = [
    link,
    `bottleneck ${round(b.bottleneckGBps)} GB/s`,
    `used after ${round(b.gpuUsedAfter)}`,
    `free after ${b.freeGpusAfter}`,
    `largest NVLink set after ${b.largestNvlinkSetAfter}`,
    `leftover quality ${round(b.leftoverQuality)}`,
  ];
  if (b.fragDeltaMilli !== undefined) parts.push(`fragmentation ${b.fragDeltaMilli >= 0 ? '+' : ''}${round(b.fragDeltaMilli)} milli`);
  return parts.join(', ');
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Runs the core again on the chosen node (under its lock), assumes, writes, binds; forgets on failure. */
export async function bindPod(
  ctx: DecideContext & { binder: PodBinder },
  req: BindRequest,
  ask: PodGpuAsk,
  pod: { metadata?: { uid?: string; resourceVersion?: string } },
): Promise<BindOutcome> {
  const { cluster, binder } = ctx;
  const key = `${req.namespace}/${req.name}`;
  if (req.uid && pod.metadata?.uid && pod.metadata.uid !== req.uid) {
    return { ok: false, failure: 'uid-mismatch', error: `pod ${key} has uid ${pod.metadata.uid}, the scheduler asked to bind uid ${req.uid}` };
  }
  if (ask.kind === 'invalid') return { ok: false, failure: 'invalid-pod', error: ask.reason };
  if (ask.kind === 'none') {
    try {
      await binder.bind({ ...req, annotations: {}, resourceVersion: pod.metadata?.resourceVersion, eventMessage: `Bound to node ${req.node} (no GPUs requested)` });
    } catch (err) {
      return { ok: false, failure: 'api-error', error: `binding ${key} to ${req.node} failed: ${errorText(err)}` };
    }
    return { ok: true, node: req.node, gpus: [], decision: null, message: `Bound to node ${req.node} (no GPUs requested)` };
  }

  const uid = req.uid || pod.metadata?.uid || key;
  return cluster.withNodeLock(req.node, async (): Promise<BindOutcome> => {
    if (cluster.assignmentsOn(req.node).some((a) => a.uid === uid)) {
      return { ok: false, failure: 'already-bound', error: `pod ${key} already holds GPUs on ${req.node} (a bind is in flight or done)` };
    }
    const o = new NodeEvaluator(ctx, ask).evaluate(req.node);
    if (!o.fits) return { ok: false, failure: 'no-fit', error: `pod ${key} no longer fits on ${req.node}: ${o.reason}` };
    const d = o.decision;
    const uuids = o.gpuNode.topology.gpus;
    const gpus: AssignedGpuRef[] = d.gpus.map((i) => {
      const uuid = uuids.find((g) => g.index === i)?.uuid;
      return uuid ? { index: i, uuid } : { index: i };
    });
    const summary = describeBreakdown(d.breakdown);
    const message = `Bound to node ${req.node} on GPUs ${d.gpus.join(',')}: ${summary}`;
    const assignment: PodAssignment = {
      uid,
      namespace: req.namespace,
      name: req.name,
      node: req.node,
      gpus,
      milliPerGpu: ask.base.milliPerGpu,
      assumed: true,
    };
    cluster.assume(assignment);
    try {
      await binder.bind({
        ...req,
        uid,
        annotations: {
          [ANN_ASSIGNED_GPUS]: formatAssignedGpus(gpus),
          [ANN_ASSIGNED_AT]: new Date(ctx.nowMs).toISOString(),
          [ANN_DECISION]: `node ${req.node}, GPUs ${d.gpus.join(',')}: ${summary}`,
        },
        resourceVersion: pod.metadata?.resourceVersion,
        eventMessage: message,
      });
    } catch (err) {
      cluster.forget(uid);
      return { ok: false, failure: 'api-error', error: `binding ${key} to ${req.node} failed: ${errorText(err)}` };
    }
    return { ok: true, node: req.node, gpus, decision: d, message };
  });
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

// ---------------------------------------------------------------------------------------------
// Preempt

export interface CandidateVictims {
  /** Victim pods: UID and, when the scheduler sent whole pods, their priority. */
  pods: { uid: string; priority?: number }[];
  numPdbViolations: number;
}

/**
 * Per node: the fewest of the scheduler's victims whose eviction frees a fitting GPU set.
 * Victims holding no GPUs on the node are kept (the scheduler chose them for CPU, memory…);
 * GPU holders are reprieved greedily, highest priority first (then smallest holding), as
 * kube-scheduler does. A node where evicting every GPU-holding victim is not enough is dropped.
 * When no GPU holder needs to go, the scheduler's list is returned unchanged (it had other reasons).
 */
export function preemptVictims(ctx: DecideContext, ask: PodGpuAsk, candidates: ReadonlyMap<string, CandidateVictims>): Map<string, CandidateVictims> {
  const out = new Map<string, CandidateVictims>();
  if (ask.kind === 'none') return new Map(candidates);
  if (ask.kind === 'invalid') return out;
  const ev = new NodeEvaluator(ctx, ask);
  for (const [node, cand] of candidates) {
    const look = ctx.cluster.lookupNode(node, ctx.nowMs);
    if (!look.ok) continue;
    const held = new Map<string, PodAssignment>();
    for (const a of ctx.cluster.assignmentsOn(node)) held.set(a.uid, a);
    const gpuVictims = cand.pods.filter((p) => held.has(p.uid));
    const others = cand.pods.filter((p) => !held.has(p.uid));

    const free = [...look.state.freeMilli];
    const release = (a: PodAssignment, sign: 1 | -1) => {
      for (const g of a.gpus) if (g.index >= 0 && g.index < free.length) free[g.index] = Math.min(GPU_MILLI, Math.max(0, free[g.index]! + sign * a.milliPerGpu));
    };
    for (const v of gpuVictims) release(held.get(v.uid)!, 1);
    if (!ev.evaluateState(look.state, look.gpuNode, free).fits) continue; // no eviction among these helps

    const priorityOf = (v: { uid: string; priority?: number }) => {
      if (v.priority !== undefined) return v.priority;
      const a = held.get(v.uid)!;
      const p = ctx.cluster.getPod(a.namespace, a.name) as { spec?: { priority?: number | null } } | undefined;
      return p?.spec?.priority ?? 0;
    };
    const order = gpuVictims
      .map((v) => ({ v, prio: priorityOf(v), size: held.get(v.uid)!.gpus.length * held.get(v.uid)!.milliPerGpu }))
      .sort((x, y) => y.prio - x.prio || x.size - y.size);
    const evicted: typeof cand.pods = [];
    for (const { v } of order) {
      const a = held.get(v.uid)!;
      release(a, -1); // try keeping it
      if (!ev.evaluateState(look.state, look.gpuNode, free).fits) {
        release(a, 1);
        evicted.push(v);
      }
    }
    if (evicted.length === 0) {
      out.set(node, cand);
      continue;
    }
    out.set(node, { pods: [...evicted, ...others], numPdbViolations: cand.numPdbViolations });
  }
  return out;
}
