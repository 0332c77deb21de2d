/**
 * Allocate, decided (pure): what the container gets for a set of device IDs, and whether that set
 * is the one linkpack meant for it.
 */
import type { ContainerAllocateResponse } from '../kubelet/device-plugin-api.js';
import type { Intent } from './intents.js';
import { gpusOfDevices } from './slots.js';

/** The CDI kind of the NVIDIA container toolkit (`nvidia-ctk cdi generate`: vendor nvidia.com, class gpu). */
export const CDI_KIND = 'nvidia.com/gpu';

export interface AllocateOptions {
  /** CDI device names (`nvidia.com/gpu=<uuid>`) in cdi_devices instead of NVIDIA_VISIBLE_DEVICES. */
  cdi: boolean;
}

export function containerAllocation(deviceIDs: readonly string[], opts: AllocateOptions): ContainerAllocateResponse {
  const r: ContainerAllocateResponse = { envs: {}, mounts: [], devices: [], annotations: {}, cdi_devices: [] };
  if (opts.cdi) r.cdi_devices = deviceIDs.map((id) => ({ name: `${CDI_KIND}=${id}` }));
  else r.envs.NVIDIA_VISIBLE_DEVICES = deviceIDs.join(',');
  return r;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
/** Same GPUs: with share slots, another slot of the same GPU is the same choice. */
const sameGpus = (a: readonly string[], b: readonly string[]) => sameSet(gpusOfDevices(a), gpusOfDevices(b));

/** A preference we gave, waiting for the Allocate that follows it. */
export interface ServedPreference {
  intent: Intent;
  deviceIDs: readonly string[];
  /** When it was served (ms); the server drops preferences no Allocate followed within PENDING_TTL_MS. */
  atMs: number;
}

/**
 * Allocate follows GetPreferredAllocation within the same admission (milliseconds); a preference
 * older than this was never followed (admission failed in between) and must not be matched
 * against some later, unrelated Allocate.
 */
export const PENDING_TTL_MS = 60_000;

export type AllocationVerdict =
  /** The kubelet allocated what we preferred for this intent. */
  | { kind: 'as-preferred'; served: ServedPreference }
  /** We preferred an intent's set, the kubelet allocated other devices. */
  | { kind: 'mismatch'; served: ServedPreference; allocated: readonly string[] }
  /** No preference was pending, but the devices are exactly an open intent's set (the kubelet had no choice to ask about). */
  | { kind: 'matches-intent'; intent: Intent }
  /** Nothing of linkpack's to compare with (a core fallback, or no intent). */
  | { kind: 'unrelated' };

/**
 * Which intent an Allocate belongs to. The kubelet admits pods one at a time and calls
 * GetPreferredAllocation right before Allocate for the same container, so the newest pending
 * preference of the same size is the one this Allocate answers. Sets are compared as GPUs
 * (share slots: `<uuid>::k` is GPU `<uuid>`); sizes as device counts (one device per GPU asked).
 */
export function judgeAllocation(pending: readonly ServedPreference[], allocated: readonly string[], openIntents: readonly Intent[]): AllocationVerdict {
  const exact = pending.find((p) => sameGpus(p.deviceIDs, allocated));
  if (exact) return { kind: 'as-preferred', served: exact };
  const sameSize = [...pending].reverse().find((p) => p.deviceIDs.length === allocated.length);
  if (sameSize) return { kind: 'mismatch', served: sameSize, allocated };
  const intent = openIntents.find((i) => sameGpus(i.uuids, allocated));
  if (intent) return { kind: 'matches-intent', intent };
  return { kind: 'unrelated' };
}

/** The Event text for a mismatch. */
export function mismatchMessage(served: ServedPreference, allocated: readonly string[], node: string): string {
  return (
    `kubelet on ${node} allocated ${allocated.join(',')} instead of linkpack's assigned ${served.deviceIDs.join(',')} ` +
    `(the preference is advice only); the agent reports the real assignment from PodResources`
  );
}
