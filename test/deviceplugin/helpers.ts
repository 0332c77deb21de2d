/** Shared pieces of the device plugin tests: a node with UUIDs, pods with intents, a plugin on a fake kubelet. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GPU_QUERY_FIELDS } from '../../src/agent/observe.js';
import { ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, GPU_RESOURCE } from '../../src/api/annotations.js';
import { StaticDeviceSource, type PluginGpu } from '../../src/deviceplugin/devices.js';
import type { PodEventRecorder, PodRef } from '../../src/deviceplugin/events.js';
import { IntentStore, type IntentPod } from '../../src/deviceplugin/intents.js';
import { nodeGpus, type NodeGpus } from '../../src/deviceplugin/preferred.js';
import { LinkpackDevicePlugin, type DevicePluginConfig } from '../../src/deviceplugin/server.js';
import type { Topology } from '../../src/topology/types.js';
import { FakeKubelet } from '../support/fake-kubelet.js';

export const uuidOf = (i: number) => `GPU-${String(i).padStart(8, '0')}-aaaa-bbbb-cccc-${String(i).padStart(12, '0')}`;

/** A topology with UUIDs on every GPU. */
export function withUuids(t: Topology): Topology {
  return { ...t, gpus: t.gpus.map((g) => ({ ...g, uuid: uuidOf(g.index) })) };
}

export function gpusOf(node: NodeGpus, unhealthy: readonly number[] = []): PluginGpu[] {
  return node.topology.gpus.map((g) => ({ index: g.index, uuid: g.uuid!, healthy: !unhealthy.includes(g.index), numaNode: g.numaNode ?? null }));
}

export function intentPod(name: string, gpus: readonly number[], assignedAt: string, opts: { containers?: number[]; uid?: string; withUuids?: boolean } = {}): IntentPod {
  const sizes = opts.containers ?? [gpus.length];
  return {
    metadata: {
      name,
      namespace: 'ml',
      uid: opts.uid ?? `uid-${name}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      annotations: {
        [ANN_ASSIGNED_GPUS]: gpus.map((i) => (opts.withUuids === false ? String(i) : `${i}:${uuidOf(i)}`)).join(','),
        [ANN_ASSIGNED_AT]: assignedAt,
      },
    },
    spec: { nodeName: 'n1', containers: sizes.map((n, i) => ({ name: `c${i}`, resources: { limits: { [GPU_RESOURCE]: String(n) } } })) },
    status: { phase: 'Pending' },
  };
}

export function storeFor(node: NodeGpus): IntentStore {
  return new IntentStore((i) => node.uuidOf[i], (u) => node.indexOf.has(u));
}

export class RecordingEvents implements PodEventRecorder {
  readonly events: { pod: PodRef; type: string; reason: string; message: string }[] = [];
  async record(pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.events.push({ pod, type, reason, message });
  }
}

export interface Rig {
  dir: string;
  kubelet: FakeKubelet;
  plugin: LinkpackDevicePlugin;
  devices: StaticDeviceSource;
  node: NodeGpus;
  close(): Promise<void>;
}

/** A temporary device-plugins directory (short: unix socket paths are limited to 107 bytes). */
export function pluginDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'lpdp-'));
}

export async function startRig(topology: Topology, cfg: Partial<DevicePluginConfig> = {}, opts: { kubeletFirst?: boolean } = {}): Promise<Rig> {
  const dir = pluginDir();
  const node = nodeGpus('n1', withUuids(topology));
  const devices = new StaticDeviceSource(gpusOf(node));
  const kubelet = new FakeKubelet(dir);
  if (opts.kubeletFirst !== false) await kubelet.start();
  const plugin = new LinkpackDevicePlugin({ node, devices, pluginDir: dir, recheckMs: 200, retryMs: 50, ...cfg });
  await plugin.start();
  return {
    dir,
    kubelet,
    plugin,
    devices,
    node,
    async close() {
      await plugin.stop();
      await kubelet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fake `--query-gpu` answer: one line per GPU in the order the agent asks; `ecc` = uncorrected ECC errors. */
export function queryAnswer(n: number, ecc: Record<number, number> = {}, uuid: (i: number) => string = uuidOf): string {
  const value = (field: string, i: number): string => {
    switch (field) {
      case 'index':
        return String(i);
      case 'uuid':
        return uuid(i);
      case 'name':
        return 'NVIDIA A100-SXM4-40GB';
      case 'pci.bus_id':
        return `00000000:${(0x10 + i).toString(16).toUpperCase()}:00.0`;
      case 'driver_version':
        return '535.161.08';
      case 'memory.total':
        return '40960';
      case 'ecc.errors.uncorrected.volatile.total':
        return String(ecc[i] ?? 0);
      case 'retired_pages.pending':
        return 'No';
      default:
        return field.startsWith('clocks_event_reasons.') ? 'Not Active' : '0';
    }
  };
  return Array.from({ length: n }, (_, i) => GPU_QUERY_FIELDS.map((f) => value(f.name, i)).join(', ')).join('\n') + '\n';
}
