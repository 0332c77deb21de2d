/**
 * Fuzz target `deviceplugin`: GetPreferredAllocation and Allocate requests with random device sets
 * (real IDs, share-slot IDs, unknown and odd strings, repeats, sizes from -1 to 10,000) into
 * LinkpackDevicePlugin's `preferredAllocation` / `allocate`, on plugins built as test/deviceplugin
 * builds them (nodes with UUIDs, an IntentStore fed pods with `linkpack.io/assigned-gpus`), one
 * plugin per preset × share slots, kept across inputs. A crash is an exception out of either
 * method, or preferredAllocation's own catch-all firing (it logs `error` and answers in the
 * kubelet's order: a bug it hides from the kubelet). Allocate's documented refusal is `{ error }`.
 * For well-formed requests (must-include ⊆ available, every ID advertised) the answer is also
 * checked: one answer per container, no ID twice, only offered IDs, at most max(size, must) IDs.
 */
import fc from 'fast-check';
import { ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, GPU_RESOURCE } from '../src/api/annotations.js';
import { StaticDeviceSource } from '../src/deviceplugin/devices.js';
import { IntentStore } from '../src/deviceplugin/intents.js';
import { nodeGpus, type NodeGpus } from '../src/deviceplugin/preferred.js';
import { LinkpackDevicePlugin } from '../src/deviceplugin/server.js';
import { deviceIdsOf } from '../src/deviceplugin/slots.js';
import type { AllocateRequest, PreferredAllocationRequest } from '../src/kubelet/device-plugin-api.js';
import { getPreset } from '../src/topology/presets.js';
import { gpusOf, intentPod, withUuids } from '../test/deviceplugin/helpers.js';
import { checkMessage, FuzzCrash, ODD_VALUES, type FuzzTarget } from './fuzz-kit.js';

const PRESETS = ['dgx1-v100', 'hgx-h100', 'dgx2', 'pcie-8x-nvlink-pairs', 'nvlink-bridge-2x'] as const;
const SLOTS = [1, 2, 4] as const;

interface Rig {
  node: NodeGpus;
  slots: number;
  ids: string[];
  plugin: LinkpackDevicePlugin;
  intents: IntentStore;
  errors: string[];
}

export interface DevicePluginInput {
  rig: number;
  /** Intent pods upserted before the calls (GPU indices, container sizes, assigned-at), some with odd annotation and limit strings (as the API server could send them: strings, any content). */
  pods: { gpus: number[]; containers: number[]; at: number; uuids: boolean; uid: number; odd?: { assigned?: string; assignedAt?: string; limit?: string; phase?: string } }[];
  /** Per container request: picks into the rig's IDs (or odd strings), must-include picks, size. */
  requests: { available: (number | string)[]; must: (number | string)[]; size: number | string; kubelet?: { drop: number[]; sizeOfPod: number } }[];
  /** Allocate what was preferred (true) or `allocate`. */
  allocatePreferred: boolean;
  allocate: (number | string)[][];
  /** Remove the pods again afterwards (else they stay, as a watch would leave them). */
  removePods: boolean;
}

function rigs(): Rig[] {
  const out: Rig[] = [];
  for (const p of PRESETS) {
    const t = getPreset(p);
    if (!t) throw new Error(`no preset ${p}`);
    for (const slots of SLOTS) {
      const node = nodeGpus('n1', withUuids(t));
      const errors: string[] = [];
      const intents = new IntentStore(
        (i) => node.uuidOf[i],
        (u) => node.indexOf.has(u),
      );
      const plugin = new LinkpackDevicePlugin({
        node,
        devices: new StaticDeviceSource(gpusOf(node)),
        pluginDir: '/nonexistent',
        intents,
        shareSlots: slots,
        now: () => 0,
        log: (level, message) => {
          if (level === 'error' && errors.length < 4) errors.push(message);
        },
      });
      out.push({ node, slots, ids: node.uuidOf.flatMap((u) => deviceIdsOf(u, slots)), plugin, intents, errors });
    }
  }
  return out;
}

export function devicePluginTarget(): FuzzTarget<DevicePluginInput> {
  const all = rigs();
  const pick = fc.oneof({ weight: 12, arbitrary: fc.nat(63) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_VALUES) }, { weight: 1, arbitrary: fc.string({ maxLength: 50 }) });
  const idList = fc.array(pick, { maxLength: 40 });
  const gen: fc.Arbitrary<DevicePluginInput> = fc.record({
    rig: fc.nat(all.length - 1),
    pods: fc.array(
      fc.record({
        gpus: fc.uniqueArray(fc.nat(17), { maxLength: 8 }),
        containers: fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 3 }),
        at: fc.nat(5),
        uuids: fc.boolean(),
        uid: fc.nat(6),
        odd: fc.option(
          fc.record(
            {
              assigned: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.constantFrom('0,0', '0:GPU-x', '999', '1000', '0,,1', ' 3 : GPU-00000003-aaaa-bbbb-cccc-000000000003', '0:'), fc.string({ maxLength: 20 })),
              assignedAt: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid' : d.toISOString()))),
              limit: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.constantFrom('1', '9999', '10000', '0', ' 2 ')),
              phase: fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed', ''),
            },
            { requiredKeys: [] },
          ),
          { nil: undefined, freq: 3 },
        ),
      }),
      { maxLength: 4 },
    ),
    requests: fc.array(
      fc.record({
        available: idList,
        must: fc.oneof({ weight: 4, arbitrary: fc.constant<(number | string)[]>([]) }, { weight: 1, arbitrary: fc.array(pick, { maxLength: 6 }) }),
        size: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 9 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 10_000, 2 ** 31 - 1, -(2 ** 31), 0.5, Number.NaN) }, { weight: 1, arbitrary: fc.constantFrom('3', '', 'x', '1e3') }),
        // As the kubelet asks: every device not yet allocated (a few dropped), the size of a pod bound here.
        kubelet: fc.option(fc.record({ drop: fc.array(fc.nat(63), { maxLength: 6 }), sizeOfPod: fc.nat(3) }), { nil: undefined, freq: 2 }),
      }),
      { maxLength: 3 },
    ),
    allocatePreferred: fc.boolean(),
    allocate: fc.array(idList, { maxLength: 3 }),
    removePods: fc.boolean(),
  });
  const idOf = (r: Rig, p: number | string): string => (typeof p === 'number' ? (r.ids[p % r.ids.length] ?? '') : p);

  return {
    name: 'deviceplugin',
    gen,
    show: (i) => JSON.stringify({ ...i, preset: PRESETS[Math.floor(i.rig / SLOTS.length)], slots: SLOTS[i.rig % SLOTS.length] }),
    run(i) {
      const r = all[i.rig]!;
      r.errors.length = 0;
      // Mostly pods as the extender binds them here (this node's GPUs, one container of that size); the rest as generated.
      const n = r.node.uuidOf.length;
      const shaped = i.pods.map((p) => (p.uid % 3 === 0 ? p : { ...p, gpus: [...new Set(p.gpus.map((g) => g % n))], containers: [] }));
      const pods = shaped.map((p, k) =>
        intentPod(`p${p.uid}`, p.gpus, `2026-01-01T00:00:0${p.at}Z`, { uid: `uid-${p.uid}-${k % 2}`, withUuids: p.uuids, ...(p.containers.length > 0 ? { containers: p.containers } : {}) }),
      );
      i.pods.forEach((p, k) => {
        const pod = pods[k]!;
        const ann = pod.metadata!.annotations!;
        if (p.odd?.assigned !== undefined) ann[ANN_ASSIGNED_GPUS] = p.odd.assigned;
        if (p.odd?.assignedAt !== undefined) ann[ANN_ASSIGNED_AT] = p.odd.assignedAt;
        if (p.odd?.limit !== undefined) pod.spec!.containers![0]!.resources = { limits: { [GPU_RESOURCE]: p.odd.limit } };
        if (p.odd?.phase !== undefined) pod.status = { phase: p.odd.phase };
      });
      for (const p of pods) r.intents.upsert(p);
      const req: PreferredAllocationRequest = {
        container_requests: i.requests.map((c) => {
          if (!c.kubelet) return { available_deviceIDs: c.available.map((p) => idOf(r, p)), must_include_deviceIDs: c.must.map((p) => idOf(r, p)), allocation_size: c.size as number };
          const dropped = new Set(c.kubelet.drop.map((p) => idOf(r, p)));
          const pod = shaped[c.kubelet.sizeOfPod % Math.max(1, shaped.length)];
          const size = pod ? (pod.containers.find((n) => n > 0) ?? pod.gpus.length) : Number(c.size) || 1;
          return { available_deviceIDs: r.ids.filter((id) => !dropped.has(id)), must_include_deviceIDs: [], allocation_size: size };
        }),
      };
      const res = r.plugin.preferredAllocation(req);
      if (r.errors.length > 0) throw new FuzzCrash(`GetPreferredAllocation's catch-all fired: ${r.errors[0]}`);
      if (res.container_responses.length !== req.container_requests.length) {
        throw new FuzzCrash(`${req.container_requests.length} container requests, ${res.container_responses.length} answers`);
      }
      res.container_responses.forEach((answer, k) => {
        const c = req.container_requests[k]!;
        const offered = new Set([...c.available_deviceIDs, ...c.must_include_deviceIDs]);
        const wellFormed = [...offered].every((id) => r.ids.includes(id)) && c.must_include_deviceIDs.every((id) => c.available_deviceIDs.includes(id)) && Number.isInteger(c.allocation_size) && c.allocation_size >= 0;
        if (!wellFormed) return;
        const ids = answer.deviceIDs;
        if (new Set(ids).size !== ids.length) throw new FuzzCrash(`container ${k}: answer ${ids.join(',')} names a device twice`);
        const stray = ids.filter((id) => !offered.has(id));
        if (stray.length > 0) throw new FuzzCrash(`container ${k}: answer names ${stray.join(',')}, which the kubelet did not offer`);
        const most = Math.max(c.allocation_size, new Set(c.must_include_deviceIDs).size);
        if (ids.length > most) throw new FuzzCrash(`container ${k}: ${ids.length} IDs for a size of ${c.allocation_size}`);
      });
      const alloc: AllocateRequest = {
        container_requests: i.allocatePreferred ? res.container_responses.map((a) => ({ devices_ids: a.deviceIDs })) : i.allocate.map((l) => ({ devices_ids: l.map((p) => idOf(r, p)) })),
      };
      const a = r.plugin.allocate(alloc);
      if ('error' in a) checkMessage('Allocate', a.error);
      else if (a.response.container_responses.length !== alloc.container_requests.length) throw new FuzzCrash('Allocate: one response per container expected');
      if (i.removePods) for (const p of pods) r.intents.remove(p);
      // Keep the store bounded as a watch would (pods come and go).
      if (r.intents.size > 20) r.intents.replace([]);
    },
  };
}
