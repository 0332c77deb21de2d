/**
 * The device plugin's GPUs and their health from nvidia-smi, through the agent's code: its runner
 * (timeouts, one child at a time), its readings (observe.ts) and its health rules (health.ts, with
 * hysteresis). Nothing here decides health; it only turns the agent's state into PluginGpus.
 */
import { gpuHealth, isHealthy, emptyHealth, nextHealth, type HealthState } from '../agent/health.js';
import { SmiFailure, queryFields, type SmiRunner } from '../agent/nvidia-smi.js';
import { GPU_QUERY_FIELDS, buildBaseline, parseGpuQuery, verdictsOf, type Baseline, type GpuQueryReading } from '../agent/observe.js';
import type { Topology } from '../topology/types.js';
import { advertisedKey, type DeviceSource, type PluginGpu } from './devices.js';

export interface SmiInventory {
  baseline: Baseline;
  /** The baseline topology with UUID, model and memory of every GPU. */
  topology: Topology;
  first: GpuQueryReading;
}

const failureText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Reads `topo -m` and `--query-gpu` once; throws one line naming what is missing. */
export async function readSmiInventory(runner: SmiRunner): Promise<SmiInventory> {
  const topo = await runner.run(['topo', '-m']);
  const { baseline } = buildBaseline(topo.stdout, undefined);
  const q = await queryFields(runner, '--query-gpu', GPU_QUERY_FIELDS);
  const first = parseGpuQuery(q.stdout, q.asked, q.used);
  const topology: Topology = { ...baseline.topology, gpus: baseline.topology.gpus.map((g) => ({ ...g })) };
  for (const g of topology.gpus) {
    const r = first.gpus.find((x) => x.index === g.index);
    if (!r?.uuid) {
      const why = first.problems[0] ?? (r ? 'its line has no uuid' : 'no --query-gpu line for it');
      throw new Error(`nvidia-smi: GPU ${g.index} of topo -m has no UUID (${why}); the device plugin advertises GPUs by UUID`);
    }
    g.uuid = r.uuid;
    if (r.name) g.model = r.name;
    if (r.memoryTotalMiB !== undefined) g.memoryMiB = r.memoryTotalMiB;
  }
  return { baseline, topology, first };
}

export interface SmiDeviceSourceOptions {
  intervalMs: number;
  flipAfter?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

/** GPUs with health from the agent's rules, re-read every intervalMs. */
export class SmiDeviceSource implements DeviceSource {
  private state: HealthState = emptyHealth();
  private gpus: PluginGpu[] = [];
  private readonly listeners = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly busIdOf: (gpu: number) => string | undefined;

  constructor(
    private readonly runner: SmiRunner,
    private readonly inv: SmiInventory,
    private readonly opts: SmiDeviceSourceOptions,
  ) {
    const bus = new Map(inv.first.gpus.map((g) => [g.index, g.pciBusId]));
    this.busIdOf = (i) => bus.get(i);
    this.apply(inv.first, undefined);
  }

  devices(): readonly PluginGpu[] {
    return this.gpus;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One reading (exported for tests); never overlaps itself. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const q = await queryFields(this.runner, '--query-gpu', GPU_QUERY_FIELDS);
      this.apply(parseGpuQuery(q.stdout, q.asked, q.used), undefined);
    } catch (e) {
      if (!(e instanceof SmiFailure)) throw e;
      this.apply(undefined, failureText(e));
    } finally {
      this.busy = false;
    }
  }

  private apply(query: GpuQueryReading | undefined, queryFailure: string | undefined): void {
    const verdicts = verdictsOf(this.inv.baseline, { query, queryFailure }, this.busIdOf);
    this.state = nextHealth(this.state, { gpus: verdicts.gpus }, { flipAfter: this.opts.flipAfter });
    const before = advertisedKey(this.gpus);
    const prev = new Map(this.gpus.map((g) => [g.index, g.healthy]));
    this.gpus = this.inv.topology.gpus.map((g) => ({
      index: g.index,
      uuid: g.uuid!,
      healthy: isHealthy(this.state, g.index),
      reasons: gpuHealth(this.state, g.index).reasons,
      numaNode: g.numaNode ?? null,
    }));
    for (const g of this.gpus) {
      if (prev.has(g.index) && prev.get(g.index) !== g.healthy) {
        this.opts.log?.(g.healthy ? 'info' : 'warn', `GPU ${g.index} (${g.uuid}) is now ${g.healthy ? 'Healthy' : `Unhealthy: ${(g.reasons ?? []).join('; ')}`}`);
      }
    }
    if (advertisedKey(this.gpus) !== before) for (const l of [...this.listeners]) l();
  }
}
