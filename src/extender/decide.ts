/**
 * The extender's decisions over a ClusterView, all made by the one core (placeOnNode,
 * extenderScores). No HTTP here: server.ts parses the wire and calls these.
 */
import { formatAssignedGpus, ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, ANN_DECISION } from '../api/annotations.js';
import type { AssignedGpuRef } from '../api/annotations.js';
import type { ClusterView, GpuNodeRecord, NodeLookup, PodAssignment, PodBinder } from '../cluster/types.js';
import { placeOnNode, scoreNodes, type CompiledTopology } from '../core/index.js';
import { extenderScoresFromRaw, nodeTieRank } from './scores.js';
import { GPU_MILLI } from '../core/types.js';
import type { GpuRequest, NodeDecision, NodeState, ScoreBreakdown, WorkloadProfile } from '../core/types.js';
import { requestForNode, type PodGpuAsk, type PodRequests } from './preferences.js';
import { DecisionMemo, StateTable } from './decision-memo.js';
import { placementInWords, type AskedGpus } from './words.js';
import { errorText } from '../kube/errors.js';

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

/** Every candidate's lookup, in order: in one batch when the view offers it (see ClusterCache.lookupNodes). */
function lookupAll(ctx: DecideContext, names: readonly string[]): readonly NodeLookup[] {
  if (ctx.cluster.lookupNodes) return ctx.cluster.lookupNodes(names, ctx.nowMs);
  const out = new Array<NodeLookup>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = ctx.cluster.lookupNode(names[i]!, ctx.nowMs);
  return out;
}

/** One verdict object per distinct reason of an unusable node (unknown names all share one). */
const unavailableVerdicts = new Map<string, Verdict>();
function unavailable(reason: string): Verdict {
  let v = unavailableVerdicts.get(reason);
  if (!v) {
    v = { fits: false, reason, unresolvable: true, rejectClass: 'node-unavailable' };
    // Reasons carry node names and heartbeat ages; keep only a few.
    if (unavailableVerdicts.size > 64) unavailableVerdicts.clear();
    unavailableVerdicts.set(reason, v);
  }
  return v;
}

/** The node-independent part of an outcome, shared by every node in the same state. */
export type Verdict =
  | { fits: true; rawScore: number }
  | { fits: false; reason: string; unresolvable: boolean; rejectClass: RejectClass };

/**
 * A key for "same topology table, same free capacity, same health": whole-GPU states (every GPU
 * fully free or fully used, the common case) get a number without allocating; others a string.
 * `withCpu`: the answer also depends on the node's free CPU and memory (a workload profile's
 * shapes check CPU fit; a request with CPU is scored by it), so they join the key; without a
 * profile or CPU in the request the core does not read them and the GPU key is enough.
 */
function stateKey(s: NodeState, withCpu: boolean): number | string {
  const cpuKnown = withCpu && (s.cpuFreeMilli !== undefined || s.memoryFreeMiB !== undefined);
  const memo = cpuKnown ? cpuStateKeys : stateKeys;
  const hit = memo.get(s);
  if (hit !== undefined) return hit;
  const gpu = computeStateKey(s);
  const k = cpuKnown ? `${gpu}|${s.cpuFreeMilli ?? ''}|${s.memoryFreeMiB ?? ''}|${s.cpuTotalMilli ?? ''}` : gpu;
  memo.set(s, k);
  return k;
}

/** Cache views are reused until their node changes: the (string) key of a shared GPU is built once per view, not per request. */
const stateKeys = new WeakMap<NodeState, number | string>();
const cpuStateKeys = new WeakMap<NodeState, number | string>();

function computeStateKey(s: NodeState): number | string {
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
  /** By topology object and unhealthy mask (the fingerprint string is long: no string keys here). */
  private readonly emptyFit = new Map<CompiledTopology, Map<number, NodeDecision>>();
  /** Fit-only verdicts come from the cross-request memo; others are kept for this evaluator only. */
  private readonly verdicts: StateTable<Verdict>;
  /** The profile only orders fitting nodes: a fit-only evaluator (filter, preempt) skips the fragmentation look-ahead. */
  private readonly profile: WorkloadProfile | undefined;
  constructor(
    private readonly ctx: DecideContext,
    readonly ask: GpuAsk,
    opts: { fitOnly?: boolean } = {},
  ) {
    this.profile = opts.fitOnly ? undefined : ctx.profile;
    this.verdicts = opts.fitOnly ? fitVerdicts.tableFor(ask.base, undefined, ask.memoryAnnotation) : new StateTable<Verdict>();
  }

  /** Fit, score or reason for one node; shared objects, nothing node-specific. */
  verdict(name: string): Verdict {
    return this.verdictOf(this.ctx.cluster.lookupNode(name, this.ctx.nowMs));
  }

  verdictOf(look: NodeLookup): Verdict {
    if (!look.ok) return unavailable(look.reason);
    const perNode = this.ask.includeUuids !== undefined || this.ask.excludeUuids !== undefined;
    const key = perNode ? undefined : stateKey(look.state, this.profile !== undefined);
    const hit = key === undefined ? undefined : this.verdicts.get(look.state.topology, key);
    if (hit) return hit;
    const o = this.evaluateState(look.state, look.gpuNode);
    const v: Verdict = o.fits ? { fits: true, rawScore: o.decision.rawScore } : o;
    if (key !== undefined) this.verdicts.set(look.state.topology, key, v);
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
    const d = placeOnNode(freeMilli ? { ...state, freeMilli } : state, req, this.profile);
    if (d.fits) return { fits: true, decision: d, state, gpuNode };
    const empty = this.fitsWhenEmpty(state, req);
    if (empty.fits) return { fits: false, reason: this.words(d), unresolvable: false, rejectClass: 'insufficient' };
    // It would not fit even with every GPU free: that reason (not today's use) is the one to fix.
    return { fits: false, reason: this.words(empty), unresolvable: true, rejectClass: 'never-fits' };
  }

  /** The core's reason, with the annotation it is about where the core cannot know it. */
  private words(d: Extract<NodeDecision, { fits: false }>): string {
    return d.constraint === 'memory' && this.ask.memoryAnnotation ? `${d.reason} (${this.ask.memoryAnnotation})` : d.reason;
  }

  private fitsWhenEmpty(state: NodeState, req: GpuRequest): NodeDecision {
    const perNode = req !== this.ask.base; // include/exclude make the answer node-specific
    const unhealthy = state.unhealthyMask ?? 0;
    let byMask = perNode ? undefined : this.emptyFit.get(state.topology);
    const hit = byMask?.get(unhealthy);
    if (hit) return hit;
    const d = placeOnNode({ ...state, freeMilli: allFree(state.topology.n) }, req, this.profile);
    if (!perNode) {
      if (!byMask) this.emptyFit.set(state.topology, (byMask = new Map()));
      byMask.set(unhealthy, d);
    }
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
  const ev = new NodeEvaluator(ctx, ask, { fitOnly: true });
  const looks = lookupAll(ctx, names);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const o = ev.verdictOf(looks[i]!);
    if (o.fits) {
      out.passed.push(i);
      continue;
    }
    (o.unresolvable ? out.unresolvable : out.failed)[name] = o.reason;
    out.rejects[o.rejectClass] = (out.rejects[o.rejectClass] ?? 0) + 1;
  }
  return out;
}

/** scoreNodes over the distinct (topology, free, health) states only; same result, less work. */
function scoreDistinctStates(states: ReadonlyArray<NodeState | undefined>, req: GpuRequest, profile: WorkloadProfile | undefined): Float64Array {
  const known = rawScores.tableFor(req, profile);
  const withCpu = profile !== undefined || req.cpuMilli !== undefined || req.memoryMiB !== undefined;
  const raw = new Float64Array(states.length);
  // Nodes whose state the memo does not know: one representative per distinct state is scored.
  const slot = new Int32Array(states.length).fill(-1);
  const reps: NodeState[] = [];
  const repKeys: (number | string | undefined)[] = [];
  const pending = new Map<CompiledTopology, Map<number | string, number>>();
  for (let i = 0; i < states.length; i++) {
    const s = states[i];
    if (!s) {
      raw[i] = NaN;
      continue;
    }
    const key = stateKey(s, withCpu);
    const hit = known.get(s.topology, key);
    if (hit !== undefined) {
      raw[i] = hit;
      continue;
    }
    let m = pending.get(s.topology);
    if (!m) pending.set(s.topology, (m = new Map()));
    let k = m.get(key);
    if (k === undefined) {
      m.set(key, (k = reps.push(s) - 1));
      repKeys.push(key);
    }
    slot[i] = k;
  }
  if (reps.length === 0) return raw;
  const repRaw = scoreNodes(reps, req, profile);
  for (let r = 0; r < reps.length; r++) if (repKeys[r] !== undefined) known.set(reps[r]!.topology, repKeys[r]!, repRaw[r]!);
  for (let i = 0; i < states.length; i++) if (slot[i] >= 0) raw[i] = repRaw[slot[i]]!;
  return raw;
}

/** Cross-request memos (decision-memo.ts): fit-only verdicts of filter/preempt, raw scores of prioritize. */
const fitVerdicts = new DecisionMemo<Verdict>();
const rawScores = new DecisionMemo<number>();

/** What the core is asked for a pod without GPUs: nothing of a GPU; only where it strands least. */
const CPU_ONLY_REQUEST: GpuRequest = Object.freeze({ gpuCount: 0, milliPerGpu: 0, topology: 'any', policy: 'binpack' });

/** Raw score of a node without a GPUNode for a CPU-only pod: above every GPU node (it strands no GPU there). */
const NO_GPU_TO_STRAND = Number.MAX_VALUE;

/**
 * The request prioritize scores with: the pod's CPU and memory join it, so nodes are ranked by
 * what the pod leaves of them where the cache knows a node's allocatable (filter and bind leave
 * CPU fit to kube-scheduler, whose view of assumed pods is fresher than ours).
 */
function scoringRequest(base: GpuRequest, requests: PodRequests | undefined): GpuRequest {
  return requests ? { ...base, cpuMilli: requests.cpuMilli, memoryMiB: requests.memoryMiB } : base;
}

/**
 * 0..10 per input node, in input order (0 where it does not fit). A pod without GPUs
 * (linkpack-scheduler asks about every pod of its profile) is the core's `gpuCount: 0` request:
 * GPU nodes rank by the GPU capacity its CPU would strand, nodes linkpack knows no GPUs on rank
 * above all of them, GPU nodes it cannot read (stale heartbeat) get 0.
 */
export function prioritizeNodes(ctx: DecideContext, ask: PodGpuAsk, names: readonly string[]): ArrayLike<number> {
  if (ask.kind === 'invalid') return new Uint8Array(names.length);
  const looks = lookupAll(ctx, names);
  let raw: Float64Array;
  if (ask.kind === 'gpu' && (ask.includeUuids !== undefined || ask.excludeUuids !== undefined)) {
    // UUID lists make every node's request its own: evaluated node by node.
    const ev = new NodeEvaluator(ctx, { ...ask, base: scoringRequest(ask.base, ask.requests) });
    raw = Float64Array.from(looks, (look) => {
      const v = ev.verdictOf(look);
      return v.fits ? v.rawScore : NaN;
    });
  } else {
    // One request for every node: each distinct (topology, free, health, CPU) state is scored once
    // by scoreNodes (placeOnNode's evaluation without decision objects) and remembered across calls.
    const states = looks.map((look) => (look.ok ? look.state : undefined));
    raw = scoreDistinctStates(states, scoringRequest(ask.kind === 'none' ? CPU_ONLY_REQUEST : ask.base, ask.requests), ctx.profile);
    if (ask.kind === 'none') {
      for (let i = 0; i < looks.length; i++) {
        const look = looks[i]!;
        if (!look.ok && look.noGpuNode) raw[i] = NO_GPU_TO_STRAND;
      }
    }
  }
  return extenderScoresFromRaw(raw, (i) => nodeTieRank(names[i]!));
}

// ---------------------------------------------------------------------------------------------
// Bind

export interface BindRequest {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  /** The Pod as kube-scheduler sent it, when the cache has none yet (passed on to the binder). */
  pod?: unknown;
}

export type BindOutcome =
  | { ok: true; node: string; gpus: AssignedGpuRef[]; decision: FitDecision | null; message: string }
  | { ok: false; error: string; failure: 'pod-not-found' | 'uid-mismatch' | 'invalid-pod' | 'no-fit' | 'already-bound' | 'api-error' };

/** The one-line summary used in the annotation and the Event: the placement in words (words.ts). */
export function describeBreakdown(b: ScoreBreakdown, asked?: AskedGpus): string {
  return placementInWords(b, asked);
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
    const summary = describeBreakdown(d.breakdown, ask.base);
    const message = `Bound to node ${req.node} on GPUs ${d.gpus.join(',')}: ${summary}`;
    const assignment: PodAssignment = {
      uid,
      namespace: req.namespace,
      name: req.name,
      node: req.node,
      gpus,
      milliPerGpu: ask.base.milliPerGpu,
      assumed: true,
      ...(ask.requests ? { cpuMilli: ask.requests.cpuMilli, memoryMiB: ask.requests.memoryMiB } : {}),
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

// ---------------------------------------------------------------------------------------------
// Preempt

export interface CandidateVictims {
  /** Victim pods: UID and, when the scheduler sent whole pods, their priority. */
  pods: { uid: string; priority?: number }[];
  numPdbViolations: number;
}

/**
 * Per node: the fewest victims whose eviction frees a fitting GPU set (NVLink-connected if the pod
 * requires it). kube-scheduler's dry run counts GPUs, not links, so its minimal victim set may free
 * GPUs that are not connected; the pool therefore also holds the other pods on the node that hold
 * GPUs and have a lower priority than the preemptor (kube-scheduler accepts any pod of the node).
 * Victims holding no GPUs on the node are kept (the scheduler chose them for CPU, memory…).
 * Greedy reprieve, as kube-scheduler does it: first the extra pods, then the scheduler's own
 * candidates, each highest priority first, then the smallest holding; a pod stays running when
 * the preemptor still fits without evicting it. A node where evicting the whole pool is not
 * enough is dropped. When no GPU holder needs to go, the scheduler's list is returned unchanged.
 */
export function preemptVictims(
  ctx: DecideContext,
  ask: PodGpuAsk,
  candidates: ReadonlyMap<string, CandidateVictims>,
  preemptorPriority = 0,
): Map<string, CandidateVictims> {
  const out = new Map<string, CandidateVictims>();
  if (ask.kind === 'none') return new Map(candidates);
  if (ask.kind === 'invalid') return out;
  const ev = new NodeEvaluator(ctx, ask, { fitOnly: true });
  const priorityOfPod = (a: PodAssignment): number | undefined => {
    const p = ctx.cluster.getPod(a.namespace, a.name) as { spec?: { priority?: number | null } } | undefined;
    return p === undefined ? undefined : (p.spec?.priority ?? 0);
  };
  for (const [node, cand] of candidates) {
    const look = ctx.cluster.lookupNode(node, ctx.nowMs);
    if (!look.ok) continue;
    const held = new Map<string, PodAssignment>();
    for (const a of ctx.cluster.assignmentsOn(node)) held.set(a.uid, a);
    const listed = new Set(cand.pods.map((p) => p.uid));
    const others = cand.pods.filter((p) => !held.has(p.uid));

    interface PoolEntry {
      victim: { uid: string; priority?: number };
      a: PodAssignment;
      prio: number;
      extra: boolean;
    }
    const pool: PoolEntry[] = [];
    for (const v of cand.pods) {
      const a = held.get(v.uid);
      if (a) pool.push({ victim: v, a, prio: v.priority ?? priorityOfPod(a) ?? 0, extra: false });
    }
    for (const a of held.values()) {
      if (listed.has(a.uid) || a.assumed) continue; // an assumed pod is being bound right now
      const prio = priorityOfPod(a);
      if (prio !== undefined && prio < preemptorPriority) pool.push({ victim: { uid: a.uid, priority: prio }, a, prio, extra: true });
    }

    const free = [...look.state.freeMilli];
    const release = (a: PodAssignment, sign: 1 | -1) => {
      for (const g of a.gpus) if (g.index >= 0 && g.index < free.length) free[g.index] = Math.min(GPU_MILLI, Math.max(0, free[g.index]! + sign * a.milliPerGpu));
    };
    for (const e of pool) release(e.a, 1);
    if (!ev.evaluateState(look.state, look.gpuNode, free).fits) continue; // no eviction helps here

    const size = (e: PoolEntry) => e.a.gpus.length * e.a.milliPerGpu;
    pool.sort((x, y) => Number(y.extra) - Number(x.extra) || y.prio - x.prio || size(x) - size(y));
    const evicted: CandidateVictims['pods'] = [];
    for (const e of pool) {
      release(e.a, -1); // try keeping it
      if (!ev.evaluateState(look.state, look.gpuNode, free).fits) {
        release(e.a, 1);
        evicted.push(e.victim);
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
