/**
 * The node agent's loop: read nvidia-smi (topology at start and every few minutes, NVLink status
 * every minute, GPU state every interval), apply the health rules, look up the kubelet's GPU
 * assignments, then hand the GPUNode status to the publisher and the readings to /metrics.
 * One cycle at a time; a failing or hung nvidia-smi costs readings (GPUs become Unknown with
 * the reason), never the loop.
 */
import { gpuNodeObject, type GpuNodeAssignment, type GpuNodeDegradedLink, type GpuNodeObject } from '../cluster/gpunode.js';
import { deviceUuid, isGpuResource, type PodResourcesClient } from '../kubelet/pod-resources-client.js';
import { parseNvlinkStatus, type NvlinkGpuStatus } from '../topology/parse-nvlink-status.js';
import { ParseError } from '../topology/types.js';
import { degradedLinksOf, emptyHealth, gpuHealth, nextHealth, type HealthState } from './health.js';
import type { AgentMetrics, PodRef, SmiCommand } from './metrics.js';
import { queryFields, SmiFailure, type QueryField, type SmiRunner } from './nvidia-smi.js';
import {
  buildBaseline,
  GPU_QUERY_FIELDS,
  nvPeers,
  parseGpuQuery,
  parseRemapQuery,
  REMAP_QUERY_FIELDS,
  verdictsOf,
  type Baseline,
  type GpuReading,
  type Observation,
} from './observe.js';
import type { GpuNodePublisher } from './publisher.js';
import { pcieRootOf, resourceSliceObject } from './resourceslice.js';
import type { SlicePublisher } from './slice-publisher.js';
import type { ResourceSliceObject } from '../api/dra.js';
import type { Topology } from '../topology/types.js';

/** How long an empty PodResources answer must hold before the agent believes every GPU pod left. */
export const EMPTY_POD_RESOURCES_CONFIRM_MS = 2_000;

export interface AgentOptions {
  nodeName: string;
  runner: SmiRunner;
  intervalMs?: number;
  topologyIntervalMs?: number;
  nvlinkIntervalMs?: number;
  flipAfter?: number;
  podResources?: PodResourcesClient;
  publisher?: GpuNodePublisher;
  metrics?: AgentMetrics;
  /** With --dra: publishes the node's ResourceSlice each cycle (docs/dra.md). */
  slicePublisher?: SlicePublisher;
  /** Where the PCIe root of a GPU is looked up (default /sys). */
  sysfsRoot?: string;
  /** Owner Node's uid for dry-run output (the publisher reads it itself). */
  log?: (level: 'info' | 'warn', message: string) => void;
  now?: () => number;
}

export interface CycleResult {
  /** Every GPU of the baseline was read this cycle. */
  complete: boolean;
  /** Why not (one line each). */
  problems: string[];
}

export class Agent {
  baseline?: Baseline;
  health: HealthState = emptyHealth();
  readings: GpuReading[] = [];
  assignments: GpuNodeAssignment[] = [];
  lastCycle?: CycleResult;
  cycles = 0;
  private gpuFields: QueryField[] = [...GPU_QUERY_FIELDS];
  /** Requested field name → the name this driver knows (clocks_event_reasons → clocks_throttle_reasons). */
  private aliases = new Map<string, string>();
  private remapEnabled = true;
  private busIds = new Map<number, string>();
  /** Bus id → PCIe root complex, or null where sysfs does not say (looked up once). */
  private pcieRoots = new Map<string, string | null>();
  private sliceFailing = false;
  private podsByUuid = new Map<string, PodRef>();
  /** When PodResources first answered with no GPU pods while some held GPUs (unconfirmed). */
  private emptySinceMs?: number;
  private topologyAt = -Infinity;
  private nvlinkAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly log: NonNullable<AgentOptions['log']>;
  private readonly now: () => number;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
  }

  /** Cycles every interval until stop(); the next one starts only after the last has finished. */
  start(): void {
    const loop = async () => {
      const started = this.now();
      await this.cycle();
      if (this.stopped) return;
      this.timer = setTimeout(loop, Math.max(0, (this.opts.intervalMs ?? 10_000) - (this.now() - started)));
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async smi<T>(command: SmiCommand, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.opts.metrics?.smiCall(command, (performance.now() - t0) / 1000, undefined);
      return r;
    } catch (e) {
      this.opts.metrics?.smiCall(command, (performance.now() - t0) / 1000, e instanceof SmiFailure ? e.kind : 'failed');
      throw e;
    }
  }

  /** Reads topo -m and nvlink -s; returns the NVLink status read, which also counts as this cycle's link reading. */
  private async readTopology(problems: string[]): Promise<NvlinkGpuStatus[] | undefined> {
    let topo: string;
    try {
      topo = (await this.smi('topo', () => this.opts.runner.run(['topo', '-m']))).stdout;
    } catch (e) {
      problems.push(`topology not read: ${(e as Error).message}`);
      return;
    }
    let nvlink: string | undefined;
    try {
      nvlink = (await this.smi('nvlink', () => this.opts.runner.run(['nvlink', '-s']))).stdout;
    } catch (e) {
      problems.push(`NVLink status not read at baseline: ${(e as Error).message}`);
    }
    try {
      const { baseline, problems: p, nvlink: status } = buildBaseline(topo, nvlink);
      problems.push(...p);
      const before = this.baseline;
      if (before && JSON.stringify(before.topology.links) !== JSON.stringify(baseline.topology.links)) {
        this.log('warn', `topology changed: ${JSON.stringify(before.topology.links)} → ${JSON.stringify(baseline.topology.links)}; NVLink health starts over`);
        this.health = { gpus: this.health.gpus, links: {} };
      }
      // Keep the first baseline's NVLinks: a link lost since start must stay visible as degraded.
      if (before && JSON.stringify(before.topology.links) === JSON.stringify(baseline.topology.links)) baseline.activeLinks = before.activeLinks;
      this.baseline = baseline;
      this.topologyAt = this.nvlinkAt = this.now();
      this.remapEnabled = true;
      return status;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      problems.push(`topology not read: ${e.message}`);
    }
    return undefined;
  }

  /** One reading cycle. Never throws for nvidia-smi or kubelet trouble: that goes into problems. */
  async cycle(): Promise<CycleResult> {
    const problems: string[] = [];
    const now = this.now();
    const topologyDue = !this.baseline || now - this.topologyAt >= (this.opts.topologyIntervalMs ?? 300_000);
    const obs: Observation = {};
    if (topologyDue) obs.nvlink = await this.readTopology(problems);
    try {
      const r = await this.smi('query-gpu', () => queryFields(this.opts.runner, '--query-gpu', this.gpuFields));
      for (const d of r.dropped) this.log('warn', `nvidia-smi: ${d.reason}; no longer asking for ${d.field}`);
      const original = (name: string) => [...this.aliases].find(([, a]) => a === name)?.[0] ?? name;
      for (const [req, asked] of r.used) if (req !== asked) this.aliases.set(original(req), asked);
      // Ask this driver's names from now on: one call per cycle, not one failed call first.
      this.gpuFields = r.asked.map((name) => ({ name }));
      obs.query = parseGpuQuery(r.stdout, r.asked, this.aliases);
    } catch (e) {
      const f = e as SmiFailure;
      // A lost GPU fails the call, but the others were printed: read them.
      if (f instanceof SmiFailure && f.kind === 'gpu-lost' && f.stdout.trim() !== '') {
        const asked = this.gpuFields.map((x) => x.name);
        obs.query = parseGpuQuery(`${f.stdout}\n${f.stderr}`, asked, this.aliases);
      } else if (f instanceof SmiFailure && f.kind === 'gpu-lost') {
        obs.query = parseGpuQuery(f.stderr, []);
        obs.queryFailure = f.message;
      } else {
        obs.queryFailure = (e as Error).message;
      }
      problems.push(f.message);
    }
    if (obs.query) problems.push(...obs.query.problems);
    if (this.remapEnabled && obs.query && obs.query.gpus.length > 0) {
      try {
        const r = await this.smi('query-remapped-rows', () => queryFields(this.opts.runner, '--query-remapped-rows', REMAP_QUERY_FIELDS));
        obs.remap = parseRemapQuery(r.stdout, r.asked).byBusId;
      } catch (e) {
        // Pre-Ampere GPUs and old drivers have no row remapping: stop asking until the next topology read.
        const kind = e instanceof SmiFailure ? e.kind : 'failed';
        if (kind === 'unknown-field' || kind === 'invalid-argument' || kind === 'not-supported') {
          this.remapEnabled = false;
          this.log('info', `row remapping not monitored: ${(e as Error).message}`);
        }
      }
    }
    if (this.baseline && !obs.nvlink && now - this.nvlinkAt >= (this.opts.nvlinkIntervalMs ?? 60_000) && this.baseline.nvlinkKnown) {
      try {
        obs.nvlink = parseNvlinkStatus((await this.smi('nvlink', () => this.opts.runner.run(['nvlink', '-s']))).stdout, 'nvidia-smi nvlink -s');
        this.nvlinkAt = now;
      } catch (e) {
        obs.nvlinkFailure = (e as Error).message;
        problems.push(`NVLink status not read: ${obs.nvlinkFailure}`);
      }
    }
    for (const g of obs.query?.gpus ?? []) if (g.pciBusId) this.busIds.set(g.index, g.pciBusId);
    this.readings = obs.query?.gpus ?? [];
    if (this.baseline) {
      const v = verdictsOf(this.baseline, obs, (i) => this.busIds.get(i));
      this.health = nextHealth(this.health, v, { flipAfter: this.opts.flipAfter });
    }
    await this.readAssignments(problems);
    const n = this.baseline?.topology.gpus.length ?? 0;
    const read = new Set(this.readings.map((g) => g.index));
    const missing = [...Array(n).keys()].filter((i) => !read.has(i));
    if (!this.baseline) problems.unshift('no topology yet: the GPUNode cannot be written');
    else if (missing.length > 0) problems.unshift(`GPU(s) ${missing.join(', ')} of ${n} not read this cycle`);
    const complete = this.baseline !== undefined && missing.length === 0;
    this.lastCycle = { complete, problems };
    this.cycles++;
    this.publish();
    return this.lastCycle;
  }

  private async readAssignments(problems: string[]): Promise<void> {
    if (!this.opts.podResources) return;
    try {
      const list = await this.opts.podResources.list();
      const holdsGpus = list.some((d) => isGpuResource(d.resourceName) && d.deviceIds.length > 0);
      if (!holdsGpus && this.assignments.length > 0) {
        // A kubelet that has just restarted answers List with an empty list for a moment before its
        // checkpoint is back (seen on kubelet 1.37): believe "every pod left" only when it holds.
        this.emptySinceMs ??= this.now();
        if (this.now() - this.emptySinceMs < EMPTY_POD_RESOURCES_CONFIRM_MS) {
          problems.push(`kubelet PodResources answered no GPU pods while ${this.assignments.length} held GPUs: keeping them until a later answer confirms it (a restarting kubelet answers empty for a moment)`);
          return;
        }
      }
      this.emptySinceMs = holdsGpus ? undefined : this.emptySinceMs;
      const indexOf = new Map(this.readings.filter((g) => g.uuid).map((g) => [g.uuid!, g.index]));
      const byPod = new Map<string, GpuNodeAssignment>();
      const pods = new Map<string, PodRef>();
      for (const d of list) {
        if (!isGpuResource(d.resourceName)) continue;
        const key = `${d.namespace}/${d.pod}`;
        const a = byPod.get(key) ?? { pod: key, gpus: [], containers: [] };
        const gpus: number[] = [];
        for (const id of d.deviceIds) {
          const uuid = deviceUuid(id);
          pods.set(uuid, { pod: d.pod, namespace: d.namespace, container: d.container });
          const idx = indexOf.get(uuid);
          if (idx !== undefined && !gpus.includes(idx)) gpus.push(idx);
        }
        const c = a.containers!.find((x) => x.name === d.container);
        if (c) c.gpus = [...new Set([...c.gpus, ...gpus])].sort((x, y) => x - y);
        else a.containers!.push({ name: d.container, gpus: gpus.sort((x, y) => x - y) });
        a.gpus = [...new Set([...a.gpus, ...gpus])].sort((x, y) => x - y);
        byPod.set(key, a);
      }
      this.assignments = [...byPod.values()].sort((x, y) => x.pod.localeCompare(y.pod));
      this.podsByUuid = pods;
    } catch (e) {
      // Keep the last known assignments: a kubelet restart must not look like every pod leaving.
      problems.push((e as Error).message);
    }
  }

  /** Degraded NVLink pairs: a GPU's link down degrades its NVLink to every NVLink peer (which peer is unknown without `nvlink -R`). */
  degradedPairs(): GpuNodeDegradedLink[] {
    if (!this.baseline) return [];
    const pairs = new Map<string, GpuNodeDegradedLink>();
    for (const d of degradedLinksOf(this.health)) {
      const peers = nvPeers(this.baseline.topology, d.gpu);
      for (const p of peers) {
        const [a, b] = d.gpu < p ? [d.gpu, p] : [p, d.gpu];
        const key = `${a}-${b}`;
        const e = pairs.get(key) ?? { gpus: [a, b], reasons: [] };
        for (const r of d.reasons) if (!e.reasons.includes(r)) e.reasons.push(r);
        pairs.set(key, e);
      }
    }
    return [...pairs.values()].sort((x, y) => x.gpus[0] - y.gpus[0] || x.gpus[1] - y.gpus[1]);
  }

  /** The baseline topology with this cycle's uuid, model and memory, and each GPU's health. */
  private current(): { topology: Topology; health: Record<number, { health: 'Healthy' | 'Unhealthy' | 'Unknown'; reasons: string[] }> } | undefined {
    if (!this.baseline) return undefined;
    const topology = structuredClone(this.baseline.topology);
    delete topology.name;
    for (const g of topology.gpus) {
      const r = this.readings.find((x) => x.index === g.index);
      if (r?.uuid) g.uuid = r.uuid;
      if (r?.name) g.model = r.name;
      if (r?.memoryTotalMiB !== undefined) g.memoryMiB = r.memoryTotalMiB;
    }
    const health: Record<number, { health: 'Healthy' | 'Unhealthy' | 'Unknown'; reasons: string[] }> = {};
    for (const g of topology.gpus) {
      const h = gpuHealth(this.health, g.index);
      health[g.index] = { health: h.status, reasons: h.reasons };
    }
    return { topology, health };
  }

  /** The GPUNode as it would be written now; undefined before the topology was read. */
  gpuNode(nodeUid?: string): GpuNodeObject | undefined {
    const now = this.current();
    if (!now) return undefined;
    return gpuNodeObject(this.opts.nodeName, now.topology, {
      nodeUid,
      heartbeat: new Date(this.now()),
      health: now.health,
      pciBusIds: Object.fromEntries(this.busIds),
      degradedLinks: this.degradedPairs(),
      assignments: this.assignments,
    });
  }

  /** The ResourceSlice as it would be published now (generation and owner are the publisher's); undefined before the topology was read. */
  resourceSlice(): ResourceSliceObject | undefined {
    const now = this.current();
    if (!now) return undefined;
    const pcieRoots: Record<number, string> = {};
    for (const [i, bus] of this.busIds) {
      if (!this.pcieRoots.has(bus)) this.pcieRoots.set(bus, pcieRootOf(bus, this.opts.sysfsRoot) ?? null);
      const root = this.pcieRoots.get(bus);
      if (root) pcieRoots[i] = root;
    }
    return resourceSliceObject(this.opts.nodeName, now.topology, { health: now.health, degradedLinks: this.degradedPairs(), pciBusIds: Object.fromEntries(this.busIds), pcieRoots });
  }

  /** Publishes the slice; a failure is logged once until a write works again (the next cycle retries). */
  private publishSlice(): void {
    const slice = this.opts.slicePublisher && this.resourceSlice();
    if (!slice) return;
    this.opts.slicePublisher!.publish(slice).then(
      () => {
        if (this.sliceFailing) this.log('info', `ResourceSlice ${slice.metadata.name} written again`);
        this.sliceFailing = false;
      },
      (e: Error) => {
        if (!this.sliceFailing) this.log('warn', `ResourceSlice ${slice.metadata.name}: ${e.message}; retrying every cycle`);
        this.sliceFailing = true;
      },
    );
  }

  private publish(): void {
    const obj = this.gpuNode();
    this.opts.metrics?.setSnapshot({
      readings: this.readings,
      health: this.health,
      gpuCount: this.baseline?.topology.gpus.length ?? 0,
      podsByUuid: this.podsByUuid,
      degradedPairs: obj?.status?.degradedLinks?.length ?? 0,
    });
    if (obj?.status) this.opts.publisher?.update(obj.status);
    this.publishSlice();
  }
}
