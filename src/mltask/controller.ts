/**
 * The MLTask controller: informers (src/kube/informer.ts makeFeed) on MLTasks, MLTaskClasses and
 * the Jobs, StatefulSets, Services and pods labelled linkpack.io/mltask, each event mapped to its task's key
 * in one work queue (src/kube/workqueue.ts), N workers running the Reconciler. With leader
 * election (src/kube/leader-election.ts) the caches fill on every replica but only the leader
 * reconciles; a leader that loses its Lease stops its workers at once.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { LABEL_MLTASK } from '../api/annotations.js';
import { errorText } from '../kube/errors.js';
import { makeFeed, type Feed, type InformerOptions } from '../kube/informer.js';
import { kubeLeaseClient, LeaderElector, type LeaderElectionTimings } from '../kube/leader-election.js';
import { runWorkers, WorkQueue } from '../kube/workqueue.js';
import { collectionPath, kubeApiWriter, type ApiWriter, type Store } from './client.js';
import type { KubeObject } from './render.js';
import { Reconciler } from './reconciler.js';
import { isDisrupted } from './status.js';
import { MLTASKCLASS_PLURAL } from './class.js';
import { MLTASK_KIND, MLTASK_PLURAL } from './types.js';

/** How long a disrupted pod that vanished is remembered (a pass reads it well within this). */
const DISRUPTED_MEMORY_MS = 10 * 60_000;

export interface LeaderElectionConfig extends Partial<LeaderElectionTimings> {
  namespace: string;
  name: string;
  identity: string;
}

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace; undefined = all. */
  namespace?: string;
  workers?: number;
  leaderElection?: LeaderElectionConfig;
  informer?: InformerOptions;
  /** Defaults to raw requests with the kubeconfig. */
  api?: ApiWriter;
  identity?: string;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Called when a leader loses its Lease (the CLI exits so the Deployment restarts it). */
  onLostLeadership?: () => void;
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** A cache of one resource, keyed namespace/name. */
class ObjectCache {
  readonly byKey = new Map<string, KubeObject>();
  constructor(private readonly onChange: (o: KubeObject) => void) {}
  handlers() {
    return {
      replace: (items: readonly unknown[]) => {
        const old = [...this.byKey.values()];
        this.byKey.clear();
        for (const it of items as KubeObject[]) this.byKey.set(keyOf(it), it);
        // Anything that changed or vanished while we were not watching: look at it again.
        for (const o of old) if (!this.byKey.has(keyOf(o))) this.onChange(o);
        for (const o of this.byKey.values()) this.onChange(o);
      },
      upsert: (obj: unknown) => {
        const o = obj as KubeObject;
        this.byKey.set(keyOf(o), o);
        this.onChange(o);
      },
      remove: (obj: unknown) => {
        const o = obj as KubeObject;
        this.byKey.delete(keyOf(o));
        this.onChange(o);
      },
    };
  }
}

/** The MLTask that owns (controls) this object, as a queue key. */
function ownerTaskKey(o: KubeObject): string | undefined {
  const refs: KubeObject[] = Array.isArray(o.metadata?.ownerReferences) ? o.metadata.ownerReferences : [];
  const ref = refs.find((r) => r.kind === MLTASK_KIND && r.controller === true);
  return ref ? `${o.metadata.namespace}/${ref.name}` : undefined;
}

export class MLTaskController {
  readonly queue = new WorkQueue<string>({ baseDelayMs: 50, maxDelayMs: 30_000 });
  readonly reconciler: Reconciler;
  private readonly tasks: ObjectCache;
  private readonly statefulSets: ObjectCache;
  private readonly services: ObjectCache;
  private readonly jobs: ObjectCache;
  private readonly classes: ObjectCache;
  private readonly pods = new Map<string, KubeObject>();
  /** namespace/task → pods removed with DisruptionTarget, and when. */
  private readonly disrupted = new Map<string, Array<{ pod: KubeObject; atMs: number }>>();
  /** namespace/task → pod keys. */
  private readonly podsByTask = new Map<string, Set<string>>();
  private readonly feeds: Feed[];
  private readonly log: NonNullable<ControllerOptions['log']>;
  private elector?: LeaderElector;
  private workersDone?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log ?? (() => {});
    const enqueue = (k: string | undefined) => k && this.queue.add(k);
    this.tasks = new ObjectCache((o) => enqueue(keyOf(o)));
    this.statefulSets = new ObjectCache((o) => enqueue(ownerTaskKey(o)));
    this.services = new ObjectCache((o) => enqueue(ownerTaskKey(o)));
    this.jobs = new ObjectCache((o) => enqueue(ownerTaskKey(o)));
    // A class changed: every task may merge it (its next attempt, or one waiting for it).
    this.classes = new ObjectCache(() => {
      for (const k of this.tasks.byKey.keys()) enqueue(k);
    });
    const store: Store = {
      getTask: (ns, name) => this.tasks.byKey.get(`${ns}/${name}`),
      getStatefulSet: (ns, name) => this.statefulSets.byKey.get(`${ns}/${name}`),
      getService: (ns, name) => this.services.byKey.get(`${ns}/${name}`),
      getJob: (ns, name) => this.jobs.byKey.get(`${ns}/${name}`),
      podsOf: (ns, name) => [...(this.podsByTask.get(`${ns}/${name}`) ?? [])].map((k) => this.pods.get(k)!).filter(Boolean),
      disruptedPodsOf: (ns, name) => (this.disrupted.get(`${ns}/${name}`) ?? []).map((d) => d.pod),
      classes: () => [...this.classes.byKey.values()],
    };
    this.reconciler = new Reconciler({ store, api: opts.api ?? kubeApiWriter(opts.kubeConfig), identity: opts.identity, log: this.log });
    const kc = opts.kubeConfig;
    const ns = opts.namespace;
    const labelled = { labelSelector: LABEL_MLTASK };
    const options = { log: this.log, ...opts.informer };
    this.feeds = [
      makeFeed({ name: 'mltasks', kubeConfig: kc, path: collectionPath(MLTASK_PLURAL, ns), handlers: this.tasks.handlers(), options }),
      makeFeed({ name: 'statefulsets', kubeConfig: kc, path: collectionPath('statefulsets', ns), query: labelled, handlers: this.statefulSets.handlers(), options }),
      makeFeed({ name: 'services', kubeConfig: kc, path: collectionPath('services', ns), query: labelled, handlers: this.services.handlers(), options }),
      makeFeed({ name: 'jobs', kubeConfig: kc, path: collectionPath('jobs', ns), query: labelled, handlers: this.jobs.handlers(), options }),
      makeFeed({ name: 'mltaskclasses', kubeConfig: kc, path: collectionPath(MLTASKCLASS_PLURAL), handlers: this.classes.handlers(), options }),
      makeFeed({ name: 'pods', kubeConfig: kc, path: collectionPath('pods', ns), query: labelled, handlers: this.podHandlers(), options }),
    ];
  }

  private podHandlers() {
    const taskKey = (p: KubeObject) => `${p.metadata?.namespace}/${p.metadata?.labels?.[LABEL_MLTASK]}`;
    const index = (p: KubeObject, add: boolean) => {
      const tk = taskKey(p);
      let set = this.podsByTask.get(tk);
      if (add) {
        if (!set) this.podsByTask.set(tk, (set = new Set()));
        set.add(keyOf(p));
      } else if (set) {
        set.delete(keyOf(p));
        if (set.size === 0) this.podsByTask.delete(tk);
      }
      this.queue.add(tk);
    };
    return {
      replace: (items: readonly unknown[]) => {
        for (const p of this.pods.values()) index(p, false);
        this.pods.clear();
        for (const p of items as KubeObject[]) {
          this.pods.set(keyOf(p), p);
          index(p, true);
        }
      },
      upsert: (obj: unknown) => {
        const p = obj as KubeObject;
        const old = this.pods.get(keyOf(p));
        if (old && taskKey(old) !== taskKey(p)) index(old, false);
        this.pods.set(keyOf(p), p);
        index(p, true);
      },
      remove: (obj: unknown) => {
        const p = obj as KubeObject;
        this.pods.delete(keyOf(p));
        if (isDisrupted(p)) this.rememberDisrupted(taskKey(p), p);
        index(p, false);
      },
    };
  }

  private rememberDisrupted(taskKey: string, pod: KubeObject): void {
    const now = Date.now();
    const list = (this.disrupted.get(taskKey) ?? []).filter((d) => now - d.atMs < DISRUPTED_MEMORY_MS);
    list.push({ pod, atMs: now });
    this.disrupted.set(taskKey, list);
  }

  /** Fills the caches, then reconciles (at once, or once this replica leads). Resolves when caches are synced. */
  async start(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.start()));
    if (this.stopped) return;
    const le = this.opts.leaderElection;
    if (!le) {
      this.startWorkers();
      return;
    }
    this.elector = new LeaderElector({ ...le, client: kubeLeaseClient(this.opts.kubeConfig, le.namespace, le.name), log: this.log });
    void this.elector.run({
      onStartedLeading: () => this.startWorkers(),
      onStoppedLeading: () => {
        this.queue.shutDown();
        if (!this.stopped) {
          this.log('warn', 'lost leadership: stopped reconciling');
          this.opts.onLostLeadership?.();
        }
      },
      onNewLeader: (id) => this.log('info', `leader is ${id}`),
    });
  }

  isLeader(): boolean {
    if (this.opts.leaderElection) return this.elector?.isLeader() ?? false;
    return this.workersDone !== undefined && !this.stopped;
  }

  private startWorkers(): void {
    if (this.workersDone) return;
    this.workersDone = runWorkers(this.queue, this.opts.workers ?? 2, (key) => this.reconciler.reconcile(key), (key, err) => this.log('warn', `reconcile ${key}: ${errorText(err)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.shutDown();
    await this.workersDone;
    await this.elector?.stop();
    await Promise.all(this.feeds.map((f) => f.stop()));
  }

  feedStats() {
    return this.feeds.map((f) => ({ name: f.name, ...f.stats }));
  }
}
