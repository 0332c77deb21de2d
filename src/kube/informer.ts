/**
 * The one informer of linkpack: list (paged) + watch of any resource path, with the recovery rules
 * of client-go's reflector: resume a broken watch from the last resourceVersion (exponential
 * backoff with jitter, capped); on 410 Expired (HTTP status or ERROR event) relist and replace.
 * client-node's own informer stops for good on a watch error, so this is a small loop on its Watch
 * instead. Every controller-like part (extender cache, agent, device plugin, MLTask controller)
 * builds its feeds here.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { errorText } from './errors.js';
import { kubeJson } from './request.js';

export interface BackoffOptions {
  /** First retry delay (default 250 ms). */
  initialMs?: number;
  /** Cap (default 30 s). */
  maxMs?: number;
  /** Fraction of the delay randomised away, 0..1 (default 0.5). */
  jitter?: number;
}

export type InformerLog = (level: 'info' | 'warn', message: string) => void;

export interface InformerOptions {
  backoff?: BackoffOptions;
  /** Server-side lifetime of one watch request before it is renewed (default 300 s). */
  watchTimeoutSeconds?: number;
  /** Consecutive failures after which a feed reports out of sync (default 3). */
  unsyncedAfterFailures?: number;
  /** Page size of the initial lists (default 500). */
  listPageSize?: number;
  log?: InformerLog;
}

export interface FeedStats {
  lists: number;
  relistsAfterExpired: number;
  watchesStarted: number;
  watchFailures: number;
  lastError?: string;
  resourceVersion: string;
}

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

export interface FeedHandlers {
  replace(items: readonly unknown[]): void;
  upsert(obj: unknown): void;
  remove(obj: unknown): void;
}

type Obj = Record<string, unknown>;

export function isExpired(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: number } | null;
  return e?.statusCode === 410 || e?.code === 410;
}

export class Feed {
  readonly stats: FeedStats = { lists: 0, relistsAfterExpired: 0, watchesStarted: 0, watchFailures: 0, resourceVersion: '' };
  private stopped = true;
  private failures = 0;
  private controller?: AbortController;
  private wake?: () => void;
  private loop?: Promise<void>;
  private firstList?: { resolve: () => void; promise: Promise<void> };

  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly list: () => Promise<ListResult>,
    private readonly handlers: FeedHandlers,
    private readonly watch: Watch,
    /** Told whenever the feed's view becomes consistent (true) or stops being so (false). */
    private readonly onSynced: (synced: boolean) => void,
    private readonly opts: FeedOptions,
    /** Selectors sent with every watch (the list function applies its own). */
    private readonly query: Record<string, string> = {},
  ) {}

  /** Starts the loop; resolves after the first successful list. */
  start(): Promise<void> {
    if (!this.stopped) return this.firstList!.promise;
    this.stopped = false;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstList = { resolve, promise };
    this.onSynced(false);
    this.loop = this.run();
    return promise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    this.wake?.();
    // Nobody should wait forever on a start() that can no longer complete.
    this.firstList?.resolve();
    await this.loop;
    this.onSynced(false);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.stats.resourceVersion === '') {
        if (!(await this.relist())) {
          await this.sleepBackoff();
          continue;
        }
      }
      await this.watchOnce();
    }
  }

  private async relist(): Promise<boolean> {
    this.onSynced(false);
    try {
      const res = await this.list();
      if (this.stopped) return false;
      this.handlers.replace(res.items);
      this.stats.lists += 1;
      this.stats.resourceVersion = res.resourceVersion;
      this.failures = 0;
      this.onSynced(true);
      this.firstList?.resolve();
      return true;
    } catch (err) {
      this.noteFailure(`list ${this.name}: ${errorText(err)}`);
      return false;
    }
  }

  /** One watch request, until it ends; updates resourceVersion as events arrive. */
  private async watchOnce(): Promise<void> {
    let expired = false;
    let events = 0;
    const started = Date.now();
    let finished = false;
    const ended = new Promise<unknown>((resolve) => {
      const onEvent = (type: string, obj: unknown) => {
        if (this.stopped) return;
        const o = obj as Obj | undefined;
        if (type === 'ERROR') {
          if ((o as { code?: number } | undefined)?.code === 410) expired = true;
          else this.noteFailure(`watch ${this.name}: ERROR event ${JSON.stringify(o)}`);
          return;
        }
        events += 1;
        if (type === 'ADDED' || type === 'MODIFIED') this.handlers.upsert(obj);
        else if (type === 'DELETED') this.handlers.remove(obj);
        const rv = (o?.metadata as Obj | undefined)?.resourceVersion;
        if (typeof rv === 'string' && rv !== '') this.stats.resourceVersion = rv;
      };
      this.stats.watchesStarted += 1;
      this.watch
        .watch(
          this.path,
          { ...this.query, resourceVersion: this.stats.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.opts.watchTimeoutSeconds },
          onEvent,
          (err) => {
            finished = true;
            resolve(err);
          },
        )
        .then((c) => {
          this.controller = c;
          if (this.stopped) c.abort();
          // Connected (the server answered 200): we stream from a consistent version again.
          else if (!finished) {
            this.onSynced(true);
            // A restarted feed resumes from its resourceVersion without listing: it is started now.
            this.firstList?.resolve();
          }
        }, resolve);
    });
    const err = await ended;
    this.controller = undefined;
    if (this.stopped) return;
    if (expired || isExpired(err)) {
      this.opts.log('info', `watch ${this.name}: resourceVersion ${this.stats.resourceVersion} expired (410); relisting`);
      this.stats.relistsAfterExpired += 1;
      this.stats.resourceVersion = '';
      return;
    }
    if (err) {
      this.noteFailure(`watch ${this.name}: ${errorText(err)}`);
      await this.sleepBackoff();
    } else if (events === 0 && Date.now() - started < 1000) {
      // A watch that closes at once without news is a failure too, or we would spin.
      this.noteFailure(`watch ${this.name}: closed immediately`);
      await this.sleepBackoff();
    } else this.failures = 0;
  }

  private noteFailure(message: string): void {
    this.failures += 1;
    this.stats.watchFailures += 1;
    this.stats.lastError = message;
    this.opts.log('warn', message);
    if (this.failures >= this.opts.unsyncedAfterFailures) this.onSynced(false);
  }

  private async sleepBackoff(): Promise<void> {
    if (this.stopped) return;
    const { initialMs, maxMs, jitter } = this.opts.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, this.failures - 1));
    const ms = base * (1 - jitter * Math.random());
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }
}


export type FeedOptions = Required<Pick<InformerOptions, 'watchTimeoutSeconds' | 'unsyncedAfterFailures'>> & {
  backoff: Required<BackoffOptions>;
  log: InformerLog;
};

export function feedOptions(opts: InformerOptions): FeedOptions {
  return {
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
    unsyncedAfterFailures: opts.unsyncedAfterFailures ?? 3,
    backoff: { initialMs: opts.backoff?.initialMs ?? 250, maxMs: opts.backoff?.maxMs ?? 30_000, jitter: opts.backoff?.jitter ?? 0.5 },
    log: opts.log ?? (() => {}),
  };
}

/** Kubernetes JSON as the watch delivers it (client-node's typed lists carry Date objects). */
export function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** A page of any list call, as plain JSON. */
export interface ListPage {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string; _continue?: string };
}

/** Follows `continue` tokens until the list is complete; the first page's resourceVersion is the list's. */
export async function listAllPages(fetchPage: (cont: string | undefined) => Promise<ListPage>): Promise<ListResult> {
  const items: unknown[] = [];
  let rv = '';
  let cont: string | undefined;
  do {
    const page = await fetchPage(cont);
    items.push(...plain(page.items ?? []));
    if (!rv) rv = page.metadata?.resourceVersion ?? '';
    cont = page.metadata?.continue || page.metadata?._continue || undefined;
  } while (cont);
  return { items, resourceVersion: rv };
}

/**
 * A feed on any API path, listed with raw GETs (so custom resources and built-ins page the same
 * way). `path` is the collection, e.g. `/api/v1/pods` or `/apis/apps/v1/namespaces/ml/statefulsets`;
 * `query` adds selectors (`labelSelector`, `fieldSelector`) to both list and watch.
 */
export function makeFeed(args: {
  name: string;
  kubeConfig: KubeConfig;
  path: string;
  query?: Record<string, string>;
  handlers: FeedHandlers;
  onSynced?: (synced: boolean) => void;
  options?: InformerOptions;
  watch?: Watch;
}): Feed {
  const opts = feedOptions(args.options ?? {});
  const pageSize = args.options?.listPageSize ?? 500;
  const list = () =>
    listAllPages(async (cont) => {
      const q = new URLSearchParams({ ...args.query, limit: String(pageSize) });
      if (cont) q.set('continue', cont);
      return (await getJson(args.kubeConfig, `${args.path}?${q.toString()}`)) as ListPage;
    });
  return new Feed(args.name, args.path, list, args.handlers, args.watch ?? new Watch(args.kubeConfig), args.onSynced ?? (() => {}), opts, args.query);
}

/** GET a path on the API server with the kubeconfig's credentials; throws {statusCode, message} on non-2xx. */
export function getJson(kc: KubeConfig, path: string): Promise<unknown> {
  return kubeJson(kc, 'GET', path);
}
