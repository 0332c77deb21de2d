/** Intent parsing, selection order, fencing, and the core fallback's guarantees (pure). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANN_ASSIGNED_GPUS } from '../../src/api/annotations.js';
import { compileTopology, placeOnNode } from '../../src/core/index.js';
import { intentOfPod } from '../../src/deviceplugin/intents.js';
import { coreChoice, nodeGpus, preferredFor } from '../../src/deviceplugin/preferred.js';
import { judgeAllocation } from '../../src/deviceplugin/allocate.js';
import { dgx1, getPreset, nvswitchBox } from '../../src/topology/presets.js';
import { intentPod, storeFor, uuidOf, withUuids } from './helpers.js';

const node = nodeGpus('n1', withUuids(dgx1()));
const lookup = [(i: number) => node.uuidOf[i], (u: string) => node.indexOf.has(u)] as const;

describe('intentOfPod', () => {
  it('reads UUIDs, or maps indices to this node’s UUIDs', () => {
    const a = intentOfPod(intentPod('a', [2, 5], '2026-01-01T00:00:01Z'), ...lookup);
    const b = intentOfPod(intentPod('b', [2, 5], '2026-01-01T00:00:01Z', { withUuids: false }), ...lookup);
    expect(a.kind === 'intent' && a.intent.uuids).toEqual([uuidOf(2), uuidOf(5)]);
    expect(b.kind === 'intent' && b.intent.uuids).toEqual([uuidOf(2), uuidOf(5)]);
  });

  it('names the pod and the bad value for GPUs this node does not have', () => {
    const p = intentPod('a', [2], '2026-01-01T00:00:01Z');
    p.metadata!.annotations![ANN_ASSIGNED_GPUS] = '2:GPU-elsewhere';
    expect(intentOfPod(p, ...lookup)).toEqual({ kind: 'invalid', error: expect.stringMatching(/pod ml\/a: .*GPU-elsewhere, which is not a GPU of this node/) });
    p.metadata!.annotations![ANN_ASSIGNED_GPUS] = '9';
    expect(intentOfPod(p, ...lookup)).toEqual({ kind: 'invalid', error: expect.stringMatching(/names GPU 9, which this node does not have/) });
    p.metadata!.annotations![ANN_ASSIGNED_GPUS] = 'x';
    expect(intentOfPod(p, ...lookup)).toMatchObject({ kind: 'invalid', error: expect.stringContaining('pod ml/a') });
  });

  it('finished or terminating pods carry no intent', () => {
    const done = intentPod('a', [2], '2026-01-01T00:00:01Z');
    done.status = { phase: 'Succeeded' };
    const going = intentPod('b', [2], '2026-01-01T00:00:01Z');
    going.metadata!.deletionTimestamp = '2026-01-01T00:00:05Z';
    expect(intentOfPod(done, ...lookup).kind).toBe('none');
    expect(intentOfPod(going, ...lookup).kind).toBe('none');
  });
});

describe('IntentStore', () => {
  it('a re-bind (new assigned-at) is a new intent; deletion forgets what was served', () => {
    const s = storeFor(node);
    s.upsert(intentPod('a', [0, 1], '2026-01-01T00:00:01Z'));
    s.take(s.open()[0]!.intent, 2);
    expect(s.open()).toHaveLength(0);
    s.upsert(intentPod('a', [2, 3], '2026-01-01T00:00:07Z'));
    expect(s.open().map((o) => o.intent.uuids)).toEqual([[uuidOf(2), uuidOf(3)]]);
    s.remove(intentPod('a', [2, 3], '2026-01-01T00:00:07Z'));
    expect(s.size).toBe(0);
  });

  it('a relist keeps the served state of pods still there', () => {
    const s = storeFor(node);
    const a = intentPod('a', [0, 1], '2026-01-01T00:00:01Z');
    s.upsert(a);
    s.take(s.open()[0]!.intent, 2);
    s.replace([a, intentPod('b', [2, 3], '2026-01-01T00:00:02Z')]);
    expect(s.open().map((o) => o.intent.name)).toEqual(['b']);
  });
});

describe('preferredFor', () => {
  it('oldest assigned-at first regardless of arrival order; an unreadable time sorts last', () => {
    const s = storeFor(node);
    s.upsert(intentPod('bad-time', [6, 7], 'yesterday'));
    s.upsert(intentPod('late', [4, 5], '2026-01-01T00:00:09Z'));
    s.upsert(intentPod('early', [2, 3], '2026-01-01T00:00:01Z'));
    const ask = { available: new Set(node.uuidOf), mustInclude: [], size: 2 };
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = preferredFor(node, s.open(), ask);
      if (p.source !== 'intent') throw new Error('expected an intent');
      order.push(p.intent.name);
      s.take(p.intent, 2);
    }
    expect(order).toEqual(['early', 'late', 'bad-time']);
    expect(preferredFor(node, s.open(), ask).source).toBe('core');
  });
});

describe('coreChoice', () => {
  it('is the core’s own decision when nothing is forced', () => {
    const t = withUuids(nvswitchBox(8, 12));
    const n = nodeGpus('n', t);
    const available = [1, 2, 3, 5, 6].map(uuidOf);
    const d = placeOnNode({ name: 'n', topology: compileTopology(t), freeMilli: [0, 1, 1, 1, 0, 1, 1, 0].map((x) => x * 1000) }, { gpuCount: 3, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack' });
    expect(d.fits).toBe(true);
    expect(coreChoice(n, { available: new Set(available), mustInclude: [], size: 3 }).sort()).toEqual(d.fits ? d.gpus.map(uuidOf).sort() : []);
  });

  it('returns exactly the size, inside available ∪ must-include, with every must-include device', () => {
    for (const t of [withUuids(dgx1()), withUuids(getPreset('pcie-8x-nvlink-pairs')!)]) {
      const n = nodeGpus('n', t);
      fc.assert(
        fc.property(fc.subarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 1 }), fc.nat(), fc.nat(), (avail, sizeSeed, mustSeed) => {
          const size = 1 + (sizeSeed % avail.length);
          const must = avail.slice(0, mustSeed % (size + 1)).map(uuidOf);
          const available = new Set(avail.map(uuidOf));
          const got = coreChoice(n, { available, mustInclude: must, size });
          expect(got).toHaveLength(size);
          expect(new Set(got).size).toBe(size);
          for (const u of got) expect(available.has(u)).toBe(true);
          for (const u of must) expect(got).toContain(u);
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('judgeAllocation', () => {
  const s = storeFor(node);
  s.upsert(intentPod('a', [0, 1], '2026-01-01T00:00:01Z'));
  const intent = s.open()[0]!.intent;
  it('as preferred, a mismatch of the same size, an exact intent without a preference, or nothing', () => {
    const served = { intent, deviceIDs: [uuidOf(0), uuidOf(1)], atMs: 0 };
    expect(judgeAllocation([served], [uuidOf(1), uuidOf(0)], []).kind).toBe('as-preferred');
    expect(judgeAllocation([served], [uuidOf(2), uuidOf(3)], [])).toMatchObject({ kind: 'mismatch', served });
    expect(judgeAllocation([], [uuidOf(0), uuidOf(1)], [intent]).kind).toBe('matches-intent');
    expect(judgeAllocation([served], [uuidOf(5)], [intent]).kind).toBe('unrelated');
  });
});
