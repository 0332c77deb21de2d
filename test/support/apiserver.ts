/**
 * An in-process Kubernetes API server for tests. It speaks the REST and watch protocol that the
 * real @kubernetes/client-node uses (JSON over HTTP, chunked watch streams, Status objects) with
 * the semantics our code depends on: one global resourceVersion, list + watch from a version,
 * 410 Expired after history compaction, optimistic concurrency (409), merge / JSON / strategic
 * patches, the pods/binding subresource, /status subresources and generation.
 *
 * Test hooks: direct store access (create/get/list/modify/remove), compact(), closeWatches(),
 * bookmark(), faults (status or delay for matching requests) and a request log.
 *
 * Everything the real kube-apiserver can do is tested on it (test/support/control-plane.ts, the
 * `*.e2e.test.ts` suites). This server stays for faults the real one cannot produce on demand:
 * - slow responses and 409 storms: the extender's binder (test/extender/e2e-apiserver.test.ts,
 *   concurrency.test.ts), the agent's publisher and the MLTask reconciler (conflict retries);
 * - watches dropped mid-stream, ERROR events and held-back watch delivery: the informers
 *   (test/cluster/informers.test.ts) and every controller built on src/kube/informer;
 * - an API outage with writes pending: the agent's publisher (nothing lost, backoff).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { applyJsonPatch, applyMergePatch, PatchError } from './json-patch.js';
import { parseFieldSelector, parseLabelSelector, SelectorError, type Matcher } from './selectors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObject = Record<string, any>;

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Writes to the main resource ignore .status; /status writes change only .status. */
  statusSubresource: boolean;
  /** Field selector paths besides metadata.name / metadata.namespace. */
  fields?: readonly string[];
}

export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    namespaced: true,
    statusSubresource: true,
    fields: ['spec.nodeName', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.restartPolicy', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, statusSubresource: true, fields: ['spec.unschedulable'] },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    kind: 'Event',
    namespaced: true,
    statusSubresource: false,
    fields: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  },
  { group: 'linkpack.io', version: 'v1alpha1', plural: 'gpunodes', kind: 'GPUNode', namespaced: false, statusSubresource: true },
  { group: 'linkpack.io', version: 'v1alpha1', plural: 'mltasks', kind: 'MLTask', namespaced: true, statusSubresource: true },
];

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
  /** HTTP status sent (200 for a watch that started). */
  status: number;
  watch: boolean;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface Fault {
  method?: string;
  /** Matched against the path (without query). */
  path?: RegExp;
  /** Only watch requests (true) or only non-watch requests (false); undefined = both. */
  watch?: boolean;
  /** How many requests it applies to; undefined = until removed. */
  times?: number;
  delayMs?: number;
  /** Answer with this Status code instead of serving the request. */
  status?: number;
  message?: string;
}

export interface TestApiServerOptions {
  resources?: readonly ResourceType[];
  /** Keep at most this many watch events; older ones are compacted away (default: unbounded). */
  maxHistory?: number;
  /**
   * How a watch from a compacted resourceVersion fails: 'event' (what kube-apiserver does:
   * HTTP 200, then an ERROR event carrying a 410 Expired Status) or 'http' (HTTP 410).
   */
  expiredWatch?: 'event' | 'http';
  /** DELETE of a bound, non-terminal pod only sets deletionTimestamp (like a kubelet-managed pod). */
  gracefulPodDelete?: boolean;
  /** First resourceVersion handed out (default 1000). */
  firstResourceVersion?: number;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  plural: string;
  object: KObject;
  prev?: KObject;
}

interface Watcher {
  rt: ResourceType;
  namespace?: string;
  label: Matcher;
  field: Matcher;
  res: ServerResponse;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: KObject,
  ) {
    super(message);
  }
}

export function statusObject(code: number, reason: string, message: string, details?: KObject): KObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

const clone = <T>(v: T): T => structuredClone(v);

function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Everything of the object that is neither metadata nor status: changes here bump generation. */
function specPart(o: KObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

function withoutVersion(o: KObject): string {
  const c = clone(o);
  if (c.metadata) delete c.metadata.resourceVersion;
  return JSON.stringify(c);
}

function isBoundAndRunning(pod: KObject): boolean {
  return Boolean(pod.spec?.nodeName) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export class TestApiServer {
  readonly requests: RequestLogEntry[] = [];
  private readonly resources: ResourceType[];
  private readonly store = new Map<string, Map<string, KObject>>();
  private history: HistoryEvent[] = [];
  private rv: number;
  /** Watches from a version below this are expired (410). */
  private compactedRv: number;
  private readonly watchers = new Set<Watcher>();
  private readonly faults: Fault[] = [];
  private server!: Server;
  private baseUrl = '';

  private constructor(private readonly opts: TestApiServerOptions) {
    this.resources = [...(opts.resources ?? BUILTIN_RESOURCES)];
    this.rv = opts.firstResourceVersion ?? 1000;
    this.compactedRv = this.rv;
    for (const r of this.resources) this.store.set(r.plural, new Map());
  }

  static async start(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
    const s = new TestApiServer(opts);
    s.server = createServer((req, res) => void s.handle(req, res));
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    const { port } = s.server.address() as AddressInfo;
    s.baseUrl = `http://127.0.0.1:${port}`;
    return s;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** A KubeConfig for the real client-node, pointing here (plain HTTP needs skipTLSVerify). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: this.baseUrl, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'test-token' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
      currentContext: 'test',
    });
    return kc;
  }

  async close(): Promise<void> {
    this.closeWatches({ abrupt: true });
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- test hooks

  resourceVersion(): string {
    return String(this.rv);
  }

  /** Forget all history up to now: a watch from any earlier version gets 410 Expired. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** End every open watch: abruptly (socket destroyed) or cleanly (stream ended). */
  closeWatches(opts: { abrupt?: boolean } = {}): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) this.endWatch(w, opts.abrupt ?? true);
    return n;
  }

  openWatchCount(plural?: string): number {
    return [...this.watchers].filter((w) => !plural || w.rt.plural === plural).length;
  }

  /** Send a BOOKMARK at the current version to watches that allow bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const rt = w.rt;
      this.writeEvent(w, 'BOOKMARK', { kind: rt.kind, apiVersion: this.apiVersionOf(rt), metadata: { resourceVersion: String(this.rv) } });
    }
  }

  addFault(f: Fault): void {
    this.faults.push({ ...f });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  create(plural: string, obj: KObject): KObject {
    const rt = this.type(plural);
    return clone(this.doCreate(rt, rt.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined, clone(obj)));
  }

  get(plural: string, namespace: string | undefined, name: string): KObject | undefined {
    const o = this.bucket(plural).get(this.key(namespace, name));
    return o ? clone(o) : undefined;
  }

  list(plural: string, namespace?: string): KObject[] {
    return [...this.bucket(plural).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map(clone);
  }

  /** Change a stored object in place (bumps resourceVersion, emits MODIFIED). */
  modify(plural: string, namespace: string | undefined, name: string, fn: (o: KObject) => void): KObject {
    const rt = this.type(plural);
    const cur = this.mustGet(rt, namespace, name);
    const next = clone(cur);
    fn(next);
    return clone(this.commitUpdate(rt, cur, next));
  }

  remove(plural: string, namespace: string | undefined, name: string): KObject {
    const rt = this.type(plural);
    return clone(this.commitDelete(rt, this.mustGet(rt, namespace, name)));
  }

  // ---------------------------------------------------------------- store

  private type(plural: string): ResourceType {
    const rt = this.resources.find((r) => r.plural === plural);
    if (!rt) throw new Error(`test API server: no resource "${plural}"`);
    return rt;
  }

  private bucket(plural: string): Map<string, KObject> {
    this.type(plural);
    return this.store.get(plural)!;
  }

  private key(namespace: string | undefined, name: string): string {
    return `${namespace ?? ''}/${name}`;
  }

  private apiVersionOf(rt: ResourceType): string {
    return rt.group ? `${rt.group}/${rt.version}` : rt.version;
  }

  private resourceName(rt: ResourceType): string {
    return rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
  }

  private notFound(rt: ResourceType, name: string): HttpError {
    return new HttpError(404, 'NotFound', `${this.resourceName(rt)} "${name}" not found`, { name, group: rt.group, kind: rt.plural });
  }

  private conflict(rt: ResourceType, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): HttpError {
    return new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${this.resourceName(rt)} "${name}": ${why}`, { name, group: rt.group, kind: rt.plural });
  }

  private mustGet(rt: ResourceType, namespace: string | undefined, name: string): KObject {
    const o = this.store.get(rt.plural)!.get(this.key(rt.namespaced ? namespace : undefined, name));
    if (!o) throw this.notFound(rt, name);
    return o;
  }

  private nextRv(): number {
    this.rv += 1;
    return this.rv;
  }

  private record(ev: HistoryEvent): void {
    this.history.push(ev);
    const max = this.opts.maxHistory;
    if (max !== undefined && this.history.length > max) {
      const dropped = this.history.splice(0, this.history.length - max);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const w of this.watchers) this.deliver(w, ev);
  }

  private doCreate(rt: ResourceType, namespace: string | undefined, obj: KObject): KObject {
    const meta: KObject = { ...(obj.metadata ?? {}) };
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
    if (!meta.name || typeof meta.name !== 'string') throw new HttpError(422, 'Invalid', `${rt.kind} "": metadata.name: Required value: name or generateName is required`);
    if (rt.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    const bucket = this.store.get(rt.plural)!;
    const k = this.key(meta.namespace, meta.name);
    if (bucket.has(k)) {
      throw new HttpError(409, 'AlreadyExists', `${this.resourceName(rt)} "${meta.name}" already exists`, { name: meta.name, group: rt.group, kind: rt.plural });
    }
    const rv = this.nextRv();
    const stored: KObject = {
      ...obj,
      apiVersion: this.apiVersionOf(rt),
      kind: rt.kind,
      metadata: { ...meta, uid: randomUUID(), creationTimestamp: nowRfc3339(), resourceVersion: String(rv), generation: 1 },
    };
    delete stored.metadata.deletionTimestamp;
    if (rt.plural === 'pods') stored.status = { phase: 'Pending', ...(stored.status ?? {}) };
    bucket.set(k, stored);
    this.record({ rv, type: 'ADDED', plural: rt.plural, object: clone(stored) });
    return stored;
  }

  /** Store next in place of cur (a no-op when nothing but the version differs). */
  private commitUpdate(rt: ResourceType, cur: KObject, next: KObject): KObject {
    next.apiVersion = cur.apiVersion;
    next.kind = cur.kind;
    next.metadata = {
      ...next.metadata,
      name: cur.metadata.name,
      namespace: cur.metadata.namespace,
      uid: cur.metadata.uid,
      creationTimestamp: cur.metadata.creationTimestamp,
      resourceVersion: cur.metadata.resourceVersion,
      generation: cur.metadata.generation + (specPart(next) !== specPart(cur) ? 1 : 0),
    };
    if (next.metadata.namespace === undefined) delete next.metadata.namespace;
    if (withoutVersion(next) === withoutVersion(cur)) return cur;
    const rv = this.nextRv();
    next.metadata.resourceVersion = String(rv);
    this.store.get(rt.plural)!.set(this.key(cur.metadata.namespace, cur.metadata.name), next);
    this.record({ rv, type: 'MODIFIED', plural: rt.plural, object: clone(next), prev: clone(cur) });
    return next;
  }

  private commitDelete(rt: ResourceType, cur: KObject): KObject {
    const rv = this.nextRv();
    this.store.get(rt.plural)!.delete(this.key(cur.metadata.namespace, cur.metadata.name));
    const gone = clone(cur);
    gone.metadata.resourceVersion = String(rv);
    this.record({ rv, type: 'DELETED', plural: rt.plural, object: clone(gone), prev: clone(cur) });
    return gone;
  }

  /**
   * Apply an update body to cur with the API's rules: preconditions (resourceVersion, uid),
   * immutable identity, and the status subresource split.
   */
  private update(rt: ResourceType, cur: KObject, body: KObject, subresource: 'status' | undefined, viaPatch = false): KObject {
    const name = cur.metadata.name as string;
    const wantRv = body.metadata?.resourceVersion;
    if (wantRv !== undefined && wantRv !== '' && String(wantRv) !== cur.metadata.resourceVersion) throw this.conflict(rt, name);
    const wantUid = body.metadata?.uid;
    if (wantUid !== undefined && wantUid !== '' && wantUid !== cur.metadata.uid) {
      // As kube-apiserver: a PUT's uid is a precondition (409); a patched uid fails validation (422).
      if (viaPatch) throw new HttpError(422, 'Invalid', `${rt.kind} "${name}" is invalid: metadata.uid: Invalid value: "${wantUid}": field is immutable`);
      throw this.conflict(rt, name, `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new HttpError(400, 'BadRequest', `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    let next: KObject;
    if (subresource === 'status') {
      next = { ...clone(cur), status: clone(body.status) };
      if (body.status === undefined) delete next.status;
    } else if (rt.statusSubresource) {
      next = { ...clone(body) };
      if (cur.status === undefined) delete next.status;
      else next.status = clone(cur.status);
    } else next = clone(body);
    if (rt.plural === 'pods' && cur.spec?.nodeName && next.spec?.nodeName !== cur.spec.nodeName) {
      throw new HttpError(422, 'Invalid', `Pod "${name}" is invalid: spec: Forbidden: pod updates may not change fields other than those allowed (spec.nodeName is set by binding only)`);
    }
    return this.commitUpdate(rt, cur, next);
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const isWatch = query.watch === 'true' || query.watch === '1';
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: url.pathname, query, status: 0, watch: isWatch, at: Date.now() };
    const ct = req.headers['content-type'];
    if (ct) entry.contentType = ct;
    this.requests.push(entry);
    try {
      const raw = await readBody(req);
      if (raw) {
        try {
          entry.body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, 'BadRequest', `request body is not JSON: ${raw.slice(0, 80)}`);
        }
      }
      const fault = this.takeFault(entry);
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.status) throw new HttpError(fault.status, fault.status >= 500 ? 'InternalError' : 'BadRequest', fault.message ?? `injected fault ${fault.status}`);
      const out = this.route(req.method ?? 'GET', url, entry, res);
      if (out === 'streaming') {
        entry.status = res.statusCode;
        return;
      }
      entry.status = out.code;
      send(res, out.code, out.body);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', err instanceof Error ? err.message : String(err));
      entry.status = e.code;
      if (!res.headersSent) send(res, e.code, statusObject(e.code, e.reason, e.message, e.details));
      else res.destroy();
    }
  }

  private takeFault(e: RequestLogEntry): Fault | undefined {
    const i = this.faults.findIndex(
      (f) => (!f.method || f.method === e.method) && (!f.path || f.path.test(e.path)) && (f.watch === undefined || f.watch === e.watch),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    if (f.times !== undefined && --f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  private route(method: string, url: URL, entry: RequestLogEntry, res: ServerResponse): { code: number; body: unknown } | 'streaming' {
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (url.pathname === '/version') return { code: 200, body: { major: '1', minor: '31', gitVersion: 'v1.31.0-linkpack-test' } };
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 3) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (rest.length === 0 && method === 'GET') return { code: 200, body: this.discovery(group, version) };
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub, ...extra] = rest;
    // POST /namespaces/{ns}/bindings: the old spelling of pods/{name}/binding.
    if (group === '' && plural === 'bindings' && namespace && method === 'POST' && !name) {
      const b = (entry.body ?? {}) as KObject;
      return this.bind(namespace, String(b.metadata?.name ?? ''), b);
    }
    const rt = this.resources.find((r) => r.group === group && r.version === version && r.plural === plural);
    if (!rt || extra.length > 0) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (namespace !== undefined && !rt.namespaced) throw new HttpError(404, 'NotFound', `${rt.plural} is not namespaced`);
    const body = (entry.body ?? {}) as KObject;

    if (!name) {
      if (method === 'GET' && entry.watch) return this.watch(rt, namespace, url, res);
      if (method === 'GET') return { code: 200, body: this.listResponse(rt, namespace, url) };
      if (method === 'POST') {
        if (rt.namespaced && !namespace) throw new HttpError(405, 'MethodNotAllowed', `create of ${rt.plural} needs a namespace`);
        const obj = clone(body);
        // With a status subresource, create ignores .status (nodes keep it: kubelets register with one).
        if (rt.statusSubresource && rt.plural !== 'nodes') delete obj.status;
        return { code: 201, body: this.doCreate(rt, namespace, obj) };
      }
      throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported on the ${rt.plural} collection`);
    }
    if (rt.namespaced && !namespace) throw new HttpError(404, 'NotFound', `${rt.plural} "${name}" needs a namespace`);

    if (sub === 'binding' && rt.plural === 'pods') {
      if (method !== 'POST') throw new HttpError(405, 'MethodNotAllowed', 'pods/binding only supports POST');
      return this.bind(namespace!, name, body);
    }
    if (sub !== undefined && !(sub === 'status' && rt.statusSubresource)) {
      throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    }
    const subresource = sub as 'status' | undefined;
    const cur = this.mustGet(rt, namespace, name);
    switch (method) {
      case 'GET':
        return { code: 200, body: cur };
      case 'PUT':
        return { code: 200, body: this.update(rt, cur, body, subresource) };
      case 'PATCH':
        return { code: 200, body: this.update(rt, cur, this.patched(cur, entry), subresource, true) };
      case 'DELETE':
        if (subresource) throw new HttpError(405, 'MethodNotAllowed', 'DELETE is not supported on /status');
        return { code: 200, body: this.doDelete(rt, cur, body, url) };
      default:
        throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  private patched(cur: KObject, entry: RequestLogEntry): KObject {
    const type = (entry.contentType ?? '').split(';')[0]!.trim();
    try {
      switch (type) {
        case 'application/merge-patch+json':
        case 'application/strategic-merge-patch+json':
          return applyMergePatch(clone(cur), entry.body ?? {}) as KObject;
        case 'application/json-patch+json':
          return applyJsonPatch(cur, entry.body ?? []) as KObject;
        default:
          throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got "${type}")`);
      }
    } catch (e) {
      if (e instanceof PatchError) throw new HttpError(422, 'Invalid', `the server rejected our request due to an error in our request: ${e.message}`);
      throw e;
    }
  }

  private doDelete(rt: ResourceType, cur: KObject, body: KObject, url: URL): KObject {
    const pre = body.preconditions ?? {};
    const name = cur.metadata.name as string;
    if (pre.uid && pre.uid !== cur.metadata.uid) throw this.conflict(rt, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw this.conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    const grace = body.gracePeriodSeconds ?? url.searchParams.get('gracePeriodSeconds');
    const graceful = this.opts.gracefulPodDelete && rt.plural === 'pods' && isBoundAndRunning(cur) && Number(grace ?? 30) !== 0;
    if (graceful) {
      if (cur.metadata.deletionTimestamp) return cur;
      const next = clone(cur);
      next.metadata.deletionTimestamp = nowRfc3339();
      next.metadata.deletionGracePeriodSeconds = Number(grace ?? 30);
      return this.commitUpdate(rt, cur, next);
    }
    return this.commitDelete(rt, cur);
  }

  private bind(namespace: string, name: string, body: KObject): { code: number; body: unknown } {
    const rt = this.type('pods');
    const target = body.target?.name;
    if (!name) throw new HttpError(400, 'BadRequest', 'Binding needs metadata.name (the pod)');
    if (typeof target !== 'string' || target === '') throw new HttpError(400, 'BadRequest', 'Binding needs target.name (the node)');
    const pod = this.mustGet(rt, namespace, name);
    const bindingName = `pods/binding "${name}"`;
    if (body.metadata?.uid && body.metadata.uid !== pod.metadata.uid) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${bindingName}: Precondition failed: UID in precondition: ${body.metadata.uid}, UID in object meta: ${pod.metadata.uid}`);
    }
    if (pod.metadata.deletionTimestamp) throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${bindingName}: pod ${name} is being deleted, cannot be assigned to a host`);
    if (pod.spec?.nodeName) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${bindingName}: pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    }
    const next = clone(pod);
    next.spec = { ...(next.spec ?? {}), nodeName: target };
    // Like kube-apiserver, a Binding's annotations are copied onto the pod.
    if (body.metadata?.annotations) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...body.metadata.annotations };
    next.status = { ...(next.status ?? {}) };
    const conds = ((next.status.conditions ?? []) as KObject[]).filter((c) => c.type !== 'PodScheduled');
    next.status.conditions = [...conds, { type: 'PodScheduled', status: 'True', lastTransitionTime: nowRfc3339() }];
    this.commitUpdate(rt, pod, next);
    return { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
  }

  private matchers(rt: ResourceType, url: URL): { label: Matcher; field: Matcher } {
    const allowed = (f: string) => f === 'metadata.name' || (rt.namespaced && f === 'metadata.namespace') || (rt.fields ?? []).includes(f);
    try {
      return { label: parseLabelSelector(url.searchParams.get('labelSelector')), field: parseFieldSelector(url.searchParams.get('fieldSelector'), allowed) };
    } catch (e) {
      if (e instanceof SelectorError) throw new HttpError(400, 'BadRequest', e.message);
      throw e;
    }
  }

  private listResponse(rt: ResourceType, namespace: string | undefined, url: URL): KObject {
    const { label, field } = this.matchers(rt, url);
    const wantRv = url.searchParams.get('resourceVersion');
    if (wantRv && url.searchParams.get('resourceVersionMatch') === 'Exact' && Number(wantRv) !== this.rv) {
      // Only the newest state is kept; older exact reads are gone.
      throw new HttpError(410, 'Expired', `too old resource version: ${wantRv} (${this.rv})`);
    }
    const items = [...this.store.get(rt.plural)!.values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => label(o) && field(o))
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    return { kind: `${rt.kind}List`, apiVersion: this.apiVersionOf(rt), metadata: { resourceVersion: String(this.rv) }, items };
  }

  private watch(rt: ResourceType, namespace: string | undefined, url: URL, res: ServerResponse): 'streaming' {
    const { label, field } = this.matchers(rt, url);
    const fromRaw = url.searchParams.get('resourceVersion');
    const from = fromRaw === null || fromRaw === '' || fromRaw === '0' ? undefined : Number(fromRaw);
    if (from !== undefined && !Number.isFinite(from)) throw new HttpError(400, 'BadRequest', `invalid resourceVersion "${fromRaw}"`);
    const expired = from !== undefined && from < this.compactedRv;
    if (expired && this.opts.expiredWatch === 'http') {
      throw new HttpError(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`);
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const w: Watcher = { rt, namespace, label, field, res, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    if (expired) {
      res.end(JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) }) + '\n');
      return 'streaming';
    }
    if (from === undefined) {
      // "Start at most recent": synthetic ADDED for every current object first.
      const items = [...this.store.get(rt.plural)!.values()].sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
      for (const o of items) if (this.visible(w, o)) this.writeEvent(w, 'ADDED', o);
    } else {
      for (const ev of this.history) if (ev.rv > from && ev.plural === rt.plural) this.deliver(w, ev);
    }
    this.watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => this.endWatch(w, false), timeout * 1000);
    res.on('close', () => this.dropWatch(w));
    return 'streaming';
  }

  private visible(w: Watcher, o: KObject | undefined): boolean {
    return o !== undefined && (w.namespace === undefined || o.metadata.namespace === w.namespace) && w.label(o) && w.field(o);
  }

  /** An event as this watcher sees it: entering or leaving its selector reads as ADDED / DELETED. */
  private deliver(w: Watcher, ev: HistoryEvent): void {
    if (ev.plural !== w.rt.plural) return;
    const now = ev.type === 'DELETED' ? false : this.visible(w, ev.object);
    const before = ev.type === 'ADDED' ? false : this.visible(w, ev.prev);
    if (ev.type === 'DELETED') {
      if (before) this.writeEvent(w, 'DELETED', ev.object);
    } else if (now && before) this.writeEvent(w, 'MODIFIED', ev.object);
    else if (now) this.writeEvent(w, 'ADDED', ev.object);
    else if (before) this.writeEvent(w, 'DELETED', ev.object);
  }

  private writeEvent(w: Watcher, type: string, object: KObject): void {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  private endWatch(w: Watcher, abrupt: boolean): void {
    this.dropWatch(w);
    if (abrupt) w.res.destroy();
    else w.res.end();
  }

  private dropWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
  }

  private discovery(group: string, version: string): KObject {
    const resources = this.resources
      .filter((r) => r.group === group && r.version === version)
      .flatMap((r) => [
        { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        ...(r.statusSubresource ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
        ...(r.plural === 'pods' ? [{ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] }] : []),
      ]);
    if (resources.length === 0) throw new HttpError(404, 'NotFound', `no group version ${group}/${version}`);
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
