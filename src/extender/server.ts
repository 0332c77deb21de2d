/**
 * The scheduler extender HTTP service: kube-scheduler's filter / prioritize / bind / preempt verbs,
 * plus health, readiness, Prometheus metrics and an explain endpoint. Parsing and answering only;
 * the decisions live in decide.ts (and through it in the one core).
 */
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { Value } from '@sinclair/typebox/value';
import type { ClusterView, PodBinder } from '../cluster/types.js';
import type { PodsGone } from '../cluster/k8s-pods-gone.js';
import type { WorkloadProfile } from '../core/types.js';
import { preemptVictims, type CandidateVictims, type DecideContext } from './decide.js';
import { bindWithGangs, filterWithGangs, GangPlanner, prioritizeWithGangs } from './gang.js';
import { boundAssignment, explainBound, explainPod, type LastBind } from './explain.js';
import { ExtenderMetrics, type Verb } from './metrics.js';
import { DecisionLog, registerUi } from './ui.js';
import { askInWords, PendingPods, filterReason } from './ui-pending.js';
import { registerClusterMetrics } from './cluster-metrics.js';
import { PodMemory, type PodMemoryOptions } from './pod-memory.js';
import { candidatesOf, DEFAULT_MAX_NODES } from './candidates.js';
import { hostPriorityJson } from './wire-json.js';
import { catchUpOnVictims, PreemptionVictims } from './victims.js';
import { podGpuAsk, podKey, type PodLike } from './preferences.js';
import {
  BindingArgsSchema,
  ExplainQuerySchema,
  ExtenderArgsSchema,
  PodSchema,
  PreemptionArgsSchema,
  type ExtenderArgs,
  type ExtenderBindingArgs,
  type ExtenderBindingResult,
  type ExtenderFilterResult,
  type ExtenderPreemptionArgs,
  type ExtenderPreemptionResult,
  type MetaVictimsOut,
} from './wire-schemas.js';

/** Full Node objects (nodeCacheCapable: false) make bodies large: 5,000 nodes × ~10 KiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
const RECENT_PODS = 1024;
/** Limit of filter/prioritize bodies with nodeCacheCapable: true (names only). */
export const NAMES_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/** A bind body is four short strings. */
const BIND_BODY_LIMIT_BYTES = 64 * 1024;

export interface ExtenderServerOptions {
  cluster: ClusterView;
  binder: PodBinder;
  /**
   * Asks the API server which pods are gone (kubePodsGone). With it, a preemptor refused on a node
   * where its victims still sit in the cache has them checked first (victims.ts).
   */
  podsGone?: PodsGone;
  /** A pino logger, fastify logger options, or true/false (default: off). */
  logger?: FastifyBaseLogger | FastifyServerOptions['logger'];
  bodyLimitBytes?: number;
  now?: () => number;
  /** Workload profile for the fragmentation look-ahead: fixed, or a source asked per request. */
  profile?: WorkloadProfile | (() => WorkloadProfile | undefined);
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Also export process metrics (CPU, heap, event loop) on /metrics. */
  processMetrics?: boolean;
  /**
   * Answer filter/prioritize/bind/preempt only to loopback callers (the sidecar setup), so the
   * Service that exposes /metrics and /explain cannot be used to bind pods. Default false.
   */
  verbsLoopbackOnly?: boolean;
  /** How long a gang's GPU reservation lives without progress (default 60 s; see gang.ts). */
  gangReservationMs?: number;
  /** Bounds of the Pods kept from filter/prioritize for bind and explain (see pod-memory.ts). */
  podMemory?: Omit<PodMemoryOptions, 'now'>;
  /**
   * kube-scheduler's nodeCacheCapable for this extender (default true, as deploy/scheduler sets it):
   * true caps filter/prioritize bodies at NAMES_BODY_LIMIT_BYTES (or bodyLimitBytes if smaller).
   */
  nodeCacheCapable?: boolean;
  /** Most candidate nodes accepted in one filter/prioritize call (default 50,000); more is a 413. */
  maxNodes?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** A small insertion-ordered LRU (Map keeps insertion order). */
class Recent<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
}

function isLogger(x: unknown): x is FastifyBaseLogger {
  return typeof x === 'object' && x !== null && typeof (x as FastifyBaseLogger).child === 'function' && typeof (x as FastifyBaseLogger).info === 'function';
}

export function buildExtenderServer(opts: ExtenderServerOptions): FastifyInstance {
  const { cluster, binder, profile } = opts;
  const now = opts.now ?? Date.now;
  const metrics = new ExtenderMetrics({ processMetrics: opts.processMetrics });
  const seen = new PodMemory({ now, ...opts.podMemory });
  const remember = (pod: PodLike, names: readonly string[]) => seen.remember(pod, podKey(pod), names, JSON.stringify(pod).length);
  const bound = new Recent<LastBind>(RECENT_PODS);
  const decisions = new DecisionLog();
  const pending = new PendingPods();

  const serverOpts: FastifyServerOptions & { https?: unknown } = {
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Types are checked, never coerced: a number where a string belongs is a 400, not a guess.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    ...(isLogger(opts.logger) ? { loggerInstance: opts.logger } : { logger: opts.logger ?? false }),
    ...(opts.https ? { https: opts.https } : {}),
  };
  const app = Fastify(serverOpts as FastifyServerOptions) as unknown as FastifyInstance;

  const profileNow = typeof profile === 'function' ? profile : () => profile;
  const ctx = (): DecideContext => ({ cluster, nowMs: now(), profile: profileNow() });
  const gangs = new GangPlanner({ ttlMs: opts.gangReservationMs });
  const victims = new PreemptionVictims(now);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'extender handler failed');
    const verb = verbOf(req.routeOptions.url);
    if (verb) metrics.failures.inc({ verb, reason: status === 500 ? 'internal' : 'bad-request' });
    void reply.status(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: err.message, Error: err.message });
  });

  app.addHook('onResponse', (req, reply, done) => {
    const verb = verbOf(req.routeOptions.url);
    if (verb) metrics.duration.observe({ verb, code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  if (opts.verbsLoopbackOnly) {
    app.addHook('onRequest', (req, reply, done) => {
      if (verbOf(req.routeOptions.url) && !LOOPBACK.has(req.socket.remoteAddress ?? '')) {
        const message = `${req.url} is only served to kube-scheduler on localhost (start the extender with --remote-verbs to allow ${req.socket.remoteAddress})`;
        void reply.status(403).send({ statusCode: 403, error: 'Forbidden', message, Error: message });
        return;
      }
      done();
    });
  }

  const badRequest = (message: string) => Object.assign(new Error(message), { statusCode: 400 });
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_NODES;
  const candidatesOrThrow = (body: ExtenderArgs) => {
    const c = candidatesOf(body, maxNodes);
    if (!c.ok) throw Object.assign(badRequest(c.error), { statusCode: c.status });
    return c;
  };
  // nodeCacheCapable: true bodies carry names only (15,000 names ≈ 0.5 MiB): a small limit refuses
  // a runaway body while it is being read, before any parse work.
  const argsBodyLimit = (opts.nodeCacheCapable ?? true) ? Math.min(opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, NAMES_BODY_LIMIT_BYTES) : (opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES);

  // Before the first list a filter answer would blame every node ("no GPUNode"): answer 503 so
  // kube-scheduler fails this cycle and retries the pod, and say why.
  const NOT_SYNCED = "linkpack extender is not ready: its GPUNode and Pod caches have not synced with the API server yet (see /readyz); kube-scheduler will retry the pod";
  const notSynced = (verb: Verb, reply: FastifyReply) => {
    metrics.failures.inc({ verb, reason: 'not-synced' });
    return reply.status(503).send({ statusCode: 503, error: 'Service Unavailable', message: NOT_SYNCED, Error: NOT_SYNCED });
  };

  app.post<{ Body: ExtenderArgs }>('/filter', { bodyLimit: argsBodyLimit, schema: { body: ExtenderArgsSchema } }, async (req, reply) => {
    if (!cluster.synced()) return notSynced('filter', reply);
    const body = req.body;
    const cand = candidatesOrThrow(body);
    const names = cand.names;
    const pod = body.Pod as PodLike;
    remember(pod, names);
    const ask = podGpuAsk(pod);
    let r = filterWithGangs(gangs, ctx(), pod, ask, names);
    // Only a preemptor with victims on record can be refused by a lagging watch (victims.ts).
    const uid = pod.metadata?.uid;
    if (opts.podsGone && uid && victims.has(uid)) {
      const caughtUp = await catchUpOnVictims(victims, cluster, opts.podsGone, pod, Object.keys(r.failed));
      if (caughtUp > 0) {
        req.log.info({ pod: podKey(pod), victims: caughtUp }, 'preemptor filtered before the watch delivered its victims\' deletion: the API server confirmed them gone');
        r = filterWithGangs(gangs, ctx(), pod, ask, names);
      }
    }
    metrics.recordFilter(r.passed.length, r.rejects);
    if (ask.kind !== 'none') {
      const key = podKey(pod);
      const p = { pod: key, ask: askInWords(ask), reason: filterReason(r, names.length), fits: r.passed.length, candidates: names.length, atIso: new Date(now()).toISOString() };
      const [ns, name] = key.split('/') as [string, string];
      pending.note(p, now(), cluster.getPod(ns, name) !== undefined);
    }
    const result: ExtenderFilterResult = {
      Nodes: null,
      NodeNames: null,
      FailedNodes: r.failed,
      FailedAndUnresolvableNodes: r.unresolvable,
      Error: '',
    };
    if (cand.byName) {
      result.NodeNames = r.passed.length === names.length ? (names as string[]) : r.passed.map((i) => names[i]!);
    } else {
      // nodeCacheCapable: false — kube-scheduler reads Nodes.items and ignores NodeNames.
      const items = cand.items;
      result.Nodes = { metadata: {}, items: r.passed.length === items.length ? (items as unknown[]) : r.passed.map((i) => items[i]) };
    }
    return result;
  });

  // The answer (one entry per candidate) is built as JSON text by hand: see wire-json.ts.
  app.post<{ Body: ExtenderArgs }>('/prioritize', { bodyLimit: argsBodyLimit, schema: { body: ExtenderArgsSchema } }, async (req, reply) => {
    if (!cluster.synced()) return notSynced('prioritize', reply);
    const body = req.body;
    const names = candidatesOrThrow(body).names;
    const pod = body.Pod as PodLike;
    remember(pod, names);
    const scores = prioritizeWithGangs(gangs, ctx(), pod, podGpuAsk(pod), names);
    return reply.type('application/json; charset=utf-8').send(hostPriorityJson(names, scores));
  });

  app.post<{ Body: ExtenderBindingArgs }>('/bind', { bodyLimit: BIND_BODY_LIMIT_BYTES, schema: { body: BindingArgsSchema } }, async (req): Promise<ExtenderBindingResult> => {
    const args = req.body;
    const key = `${args.PodNamespace}/${args.PodName}`;
    const fail = (reason: string, error: string): ExtenderBindingResult => {
      metrics.binds.inc({ result: 'failed', nvlink: 'n/a' });
      metrics.failures.inc({ verb: 'bind', reason });
      req.log.warn({ pod: key, node: args.Node, reason }, error);
      decisions.add({ pod: key, node: args.Node, gpus: [], atIso: new Date(now()).toISOString(), ok: false, text: error });
      pending.noteBindFailure(key, `bind on ${args.Node} failed: ${error}`, now());
      return { Error: error };
    };
    // The informer may not have delivered the pod yet (or there is none: standalone): bind from
    // the Pod kube-scheduler sent in this cycle's filter/prioritize.
    const cached = cluster.getPod(args.PodNamespace, args.PodName);
    const sent = cached === undefined ? seen.forBind(args.PodUID, key)?.pod : undefined;
    const raw = cached ?? sent;
    if (raw === undefined) {
      return fail('pod-not-found', `pod ${key} is neither in the extender's cache nor in a filter/prioritize call of the last ${Math.round(seen.ttlMs / 1000)}s; kube-scheduler will retry`);
    }
    const problem = firstSchemaError(raw);
    if (problem) return fail('invalid-pod', `pod ${key} in the cache is malformed: ${problem}`);
    const pod = raw as PodLike;
    const outcome = await bindWithGangs(
      gangs,
      { ...ctx(), binder },
      { namespace: args.PodNamespace, name: args.PodName, uid: args.PodUID, node: args.Node, ...(sent !== undefined ? { pod: sent } : {}) },
      podGpuAsk(pod),
      pod,
    );
    if (!outcome.ok) return fail(outcome.failure, outcome.error);
    victims.forget(args.PodUID);
    pending.bound(key);
    const nvlink = outcome.decision === null ? 'n/a' : outcome.gpus.length < 2 ? 'single' : String(outcome.decision.breakdown.nvlinkConnected);
    metrics.binds.inc({ result: 'bound', nvlink });
    bound.set(key, { node: outcome.node, gpus: outcome.gpus, atIso: new Date(now()).toISOString(), message: outcome.message });
    req.log.info({ pod: key, node: outcome.node, gpus: outcome.gpus.map((g) => g.index) }, outcome.message);
    decisions.add({ pod: key, node: outcome.node, gpus: outcome.gpus.map((g) => g.index), atIso: new Date(now()).toISOString(), ok: true, text: outcome.message });
    return { Error: '' };
  });

  app.post<{ Body: ExtenderPreemptionArgs }>('/preempt', { schema: { body: PreemptionArgsSchema } }, async (req): Promise<ExtenderPreemptionResult> => {
    const body = req.body;
    const candidates = new Map<string, CandidateVictims>();
    if (body.NodeNameToMetaVictims) {
      for (const [node, v] of Object.entries(body.NodeNameToMetaVictims)) {
        candidates.set(node, { pods: (v.Pods ?? []).map((p) => ({ uid: p.UID })), numPdbViolations: v.NumPDBViolations ?? 0 });
      }
    } else if (body.NodeNameToVictims) {
      for (const [node, v] of Object.entries(body.NodeNameToVictims)) {
        const pods = (v.Pods ?? []).map((p) => (typeof p.spec?.priority === 'number' ? { uid: p.metadata.uid, priority: p.spec.priority } : { uid: p.metadata.uid }));
        candidates.set(node, { pods, numPdbViolations: v.NumPDBViolations ?? 0 });
      }
    }
    const kept = preemptVictims(ctx(), podGpuAsk(body.Pod as PodLike), candidates, body.Pod.spec.priority ?? 0);
    victims.record(body.Pod.metadata.uid ?? '', new Map([...kept].map(([node, v]) => [node, v.pods.map((p) => p.uid)])));
    metrics.preemptNodes.inc({ result: 'kept' }, kept.size);
    metrics.preemptNodes.inc({ result: 'dropped' }, candidates.size - kept.size);
    const out: Record<string, MetaVictimsOut> = Object.create(null);
    for (const [node, v] of kept) out[node] = { Pods: v.pods.map((p) => ({ UID: p.uid })), NumPDBViolations: v.numPdbViolations };
    return { NodeNameToMetaVictims: out };
  });

  registerUi(app, { cluster, now, decisions, pending, profile: profileNow });
  registerClusterMetrics(metrics.registry, { cluster, now, profile: profileNow });
  app.get('/healthz', async () => 'ok');
  app.get('/readyz', async (_req, reply) => {
    if (cluster.synced()) return 'ok';
    return reply.status(503).send('caches not synced yet');
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get<{ Querystring: { pod: string } }>('/explain', { schema: { querystring: ExplainQuerySchema } }, async (req, reply) => {
    const [namespace, name] = req.query.pod.split('/') as [string, string];
    const key = `${namespace}/${name}`;
    const last = seen.byName(key);
    const cached = cluster.getPod(namespace, name);
    const pod = cached !== undefined && !firstSchemaError(cached) ? (cached as PodLike) : last?.pod;
    if (!pod) return reply.status(404).send({ statusCode: 404, error: 'Not Found', message: `pod ${key} is neither in the cache nor in a recent scheduler call` });
    const assigned = boundAssignment(cached, bound.get(key));
    if (assigned) return explainBound(key, now(), assigned, bound.get(key));
    const names = last?.names ?? cluster.nodeNames();
    const explanation = explainPod(ctx(), key, podGpuAsk(pod), names, last ? 'last-scheduler-call' : 'all-cached-nodes');
    const lastBind = bound.get(key);
    return lastBind ? { ...explanation, lastBind } : explanation;
  });

  return app;
}

function verbOf(url: string | undefined): Verb | undefined {
  switch (url) {
    case '/filter':
    case '/prioritize':
    case '/bind':
    case '/preempt':
      return url.slice(1) as Verb;
    default:
      return undefined;
  }
}

/** The first schema problem of a pod from the cache, as `path: message`, or undefined. */
function firstSchemaError(pod: unknown): string | undefined {
  if (Value.Check(PodSchema, pod)) return undefined;
  const e = Value.Errors(PodSchema, pod).First();
  return e ? `${e.path || '/'}: ${e.message}` : 'not a Pod';
}
