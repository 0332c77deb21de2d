import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeLeaseClient, LeaderElector, validateTimings, type LeaseClient } from '../../src/kube/leader-election.js';
import type { TestApiServer } from '../support/apiserver.js';
import { waitFor } from '../support/wait.js';
import { startTestApi } from '../mltask/api.js';

const fast = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 150 };

describe('validateTimings', () => {
  it('accepts the defaults and names the broken rule', () => {
    expect(validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toBeNull();
    expect(validateTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toMatch(/leaseDuration \(10000 ms\) must be greater than renewDeadline/);
    expect(validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).toMatch(/renewDeadline \(2400 ms\) must be greater than 1.2 × retryPeriod \(2400 ms\)/);
    expect(validateTimings({ leaseDurationMs: -1, renewDeadlineMs: 1, retryPeriodMs: 1 })).toMatch(/leaseDurationMs must be a positive/);
    expect(() => new LeaderElector({ client: {} as LeaseClient, namespace: 'n', name: 'l', identity: 'a', leaseDurationMs: 5000, renewDeadlineMs: 6000 })).toThrow(/leaseDuration/);
  });
});

/** A client that can be cut off (an outage seen by one replica only). */
function cuttable(inner: LeaseClient): LeaseClient & { cut: boolean } {
  const c = {
    cut: false,
    get: () => (c.cut ? Promise.reject(new Error('network down')) : inner.get()),
    create: (l: Parameters<LeaseClient['create']>[0]) => (c.cut ? Promise.reject(new Error('network down')) : inner.create(l)),
    update: (l: Parameters<LeaseClient['update']>[0]) => (c.cut ? Promise.reject(new Error('network down')) : inner.update(l)),
  };
  return c;
}

describe('LeaderElector on a Lease', () => {
  let api: TestApiServer;
  beforeEach(async () => {
    api = await startTestApi();
  });
  afterEach(async () => {
    await api.close();
  });

  function candidates(n: number) {
    const intervals: Array<{ id: string; from: number; to?: number }> = [];
    const made = Array.from({ length: n }, (_, i) => {
      const id = `c${i}`;
      const client = cuttable(kubeLeaseClient(api.kubeConfig(), 'sys', 'ctl'));
      const el = new LeaderElector({ client, namespace: 'sys', name: 'ctl', identity: id, ...fast });
      void el.run({
        onStartedLeading: () => void intervals.push({ id, from: Date.now() }),
        onStoppedLeading: () => {
          const open = intervals.find((x) => x.id === id && x.to === undefined);
          if (open) open.to = Date.now();
        },
      });
      return { id, el, client };
    });
    const leaders = () => made.filter((m) => m.el.isLeader()).map((m) => m.id);
    const noOverlap = () => {
      const sorted = [...intervals].sort((a, b) => a.from - b.from);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.from).toBeGreaterThanOrEqual(sorted[i - 1]!.to ?? Infinity);
    };
    return { made, leaders, intervals, noOverlap };
  }

  it('three racing candidates: exactly one leads; a stopped leader releases and another takes over', async () => {
    const { made, leaders, noOverlap } = candidates(3);
    await waitFor(() => leaders().length === 1, 'one leader', 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(leaders()).toHaveLength(1);
    const first = made.find((m) => m.el.isLeader())!;
    const lease = api.get('leases', 'sys', 'ctl')!;
    expect(lease.spec.holderIdentity).toBe(first.id);
    expect(lease.spec.leaseDurationSeconds).toBe(2);
    await first.el.stop();
    expect(api.get('leases', 'sys', 'ctl')!.spec.holderIdentity).toBe('');
    await waitFor(() => leaders().length === 1 && !leaders().includes(first.id), 'a successor', 5000);
    expect(api.get('leases', 'sys', 'ctl')!.spec.leaseTransitions).toBe(1);
    for (const m of made) await m.el.stop();
    noOverlap();
  });

  it('a leader cut off from the server steps down before anyone else takes the Lease', async () => {
    const { made, leaders, intervals, noOverlap } = candidates(2);
    await waitFor(() => leaders().length === 1, 'one leader', 5000);
    const first = made.find((m) => m.el.isLeader())!;
    first.client.cut = true;
    await waitFor(() => leaders().length === 1 && !leaders().includes(first.id), 'the other to lead', 8000);
    const lost = intervals.find((x) => x.id === first.id)!;
    const won = intervals.find((x) => x.id !== first.id)!;
    expect(lost.to).toBeDefined();
    expect(won.from).toBeGreaterThanOrEqual(lost.to!);
    first.client.cut = false;
    await new Promise((r) => setTimeout(r, 600));
    expect(leaders()).toHaveLength(1);
    for (const m of made) await m.el.stop();
    noOverlap();
  });
});
