/** Share slots, pure: the slot-ID codec, a slot request seen per GPU, and the slot answer's guarantees. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeAllocation, type ServedPreference } from '../../src/deviceplugin/allocate.js';
import { listAndWatchResponse } from '../../src/deviceplugin/devices.js';
import { intentOfPod, type Intent } from '../../src/deviceplugin/intents.js';
import { coreChoice, nodeGpus, preferredSlotsFor } from '../../src/deviceplugin/preferred.js';
import { deviceIdsOf, gpuOfSlot, gpusOfDevices, slotId, slotsForGpus, slotView } from '../../src/deviceplugin/slots.js';
import { deviceUuid } from '../../src/kubelet/pod-resources-client.js';
import { dgx1 } from '../../src/topology/presets.js';
import { gpusOf, intentPod, uuidOf, withUuids } from './helpers.js';

const node = nodeGpus('n1', withUuids(dgx1()));
const S = 4;
const slotsOf = (i: number) => deviceIdsOf(uuidOf(i), S);
const everySlot = () => [0, 1, 2, 3, 4, 5, 6, 7].flatMap(slotsOf);
const ask = (available: readonly string[], size: number, mustInclude: readonly string[] = []) => ({ available: new Set(available), mustInclude, size });
const intentOf = (name: string, gpus: number[], at = '2026-01-01T00:00:01Z'): Intent => {
  const r = intentOfPod(intentPod(name, gpus, at), (i) => node.uuidOf[i], (u) => node.indexOf.has(u));
  if (r.kind !== 'intent') throw new Error(`no intent for ${name}`);
  return r.intent;
};

describe('slot IDs', () => {
  it('slot k of a GPU is <uuid>::k and maps back to the UUID, the same function the agent reads PodResources with', () => {
    expect(slotId('GPU-abc', 3)).toBe('GPU-abc::3');
    expect(gpuOfSlot).toBe(deviceUuid);
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 99 }), (u, k) => {
        expect(gpuOfSlot(slotId(`GPU-${u}`, k))).toBe(`GPU-${u}`);
        expect(gpuOfSlot(`GPU-${u}`)).toBe(`GPU-${u}`);
      }),
    );
  });

  it('one slot is the plain UUID; N slots are ::0 … ::N-1', () => {
    expect(deviceIdsOf('GPU-a', 1)).toEqual(['GPU-a']);
    expect(deviceIdsOf('GPU-a', 3)).toEqual(['GPU-a::0', 'GPU-a::1', 'GPU-a::2']);
  });

  it('the GPUs of a device list: each once, first-seen order', () => {
    expect(gpusOfDevices(['B::2', 'A::0', 'B::0', 'C'])).toEqual(['B', 'A', 'C']);
  });

  it('ListAndWatch lists every slot with its GPU’s health and NUMA node; one slot = today’s list', () => {
    const gpus = gpusOf(node, [2]);
    const msg = listAndWatchResponse(gpus, S);
    expect(msg.devices.map((d) => d.ID)).toEqual(everySlot());
    for (const d of msg.devices) {
      const g = node.topology.gpus[node.indexOf.get(gpuOfSlot(d.ID))!]!;
      expect(d.health).toBe(g.index === 2 ? 'Unhealthy' : 'Healthy');
      expect(d.topology?.nodes[0]?.ID).toBe(g.numaNode);
    }
    expect(listAndWatchResponse(gpus, 1)).toEqual(listAndWatchResponse(gpus));
    expect(listAndWatchResponse(gpus).devices.map((d) => d.ID)).toEqual(node.uuidOf);
  });
});

describe('slotView and slotsForGpus', () => {
  it('a GPU is available with one free slot and fully free with all; slots sort by number (::10 after ::2)', () => {
    const v = slotView(ask([slotId('A', 10), slotId('A', 2), slotId('B', 0), slotId('B', 1)], 1), 2);
    expect([...v.gpuAsk.available]).toEqual(['A', 'B']);
    expect([...v.fullyFree]).toEqual(['A', 'B']);
    expect(v.freeSlots.get('A')).toEqual(['A::2', 'A::10']);
    const w = slotView(ask(['A::1', 'B::0', 'B::1'], 2, ['A::1']), 2);
    expect([...w.fullyFree]).toEqual(['B']);
    expect(w.gpuAsk).toEqual({ available: new Set(['A', 'B']), mustInclude: ['A'], size: 2 });
  });

  it('answers each chosen GPU with its lowest free slot; must-include slots kept; topped up with another GPU before a second slot', () => {
    const a = ask(['A::1', 'A::0', 'B::3', 'C::0', 'C::1'], 2, []);
    const v = slotView(a, 4);
    expect(slotsForGpus(['B', 'A'], v, a)).toEqual(['B::3', 'A::0']);
    expect(slotsForGpus(['A'], v, a)).toEqual(['A::0', 'B::3']);
    const m = ask(['A::0', 'A::1', 'C::0'], 2, ['A::1']);
    expect(slotsForGpus(['A', 'C'], slotView(m, 4), m)).toEqual(['A::1', 'C::0']);
    const only = ask(['A::0', 'A::1', 'A::2'], 2);
    expect(slotsForGpus(['A'], slotView(only, 4), only)).toEqual(['A::0', 'A::1']);
  });
});

describe('preferredSlotsFor', () => {
  it('an intent for GPU X gets X’s lowest free slot; with no free slot of X the core decides', () => {
    const x = 6;
    const open = [{ intent: intentOf('s', [x]), sizesLeft: [1] }];
    const avail = everySlot().filter((id) => id !== slotId(uuidOf(x), 0));
    expect(preferredSlotsFor(node, open, ask(avail, 1), S)).toMatchObject({ source: 'intent', deviceIDs: [slotId(uuidOf(x), 1)] });
    const none = everySlot().filter((id) => gpuOfSlot(id) !== uuidOf(x));
    const p = preferredSlotsFor(node, open, ask(none, 1), S);
    expect(p.source).toBe('core');
    expect(gpuOfSlot(p.deviceIDs[0]!)).not.toBe(uuidOf(x));
  });

  it('the core prefers fully free GPUs over ones already shared', () => {
    // GPUs 0–3 each hold one share; 4–7 are fully free. On its own the core packs onto GPU 0.
    const avail = everySlot().filter((id) => !(node.indexOf.get(gpuOfSlot(id))! < 4 && id.endsWith('::0')));
    const anyGpu = coreChoice(node, ask(node.uuidOf, 2));
    expect(anyGpu.some((u) => node.indexOf.get(u)! < 4)).toBe(true);
    const p = preferredSlotsFor(node, [], ask(avail, 2), S);
    expect(p.source).toBe('core');
    const fully = [4, 5, 6, 7].map(uuidOf);
    expect(gpusOfDevices(p.deviceIDs)).toEqual(coreChoice(node, ask(fully, 2)));
    expect(p.deviceIDs.every((id) => id.endsWith('::0'))).toBe(true);
  });

  it('only when fully free GPUs are too few, among every GPU with a free slot: still distinct GPUs', () => {
    const avail = everySlot().filter((id) => !id.endsWith('::0') || gpuOfSlot(id) === uuidOf(7));
    const p = preferredSlotsFor(node, [], ask(avail, 3), S);
    expect(p.deviceIDs).toHaveLength(3);
    expect(gpusOfDevices(p.deviceIDs)).toHaveLength(3);
  });

  it('property: exactly the size, inside available ∪ must-include, every must-include slot, distinct GPUs whenever enough GPUs have a free slot', () => {
    const ids = everySlot();
    fc.assert(
      fc.property(
        fc.subarray(ids, { minLength: 1 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 2 }),
        (avail, sizeWanted, intentGpus) => {
          const size = Math.min(sizeWanted, avail.length);
          const must = avail.length > 3 && sizeWanted % 3 === 0 ? [avail[0]!] : [];
          const open = intentGpus.length > 0 ? [{ intent: intentOf('p', [...new Set(intentGpus)]), sizesLeft: [new Set(intentGpus).size] }] : [];
          const a = ask(avail, size, must);
          const got = preferredSlotsFor(node, open, a, S).deviceIDs;
          expect(got).toHaveLength(size);
          expect(new Set(got).size).toBe(size);
          for (const id of got) expect(avail).toContain(id);
          for (const id of must) expect(got).toContain(id);
          if (slotView(a, S).gpuAsk.available.size >= size) expect(gpusOfDevices(got)).toHaveLength(size);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('judgeAllocation with slots', () => {
  const intent = intentOf('s', [3]);
  const served = (ids: string[]): ServedPreference => ({ intent, deviceIDs: ids, atMs: 0 });
  it('another slot of the same GPU is as preferred; a slot of another GPU is a mismatch', () => {
    const p = served([slotId(uuidOf(3), 0)]);
    expect(judgeAllocation([p], [slotId(uuidOf(3), 2)], [])).toEqual({ kind: 'as-preferred', served: p });
    expect(judgeAllocation([p], [slotId(uuidOf(4), 0)], [])).toMatchObject({ kind: 'mismatch' });
    expect(judgeAllocation([], [slotId(uuidOf(3), 1)], [intent])).toEqual({ kind: 'matches-intent', intent });
  });
});
