/**
 * `GET /explain?pod=<ns>/<name>`: why each node fits or not, the GPU set the core would choose,
 * the score breakdown and the runner-up — evaluated now, on the nodes of the pod's last filter or
 * prioritize call (or every node in the cache when the extender has not seen the pod yet).
 */
import { extenderScores } from '../core/index.js';
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

export interface Explanation {
  pod: string;
  evaluatedAtIso: string;
  nodesFrom: 'last-scheduler-call' | 'all-cached-nodes';
  request: unknown;
  /** Set for a pod whose request or annotations are invalid (it fails everywhere with this). */
  invalid?: string;
  /** The pod requests no GPUs: the extender lets every node pass and does not score. */
  passThrough?: true;
  best: ExplainedNode | null;
  runnerUp: ExplainedNode | null;
  nodes: ExplainedNode[];
  lastBind?: LastBind;
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
