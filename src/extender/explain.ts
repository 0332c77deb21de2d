/**
 * `GET /explain?pod=<ns>/<name>`: why each node fits or not, the GPU set the core would choose,
 * the score breakdown and the runner-up — evaluated now, on the nodes of the pod's last filter or
 * prioritize call (or every node in the cache when the extender has not seen the pod yet).
 */
import { ANN_ASSIGNED_AT, ANN_DECISION, type AssignedGpuRef } from '../api/annotations.js';
import { podFacts } from '../cluster/pod.js';
import { extenderScores } from './scores.js';
import { GPU_MILLI, type NodeDecision, type NodeState, type ScoreBreakdown } from '../core/types.js';
import { NodeEvaluator, type DecideContext } from './decide.js';
import type { PodGpuAsk } from './preferences.js';
import { placementInWords, whyLost } from './words.js';

export interface ExplainedNode {
  node: string;
  fits: boolean;
  reason?: string;
  /** The reason holds even with every GPU free: no preemption can help. */
  unresolvable?: boolean;
  gpus?: number[];
  /** The 0..10 score prioritize would send for this node among the evaluated ones. */
  score?: number;
  rawScore?: number;
  breakdown?: ScoreBreakdown;
  /** The set on this node in words (fitting nodes only). */
  why?: string;
  /** NVLink bandwidth among free GPUs that this set takes out of the pool (the core's preservation term). */
  nvlinkTakenGBps?: number;
}

export interface LastBind {
  node: string;
  gpus: { index: number; uuid?: string }[];
  atIso: string;
  message: string;
}

/** Where a bound pod is: read from the pod (spec.nodeName, linkpack.io/assigned-*) or from this process's bind. */
export interface BoundAssignment {
  node: string;
  gpus: AssignedGpuRef[];
  assignedAtIso?: string;
  /** The one-line decision written at bind time. */
  decision?: string;
  /** A problem with the pod's assigned-gpus annotation (the GPUs are then not counted). */
  problem?: string;
  source: 'pod' | 'this-extender';
}

export interface Explanation {
  pod: string;
  evaluatedAtIso: string;
  /** 'bound': the pod already has a node; `bound` says where, nothing is re-decided. */
  nodesFrom: 'last-scheduler-call' | 'all-cached-nodes' | 'bound';
  request: unknown;
  /** Set for a pod whose request or annotations are invalid (it fails everywhere with this). */
  invalid?: string;
  /** The pod requests no GPUs: every node passes; it is scored only by the GPU capacity it would strand. */
  passThrough?: true;
  best: ExplainedNode | null;
  runnerUp: ExplainedNode | null;
  nodes: ExplainedNode[];
  lastBind?: LastBind;
  bound?: BoundAssignment;
  /** The whole answer in one or two sentences: what wins and why, why the runner-up lost. */
  summary: string;
  /** Why the runner-up scored lower (when there is one). */
  runnerUpLost?: string;
}

/**
 * A pod that is already bound is explained by its assignment, not by a new decision (which would
 * see the pod's own GPUs as taken). Returns undefined for a pod that has no node yet.
 */
export function boundAssignment(pod: unknown, lastBind: LastBind | undefined): BoundAssignment | undefined {
  const facts = podFacts(pod);
  if (facts?.node !== undefined) {
    const ann = ((pod as { metadata?: { annotations?: Record<string, unknown> | null } }).metadata?.annotations ?? {}) as Record<string, unknown>;
    const out: BoundAssignment = { node: facts.node, gpus: facts.gpus ?? [], source: 'pod' };
    if (typeof ann[ANN_ASSIGNED_AT] === 'string') out.assignedAtIso = ann[ANN_ASSIGNED_AT] as string;
    if (typeof ann[ANN_DECISION] === 'string') out.decision = ann[ANN_DECISION] as string;
    if (facts.problems.length > 0) out.problem = facts.problems.join('; ');
    return out;
  }
  if (lastBind) return { node: lastBind.node, gpus: lastBind.gpus, assignedAtIso: lastBind.atIso, decision: lastBind.message, source: 'this-extender' };
  return undefined;
}

export function explainBound(podKey: string, nowMs: number, bound: BoundAssignment, lastBind: LastBind | undefined): Explanation {
  return {
    pod: podKey,
    evaluatedAtIso: new Date(nowMs).toISOString(),
    nodesFrom: 'bound',
    request: null,
    best: null,
    runnerUp: null,
    nodes: [],
    bound,
    ...(lastBind ? { lastBind } : {}),
    summary:
      `${podKey} is bound to node ${bound.node}` +
      (bound.gpus.length ? ` on GPUs ${bound.gpus.map((g) => g.index).join(',')}` : '') +
      // The annotation starts "node X, GPUs …: " — said already.
      (bound.decision ? `: ${bound.decision.replace(/^node \S+, GPUs [\d,]+: /, '')}` : '') +
      (bound.problem ? ` (${bound.problem})` : '') +
      '. Not decided again: the assignment stands until the pod ends.',
  };
}

/** Same mask arithmetic as the core (search.ts): NVLink GB/s among free healthy whole GPUs, before minus after. */
function nvlinkTaken(state: NodeState, gpus: readonly number[]): number {
  let free = 0;
  for (let i = 0; i < state.freeMilli.length; i++) if (state.freeMilli[i]! >= GPU_MILLI && !((state.unhealthyMask ?? 0) & (1 << i))) free |= 1 << i;
  let chosen = 0;
  for (const g of gpus) chosen |= 1 << g;
  const agg = state.topology.nvAggGBps;
  return agg[free]! - agg[free & ~chosen]!;
}

export function explainPod(ctx: DecideContext, podKey: string, ask: PodGpuAsk, names: readonly string[], nodesFrom: Explanation['nodesFrom']): Explanation {
  const base = { pod: podKey, evaluatedAtIso: new Date(ctx.nowMs).toISOString(), nodesFrom };
  if (ask.kind === 'none') {
    const summary = `${podKey} requests no GPUs: linkpack lets every node pass and ranks nodes without GPUs first, then GPU nodes whose GPUs are already the most used, so the pod strands the least GPU capacity.`;
    return { ...base, request: null, passThrough: true, best: null, runnerUp: null, nodes: names.map((n) => ({ node: n, fits: true })), summary };
  }
  if (ask.kind === 'invalid') {
    const summary = `${podKey} cannot be scheduled by linkpack: ${ask.reason}.`;
    return { ...base, request: null, invalid: ask.reason, best: null, runnerUp: null, nodes: names.map((n) => ({ node: n, fits: false, reason: ask.reason, unresolvable: true })), summary };
  }
  const ev = new NodeEvaluator(ctx, ask);
  const nodes: ExplainedNode[] = [];
  const decisions: NodeDecision[] = [];
  for (const name of names) {
    const o = ev.evaluate(name);
    if (o.fits) {
      decisions.push(o.decision);
      nodes.push({
        node: name,
        fits: true,
        gpus: o.decision.gpus,
        rawScore: o.decision.rawScore,
        breakdown: o.decision.breakdown,
        why: placementInWords(o.decision.breakdown, ask.base),
        nvlinkTakenGBps: nvlinkTaken(o.state, o.decision.gpus),
      });
    } else {
      decisions.push({ node: name, fits: false, reason: o.reason });
      nodes.push({ node: name, fits: false, reason: o.reason, unresolvable: o.unresolvable });
    }
  }
  const scores = extenderScores(decisions);
  nodes.forEach((n, i) => {
    if (n.fits) n.score = scores[i];
  });
  nodes.sort((a, b) => Number(b.fits) - Number(a.fits) || (b.rawScore ?? 0) - (a.rawScore ?? 0) || a.node.localeCompare(b.node));
  const fitting = nodes.filter((n) => n.fits);
  const request = { ...ask.base, ...(ask.includeUuids ? { includeUuids: ask.includeUuids } : {}), ...(ask.excludeUuids ? { excludeUuids: ask.excludeUuids } : {}) };
  const best = fitting[0] ?? null;
  const runnerUp = fitting[1] ?? null;
  const fragAware = ask.base.policy === 'binpack' && (ctx.profile?.shapes.length ?? 0) > 0;
  const cand = (n: ExplainedNode) => ({ node: n.node, breakdown: n.breakdown!, nvlinkTakenGBps: n.nvlinkTakenGBps });
  const runnerUpLost = best && runnerUp ? whyLost(cand(best), cand(runnerUp), ask.base, fragAware) : undefined;
  let summary: string;
  if (best) {
    summary = `${podKey} → node ${best.node}, GPUs ${best.gpus!.join(',')}: ${best.why}.`;
    summary += runnerUp ? ` Runner-up ${runnerUp.node} lost: ${runnerUpLost}.` : ` No other node fits (${nodes.length - 1} evaluated).`;
  } else {
    const why = nodes.slice(0, 3).map((n) => `${n.node}: ${n.reason}`).join('; ');
    summary = `${podKey} fits on none of ${nodes.length} node${nodes.length === 1 ? '' : 's'}${why ? ` — ${why}${nodes.length > 3 ? '; …' : ''}` : ''}.`;
  }
  return { ...base, request, best, runnerUp, nodes, summary, ...(runnerUpLost ? { runnerUpLost } : {}) };
}
