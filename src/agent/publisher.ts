/**
 * Publishes the node's GPUNode: creates it (ownerReference to its Node) and replaces its status
 * through the status subresource — only when the status changed, plus a heartbeat every
 * heartbeatTimeout/3 so the extender never sees a live node as stale. Conflicts re-read and retry;
 * other API errors back off (capped, jittered). The publisher holds the latest wanted status, so
 * an outage loses nothing: the newest status is written when the API server is back.
 */
import { API_GROUP as GROUP, API_VERSION as VERSION } from '../api/annotations.js';
import { GPUNODE_KIND, GPUNODE_PLURAL, type GpuNodeObject, type GpuNodeStatus } from '../cluster/gpunode.js';
import { errorText, statusCodeOf } from '../kube/errors.js';
import type { BackoffOptions } from '../kube/informer.js';
import type { KubeRest } from './kube-rest.js';

export interface PublisherOptions {
  api: KubeRest;
  nodeName: string;
  /** The extender's heartbeat timeout (default 120 s); a heartbeat is written every third of it. */
  heartbeatTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Re-read + retry rounds on 409 before backing off (default 5). */
  maxConflictRetries?: number;
  labels?: Record<string, string>;
  log?: (level: 'info' | 'warn', message: string) => void;
  now?: () => number;
}

export interface PublisherStats {
  creates: number;
  /** Status writes because the status changed. */
  changes: number;
  /** Status writes for the heartbeat alone. */
  heartbeats: number;
  conflicts: number;
  failures: number;
  /** Consecutive failed attempts (0 when the last one worked). */
  failingFor: number;
  lastError?: string;
  /** ms since epoch of the last successful status write. */
  lastWriteMs?: number;
}

type Desired = Omit<GpuNodeStatus, 'heartbeatTime'>;

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const statusKey = (s: Desired) => JSON.stringify(s);

export class GpuNodePublisher {
  readonly stats: PublisherStats = { creates: 0, changes: 0, heartbeats: 0, conflicts: 0, failures: 0, failingFor: 0 };
  private readonly api: KubeRest;
  private readonly path: string;
  private readonly heartbeatEveryMs: number;
  private readonly now: () => number;
  private readonly log: NonNullable<PublisherOptions['log']>;
  private desired?: Desired;
  private written?: { key: string; atMs: number };
  private current?: GpuNodeObject;
  private nodeUid?: string;
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: PublisherOptions) {
    this.api = opts.api;
    this.path = `/apis/${GROUP}/${VERSION}/${GPUNODE_PLURAL}`;
    this.heartbeatEveryMs = Math.max(1000, Math.floor((opts.heartbeatTimeoutMs ?? 120_000) / 3));
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  /** The status to publish (its heartbeatTime is ignored: the publisher stamps it). Writes soon if it changed. */
  update(status: GpuNodeStatus): void {
    const { heartbeatTime: _hb, ...rest } = status;
    this.desired = structuredClone(rest);
    if (this.written?.key !== statusKey(this.desired)) this.schedule(0);
  }

  /** True when the wanted status has been written (nothing pending). */
  get upToDate(): boolean {
    return this.desired !== undefined && this.written?.key === statusKey(this.desired);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Resolves when no attempt is running (tests and shutdown). */
  idle(): Promise<void> {
    return this.running ? new Promise((r) => this.idleWaiters.push(r)) : Promise.resolve();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      if (delayMs === 0) this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref?.();
  }

  private backoffMs(): number {
    const b = this.opts.backoff ?? {};
    const initial = b.initialMs ?? 250;
    const max = b.maxMs ?? 30_000;
    const jitter = b.jitter ?? 0.5;
    const d = Math.min(max, initial * 2 ** Math.min(20, this.stats.failingFor - 1));
    return Math.round(d * (1 - jitter * Math.random()));
  }

  private async tick(): Promise<void> {
    this.running = true;
    this.again = false;
    let next: number;
    try {
      await this.syncOnce();
      this.stats.failingFor = 0;
      next = this.written ? Math.max(0, this.written.atMs + this.heartbeatEveryMs - this.now()) : this.heartbeatEveryMs;
    } catch (e) {
      this.stats.failures++;
      this.stats.failingFor++;
      this.stats.lastError = errorText(e);
      next = this.backoffMs();
      this.log('warn', `GPUNode ${this.opts.nodeName}: ${this.stats.lastError}; retrying in ${(next / 1000).toFixed(1)} s (${this.stats.failingFor} failure(s) in a row)`);
    } finally {
      this.running = false;
      this.idleWaiters.splice(0).forEach((r) => r());
    }
    this.schedule(this.again ? 0 : next);
  }

  /** One attempt: write when changed or when the heartbeat is due. Throws on API failure. */
  async syncOnce(): Promise<'written' | 'unchanged' | 'nothing'> {
    const desired = this.desired;
    if (!desired) return 'nothing';
    const key = statusKey(desired);
    const changed = this.written?.key !== key;
    if (!changed && this.now() - this.written!.atMs < this.heartbeatEveryMs) return 'unchanged';
    this.nodeUid ??= await this.readNodeUid();
    const retries = this.opts.maxConflictRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      this.current ??= await this.readOrCreate();
      const at = this.now();
      const body: GpuNodeObject = { ...this.current, status: { ...structuredClone(desired), heartbeatTime: rfc3339(at) } };
      try {
        this.current = (await this.api.request('PUT', `${this.path}/${encodeURIComponent(this.opts.nodeName)}/status`, body)) as GpuNodeObject;
        this.written = { key, atMs: at };
        this.stats.lastWriteMs = at;
        if (changed) this.stats.changes++;
        else this.stats.heartbeats++;
        return 'written';
      } catch (e) {
        const code = statusCodeOf(e);
        if (code === 409 || code === 404) {
          // Someone else wrote (or deleted) it: re-read and try again on the fresh version.
          if (code === 409) this.stats.conflicts++;
          this.current = undefined;
          if (attempt < retries) continue;
          throw new Error(`status update conflicted ${attempt + 1} times in a row: ${errorText(e)}`);
        }
        throw e;
      }
    }
  }

  private async readNodeUid(): Promise<string> {
    try {
      const node = (await this.api.request('GET', `/api/v1/nodes/${encodeURIComponent(this.opts.nodeName)}`)) as { metadata?: { uid?: string } };
      const uid = node.metadata?.uid;
      if (!uid) throw new Error(`Node ${this.opts.nodeName} has no uid`);
      return uid;
    } catch (e) {
      if (statusCodeOf(e) === 404) throw new Error(`Node ${this.opts.nodeName} not found (check --node-name; the GPUNode is owned by its Node)`);
      throw new Error(`reading Node ${this.opts.nodeName}: ${errorText(e)}`);
    }
  }

  private async readOrCreate(): Promise<GpuNodeObject> {
    const one = `${this.path}/${encodeURIComponent(this.opts.nodeName)}`;
    try {
      return (await this.api.request('GET', one)) as GpuNodeObject;
    } catch (e) {
      if (statusCodeOf(e) !== 404) throw e;
    }
    const body: GpuNodeObject = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: GPUNODE_KIND,
      metadata: {
        name: this.opts.nodeName,
        ...(this.opts.labels ? { labels: { ...this.opts.labels } } : {}),
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.opts.nodeName, uid: this.nodeUid!, controller: false, blockOwnerDeletion: false }],
      },
      spec: {},
    };
    try {
      const created = (await this.api.request('POST', this.path, body)) as GpuNodeObject;
      this.stats.creates++;
      this.log('info', `created GPUNode ${this.opts.nodeName}`);
      return created;
    } catch (e) {
      if (statusCodeOf(e) === 409) return (await this.api.request('GET', one)) as GpuNodeObject; // created meanwhile
      throw e;
    }
  }
}
