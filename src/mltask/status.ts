/**
 * What the workers' pods say → MLTask status. Pure (the clock comes in as `nowIso`).
 *
 * StatefulSet pods always restart and the StatefulSet controller replaces a pod that ends, so
 * completion is read from the worker container's exit codes and remembered in status per worker:
 * - a worker is done once its container terminated with exit 0 (state or lastState); sticky;
 * - a worker's failures are its non-zero terminations: restartCount (+1 while terminated non-zero,
 *   −1 when the last termination was exit 0), or 1 for a pod Failed without one; counts of pods
 *   that were replaced are kept (status remembers which pod UID the current count belongs to);
 * - every worker done → Succeeded; Σ failures > backoffLimit → Failed. Both are final.
 */
import { ANN_ASSIGNED_GPUS, ANN_DECISION, parseAssignedGpus } from '../api/annotations.js';
import { ANN_SPEC_HASH, type KubeObject } from './render.js';
import {
  JOB_INDEX_LABEL,
  POD_INDEX_LABEL,
  TERMINAL_PHASES,
  WORKER_CONTAINER,
  type Condition,
  type MLTask,
  type MLTaskPhase,
  type MLTaskStatus,
  type WorkerStatus,
} from './types.js';

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback);

/** The worker ordinal of a pod: its pod-index label, else the `<task>-<i>` name suffix. */
export function workerIndex(pod: KubeObject, taskName: string): number | undefined {
  const label = pod.metadata?.labels?.[JOB_INDEX_LABEL] ?? pod.metadata?.annotations?.[JOB_INDEX_LABEL] ?? pod.metadata?.labels?.[POD_INDEX_LABEL];
  const text = typeof label === 'string' ? label : String(pod.metadata?.name ?? '').startsWith(`${taskName}-`) ? String(pod.metadata.name).slice(taskName.length + 1) : '';
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Non-zero terminations visible on this pod's worker container, and whether it has exited 0. */
export function podOutcome(pod: KubeObject): { failures: number; succeeded: boolean } {
  const statuses: KubeObject[] = Array.isArray(pod.status?.containerStatuses) ? pod.status.containerStatuses : [];
  const c = statuses.find((s) => s?.name === WORKER_CONTAINER) ?? statuses[0];
  const phase = pod.status?.phase;
  if (!c) return { failures: phase === 'Failed' ? 1 : 0, succeeded: phase === 'Succeeded' };
  const restarts = num(c.restartCount);
  const now = c.state?.terminated;
  const last = c.lastState?.terminated;
  const nowCode = typeof now?.exitCode === 'number' ? now.exitCode : undefined;
  const lastCode = typeof last?.exitCode === 'number' ? last.exitCode : undefined;
  let failures = restarts + (nowCode !== undefined && nowCode !== 0 ? 1 : 0) - (restarts > 0 && lastCode === 0 ? 1 : 0);
  if (phase === 'Failed' && failures === 0) failures = 1;
  return { failures: Math.max(0, failures), succeeded: nowCode === 0 || lastCode === 0 || phase === 'Succeeded' };
}

function isReady(pod: KubeObject): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const conds: KubeObject[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
  return conds.some((c) => c?.type === 'Ready' && c.status === 'True');
}

/** NVLink-connected or not, from the one-line decision the extender wrote; undefined for 0–1 GPU or unknown. */
function nvlinkOf(pod: KubeObject, gpus: string | undefined): boolean | undefined {
  if (!gpus) return undefined;
  const parsed = parseAssignedGpus(gpus);
  if (!parsed.ok || parsed.value.length < 2) return undefined;
  const decision = pod.metadata?.annotations?.[ANN_DECISION];
  if (typeof decision !== 'string') return undefined;
  if (/NVLink (all pairs|connected)/.test(decision)) return true;
  if (/no NVLink path/.test(decision)) return false;
  return undefined;
}

function previousWorker(prev: MLTaskStatus | undefined, i: number): WorkerStatus | undefined {
  const w = Array.isArray(prev?.workers) ? prev!.workers.find((x) => x && x.index === i) : undefined;
  return w && typeof w === 'object' ? w : undefined;
}

function pickPod(pods: KubeObject[]): KubeObject | undefined {
  return pods.find((p) => !p.metadata?.deletionTimestamp) ?? pods[0];
}

export function workerStatus(i: number, pods: KubeObject[], prev: WorkerStatus | undefined, keepPlacement: boolean): WorkerStatus {
  const pod = pickPod(pods);
  const prevFailures = num(prev?.failures);
  const prevPodFailures = Math.min(prevFailures, num(prev?.podFailures));
  const prevSucceeded = prev?.succeeded === true;
  if (!pod) {
    const kept = keepPlacement && prev ? { ...(prev.pod ? { pod: prev.pod } : {}), ...(prev.node ? { node: prev.node } : {}), ...(prev.gpus ? { gpus: prev.gpus } : {}), ...(prev.nvlink !== undefined ? { nvlink: prev.nvlink } : {}) } : {};
    return { index: i, ...kept, ...(prev?.podUID ? { podUID: prev.podUID } : {}), ready: false, succeeded: prevSucceeded, failures: prevFailures, podFailures: prevPodFailures };
  }
  const uid = String(pod.metadata?.uid ?? '');
  const samePod = uid !== '' && prev?.podUID === uid;
  const outcome = podOutcome(pod);
  let failures: number;
  let podFailures: number;
  if (prevSucceeded) {
    // Done: later restarts of a finished worker are not failures of the task.
    failures = prevFailures;
    podFailures = samePod ? prevPodFailures : 0;
  } else {
    const before = samePod ? prevFailures - prevPodFailures : prevFailures;
    podFailures = samePod ? Math.max(prevPodFailures, outcome.failures) : outcome.failures;
    failures = before + podFailures;
  }
  const gpus = pod.metadata?.annotations?.[ANN_ASSIGNED_GPUS];
  const node = pod.spec?.nodeName;
  const nvlink = nvlinkOf(pod, typeof gpus === 'string' ? gpus : undefined);
  return {
    index: i,
    pod: String(pod.metadata?.name ?? ''),
    ...(uid ? { podUID: uid } : {}),
    ...(typeof node === 'string' && node ? { node } : {}),
    ...(typeof gpus === 'string' && gpus ? { gpus } : {}),
    ...(nvlink !== undefined ? { nvlink } : {}),
    ready: isReady(pod),
    succeeded: prevSucceeded || outcome.succeeded,
    failures,
    podFailures,
  };
}

function condition(type: string, status: Condition['status'], reason: string, message: string, prev: Condition[] | undefined, nowIso: string): Condition {
  const old = Array.isArray(prev) ? prev.find((c) => c?.type === type) : undefined;
  const since = old && old.status === status && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : nowIso;
  return { type, status, reason, message, lastTransitionTime: since };
}

function failureSummary(workers: WorkerStatus[]): string {
  return workers
    .filter((w) => w.failures > 0)
    .map((w) => `worker ${w.index}: ${w.failures}`)
    .join(', ');
}

/** The status to write: level-triggered, from the task (spec + last status) and its pods now. */
export function computeStatus(task: MLTask, pods: readonly KubeObject[], nowIso: string): MLTaskStatus {
  const prev = task.status;
  const spec = task.spec;
  const prevPhase = prev?.phase;
  const terminal = prevPhase !== undefined && TERMINAL_PHASES.includes(prevPhase);
  const byIndex = new Map<number, KubeObject[]>();
  for (const p of pods) {
    const i = workerIndex(p, task.metadata.name);
    if (i === undefined || i >= spec.parallelism) continue;
    byIndex.set(i, [...(byIndex.get(i) ?? []), p]);
  }
  const workers: WorkerStatus[] = [];
  for (let i = 0; i < spec.parallelism; i++) workers.push(workerStatus(i, byIndex.get(i) ?? [], previousWorker(prev, i), terminal));
  const readyWorkers = workers.filter((w) => w.ready).length;
  const failures = workers.reduce((s, w) => s + w.failures, 0);
  const done = workers.filter((w) => w.succeeded).length;
  const running = workers.filter((w) => {
    const pod = pickPod(byIndex.get(w.index) ?? []);
    return pod?.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp;
  }).length;

  let phase: MLTaskPhase;
  if (terminal) phase = prevPhase!;
  else if (done === spec.parallelism) phase = 'Succeeded';
  else if (failures > spec.backoffLimit) phase = 'Failed';
  else if (spec.suspend) phase = 'Suspended';
  else if (running === spec.parallelism) phase = 'Running';
  else phase = 'Pending';

  const pc = prev?.conditions;
  const conditions: Condition[] = [];
  if (phase === 'Running' && readyWorkers === spec.parallelism) {
    conditions.push(condition('Ready', 'True', 'AllWorkersReady', `${readyWorkers}/${spec.parallelism} workers ready`, pc, nowIso));
  } else {
    const reason = terminal || phase === 'Succeeded' || phase === 'Failed' ? 'Finished' : phase === 'Suspended' ? 'Suspended' : 'WorkersNotReady';
    conditions.push(condition('Ready', 'False', reason, `${readyWorkers}/${spec.parallelism} workers ready, ${running} running`, pc, nowIso));
  }
  if (phase === 'Succeeded') {
    const old = pc?.find((c) => c?.type === 'Succeeded');
    conditions.push(old ?? condition('Succeeded', 'True', 'AllWorkersSucceeded', `all ${spec.parallelism} workers exited 0`, pc, nowIso));
  }
  if (phase === 'Failed') {
    const old = pc?.find((c) => c?.type === 'Failed');
    conditions.push(old ?? condition('Failed', 'True', 'BackoffLimitExceeded', `${failures} failures (${failureSummary(workers)}) exceed backoffLimit ${spec.backoffLimit}`, pc, nowIso));
  }
  if (phase === 'Suspended') conditions.push(condition('Suspended', 'True', 'Suspended', 'spec.suspend is true: workers scaled to 0', pc, nowIso));

  const startTime = typeof prev?.startTime === 'string' ? prev.startTime : phase === 'Running' ? nowIso : undefined;
  const completionTime = typeof prev?.completionTime === 'string' ? prev.completionTime : phase === 'Succeeded' || phase === 'Failed' ? nowIso : undefined;
  return {
    phase,
    mode: 'Instance',
    observedGeneration: task.metadata.generation,
    readyWorkers,
    ready: `${readyWorkers}/${spec.parallelism}`,
    totalWorkers: spec.parallelism,
    failures: terminal ? Math.max(num(prev?.failures), failures) : failures,
    gpus: spec.parallelism * spec.resources.gpus,
    topology: spec.gpu.topology,
    workers,
    conditions,
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
  };
}

/** Finished (Succeeded/Failed) or suspended: the StatefulSet runs no workers. */
export function desiredReplicas(task: MLTask, status: MLTaskStatus): number {
  if (TERMINAL_PHASES.includes(status.phase) || task.spec.suspend) return 0;
  return task.spec.parallelism;
}

// ---------------------------------------------------------------------------------------------
// Mode Job: one Indexed Job per gang attempt. The Job gives run-to-completion per index; this
// decides, from the Job and its pods, the task's phase and what the controller does next.

/** What the reconciler does after writing the status `planJob` returns. */
export type JobAction =
  | { kind: 'none' }
  /** No Job for this attempt yet: create it. */
  | { kind: 'create' }
  /** End this Job (delete it and its pods) so the next pass starts the gang anew. */
  | { kind: 'restart'; jobUID: string }
  /** The ended Job is still going away. */
  | { kind: 'wait' }
  /** Bring the Job's spec.suspend to the task's (not with a queue: Kueue owns it). */
  | { kind: 'suspend'; suspend: boolean };

export interface JobObservation {
  /** The Job this task owns, if any. */
  job?: KubeObject;
  /** Pods of that Job. */
  pods: readonly KubeObject[];
  /** A pod of that Job was ended by a disruption (condition DisruptionTarget). */
  disrupted: boolean;
  /** The spec-hash the Job would have now (render). */
  wantHash: string;
  /** Why no class can be merged (named class missing, several defaults). */
  classProblem?: string;
  className?: string;
  /** The task carries Kueue's queue label: suspend is Kueue's to change. */
  queued: boolean;
}

function jobCondition(job: KubeObject | undefined, type: string): KubeObject | undefined {
  const conds: KubeObject[] = Array.isArray(job?.status?.conditions) ? job!.status.conditions : [];
  return conds.find((c) => c?.type === type && c.status === 'True');
}

function podIsTerminating(p: KubeObject): boolean {
  return Boolean(p.metadata?.deletionTimestamp);
}

/** The pod that speaks for an index now: a live one, else the newest. */
function currentPod(pods: KubeObject[]): KubeObject | undefined {
  const byAge = [...pods].sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
  return byAge.find((p) => !podIsTerminating(p) && p.status?.phase !== 'Failed') ?? byAge[0];
}

function workerExit(pod: KubeObject | undefined): number | undefined {
  const cs: KubeObject[] = Array.isArray(pod?.status?.containerStatuses) ? pod!.status.containerStatuses : [];
  const c = cs.find((s) => s?.name === WORKER_CONTAINER) ?? cs[0];
  const code = c?.state?.terminated?.exitCode;
  return typeof code === 'number' ? code : undefined;
}

function jobWorker(i: number, pods: KubeObject[]): WorkerStatus {
  const pod = currentPod(pods);
  if (!pod) return { index: i, ready: false, succeeded: false, failures: 0, podFailures: 0 };
  const gpus = pod.metadata?.annotations?.[ANN_ASSIGNED_GPUS];
  const node = pod.spec?.nodeName;
  const nvlink = nvlinkOf(pod, typeof gpus === 'string' ? gpus : undefined);
  const failed = pods.filter((p) => p.status?.phase === 'Failed' && !isDisrupted(p)).length;
  return {
    index: i,
    pod: String(pod.metadata?.name ?? ''),
    ...(pod.metadata?.uid ? { podUID: String(pod.metadata.uid) } : {}),
    ...(typeof node === 'string' && node ? { node } : {}),
    ...(typeof gpus === 'string' && gpus ? { gpus } : {}),
    ...(nvlink !== undefined ? { nvlink } : {}),
    ready: isReady(pod),
    succeeded: pod.status?.phase === 'Succeeded',
    failures: failed,
    podFailures: pod.status?.phase === 'Failed' ? 1 : 0,
  };
}

/** The eviction API, preemption, the taint manager and PodGC mark the pods they end so. */
export function isDisrupted(pod: KubeObject): boolean {
  const conds: KubeObject[] = Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
  return conds.some((c) => c?.type === 'DisruptionTarget' && c.status === 'True');
}

/** Why the gang is not all running, in words: the scheduler's (and so the extender's) reason first. */
function waitingReason(workers: WorkerStatus[], byIndex: Map<number, KubeObject[]>, memoryMin: string | undefined): { reason: string; message: string } {
  const running = workers.filter((w) => w.succeeded || currentPod(byIndex.get(w.index) ?? [])?.status?.phase === 'Running').length;
  const head = `${running}/${workers.length} workers running`;
  for (const w of workers) {
    const pod = currentPod(byIndex.get(w.index) ?? []);
    const conds: KubeObject[] = Array.isArray(pod?.status?.conditions) ? pod!.status.conditions : [];
    const sched = conds.find((c) => c?.type === 'PodScheduled' && c.status === 'False');
    if (sched?.message) {
      // Tie the extender's memory numbers to the field that asked for them.
      const text = memoryMin ? String(sched.message).replace(/MiB asked/g, `MiB asked (memoryMin ${memoryMin})`) : String(sched.message);
      return { reason: 'Unschedulable', message: `${head}; worker ${w.index}: ${text.slice(0, 600)}` };
    }
    const cs: KubeObject[] = Array.isArray(pod?.status?.containerStatuses) ? pod!.status.containerStatuses : [];
    const waiting = cs.map((c) => c?.state?.waiting).find((x) => x?.reason && x.reason !== 'ContainerCreating');
    if (waiting) return { reason: String(waiting.reason), message: `${head}; worker ${w.index}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  }
  return { reason: 'WorkersStarting', message: `${head}; the others are being created, scheduled or started` };
}

function failedWorkerText(pods: readonly KubeObject[], taskName: string): string {
  const f = pods.find((p) => p.status?.phase === 'Failed' && !isDisrupted(p));
  if (!f) return 'a worker failed';
  const code = workerExit(f);
  return `worker ${workerIndex(f, taskName) ?? '?'} (pod ${f.metadata?.name}) ${code !== undefined ? `exited ${code}` : 'failed'}`;
}

/**
 * Status and next step for mode Job. Pure. Gang restarts are decided once per Job: the decision
 * stores the Job's uid in `endedJobUID` before the Job is deleted, so a repeated pass neither
 * counts it again nor ends the next attempt.
 */
export function planJob(task: MLTask, obs: JobObservation, nowIso: string): { status: MLTaskStatus; action: JobAction } {
  const prev = task.status;
  const spec = task.spec;
  const pc = prev?.conditions;
  const byIndex = new Map<number, KubeObject[]>();
  for (const p of obs.pods) {
    const i = workerIndex(p, task.metadata.name);
    if (i === undefined || i >= spec.parallelism) continue;
    byIndex.set(i, [...(byIndex.get(i) ?? []), p]);
  }
  const workers: WorkerStatus[] = [];
  for (let i = 0; i < spec.parallelism; i++) {
    // Between attempts (no pods) the last placement is still worth showing; nothing is ready.
    const kept = obs.pods.length === 0 ? previousWorker(prev, i) : undefined;
    workers.push(kept ? { ...kept, ready: false } : jobWorker(i, byIndex.get(i) ?? []));
  }
  const readyWorkers = workers.filter((w) => w.ready).length;
  let restarts = num(prev?.restarts);
  let uncounted = num(prev?.uncountedRestarts);
  let endedJobUID = typeof prev?.endedJobUID === 'string' ? prev.endedJobUID : undefined;
  const job = obs.job;
  const jobUID = job?.metadata?.uid ? String(job.metadata.uid) : undefined;
  const terminal = prev?.phase !== undefined && TERMINAL_PHASES.includes(prev.phase);

  let phase: MLTaskPhase = 'Pending';
  let reason = '';
  let message = '';
  let action: JobAction = { kind: 'none' };
  const restart = (why: string, text: string, counted: boolean) => {
    if (counted) restarts += 1;
    else uncounted += 1;
    endedJobUID = jobUID;
    phase = 'GangRestarting';
    reason = why;
    message = `${text}: restarting all ${spec.parallelism} workers${counted ? ` (restart ${restarts} of backoffLimit ${spec.backoffLimit})` : ' (not counted against backoffLimit)'}`;
    action = { kind: 'restart', jobUID: jobUID! };
  };

  const failedCond = jobCondition(job, 'Failed') ?? jobCondition(job, 'FailureTarget');
  if (terminal) {
    phase = prev!.phase;
    const old = pc?.find((c) => c?.type === phase);
    reason = old?.reason ?? (phase === 'Succeeded' ? 'AllWorkersSucceeded' : 'Failed');
    message = old?.message ?? '';
    // Pods kept after the end (until the TTL): keep showing where the workers ran.
    if (obs.pods.length === 0 && prev?.workers) workers.splice(0, workers.length, ...prev.workers);
  } else if (obs.classProblem) {
    phase = 'Pending';
    reason = / is invalid: /.test(obs.classProblem) ? 'ClassInvalid' : 'ClassNotFound';
    message = obs.classProblem;
  } else if (!job) {
    action = { kind: 'create' };
    phase = prev?.phase === 'GangRestarting' ? 'GangRestarting' : spec.suspend ? 'Suspended' : obs.queued ? 'Queued' : 'WaitingForGang';
    reason = phase === 'GangRestarting' ? (pc?.find((c) => c.type === 'GangRestarting')?.reason ?? 'GangRestarting') : phase === 'Suspended' ? 'Suspended' : obs.queued ? 'WaitingForAdmission' : 'CreatingJob';
    message = phase === 'GangRestarting' ? (pc?.find((c) => c.type === 'GangRestarting')?.message ?? 'starting the gang anew') : `creating Job ${task.metadata.name} (${spec.parallelism} workers)`;
  } else if (job.metadata?.deletionTimestamp || (jobUID !== undefined && jobUID === endedJobUID)) {
    // The ended attempt is going away (foreground deletion: its pods first); never two gangs at once.
    action = job.metadata?.deletionTimestamp ? { kind: 'wait' } : { kind: 'restart', jobUID: jobUID! };
    phase = 'GangRestarting';
    const old = pc?.find((c) => c.type === 'GangRestarting');
    reason = old?.reason ?? 'GangRestarting';
    message = old?.message ?? `waiting for Job ${task.metadata.name} and its pods to go away`;
  } else if (jobCondition(job, 'Complete') || jobCondition(job, 'SuccessCriteriaMet')) {
    phase = 'Succeeded';
    reason = 'AllWorkersSucceeded';
    message = `all ${spec.parallelism} workers exited 0${restarts ? ` (after ${restarts} gang restart(s))` : ''}`;
  } else if (failedCond && failedCond.reason === 'DeadlineExceeded') {
    phase = 'Failed';
    reason = 'DeadlineExceeded';
    message = `spec.activeDeadlineSeconds ${spec.activeDeadlineSeconds ?? '?'} passed before every worker finished`;
  } else if (obs.disrupted) {
    // Before the Job's own verdict: a pod removed by force may have failed the Job, but it was no worker's fault.
    restart('Disruption', 'a worker was evicted, preempted or lost its node', false);
  } else if (failedCond) {
    const what = failedWorkerText(obs.pods, task.metadata.name);
    if (restarts + 1 > spec.backoffLimit) {
      phase = 'Failed';
      reason = 'BackoffLimitExceeded';
      message = `${what}; ${restarts} gang restart(s) already, backoffLimit ${spec.backoffLimit}`;
    } else restart('WorkerFailed', what, true);
  } else if (job.metadata?.annotations?.[ANN_SPEC_HASH] !== obs.wantHash) {
    restart('SpecChanged', `the spec changed (generation ${task.metadata.generation}); no mixed world sizes`, false);
  } else if (!obs.queued && Boolean(job.spec?.suspend) !== spec.suspend) {
    action = { kind: 'suspend', suspend: spec.suspend };
    phase = spec.suspend ? 'Suspended' : 'WaitingForGang';
    reason = spec.suspend ? 'Suspended' : 'Resuming';
    message = spec.suspend ? 'spec.suspend is true: suspending the Job (its pods are deleted)' : 'spec.suspend is false: resuming the Job';
  } else if (job.spec?.suspend) {
    phase = spec.suspend ? 'Suspended' : 'Queued';
    reason = spec.suspend ? 'Suspended' : 'WaitingForAdmission';
    message = spec.suspend ? 'spec.suspend is true: the Job is suspended, no pods' : `the Job is suspended until Kueue admits it (queue ${task.metadata.labels?.['kueue.x-k8s.io/queue-name'] ?? '?'})`;
  } else {
    const active = workers.filter((w) => w.succeeded || currentPod(byIndex.get(w.index) ?? [])?.status?.phase === 'Running').length;
    if (active === spec.parallelism) {
      phase = 'Running';
      reason = 'AllWorkersRunning';
      message = `${workers.filter((w) => !w.succeeded).length} running, ${workers.filter((w) => w.succeeded).length} done of ${spec.parallelism}`;
    } else {
      phase = 'WaitingForGang';
      ({ reason, message } = waitingReason(workers, byIndex, spec.gpu.memoryMin));
    }
  }

  const conditions: Condition[] = [];
  conditions.push(
    phase === 'Running' && readyWorkers === spec.parallelism
      ? condition('Ready', 'True', 'AllWorkersReady', `${readyWorkers}/${spec.parallelism} workers ready`, pc, nowIso)
      : condition('Ready', 'False', phase, `${readyWorkers}/${spec.parallelism} workers ready`, pc, nowIso),
  );
  const old = pc?.find((c) => c?.type === phase);
  conditions.push(terminal && old ? old : condition(phase, 'True', reason, message, old && old.reason === reason ? pc : undefined, nowIso));

  const startTime = typeof prev?.startTime === 'string' ? prev.startTime : phase === 'Running' ? nowIso : undefined;
  const completionTime = typeof prev?.completionTime === 'string' ? prev.completionTime : phase === 'Succeeded' || phase === 'Failed' ? nowIso : undefined;
  const status: MLTaskStatus = {
    phase,
    mode: 'Job',
    observedGeneration: terminal ? num(prev?.observedGeneration, task.metadata.generation) : task.metadata.generation,
    readyWorkers,
    ready: `${readyWorkers}/${spec.parallelism}`,
    totalWorkers: spec.parallelism,
    failures: workers.reduce((s, w) => s + w.failures, 0),
    gpus: spec.parallelism * spec.resources.gpus,
    topology: spec.gpu.topology,
    workers,
    conditions,
    restarts,
    uncountedRestarts: uncounted,
    ...(jobUID && action.kind !== 'restart' && jobUID !== endedJobUID ? { jobUID } : prev?.jobUID && terminal ? { jobUID: prev.jobUID } : {}),
    ...(endedJobUID ? { endedJobUID } : {}),
    ...(obs.className ? { className: obs.className } : {}),
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
  };
  return { status, action };
}
