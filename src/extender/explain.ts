/**
 * `GET /explain?pod=<ns>/<name>`: why each node fits or not, the GPU set the core would choose,
 * the score breakdown and the runner-up — evaluated now, on the nodes of the pod's last filter or
 * prioritize call (or every node in the cache when the extender has not seen the pod yet).
 */
import { ANN_ASSIGNED_AT, ANN_DECISION, type AssignedGpuRef } from '../api/annotations.js';
import { podFacts } from '../cluster/pod.js';
import { extenderScores } from './scores.js';
import type { NodeDecision, ScoreBreakdown } from '../core/types.js';
import { NodeEvaluator, type DecideContext } from './decide.js';
import type { PodGpuAsk } from './preferences.js';

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
  /** The pod requests no GPUs: the extender lets every node pass and does not score. */
  passThrough?: true;
  best: ExplainedNode | null;
  runnerUp: ExplainedNode | null;
  nodes: ExplainedNode[];
  lastBind?: LastBind;
  bound?: BoundAssignment;
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
  };
}

export function explainPod(ctx: DecideContext, podKey: string, ask: PodGpuAsk, names: readonly string[], nodesFrom: Explanation['nodesFrom']): Explanation {
  const base = { pod: podKey, evaluatedAtIso: new Date(ctx.nowMs).toISOString(), nodesFrom };
  if (ask.kind === 'none') return { ...base, request: null, passThrough: true, best: null, runnerUp: null, nodes: names.map((n) => ({ node: n, fits: true })) };
  if (ask.kind === 'invalid') {
    return { ...base, request: null, invalid: ask.reason, best: null, runnerUp: null, nodes: names.map((n) => ({ node: n, fits: false, reason: ask.reason, unresolvable: true })) };
  }
  const ev = new NodeEvaluator(ctx, ask);
  const nodes: ExplainedNode[] = [];
  const decisions: NodeDecision[] = [];
  for (const name of names) {
    const o = ev.evaluate(name);
    if (o.fits) {
      decisions.push(o.decision);
      nodes.push({ node: name, fits: true, gpus: o.decision.gpus, rawScore: o.decision.rawScore, breakdown: o.decision.breakdown });
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
  return { ...base, request, best: fitting[0] ?? null, runnerUp: fitting[1] ?? null, nodes };
}
