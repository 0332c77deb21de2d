/**
 * The prioritize fast path (scoreNodes, distinct states, optional profile) must answer exactly
 * what the core's per-node decisions give: extenderScores(placeOnNode(...)) for every node.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeOnNode, profileFromShapes } from '../../src/core/index.js';
import { extenderScores } from '../../src/extender/scores.js';
import { prioritizeNodes } from '../../src/extender/decide.js';
import { podGpuAsk } from '../../src/extender/preferences.js';
import { getPreset } from '../../src/topology/index.js';
import { schedulerPod } from './fixtures.js';
import { MemoryCluster, withUuids } from './memory-cluster.js';

const PRESETS = ['dgx1-v100', 'hgx-h100', 'pcie-8x-2socket', 'pcie-8x-nvlink-pairs'];

describe('prioritize fast path equals per-node core decisions', () => {
  it('with and without a workload profile, on random clusters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (specs, k, withProfile) => {
          const cluster = new MemoryCluster();
          specs.forEach(([p, busy, share], i) => {
            const name = `n${i}`;
            cluster.addNode(name, withUuids(getPreset(PRESETS[p])!, name));
            const gpus = [0, 1, 2, 3, 4, 5, 6, 7].filter((g) => busy & (1 << g)).map((index) => ({ index }));
            if (gpus.length) cluster.hold({ uid: `u${i}`, namespace: 'x', name: `p${i}`, node: name, gpus, milliPerGpu: share ? 500 : 1000 });
          });
          const names = specs.map((_, i) => `n${i}`);
          const profile = withProfile
            ? profileFromShapes([
                { shape: { cpuMilli: 0, gpuCount: 1, milliPerGpu: 500 }, count: 3 },
                { shape: { cpuMilli: 0, gpuCount: 4, milliPerGpu: 1000 }, count: 1 },
              ])
            : undefined;
          const ask = podGpuAsk(schedulerPod('t', k));
          const got = Array.from(prioritizeNodes({ cluster, nowMs: 0, profile }, ask, names)!);
          if (ask.kind !== 'gpu') throw new Error('expected a GPU ask');
          const expected = extenderScores(names.map((n) => {
            const look = cluster.lookupNode(n, 0);
            return look.ok ? placeOnNode(look.state, ask.base, profile) : { node: n, fits: false as const, reason: look.reason };
          }));
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});
