/**
 * The device plugin's GPUs and their health: the agent's own reading loop (`Agent`: nvidia-smi
 * runner, readings, the health rules with hysteresis), run in this process without a publisher.
 * Nothing here decides health; it only turns the agent's state into PluginGpus and says when
 * what the kubelet sees has changed.
 */
import { Agent } from '../agent/agent.js';
import { gpuHealth, isHealthy } from '../agent/health.js';
import type { SmiRunner } from '../agent/nvidia-smi.js';
import type { Topology } from '../topology/types.js';
import { advertisedKey, type DeviceSource, type PluginGpu } from './devices.js';

export interface SmiDeviceSourceOptions {
  nodeName: string;
  intervalMs: number;
  flipAfter?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export class SmiDeviceSource implements DeviceSource {
  private gpus: PluginGpu[] = [];
  private readonly listeners = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly agent: Agent;
  private uuids: string[] = [];

  private constructor(
    runner: SmiRunner,
    private readonly opts: SmiDeviceSourceOptions,
  ) {
    // Link health is not the plugin's business (a GPU with a degraded NVLink is still a GPU):
    // nvlink -s only at topology reads.
    this.agent = new Agent({ nodeName: opts.nodeName, runner, intervalMs: opts.intervalMs, flipAfter: opts.flipAfter, nvlinkIntervalMs: Number.MAX_SAFE_INTEGER, log: opts.log });
  }

  /**
   * Reads nvidia-smi once; throws one line naming what is missing when the topology or a GPU's
   * UUID cannot be read (the plugin advertises GPUs by UUID and cannot start without them).
   */
  static async open(runner: SmiRunner, opts: SmiDeviceSourceOptions): Promise<SmiDeviceSource> {
    const s = new SmiDeviceSource(runner, opts);
    const first = await s.agent.cycle();
    const baseline = s.agent.baseline;
    if (!baseline) throw new Error(first.problems.find((p) => p.startsWith('topology not read')) ?? `nvidia-smi: ${first.problems.join('; ') || 'no topology'}`);
    for (const g of baseline.topology.gpus) {
      const uuid = s.agent.readings.find((r) => r.index === g.index)?.uuid;
      if (!uuid) {
        const why = first.problems.find((p) => !p.startsWith('GPU(s)')) ?? first.problems[0] ?? 'its --query-gpu line has no uuid';
        throw new Error(`nvidia-smi: GPU ${g.index} of topo -m has no UUID (${why}); the device plugin advertises GPUs by UUID`);
      }
      s.uuids[g.index] = uuid;
    }
    s.refresh();
    return s;
  }

  /** The node's topology with UUID, model and memory per GPU (for the core's fallback choice). */
  topology(): Topology {
    const t = this.agent.baseline!.topology;
    return {
      ...t,
      gpus: t.gpus.map((g) => {
        const r = this.agent.readings.find((x) => x.index === g.index);
        return { ...g, uuid: this.uuids[g.index], ...(r?.name ? { model: r.name } : {}), ...(r?.memoryTotalMiB !== undefined ? { memoryMiB: r.memoryTotalMiB } : {}) };
      }),
    };
  }

  devices(): readonly PluginGpu[] {
    return this.gpus;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads every interval, one reading at a time (a hung nvidia-smi delays the next, never doubles it). */
  start(): void {
    const loop = async () => {
      await this.tick();
      if (!this.stopped) {
        this.timer = setTimeout(loop, this.opts.intervalMs);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(loop, this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One reading (public for tests). */
  async tick(): Promise<void> {
    await this.agent.cycle();
    this.refresh();
  }

  private refresh(): void {
    const before = advertisedKey(this.gpus);
    const prev = new Map(this.gpus.map((g) => [g.index, g.healthy]));
    const state = this.agent.health;
    // GPUs are the baseline's, by index; the UUID is the one read at start (it identifies the device to the kubelet).
    // A GPU that appeared after start (a topology re-read) has no UUID from us: not advertised.
    this.gpus = this.agent.baseline!.topology.gpus.flatMap((g) =>
      this.uuids[g.index] === undefined
        ? []
        : [{ index: g.index, uuid: this.uuids[g.index]!, healthy: isHealthy(state, g.index), reasons: gpuHealth(state, g.index).reasons, numaNode: g.numaNode ?? null }],
    );
    for (const g of this.gpus) {
      if (prev.has(g.index) && prev.get(g.index) !== g.healthy) {
        this.opts.log?.(g.healthy ? 'info' : 'warn', `GPU ${g.index} (${g.uuid}) is now ${g.healthy ? 'Healthy' : `Unhealthy: ${(g.reasons ?? []).join('; ')}`}`);
      }
    }
    if (advertisedKey(this.gpus) !== before) for (const l of [...this.listeners]) l();
  }
}
