/**
 * The shared work queue of every controller-like part, in client-go / controller-runtime's shape:
 * - a key waits at most once (adding a queued key again is a no-op: dedupe);
 * - a key is handed to one worker at a time; added again while processing, it is marked dirty and
 *   re-queued when that worker calls done();
 * - addAfter(key, ms) delays (the earliest pending delay wins); addRateLimited(key) delays by the
 *   key's exponential backoff (base × 2^failures, capped), forget(key) resets it.
 * `runWorkers` runs N workers over a reconcile function that returns a requeue-after or nothing,
 * and retries a throw with backoff.
 */

export interface WorkQueueOptions {
  /** First retry delay of addRateLimited (default 5 ms, controller-runtime's). */
  baseDelayMs?: number;
  /** Backoff cap (default 1000 s in controller-runtime; 60 s here: a training job cannot wait longer). */
  maxDelayMs?: number;
}

export interface WorkQueueStats {
  adds: number;
  deduped: number;
  processed: number;
  retries: number;
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly queued = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly dirty = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, { atMs: number; timer: NodeJS.Timeout }>();
  private waiters: Array<(k: K | undefined) => void> = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  readonly stats: WorkQueueStats = { adds: 0, deduped: 0, processed: 0, retries: 0 };

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    this.stats.adds += 1;
    if (this.queued.has(key) || this.dirty.has(key)) {
      this.stats.deduped += 1;
      return;
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
  }

  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const atMs = Date.now() + delayMs;
    const cur = this.delayed.get(key);
    if (cur && cur.atMs <= atMs) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.delayed.set(key, { atMs, timer });
  }

  /** The next delay of this key's backoff (and counts the failure). */
  nextBackoffMs(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 40));
  }

  addRateLimited(key: K): void {
    this.stats.retries += 1;
    this.addAfter(key, this.nextBackoffMs(key));
  }

  /** The key succeeded: its backoff starts from the base again. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for a key; undefined once shut down. The caller must call done(key). */
  get(): Promise<K | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.stats.processed += 1;
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Keys waiting (not processing, not delayed). */
  len(): number {
    return this.queue.length;
  }

  /** Nothing waiting, nothing being processed, nothing delayed. */
  idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0 && this.delayed.size === 0;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve(undefined);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}

/** What a reconcile asks of the queue: come back after a while, or nothing (done until the next event). */
export type ReconcileResult = { requeueAfterMs: number } | void;

/**
 * N workers, each: get → reconcile → done. A result with requeueAfterMs re-adds after that delay
 * (and resets the backoff); a throw re-adds with the key's backoff and is reported to onError.
 * Resolves when the queue is shut down and every worker has finished its key.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  workers: number,
  reconcile: (key: K) => Promise<ReconcileResult>,
  onError: (key: K, err: unknown) => void = () => {},
): Promise<void> {
  const one = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const r = await reconcile(key);
        queue.forget(key);
        if (r && r.requeueAfterMs >= 0) queue.addAfter(key, r.requeueAfterMs);
      } catch (err) {
        onError(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, one));
}
