import { describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { controllerOptions, type ControllerCommandOptions } from '../../src/mltask/controller-command.js';

const base: ControllerCommandOptions = { leaseNamespace: 'linkpack-system', leaseName: 'linkpack-controller', leaseDuration: '15', renewDeadline: '10', retryPeriod: '2', workers: '2', logLevel: 'info', identity: 'me' };
const kc = new KubeConfig();

describe('linkpack controller flags', () => {
  it('maps flags to options, leader election with the conventional timings', () => {
    const o = controllerOptions({ ...base, leaderElect: true, namespace: 'ml', workers: '4' }, kc);
    expect(o).toMatchObject({ namespace: 'ml', workers: 4, identity: 'me', leaderElection: { namespace: 'linkpack-system', name: 'linkpack-controller', identity: 'me', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } });
    expect(controllerOptions(base, kc).leaderElection).toBeUndefined();
  });

  it('names the bad flag', () => {
    expect(() => controllerOptions({ ...base, workers: '0' }, kc)).toThrow(/--workers "0": expected a whole number 1–64/);
    expect(() => controllerOptions({ ...base, workers: 'many' }, kc)).toThrow(/--workers "many"/);
    expect(() => controllerOptions({ ...base, leaderElect: true, renewDeadline: '20' }, kc)).toThrow(/leaseDuration \(15000 ms\) must be greater than renewDeadline \(20000 ms\)/);
    expect(() => controllerOptions({ ...base, leaderElect: true, retryPeriod: '9' }, kc)).toThrow(/renewDeadline \(10000 ms\) must be greater than 1.2 × retryPeriod/);
    expect(() => controllerOptions({ ...base, leaderElect: true, leaseDuration: 'x' }, kc)).toThrow(/--lease-duration "x"/);
  });
});
