/**
 * GPU share slots (`--share-slots N`, pure): with N > 1 every GPU is advertised as N devices
 * `<uuid>::0` … `<uuid>::<N-1>` (NVIDIA time-slicing's replica IDs with renameByDefault false),
 * so that several share pods can each be handed a device of the same GPU. The extender decides
 * which GPU; these functions turn a kubelet request in slot IDs into one in GPU terms for the
 * decision (preferred.ts) and the GPUs chosen back into free slots.
 */
import { deviceUuid } from '../kubelet/pod-resources-client.js';
import type { ContainerAsk } from './intents.js';

export const MAX_SHARE_SLOTS = 100;

/** The device ID of slot k of a GPU. */
export const slotId = (uuid: string, k: number): string => `${uuid}::${k}`;

/** The GPU UUID a device ID names (a plain UUID is itself); the agent reads PodResources with the same function. */
export const gpuOfSlot = deviceUuid;

/** The device IDs a GPU is advertised as: its UUID alone when slots = 1. */
export function deviceIdsOf(uuid: string, slots: number): string[] {
  return slots <= 1 ? [uuid] : Array.from({ length: slots }, (_, k) => slotId(uuid, k));
}

/** The GPUs of a list of device IDs, each once, in first-seen order. */
export function gpusOfDevices(ids: readonly string[]): string[] {
  return [...new Set(ids.map(gpuOfSlot))];
}

const slotIndex = (id: string): number => Number(id.slice(id.lastIndexOf('::') + 2));

/** A slot request seen per GPU. */
export interface SlotView {
  /** The same request in GPU terms: GPUs with at least one available slot, must-include GPUs. */
  gpuAsk: ContainerAsk;
  /** GPUs whose every slot is available (no container holds a share of them). */
  fullyFree: ReadonlySet<string>;
  /** Per GPU, its available slot IDs, lowest slot first. */
  freeSlots: ReadonlyMap<string, readonly string[]>;
}

export function slotView(ask: ContainerAsk, slots: number): SlotView {
  const free = new Map<string, string[]>();
  for (const id of new Set([...ask.mustInclude, ...ask.available])) {
    const g = gpuOfSlot(id);
    const list = free.get(g) ?? [];
    list.push(id);
    free.set(g, list);
  }
  for (const list of free.values()) list.sort((a, b) => slotIndex(a) - slotIndex(b));
  const fullyFree = new Set([...free].filter(([, l]) => l.length >= slots).map(([g]) => g));
  return { gpuAsk: { available: new Set(free.keys()), mustInclude: gpusOfDevices(ask.mustInclude), size: ask.size }, fullyFree, freeSlots: free };
}

/**
 * The slot IDs for a choice of GPUs: every must-include slot, then the lowest available slot of
 * each chosen GPU, up to the size; topped up, when the GPUs are too few, with a slot of a GPU not
 * yet in the answer before a second slot of one that is.
 */
export function slotsForGpus(gpus: readonly string[], view: SlotView, ask: ContainerAsk): string[] {
  const out = [...new Set(ask.mustInclude)];
  const taken = new Set(out);
  const used = new Set(out.map(gpuOfSlot));
  const add = (id: string | undefined) => {
    if (id === undefined || out.length >= ask.size || taken.has(id)) return;
    out.push(id);
    taken.add(id);
    used.add(gpuOfSlot(id));
  };
  for (const g of gpus) if (!used.has(g)) add(view.freeSlots.get(g)?.find((id) => !taken.has(id)));
  for (const [g, ids] of view.freeSlots) if (!used.has(g)) add(ids[0]);
  for (const ids of view.freeSlots.values()) for (const id of ids) add(id);
  return out;
}
