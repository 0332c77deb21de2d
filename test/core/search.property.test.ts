import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileTopology, placeOnNode, type TopologyMode } from '../../src/core/index.js';
import { getPreset, listPresets } from '../../src/topology/index.js';
import type { Topology } from '../../src/topology/types.js';
import { Reference, subsetsOfSize } from './reference.js';

const MODES: TopologyMode[] = ['require-nvlink', 'prefer-nvlink', 'any'];
const ruleOf = (mode: TopologyMode, k: number) => (k < 2 || mode === 'any' ? 'ignore' : mode === 'require-nvlink' ? 'require' : 'prefer');

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** Oracle work for one query: candidates × leftover subsets; keeps 16-GPU cases tractable. */
const oracleCost = (free: number, k: number) => binom(free, k) * 2 ** (free - k);

function check(t: Topology, freeMask: number, unhealthyMask: number, k: number, mode: TopologyMode) {
  const n = t.gpus.length;
  const ct = compileTopology(t);
  const freeMilli = Array.from({ length: n }, (_, i) => (freeMask & (1 << i) ? 1000 : 0));
  const d = placeOnNode({ name: 'n', topology: ct, freeMilli, unhealthyMask }, { gpuCount: k, milliPerGpu: 1000, topology: mode, policy: 'binpack' });
  const free = Array.from({ length: n }, (_, i) => i).filter((i) => freeMask & (1 << i) && !(unhealthyMask & (1 << i)));
  const expected = new Reference(t).best(free, free, k, ruleOf(mode, k));
  expect(d.fits ? d.gpus : null).toEqual(expected);
}

function randomTopology(n: number, cells: string[]): Topology {
  let c = 0;
  const links = Array.from({ length: n }, () => new Array<string>(n).fill('X'));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) links[i][j] = links[j][i] = cells[c++ % cells.length];
  return { gpus: Array.from({ length: n }, (_, index) => ({ index })), links };
}

describe('GPU-set search equals the exhaustive optimum of the objective', () => {
  for (const { name } of listPresets()) {
    const t = getPreset(name)!;
    const n = t.gpus.length;
    it(`${name}: every k, random free and unhealthy masks`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** n - 1 }),
          fc.integer({ min: 0, max: 2 ** n - 1 }),
          fc.integer({ min: 1, max: n }),
          fc.constantFrom(...MODES),
          (free, unhealthyBits, k, mode) => {
            // Unhealthy GPUs are rare: keep at most the lowest one of the random bits.
            const unhealthy = unhealthyBits & -unhealthyBits & (unhealthyBits % 3 === 0 ? -1 : 0);
            const usable = free & ~unhealthy;
            let bits = 0;
            for (let r = usable; r; r &= r - 1) bits++;
            fc.pre(oracleCost(bits, Math.min(k, bits)) <= 20_000);
            check(t, free, unhealthy, k, mode);
          },
        ),
        { numRuns: n > 8 ? 60 : 150 },
      );
    });
  }

  it('dgx2: every GPU count 1..16 on a fully free node and one GPU short', () => {
    const t = getPreset('dgx2')!;
    for (let k = 1; k <= 16; k++) {
      const freeCount = Math.min(16, k + (oracleCost(Math.min(16, k + 1), k) <= 50_000 ? 1 : 0));
      check(t, 2 ** freeCount - 1, 0, k, 'prefer-nvlink');
    }
  });

  it('random link matrices (2..8 GPUs)', () => {
    const cell = fc.constantFrom('NV1', 'NV2', 'NV4', 'NV12', 'PIX', 'PXB', 'PHB', 'NODE', 'SYS');
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.array(cell, { minLength: 1, maxLength: 28 }), fc.integer({ min: 0, max: 2 ** n - 1 }), fc.integer({ min: 1, max: n }), fc.constantFrom(...MODES)),
        ),
        ([n, cells, free, k, mode]) => check(randomTopology(n, cells), free, 0, k, mode),
      ),
      { numRuns: 300 },
    );
  });

  it('the oracle itself distinguishes sets (sanity: DGX-1 pairs differ in quality)', () => {
    const ref = new Reference(getPreset('dgx1-v100')!);
    const qs = new Set(subsetsOfSize([0, 1, 2, 3, 4, 5, 6, 7], 2).map((s) => ref.quality(s)));
    expect(qs.size).toBeGreaterThanOrEqual(3); // NV2, NV1, SYS
  });
});
