/**
 * reconcile(namespace/name): observe (task, Service, StatefulSet, pods from the Store) → diff
 * against the rendering → act (at most the writes needed), then write status. Level-triggered and
 * idempotent: it never remembers anything between calls, names are fixed (the task's), so a
 * repeated or interrupted reconcile creates nothing twice; a stale read ends in a 409 or
 * AlreadyExists and a retry. Semantics (docs/mltask.md):
 * - Service and StatefulSet are created when absent and brought back to the rendering when their
 *   spec-hash differs (the pods roll: RollingUpdate); a change the StatefulSet cannot take
 *   (immutable-hash: selector, serviceName, podManagementPolicy, volumeClaimTemplates) deletes it
 *   (uid precondition) and creates it anew on the next pass;
 * - Succeeded / Failed (final) and suspend scale the StatefulSet to 0; the object and status stay;
 * - every step is an Event on the MLTask, with a name fixed by (task, step, generation) so a
 *   repeated step is told once.
 * Mode Job (the default) keeps one Indexed Job per gang attempt instead (status.ts planJob decides:
 * create, restart the gang by deleting the Job in the foreground, wait, or set suspend).
 */
import { GROUP_VERSION } from '../api/annotations.js';
import { errorText, statusCodeOf } from '../kube/errors.js';
import type { ReconcileResult } from '../kube/workqueue.js';
import type { ApiWriter, Kind, Store } from './client.js';
import { ANN_DEFAULT_CLASS, chooseClass, parseMLTaskClass, type MLTaskClass } from './class.js';
import { ANN_IMMUTABLE_HASH, ANN_SPEC_HASH, canonicalJson, renderJob, renderService, renderStatefulSet, shortHash, type KubeObject } from './render.js';
import { computeStatus, desiredReplicas, isDisrupted, planJob } from './status.js';
import { KUEUE_QUEUE_LABEL, MLTASK_KIND, TERMINAL_PHASES, type MLTask, type MLTaskStatus } from './types.js';
import { parseMLTask } from './validate.js';

export const COMPONENT = 'linkpack-controller';
/** Re-read a live task now and then even without events (a missed event must not stall it). */
export const RESYNC_MS = 5 * 60_000;
/** While a StatefulSet is being deleted for recreation. */
export const RECREATE_POLL_MS = 500;

export interface ReconcilerOptions {
  store: Store;
  api: ApiWriter;
  now?: () => Date;
  /** reportingInstance of Events (the pod name in a cluster). */
  identity?: string;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface ReconcileStats {
  reconciles: number;
  writes: number;
  conflicts: number;
}

function ownedBy(obj: KubeObject, uid: string): boolean {
  const refs: KubeObject[] = Array.isArray(obj.metadata?.ownerReferences) ? obj.metadata.ownerReferences : [];
  return refs.some((r) => r.uid === uid && r.controller === true);
}

/** Which immutable StatefulSet fields differ, in words (the hash says that; this says what). */
export function immutableDiff(observed: KubeObject, desired: KubeObject): string[] {
  const o = observed.spec ?? {};
  const d = desired.spec ?? {};
  const out: string[] = [];
  if (o.serviceName !== d.serviceName) out.push('serviceName');
  if (o.podManagementPolicy !== d.podManagementPolicy) out.push('podManagementPolicy');
  if (canonicalJson(o.selector?.matchLabels ?? {}) !== canonicalJson(d.selector?.matchLabels ?? {})) out.push('selector');
  const vct = (s: KubeObject) => canonicalJson((s.volumeClaimTemplates ?? []).map((v: KubeObject) => [v.metadata?.name, v.spec?.storageClassName, v.spec?.resources?.requests?.storage]));
  if (vct(o) !== vct(d)) out.push('volumeClaimTemplates');
  return out.length ? out : ['volumeClaimTemplates'];
}

export class Reconciler {
  readonly stats: ReconcileStats = { reconciles: 0, writes: 0, conflicts: 0 };
  private readonly now: () => Date;
  private readonly log: NonNullable<ReconcilerOptions['log']>;

  constructor(private readonly opts: ReconcilerOptions) {
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? (() => {});
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    this.stats.reconciles += 1;
    const [namespace, name] = key.split('/') as [string, string];
    const raw = this.opts.store.getTask(namespace, name);
    // Gone: the garbage collector removes what it owned (ownerReferences).
    if (!raw || raw.metadata?.deletionTimestamp) return;
    const parsed = parseMLTask(raw);
    if (!parsed.ok) return this.refuse(raw, parsed.errors);
    const task = parsed.task;
    try {
      return await this.sync(raw, task);
    } catch (err) {
      if (statusCodeOf(err) === 409) this.stats.conflicts += 1;
      throw err;
    }
  }

  /**
   * The classes in the store that parse, and why the others do not. A task whose class (named,
   * or the default) is invalid waits with that reason: running it without the platform's
   * settings would be worse.
   */
  private classes(task: MLTask): { ok: true; cls?: MLTaskClass } | { ok: false; reason: string } {
    const valid: MLTaskClass[] = [];
    for (const raw of this.opts.store.classes()) {
      const r = parseMLTaskClass(raw);
      if (r.ok) {
        valid.push(r.value);
        continue;
      }
      const name = String(raw.metadata?.name ?? '');
      const markedDefault = raw.metadata?.annotations?.[ANN_DEFAULT_CLASS] === 'true' || raw.spec?.default === true;
      if (task.spec.className ? task.spec.className === name : markedDefault) return { ok: false, reason: `MLTaskClass ${name} is invalid: ${r.errors.join('; ')}` };
    }
    return chooseClass(task, valid);
  }

  private async sync(raw: KubeObject, task: MLTask): Promise<ReconcileResult> {
    const { store } = this.opts;
    const { namespace, name, uid } = task.metadata;
    const choice = this.classes(task);
    const cls = choice.ok ? choice.cls : undefined;

    // 1. The headless Service.
    const svc = store.getService(namespace, name);
    const wantSvc = renderService(task);
    if (!svc) {
      await this.create('services', wantSvc, raw, 'CreatedService', `created headless Service ${name}`);
    } else if (!ownedBy(svc, uid)) {
      await this.event(raw, 'Warning', 'ServiceNotOwned', `Service ${name} exists and is not owned by this MLTask; leaving it alone`);
    } else if (shortHash(svcManaged(svc)) !== shortHash(svcManaged(wantSvc))) {
      await this.write('services', { ...svc, metadata: { ...svc.metadata, labels: { ...svc.metadata.labels, ...wantSvc.metadata.labels } }, spec: { ...svc.spec, ...wantSvc.spec, clusterIP: svc.spec?.clusterIP } });
      await this.event(raw, 'Normal', 'UpdatedService', `updated Service ${name} to the rendering of generation ${task.metadata.generation}`);
    }

    if (task.spec.mode === 'Job') return this.syncJob(raw, task, choice.ok ? cls : undefined, choice.ok ? undefined : choice.reason);
    // The task was a Job before: its Job goes before the StatefulSet starts (never two gangs).
    const oldJob = store.getJob(namespace, name);
    if (oldJob && ownedBy(oldJob, uid)) {
      if (!oldJob.metadata.deletionTimestamp) {
        await this.event(raw, 'Normal', 'DeletingJob', `spec.mode is Instance: deleting Job ${name} first`);
        await this.removeChild('jobs', oldJob);
      }
      return { requeueAfterMs: RECREATE_POLL_MS };
    }

    // 2. Status from the pods, written first (resourceVersion precondition: a stale read is a 409
    // and a retry). It decides the replica count — finished or suspended → 0 — and the pods that
    // prove a worker finished go away when we scale down, so we act only on a status that is stored.
    const sts = store.getStatefulSet(namespace, name);
    const stsMine = sts && ownedBy(sts, uid) ? sts : undefined;
    const pods = store.podsOf(namespace, name).filter((p) => !stsMine || ownedBy(p, stsMine.metadata.uid));
    const status = computeStatus(task, stsMine ? pods : [], this.now().toISOString());
    await this.writeStatus(raw, task, status);
    const replicas = desiredReplicas(task, status);
    const want = renderStatefulSet(task, replicas, cls);
    let result: ReconcileResult = TERMINAL_PHASES.includes(status.phase) ? undefined : { requeueAfterMs: RESYNC_MS };

    // 3. The StatefulSet, for the stored status.
    if (!sts) {
      await this.create('statefulsets', want, raw, 'CreatedStatefulSet', `created StatefulSet ${name} with ${replicas} worker(s)`);
    } else if (!stsMine) {
      await this.event(raw, 'Warning', 'StatefulSetNotOwned', `StatefulSet ${name} exists and is not owned by this MLTask; leaving it alone`);
      result = { requeueAfterMs: RESYNC_MS };
    } else if (sts.metadata.deletionTimestamp) {
      result = { requeueAfterMs: RECREATE_POLL_MS };
    } else if (sts.metadata.annotations?.[ANN_IMMUTABLE_HASH] !== want.metadata.annotations[ANN_IMMUTABLE_HASH]) {
      const fields = immutableDiff(sts, want);
      await this.event(raw, 'Normal', 'RecreatingStatefulSet', `spec changes ${fields.join(', ')}, which a StatefulSet cannot take: deleting StatefulSet ${name} to create it anew`);
      await this.opts.api.remove('statefulsets', namespace, name, sts.metadata.uid).catch((err) => {
        if (statusCodeOf(err) !== 404) throw err;
      });
      this.stats.writes += 1;
      result = { requeueAfterMs: RECREATE_POLL_MS };
    } else if (sts.metadata.annotations?.[ANN_SPEC_HASH] !== want.metadata.annotations[ANN_SPEC_HASH] || sts.spec?.replicas !== replicas) {
      const rolled = sts.metadata.annotations?.[ANN_SPEC_HASH] !== want.metadata.annotations[ANN_SPEC_HASH];
      await this.write('statefulsets', {
        ...sts,
        metadata: { ...sts.metadata, labels: { ...sts.metadata.labels, ...want.metadata.labels }, annotations: { ...sts.metadata.annotations, ...want.metadata.annotations } },
        spec: { ...sts.spec, replicas, template: want.spec.template, updateStrategy: want.spec.updateStrategy },
      });
      if (rolled) await this.event(raw, 'Normal', 'UpdatedStatefulSet', `rolling out generation ${task.metadata.generation} to StatefulSet ${name}`);
      if (sts.spec?.replicas !== replicas) await this.event(raw, 'Normal', 'ScaledWorkers', `scaled StatefulSet ${name} from ${sts.spec?.replicas ?? '?'} to ${replicas} worker(s) (${scaleReason(task, status)})`);
    }

    return result;
  }

  private async removeChild(kind: Kind, obj: KubeObject): Promise<void> {
    await this.opts.api.remove(kind, obj.metadata.namespace, obj.metadata.name, obj.metadata.uid, 'Foreground').catch((err) => {
      if (statusCodeOf(err) !== 404 && statusCodeOf(err) !== 409) throw err;
    });
    this.stats.writes += 1;
  }

  /** Mode Job: status first (it records a gang-restart decision), then the one step it asks for. */
  private async syncJob(raw: KubeObject, task: MLTask, cls: MLTaskClass | undefined, classProblem: string | undefined): Promise<ReconcileResult> {
    const { store } = this.opts;
    const { namespace, name, uid } = task.metadata;
    const sts = store.getStatefulSet(namespace, name);
    if (sts && ownedBy(sts, uid)) {
      // The task was an instance before: its workers go before the Job's start.
      if (!sts.metadata.deletionTimestamp) {
        await this.event(raw, 'Normal', 'DeletingStatefulSet', `spec.mode is Job: deleting StatefulSet ${name} first`);
        await this.removeChild('statefulsets', sts);
      }
      return { requeueAfterMs: RECREATE_POLL_MS };
    }
    const job = store.getJob(namespace, name);
    if (job && !ownedBy(job, uid)) {
      await this.event(raw, 'Warning', 'JobNotOwned', `Job ${name} exists and is not owned by this MLTask; leaving it alone`);
      return { requeueAfterMs: RESYNC_MS };
    }
    const jobUid = job?.metadata?.uid;
    const pods = jobUid ? store.podsOf(namespace, name).filter((p) => ownedBy(p, jobUid)) : [];
    const disrupted = jobUid !== undefined && (pods.some(isDisrupted) || store.disruptedPodsOf(namespace, name).some((p) => ownedBy(p, jobUid)));
    const now = this.now();
    const wantHash = renderJob(task).metadata.annotations[ANN_SPEC_HASH] as string;
    const { status, action } = planJob(
      task,
      { job, pods, disrupted, wantHash, queued: KUEUE_QUEUE_LABEL in (task.metadata.labels ?? {}), ...(classProblem ? { classProblem } : {}), ...(cls ? { className: cls.name } : {}) },
      now.toISOString(),
    );
    await this.writeStatus(raw, task, status);
    const attempt = `${task.metadata.generation}.${status.restarts ?? 0}.${status.uncountedRestarts ?? 0}`;
    switch (action.kind) {
      case 'create': {
        const started = status.startTime ? Date.parse(status.startTime) : NaN;
        const elapsedSeconds = Number.isFinite(started) ? Math.max(0, (now.getTime() - started) / 1000) : 0;
        const want = renderJob(task, { ...(cls ? { cls } : {}), elapsedSeconds });
        await this.create('jobs', want, raw, 'CreatedJob', `created Indexed Job ${name}: ${task.spec.parallelism} worker(s)${want.spec.suspend ? ', suspended' : ''}${cls ? `, class ${cls.name}` : ''}`, attempt);
        return { requeueAfterMs: RESYNC_MS };
      }
      case 'restart': {
        // The phase Event (GangRestarting, with the reason) already tells why.
        await this.removeChild('jobs', job!);
        return { requeueAfterMs: RECREATE_POLL_MS };
      }
      case 'wait':
        return { requeueAfterMs: RECREATE_POLL_MS };
      case 'suspend':
        await this.write('jobs', { ...job!, spec: { ...job!.spec, suspend: action.suspend } });
        await this.event(raw, 'Normal', action.suspend ? 'SuspendedJob' : 'ResumedJob', `${action.suspend ? 'suspended' : 'resumed'} Job ${name}`, `${attempt}.${action.suspend}`);
        return { requeueAfterMs: RESYNC_MS };
      case 'none':
        return TERMINAL_PHASES.includes(status.phase) ? undefined : { requeueAfterMs: RESYNC_MS };
    }
  }

  private async create(kind: Kind, obj: KubeObject, task: KubeObject, reason: string, message: string, discriminator?: string): Promise<void> {
    try {
      await this.opts.api.create(kind, obj);
      this.stats.writes += 1;
    } catch (err) {
      // The cache had not seen it yet: another pass will read it and diff.
      if (statusCodeOf(err) === 409) {
        this.stats.conflicts += 1;
        throw Object.assign(new Error(`${kind} ${obj.metadata.namespace}/${obj.metadata.name} already exists (cache behind): ${errorText(err)}`), { statusCode: 409 });
      }
      throw err;
    }
    await this.event(task, 'Normal', reason, message, discriminator);
  }

  private async write(kind: Kind, obj: KubeObject): Promise<void> {
    await this.opts.api.update(kind, obj);
    this.stats.writes += 1;
  }

  private async writeStatus(raw: KubeObject, task: MLTask, status: MLTaskStatus): Promise<void> {
    const before = raw.status as MLTaskStatus | undefined;
    if (before && canonicalJson(before) === canonicalJson(status)) return;
    await this.opts.api.updateTaskStatus({ ...raw, status });
    this.stats.writes += 1;
    if (before?.phase !== status.phase) {
      const cond = status.conditions.find((c) => c.type === status.phase) ?? status.conditions[0]!;
      const warn = status.phase === 'Failed' || (status.phase === 'GangRestarting' && cond.reason === 'WorkerFailed');
      // Each attempt of a Job gang passes through the phases again: tell each attempt's.
      const attempt = status.mode === 'Job' ? `.${status.restarts ?? 0}.${status.uncountedRestarts ?? 0}` : '';
      await this.event(raw, warn ? 'Warning' : 'Normal', status.phase, `phase ${before?.phase ?? '(none)'} → ${status.phase}: ${cond.reason}: ${cond.message}`, `${task.metadata.generation}.${status.phase}${attempt}`);
    }
  }

  /** An invalid task (the CRD should have refused it): say why in status and an Event; create nothing. */
  private async refuse(raw: KubeObject, errors: string[]): Promise<ReconcileResult> {
    const message = errors.join('; ');
    const status = {
      phase: 'Failed',
      observedGeneration: raw.metadata?.generation ?? 0,
      conditions: [{ type: 'Failed', status: 'True', reason: 'InvalidSpec', message, lastTransitionTime: this.now().toISOString() }],
    };
    const before = raw.status as { conditions?: Array<{ message?: string }>; observedGeneration?: number } | undefined;
    if (before?.observedGeneration !== status.observedGeneration || before?.conditions?.[0]?.message !== message) {
      await this.opts.api.updateTaskStatus({ ...raw, status });
      this.stats.writes += 1;
      await this.event(raw, 'Warning', 'InvalidSpec', message);
    }
    return;
  }

  /** Best effort: an Event that cannot be written never fails (nor slows) the reconcile. */
  private async event(task: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, discriminator: string = String(task.metadata?.generation ?? 0)): Promise<void> {
    const t = this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${task.metadata.name}.${shortHash([task.metadata.uid, reason, discriminator])}`, namespace: task.metadata.namespace },
      involvedObject: { apiVersion: GROUP_VERSION, kind: MLTASK_KIND, name: task.metadata.name, namespace: task.metadata.namespace, uid: task.metadata.uid },
      reason,
      message: message.slice(0, 1024),
      type,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.opts.identity ?? COMPONENT,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
    };
    // Sent in the background, as client-go's recorder does: telling is never on the critical path.
    this.opts.api.createEvent(ev).catch((err: unknown) => {
      if (statusCodeOf(err) !== 409) this.log('warn', `event ${reason} for ${task.metadata.namespace}/${task.metadata.name}: ${errorText(err)}`);
    });
  }
}

/** The Service fields the rendering decides. */
function svcManaged(svc: KubeObject): KubeObject {
  const s = svc.spec ?? {};
  return { selector: s.selector, publishNotReadyAddresses: s.publishNotReadyAddresses === true, clusterIP: s.clusterIP, ports: (s.ports ?? []).map((p: KubeObject) => [p.name, p.port, p.targetPort, p.protocol ?? 'TCP']) };
}

function scaleReason(task: MLTask, status: MLTaskStatus): string {
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return `task ${status.phase}, state kept`;
  if (task.spec.suspend) return 'suspended';
  return task.spec.parallelism === status.totalWorkers ? 'resumed' : 'parallelism changed';
}
