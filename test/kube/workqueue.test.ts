import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runWorkers, WorkQueue } from '../../src/kube/workqueue.js';
import { waitFor } from '../support/wait.js';

describe('WorkQueue', () => {
  it('dedupes a waiting key', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(q.stats.deduped).toBe(1);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('hands a key to one worker at a time; an add while processing comes back after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await new Promise((r) => setTimeout(r, 5));
    expect(second).toBeUndefined();
    q.done(k!);
    await waitFor(() => second === 'a', 'the dirty key to come back');
  });

  it('addAfter: the earliest delay wins; shutDown wakes waiters', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 10_000);
    q.addAfter('a', 5);
    expect(q.idle()).toBe(false);
    expect(await q.get()).toBe('a');
    q.done('a');
    const pending = q.get();
    q.shutDown();
    expect(await pending).toBeUndefined();
    q.add('x');
    expect(q.len()).toBe(0);
  });

  it('backs off per key exponentially, capped, reset by forget', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100 });
    expect([1, 2, 3, 4, 5].map(() => q.nextBackoffMs('a'))).toEqual([10, 20, 40, 80, 100]);
    expect(q.nextBackoffMs('b')).toBe(10);
    q.forget('a');
    expect(q.nextBackoffMs('a')).toBe(10);
  });

  it('runWorkers: never two reconciles of one key at once, every add seen after its last add (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (adds, workers) => {
        const q = new WorkQueue();
        const active = new Set<string>();
        const lastAdd = new Map<string, number>();
        const lastStart = new Map<string, number>();
        let clock = 0;
        let overlap = false;
        const done = runWorkers(q, workers, async (k) => {
          if (active.has(k)) overlap = true;
          active.add(k);
          lastStart.set(k, ++clock);
          await new Promise((r) => setTimeout(r, Math.random() * 2));
          active.delete(k);
        });
        for (const k of adds) {
          lastAdd.set(k, ++clock);
          q.add(k);
          if (Math.random() < 0.3) await new Promise((r) => setTimeout(r, 1));
        }
        await waitFor(() => q.idle() && active.size === 0, 'queue to drain');
        q.shutDown();
        await done;
        expect(overlap).toBe(false);
        for (const [k, t] of lastAdd) expect(lastStart.get(k)!).toBeGreaterThan(t);
      }),
      { numRuns: 30 },
    );
  });

  it('runWorkers: a throw retries with backoff; requeueAfterMs comes back', async () => {
    const q = new WorkQueue({ baseDelayMs: 1 });
    let calls = 0;
    const errors: string[] = [];
    const done = runWorkers(
      q,
      1,
      async () => {
        calls += 1;
        if (calls < 3) throw new Error(`boom ${calls}`);
        if (calls === 3) return { requeueAfterMs: 1 };
      },
      (_k, e) => errors.push((e as Error).message),
    );
    q.add('k');
    await waitFor(() => calls === 4, 'two retries and one requeue');
    expect(errors).toEqual(['boom 1', 'boom 2']);
    expect(q.numRequeues('k')).toBe(0);
    q.shutDown();
    await done;
  });
});
