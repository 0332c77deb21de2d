/**
 * /metrics in dcgm-exporter's vocabulary, so existing GPU dashboards (Grafana 12239) work: its
 * metric names and GPU labels (gpu, UUID, pci_bus_id, device, modelName, Hostname) plus
 * pod/namespace/container from the kubelet, and linkpack_* series for health, degraded NVLinks,
 * nvidia-smi calls and publishing. Series come from the last reading: a GPU that was not read has
 * no DCGM series (as dcgm-exporter prints no line for a blank value), never a stale one.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthState, HealthStatus } from './health.js';
import type { GpuReading } from './observe.js';
import type { PublisherStats } from './publisher.js';

export type SmiCommand = 'query-gpu' | 'query-remapped-rows' | 'topo' | 'nvlink';

export interface PodRef {
  pod: string;
  namespace: string;
  container: string;
}

export interface MetricsSnapshot {
  /** GPUs read in the last cycle. */
  readings: readonly GpuReading[];
  health: HealthState;
  /** GPU count of the baseline (health series for GPUs never read). */
  gpuCount: number;
  /** UUID → the container holding it (last wins for shared GPUs, as dcgm-exporter does). */
  podsByUuid: ReadonlyMap<string, PodRef>;
  /** Degraded NVLink pairs now. */
  degradedPairs: number;
}

export interface AgentMetricsOptions {
  hostname: string;
  /** `Hostname` (dcgm-exporter releases) or `hostname` (its unreleased rename, PR #655). */
  hostnameLabel?: 'Hostname' | 'hostname';
}

const GPU_LABELS = ['gpu', 'UUID', 'pci_bus_id', 'device', 'modelName', 'DCGM_FI_DRIVER_VERSION', 'container', 'namespace', 'pod'] as const;

/**
 * dcgm-exporter field → reading, unit and type as dcgm-exporter reports it (etc/default-counters.csv:
 * the ECC totals are counters there, so rate() and increase() work on either exporter).
 */
const DCGM_FIELDS: readonly { name: string; help: string; type?: 'counter'; value: (r: GpuReading) => number | undefined }[] = [
  { name: 'DCGM_FI_DEV_SM_CLOCK', help: 'SM clock frequency (in MHz).', value: (r) => r.smClockMHz },
  { name: 'DCGM_FI_DEV_MEM_CLOCK', help: 'Memory clock frequency (in MHz).', value: (r) => r.memClockMHz },
  { name: 'DCGM_FI_DEV_GPU_TEMP', help: 'GPU temperature (in C).', value: (r) => r.temperatureC },
  { name: 'DCGM_FI_DEV_MEMORY_TEMP', help: 'Memory temperature (in C).', value: (r) => r.memoryTemperatureC },
  { name: 'DCGM_FI_DEV_POWER_USAGE', help: 'Power draw (in W).', value: (r) => r.powerW },
  { name: 'DCGM_FI_DEV_GPU_UTIL', help: 'GPU utilization (in %).', value: (r) => r.gpuUtilPct },
  { name: 'DCGM_FI_DEV_MEM_COPY_UTIL', help: 'Memory utilization (in %).', value: (r) => r.memUtilPct },
  { name: 'DCGM_FI_DEV_FB_FREE', help: 'Framebuffer memory free (in MiB).', value: (r) => r.memoryFreeMiB },
  { name: 'DCGM_FI_DEV_FB_USED', help: 'Framebuffer memory used (in MiB).', value: (r) => r.memoryUsedMiB },
  { name: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', help: 'Total number of double-bit volatile ECC errors.', type: 'counter', value: (r) => r.eccUncorrectedVolatile },
];

const STATES: readonly HealthStatus[] = ['Healthy', 'Unhealthy', 'Unknown'];

export class AgentMetrics {
  readonly registry = new Registry();
  private snapshot?: MetricsSnapshot;
  private publisherStats?: () => PublisherStats;
  private readonly smiCalls: Counter<'command' | 'result'>;
  private readonly smiSeconds: Histogram<'command'>;
  private readonly smiLastSuccess: Gauge<'command'>;

  constructor(opts: AgentMetricsOptions) {
    const host = opts.hostnameLabel ?? 'Hostname';
    const labelNames = [...GPU_LABELS, host];
    const self = this;
    const gpuLabels = (r: { index: number; uuid?: string; pciBusId?: string; name?: string; driverVersion?: string }): Record<string, string> => {
      const l: Record<string, string> = { gpu: String(r.index), device: `nvidia${r.index}`, [host]: opts.hostname };
      if (r.uuid) l.UUID = r.uuid;
      if (r.pciBusId) l.pci_bus_id = r.pciBusId;
      if (r.name) l.modelName = r.name;
      if (r.driverVersion) l.DCGM_FI_DRIVER_VERSION = r.driverVersion;
      const pod = r.uuid ? self.snapshot?.podsByUuid.get(r.uuid) : undefined;
      if (pod) Object.assign(l, { container: pod.container, namespace: pod.namespace, pod: pod.pod });
      return l;
    };
    for (const g of DCGM_FIELDS) {
      // Each scrape re-states the reading: a counter's value is the device's own running total.
      const each = (put: (labels: Record<string, string>, v: number) => void) => {
        for (const r of self.snapshot?.readings ?? []) {
          const v = g.value(r);
          if (v !== undefined) put(gpuLabels(r), v);
        }
      };
      const config = { name: g.name, help: g.help, labelNames, registers: [this.registry] };
      if (g.type === 'counter') {
        new Counter({
          ...config,
          collect() {
            this.reset();
            each((l, v) => this.inc(l, Math.max(0, v)));
          },
        });
      } else {
        new Gauge({
          ...config,
          collect() {
            this.reset();
            each((l, v) => this.set(l, v));
          },
        });
      }
    }
    new Gauge({
      name: 'linkpack_gpu_health',
      help: 'Health of each GPU as the agent publishes it: 1 for the current state (Healthy, Unhealthy, Unknown), 0 for the others.',
      labelNames: [...labelNames, 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        const s = self.snapshot;
        if (!s) return;
        for (let i = 0; i < s.gpuCount; i++) {
          const r = s.readings.find((x) => x.index === i) ?? { index: i };
          const cur = s.health.gpus[i]?.status ?? 'Unknown';
          for (const st of STATES) this.set({ ...gpuLabels(r), state: st }, st === cur ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'linkpack_nvlink_degraded',
      help: 'NVLinks active at baseline and inactive now (1 per link; link="any" = no active link at all).',
      labelNames: ['gpu', 'link', host],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, u] of Object.entries(self.snapshot?.health.links ?? {})) {
          const [gpu, link] = key.split(':');
          this.set({ gpu, link, [host]: opts.hostname }, u.status === 'Unhealthy' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'linkpack_nvlink_degraded_pairs',
      help: 'GPU pairs published as degraded (treated as having no NVLink by the scheduler).',
      labelNames: [host],
      registers: [this.registry],
      collect() {
        this.reset();
        if (self.snapshot) this.set({ [host]: opts.hostname }, self.snapshot.degradedPairs);
      },
    });
    this.smiCalls = new Counter({ name: 'linkpack_nvidia_smi_calls_total', help: 'nvidia-smi calls by command and result (ok or the failure kind).', labelNames: ['command', 'result'], registers: [this.registry] });
    this.smiSeconds = new Histogram({
      name: 'linkpack_nvidia_smi_duration_seconds',
      help: 'Duration of nvidia-smi calls.',
      labelNames: ['command'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.smiLastSuccess = new Gauge({ name: 'linkpack_nvidia_smi_last_success_timestamp_seconds', help: 'When each nvidia-smi command last succeeded.', labelNames: ['command'], registers: [this.registry] });
    // Counts since start are counters (rate() and resets work); "failing now" is a gauge.
    const pubCounter = (name: string, help: string, pick: (s: PublisherStats) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = self.publisherStats?.();
          if (!s) return;
          this.reset();
          this.inc(pick(s));
        },
      });
    pubCounter('linkpack_gpunode_status_writes_total', 'GPUNode status writes (changes and heartbeats) since start.', (s) => s.changes + s.heartbeats);
    pubCounter('linkpack_gpunode_publish_failures_total', 'Failed GPUNode publish attempts since start.', (s) => s.failures);
    new Gauge({
      name: 'linkpack_gpunode_publish_failing',
      help: 'Consecutive failed GPUNode publish attempts now (0 = up to date or idle).',
      registers: [this.registry],
      collect() {
        const s = self.publisherStats?.();
        if (s) this.set(s.failingFor);
      },
    });
  }

  setSnapshot(s: MetricsSnapshot): void {
    this.snapshot = s;
  }

  watchPublisher(stats: () => PublisherStats): void {
    this.publisherStats = stats;
  }

  /** Record one nvidia-smi call (failure = its kind; undefined = success). */
  smiCall(command: SmiCommand, seconds: number, failure: string | undefined): void {
    this.smiCalls.inc({ command, result: failure ?? 'ok' });
    this.smiSeconds.observe({ command }, seconds);
    if (failure === undefined) this.smiLastSuccess.set({ command }, Date.now() / 1000);
  }
}

/** `/metrics` and `/healthz` on plain node:http (small: the agent runs on every GPU node). */
export function metricsServer(metrics: AgentMetrics, healthy: () => { ok: boolean; detail: string }): Server {
  return createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${e.message}\n`);
        },
      );
      return;
    }
    if (req.method === 'GET' && (url === '/healthz' || url === '/readyz')) {
      const h = healthy();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(`${h.detail}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics or /healthz\n');
  });
}
