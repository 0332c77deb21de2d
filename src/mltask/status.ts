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
import type { KubeObject } from './render.js';
import {
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
  const label = pod.metadata?.labels?.[POD_INDEX_LABEL];
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
