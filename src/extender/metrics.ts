/**
 * Prometheus metrics of the extender, on a registry of its own (one per server, so tests and
 * benches can run several). Labels are low-cardinality classes, never node or pod names.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RejectClass } from './decide.js';

export type Verb = 'filter' | 'prioritize' | 'bind' | 'preempt';

export class ExtenderMetrics {
  readonly registry = new Registry();
  readonly duration = new Histogram({
    name: 'linkpack_extender_request_duration_seconds',
    help: 'Time to answer one kube-scheduler call, by verb and HTTP status',
    labelNames: ['verb', 'code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly nodeDecisions = new Counter({
    name: 'linkpack_extender_node_decisions_total',
    help: 'Per-node filter outcomes: fit, or the class of the reason it did not',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly binds = new Counter({
    name: 'linkpack_extender_binds_total',
    help: 'Bind calls by result; nvlink says whether a multi-GPU set was NVLink-connected',
    labelNames: ['result', 'nvlink'] as const,
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'linkpack_extender_failures_total',
    help: 'Calls that returned an error to kube-scheduler, by verb and reason class',
    labelNames: ['verb', 'reason'] as const,
    registers: [this.registry],
  });
  readonly preemptNodes = new Counter({
    name: 'linkpack_extender_preempt_nodes_total',
    help: 'Preemption candidate nodes: kept (possibly with fewer victims) or dropped',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  recordFilter(passed: number, rejects: Partial<Record<RejectClass, number>>): void {
    if (passed > 0) this.nodeDecisions.inc({ result: 'fit' }, passed);
    for (const [k, v] of Object.entries(rejects)) if (v) this.nodeDecisions.inc({ result: k }, v);
  }
}
