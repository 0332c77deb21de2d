import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { degradedLinksOf, emptyHealth, gpuHealth, nextHealth, type HealthState, type HealthStatus, type Verdict } from '../../src/agent/health.js';

const v = (status: HealthStatus, ...reasons: string[]): Verdict => ({ status, reasons });
const run = (seq: Verdict[], flipAfter: number): HealthState[] => {
  const out: HealthState[] = [];
  let s = emptyHealth();
  for (const x of seq) out.push((s = nextHealth(s, { gpus: { 0: x } }, { flipAfter })));
  return out;
};

describe('health rules with hysteresis', () => {
  it('flips only after N consecutive agreeing readings, and keeps the old reasons until then', () => {
    const states = run([v('Healthy'), v('Unhealthy', 'ECC 1'), v('Unhealthy', 'ECC 2'), v('Healthy'), v('Unhealthy', 'ECC 3'), v('Unhealthy', 'ECC 3'), v('Unhealthy', 'ECC 4')], 3);
    expect(states.map((s) => gpuHealth(s, 0).status)).toEqual(['Healthy', 'Healthy', 'Healthy', 'Healthy', 'Healthy', 'Healthy', 'Unhealthy']);
    expect(gpuHealth(states[6], 0).reasons).toEqual(['ECC 4']);
    expect(states[5].gpus[0].pending).toEqual({ status: 'Unhealthy', reasons: ['ECC 3'], count: 2 });
  });

  it('a GPU never read is Unknown; the first reading is taken as it is', () => {
    expect(gpuHealth(emptyHealth(), 3)).toEqual({ status: 'Unknown', reasons: ['never read'] });
    expect(gpuHealth(run([v('Unhealthy', 'lost')], 3)[0], 0)).toEqual({ status: 'Unhealthy', reasons: ['lost'] });
  });

  it('units absent from a cycle keep their state (links are not read every cycle)', () => {
    let s = nextHealth(emptyHealth(), { gpus: {}, links: { '0:3': v('Unhealthy', 'GPU 0 NVLink 3 inactive') } }, { flipAfter: 2 });
    s = nextHealth(s, { gpus: { 0: v('Healthy') } }, { flipAfter: 2 });
    expect(degradedLinksOf(s)).toEqual([{ gpu: 0, link: '3', reasons: ['GPU 0 NVLink 3 inactive'] }]);
  });

  const verdict = fc.constantFrom<HealthStatus>('Healthy', 'Unhealthy', 'Unknown').map((st) => v(st, ...(st === 'Healthy' ? [] : [st])));
  it('property: the status changes only when the last N readings all say the new status', () => {
    fc.assert(
      fc.property(fc.array(verdict, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (seq, n) => {
        const states = run(seq, n).map((s) => gpuHealth(s, 0).status);
        for (let t = 1; t < seq.length; t++) {
          if (states[t] === states[t - 1]) continue;
          const window = seq.slice(Math.max(0, t - n + 1), t + 1);
          expect(window.length).toBe(n);
          expect(window.every((x) => x.status === states[t])).toBe(true);
        }
      }),
    );
  });

  it('property: N agreeing readings in a row always decide the status; with N = 1 the status is the last reading', () => {
    fc.assert(
      fc.property(fc.array(verdict, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (seq, n) => {
        const states = run(seq, n).map((s) => gpuHealth(s, 0).status);
        for (let t = n - 1; t < seq.length; t++) {
          const window = seq.slice(t - n + 1, t + 1);
          if (window.every((x) => x.status === window[0].status)) expect(states[t]).toBe(window[0].status);
        }
        expect(run(seq, 1).map((s) => gpuHealth(s, 0).status)).toEqual(seq.map((x) => x.status));
      }),
    );
  });
});
