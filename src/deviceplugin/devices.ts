/**
 * What the device plugin advertises: every GPU by UUID with its health. Health comes from a
 * `DeviceSource` (in the command: the agent's health rules over nvidia-smi observations; in tests:
 * a settable source), so the plugin holds no health logic of its own.
 */
import { HEALTHY, UNHEALTHY, type Device, type ListAndWatchResponse } from '../kubelet/device-plugin-api.js';
import { deviceIdsOf } from './slots.js';

/** One GPU as the plugin sees it. */
export interface PluginGpu {
  index: number;
  uuid: string;
  healthy: boolean;
  /** Why it is unhealthy (for logs); empty when healthy. */
  reasons?: readonly string[];
  /** NUMA node, reported to the Topology Manager; null/undefined = unknown. */
  numaNode?: number | null;
}

export interface DeviceSource {
  /** Every GPU of the node, in index order. */
  devices(): readonly PluginGpu[];
  /** Called after devices() changed (health, reasons); returns an unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** The ListAndWatch message for a device list (pure): each GPU as `slots` devices (slots.ts), all with its health and NUMA node. */
export function listAndWatchResponse(gpus: readonly PluginGpu[], slots = 1): ListAndWatchResponse {
  return {
    devices: gpus.flatMap((g) =>
      deviceIdsOf(g.uuid, slots).map((ID): Device => {
        const d: Device = { ID, health: g.healthy ? HEALTHY : UNHEALTHY };
        if (typeof g.numaNode === 'number' && g.numaNode >= 0) d.topology = { nodes: [{ ID: g.numaNode }] };
        return d;
      }),
    ),
  };
}

/** What the kubelet can see of a device list: a change here is worth a new ListAndWatch message. */
export function advertisedKey(gpus: readonly PluginGpu[]): string {
  return gpus.map((g) => `${g.uuid}=${g.healthy ? 1 : 0}@${g.numaNode ?? ''}`).join(',');
}

/** A device source whose list is set from outside (tests, `--no-api` trials with a fixed inventory). */
export class StaticDeviceSource implements DeviceSource {
  private listeners = new Set<() => void>();
  constructor(private gpus: readonly PluginGpu[]) {}
  devices(): readonly PluginGpu[] {
    return this.gpus;
  }
  set(gpus: readonly PluginGpu[]): void {
    this.gpus = gpus;
    for (const l of [...this.listeners]) l();
  }
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
