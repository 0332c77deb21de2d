/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules so that two replicas
 * never both act:
 * - a candidate takes the Lease only when it is free or its holder has not renewed it for
 *   leaseDuration, measured on the candidate's own clock from when it last saw the record change
 *   (no trust in the other machine's clock);
 * - writes are optimistic (resourceVersion): of two racing candidates one gets 409 and stays out;
 * - the leader renews every retryPeriod; if no renewal succeeds for renewDeadline it stops leading
 *   (onStoppedLeading) — before any other candidate may take over, since leaseDuration > renewDeadline;
 * - on stop() the leader releases the Lease (holder cleared) so a successor need not wait.
 * Defaults 15 s / 10 s / 2 s; validated leaseDuration > renewDeadline > 1.2 × retryPeriod.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeJson } from './request.js';
import { errorText, statusCodeOf } from './errors.js';

export const JITTER_FACTOR = 1.2;

export interface LeaderElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** A sentence naming the broken rule, or null. */
export function validateTimings(t: LeaderElectionTimings): string | null {
  for (const [k, v] of Object.entries(t)) if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) return `leader election: ${k} must be a positive number of milliseconds (got ${v})`;
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) return `leader election: leaseDuration (${t.leaseDurationMs} ms) must be greater than renewDeadline (${t.renewDeadlineMs} ms)`;
  if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs)) return `leader election: renewDeadline (${t.renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × retryPeriod (${JITTER_FACTOR * t.retryPeriodMs} ms)`;
  return null;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** Get/create/update of one Lease; tests may substitute it. */
export interface LeaseClient {
  get(): Promise<LeaseObject | undefined>;
  create(lease: LeaseObject): Promise<LeaseObject>;
  update(lease: LeaseObject): Promise<LeaseObject>;
}

export function kubeLeaseClient(kc: KubeConfig, namespace: string, name: string): LeaseClient {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return {
    async get() {
      try {
        return (await kubeJson(kc, 'GET', `${base}/${encodeURIComponent(name)}`)) as LeaseObject;
      } catch (err) {
        if (statusCodeOf(err) === 404) return undefined;
        throw err;
      }
    },
    async create(lease) {
      return (await kubeJson(kc, 'POST', base, lease)) as LeaseObject;
    },
    async update(lease) {
      return (await kubeJson(kc, 'PUT', `${base}/${encodeURIComponent(name)}`, lease)) as LeaseObject;
    },
  };
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderElectorOptions extends Partial<LeaderElectionTimings> {
  client: LeaseClient;
  namespace: string;
  name: string;
  identity: string;
  /** Release the Lease on stop() (default true). */
  releaseOnStop?: boolean;
  now?: () => number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface LeaderCallbacks {
  /** Called once when this candidate becomes leader; `signal` aborts when it stops leading. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends (lost, or stop()). */
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

export class LeaderElector {
  readonly timings: LeaderElectionTimings;
  private readonly now: () => number;
  private readonly log: NonNullable<LeaderElectorOptions['log']>;
  private observed?: { record: string; spec: LeaseSpec; atMs: number; resourceVersion?: string };
  private lastRenewMs = 0;
  private leading = false;
  private stopped = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  private leadership?: AbortController;
  private lastLeader?: string;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.timings = {
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_TIMINGS.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_TIMINGS.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_TIMINGS.retryPeriodMs,
    };
    const problem = validateTimings(this.timings);
    if (problem) throw new Error(problem);
    if (!opts.identity) throw new Error('leader election: identity must not be empty');
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; resolves when stop() has finished. */
  run(cb: LeaderCallbacks): Promise<void> {
    if (!this.loop) this.loop = this.campaign(cb);
    return this.loop;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async campaign(cb: LeaderCallbacks): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.timings;
    while (!this.stopped) {
      const ok = await this.tryAcquireOrRenew(cb);
      if (this.stopped) break;
      if (ok && !this.leading) {
        this.leading = true;
        this.lastRenewMs = this.now();
        this.leadership = new AbortController();
        this.log('info', `leader election: ${this.opts.identity} became leader of ${this.opts.namespace}/${this.opts.name}`);
        void Promise.resolve(cb.onStartedLeading(this.leadership.signal)).catch((err) => this.log('warn', `onStartedLeading: ${errorText(err)}`));
      } else if (ok) {
        this.lastRenewMs = this.now();
      } else if (this.leading && this.now() - this.lastRenewMs >= renewDeadlineMs) {
        this.log('warn', `leader election: ${this.opts.identity} could not renew for ${renewDeadlineMs} ms; stepping down`);
        this.stepDown(cb);
      }
      // Candidates retry with jitter (so they do not hammer together); a leader renews on the period.
      await this.sleep(this.leading ? retryPeriodMs : retryPeriodMs * (1 + (JITTER_FACTOR - 1) * Math.random()));
    }
    if (this.leading) {
      if (this.opts.releaseOnStop ?? true) await this.release();
      this.stepDown(cb);
    }
  }

  private stepDown(cb: LeaderCallbacks): void {
    this.leading = false;
    this.leadership?.abort();
    this.leadership = undefined;
    cb.onStoppedLeading();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** One attempt (client-go's tryAcquireOrRenew). */
  private async tryAcquireOrRenew(cb: LeaderCallbacks): Promise<boolean> {
    const { client, identity, namespace, name } = this.opts;
    const nowMs = this.now();
    const durationS = Math.ceil(this.timings.leaseDurationMs / 1000);
    try {
      const cur = await client.get();
      if (!cur) {
        const created = await client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: microTime(nowMs), renewTime: microTime(nowMs), leaseTransitions: 0 },
        });
        this.observe(created, nowMs, cb);
        return true;
      }
      this.observe(cur, nowMs, cb);
      const spec = cur.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const heldByOther = holder !== '' && holder !== identity;
      if (heldByOther && this.observed!.atMs + this.timings.leaseDurationMs > nowMs) return false;
      const next: LeaseObject = {
        ...cur,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: durationS,
          renewTime: microTime(nowMs),
          ...(holder === identity ? {} : { acquireTime: microTime(nowMs), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
        },
      };
      const updated = await client.update(next);
      this.observe(updated, nowMs, cb);
      return true;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code !== 409) this.log('warn', `leader election: ${namespace}/${name}: ${errorText(err)}`);
      return false;
    }
  }

  private observe(lease: LeaseObject, nowMs: number, cb: LeaderCallbacks): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (this.observed?.record !== record) this.observed = { record, spec: lease.spec ?? {}, atMs: nowMs, resourceVersion: lease.metadata?.resourceVersion };
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== this.lastLeader) {
      this.lastLeader = holder;
      cb.onNewLeader?.(holder);
    }
  }

  private async release(): Promise<void> {
    try {
      const cur = await this.opts.client.get();
      if (!cur || cur.spec?.holderIdentity !== this.opts.identity) return;
      // client-go's release: no holder, a 1 s lease, so a successor takes over at once.
      await this.opts.client.update({ ...cur, spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) } });
    } catch (err) {
      this.log('warn', `leader election: release of ${this.opts.namespace}/${this.opts.name}: ${errorText(err)}`);
    }
  }
}
