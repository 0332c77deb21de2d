/**
 * List + watch of GPUNodes and pods into a ClusterCache, with the recovery rules of client-go's
 * reflector: resume a broken watch from the last resourceVersion (exponential backoff with jitter,
 * capped); on 410 Expired (HTTP status or ERROR event) relist and replace. client-node's own
 * informer stops for good on a watch error, so this is a small loop on its Watch instead.
 */
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../api/annotations.js';
import type { ClusterCache } from './cache.js';
import { GPUNODE_PLURAL } from './gpunode.js';

export interface BackoffOptions {
  /** First retry delay (default 250 ms). */
  initialMs?: number;
  /** Cap (default 30 s). */
  maxMs?: number;
  /** Fraction of the delay randomised away, 0..1 (default 0.5). */
  jitter?: number;
}

export type InformerLog = (level: 'info' | 'warn', message: string) => void;

export interface ClusterInformersOptions {
  kubeConfig: KubeConfig;
  cache: ClusterCache;
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

interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

interface FeedHandlers {
  replace(items: readonly unknown[]): void;
  upsert(obj: unknown): void;
  remove(obj: unknown): void;
}

type Obj = Record<string, unknown>;

/** Kubernetes JSON as the watch delivers it (client-node's typed lists carry Date objects). */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}

function isExpired(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: number } | null;
  return e?.statusCode === 410 || e?.code === 410;
}

class Feed {
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
    private readonly cache: ClusterCache,
    private readonly opts: Required<Pick<ClusterInformersOptions, 'watchTimeoutSeconds' | 'unsyncedAfterFailures'>> & { backoff: Required<BackoffOptions>; log: InformerLog },
  ) {}

  /** Starts the loop; resolves after the first successful list. */
  start(): Promise<void> {
    if (!this.stopped) return this.firstList!.promise;
    this.stopped = false;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstList = { resolve, promise };
    this.cache.markSynced(this.name, false);
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
    this.cache.markSynced(this.name, false);
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
    this.cache.markSynced(this.name, false);
    try {
      const res = await this.list();
      if (this.stopped) return false;
      this.handlers.replace(res.items);
      this.stats.lists += 1;
      this.stats.resourceVersion = res.resourceVersion;
      this.failures = 0;
      this.cache.markSynced(this.name, true);
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
          { resourceVersion: this.stats.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.opts.watchTimeoutSeconds },
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
          else if (!finished) this.cache.markSynced(this.name, true);
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
    if (this.failures >= this.opts.unsyncedAfterFailures) this.cache.markSynced(this.name, false);
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

/** The two feeds the extender needs: GPUNodes (cluster-scoped) and pods (all namespaces). */
export class ClusterInformers {
  readonly gpuNodes: Feed;
  readonly pods: Feed;

  constructor(private readonly opts: ClusterInformersOptions) {
    const kc = opts.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const watch = new Watch(kc);
    const cache = opts.cache;
    const pageSize = opts.listPageSize ?? 500;
    const loopOpts = {
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
      unsyncedAfterFailures: opts.unsyncedAfterFailures ?? 3,
      backoff: { initialMs: opts.backoff?.initialMs ?? 250, maxMs: opts.backoff?.maxMs ?? 30_000, jitter: opts.backoff?.jitter ?? 0.5 },
      log: opts.log ?? (() => {}),
    };

    const listGpuNodes = async (): Promise<ListResult> => {
      const items: unknown[] = [];
      let rv = '';
      let cont: string | undefined;
      do {
        const page = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: GPUNODE_PLURAL, limit: pageSize, _continue: cont })) as {
          items?: unknown[];
          metadata?: { resourceVersion?: string; continue?: string };
        };
        items.push(...(page.items ?? []));
        if (!rv) rv = page.metadata?.resourceVersion ?? '';
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return { items, resourceVersion: rv };
    };
    const listPods = async (): Promise<ListResult> => {
      const items: unknown[] = [];
      let rv = '';
      let cont: string | undefined;
      do {
        const page = await core.listPodForAllNamespaces({ limit: pageSize, _continue: cont });
        items.push(...plain(page.items));
        if (!rv) rv = page.metadata?.resourceVersion ?? '';
        cont = page.metadata?._continue || undefined;
      } while (cont);
      return { items, resourceVersion: rv };
    };

    this.gpuNodes = new Feed(
      GPUNODE_PLURAL,
      `/apis/${API_GROUP}/${API_VERSION}/${GPUNODE_PLURAL}`,
      listGpuNodes,
      {
        replace: (items) => cache.replaceGpuNodes(items),
        upsert: (o) => {
          const err = cache.upsertGpuNode(o);
          if (err) loopOpts.log('warn', err);
        },
        remove: (o) => {
          const name = ((o as Obj).metadata as Obj | undefined)?.name;
          if (typeof name === 'string') cache.deleteGpuNode(name);
        },
      },
      watch,
      cache,
      loopOpts,
    );
    this.pods = new Feed(
      'pods',
      '/api/v1/pods',
      listPods,
      { replace: (items) => cache.replacePods(items), upsert: (o) => cache.upsertPod(o), remove: (o) => cache.deletePod(o) },
      watch,
      cache,
      loopOpts,
    );
  }

  /** Start both feeds; resolves when both have listed once (the cache is then synced). */
  async start(): Promise<void> {
    await Promise.all([this.gpuNodes.start(), this.pods.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.gpuNodes.stop(), this.pods.stop()]);
  }

  synced(): boolean {
    return this.opts.cache.synced();
  }

  stats(): { gpuNodes: FeedStats; pods: FeedStats } {
    return { gpuNodes: { ...this.gpuNodes.stats }, pods: { ...this.pods.stats } };
  }
}
