import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeStatus, desiredReplicas, podOutcome } from '../../src/mltask/status.js';
import type { MLTask } from '../../src/mltask/types.js';
import { pod, task } from './fixtures.js';
import type { KubeObject } from '../../src/mltask/render.js';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:05:00Z';
const withStatus = (t: MLTask, s: MLTask['status']): MLTask => ({ ...t, status: s });

describe('podOutcome', () => {
  it('reads failures and success from the worker container', () => {
    expect(podOutcome(pod('t', 0))).toEqual({ failures: 0, succeeded: false });
    expect(podOutcome(pod('t', 0, { terminated: 1 }))).toEqual({ failures: 1, succeeded: false });
    expect(podOutcome(pod('t', 0, { restarts: 2, lastTerminated: 137 }))).toEqual({ failures: 2, succeeded: false });
    expect(podOutcome(pod('t', 0, { restarts: 2, lastTerminated: 0 }))).toEqual({ failures: 1, succeeded: true });
    expect(podOutcome(pod('t', 0, { terminated: 0, phase: 'Succeeded' }))).toEqual({ failures: 0, succeeded: true });
    expect(podOutcome({ status: { phase: 'Failed' } })).toEqual({ failures: 1, succeeded: false });
  });
});

describe('computeStatus', () => {
  const t = task({ parallelism: 2, backoffLimit: 1 });

  it('Pending without pods, Running when every worker runs, with placement', () => {
    const s0 = computeStatus(t, [], T0);
    expect(s0).toMatchObject({ phase: 'Pending', readyWorkers: 0, ready: '0/2', totalWorkers: 2, gpus: 8, topology: 'prefer-nvlink', observedGeneration: 1 });
    expect(s0.startTime).toBeUndefined();
    const pods = [
      pod('train', 0, { node: 'n1', gpus: '0:GPU-a,1:GPU-b', decision: 'node n1, GPUs 0,1: NVLink all pairs, bottleneck 300 GB/s' }),
      pod('train', 1, { node: 'n2', gpus: '2,3', decision: 'node n2, GPUs 2,3: no NVLink path, bottleneck 32 GB/s', ready: false }),
    ];
    const s1 = computeStatus(t, pods, T0);
    expect(s1).toMatchObject({ phase: 'Running', readyWorkers: 1, startTime: T0 });
    expect(s1.workers[0]).toMatchObject({ index: 0, node: 'n1', gpus: '0:GPU-a,1:GPU-b', nvlink: true, ready: true });
    expect(s1.workers[1]).toMatchObject({ node: 'n2', nvlink: false, ready: false });
    expect(s1.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'WorkersNotReady' });
    const s2 = computeStatus(withStatus(t, s1), pods.map((p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'True' }] } })), T1);
    expect(s2.startTime).toBe(T0);
    expect(s2.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'AllWorkersReady', lastTransitionTime: T1 });
  });

  it('Succeeded once every worker exited 0, even if the pods were replaced since; final', () => {
    const s1 = computeStatus(t, [pod('train', 0, { terminated: 0 }), pod('train', 1)], T0);
    expect(s1.phase).toBe('Running');
    expect(s1.workers[0]!.succeeded).toBe(true);
    // Worker 0's pod was replaced by the StatefulSet controller; worker 1 exits 0 now.
    const s2 = computeStatus(withStatus(t, s1), [pod('train', 0, { uid: 'new' }), pod('train', 1, { restarts: 1, lastTerminated: 0 })], T1);
    expect(s2.phase).toBe('Succeeded');
    expect(s2.completionTime).toBe(T1);
    expect(s2.conditions.find((c) => c.type === 'Succeeded')).toMatchObject({ status: 'True', reason: 'AllWorkersSucceeded' });
    expect(desiredReplicas(t, s2)).toBe(0);
    // Scaled to 0: no pods. Still Succeeded, placement kept.
    const s3 = computeStatus(withStatus(t, s2), [], '2025-01-02T00:00:00Z');
    expect(s3.phase).toBe('Succeeded');
    expect(s3.completionTime).toBe(T1);
    expect(s3.workers[1]!.pod).toBe('train-1');
  });

  it('Failed when failures exceed backoffLimit, counted across pod replacement', () => {
    const s1 = computeStatus(t, [pod('train', 0, { terminated: 3, uid: 'a' }), pod('train', 1)], T0);
    expect(s1).toMatchObject({ phase: 'Running', failures: 1 });
    // Same pod seen again: not counted twice.
    expect(computeStatus(withStatus(t, s1), [pod('train', 0, { terminated: 3, uid: 'a' }), pod('train', 1)], T0).failures).toBe(1);
    // The pod was replaced: the old failure stays, the new one fails too.
    const s2 = computeStatus(withStatus(t, s1), [pod('train', 0, { uid: 'b', terminated: 1 }), pod('train', 1)], T1);
    expect(s2).toMatchObject({ phase: 'Failed', failures: 2, completionTime: T1 });
    expect(s2.conditions.find((c) => c.type === 'Failed')!.message).toBe('2 failures (worker 0: 2) exceed backoffLimit 1');
    expect(desiredReplicas(t, s2)).toBe(0);
  });

  it('Suspended while spec.suspend, scaled to 0', () => {
    const ts = task({ suspend: true });
    const s = computeStatus(ts, [], T0);
    expect(s.phase).toBe('Suspended');
    expect(s.conditions.map((c) => c.type)).toEqual(['Ready', 'Suspended']);
    expect(desiredReplicas(ts, s)).toBe(0);
    expect(desiredReplicas(t, computeStatus(t, [], T0))).toBe(2);
  });

  it('ignores pods beyond parallelism and tolerates a malformed old status', () => {
    const bogus = withStatus(t, { phase: 'Pending', workers: 'x', conditions: 7 } as unknown as MLTask['status']);
    const s = computeStatus(bogus, [pod('train', 5, { terminated: 1 })], T0);
    expect(s.failures).toBe(0);
    expect(s.workers).toHaveLength(2);
  });

  it('counts every non-zero exit exactly once when observed after each event (property)', () => {
    // Events on one worker: 'exit' (container exits with a code, restarts) or 'replace' (new pod).
    const ev = fc.oneof(fc.record({ kind: fc.constant('exit' as const), code: fc.integer({ min: 0, max: 3 }) }), fc.record({ kind: fc.constant('replace' as const) }));
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 30 }), (events) => {
        const big = task({ parallelism: 1, backoffLimit: 1000 });
        let status: MLTask['status'] = undefined;
        let uid = 0;
        let restarts = 0;
        let last: number | undefined;
        let trueFailures = 0;
        let done = false;
        for (const e of events) {
          if (e.kind === 'replace') {
            uid += 1;
            restarts = 0;
            last = undefined;
          } else {
            if (!done && e.code !== 0) trueFailures += 1;
            if (e.code === 0) done = true;
            restarts += 1;
            last = e.code;
          }
          const p: KubeObject = pod('train', 0, { uid: `p${uid}`, restarts, ...(last !== undefined ? { lastTerminated: last } : {}) });
          status = computeStatus({ ...big, status }, [p], T0);
        }
        expect(status?.failures ?? 0).toBe(trueFailures);
        if (done) expect(status!.phase).toBe('Succeeded');
      }),
    );
  });
});
