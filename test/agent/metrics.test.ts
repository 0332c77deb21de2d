import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyHealth, nextHealth } from '../../src/agent/health.js';
import { AgentMetrics, metricsServer } from '../../src/agent/metrics.js';
import { parseGpuQuery } from '../../src/agent/observe.js';
import { prometheusSkip, startPrometheus, type Prom } from './prometheus.js';

const FIELDS = ['index', 'uuid', 'name', 'pci.bus_id', 'driver_version', 'memory.used', 'memory.free', 'utilization.gpu', 'temperature.gpu', 'power.draw', 'clocks.current.sm'];
const reading = parseGpuQuery(
  ['0, GPU-aaaa, NVIDIA H100 80GB HBM3, 00000000:53:00.0, 580.105.08, 1024, 80535, 97, 64, 612.5, 1980', '1, GPU-bbbb, NVIDIA H100 80GB HBM3, 00000000:64:00.0, 580.105.08, 0, 81559, 0, 30, [N/A], 345'].join('\n'),
  FIELDS,
);

function metricsFor(hostnameLabel?: 'Hostname' | 'hostname') {
  const m = new AgentMetrics({ hostname: 'gpu-node-1', hostnameLabel });
  let health = nextHealth(emptyHealth(), { gpus: { 0: { status: 'Healthy', reasons: [] }, 1: { status: 'Unhealthy', reasons: ['x'] } }, links: { '1:3': { status: 'Unhealthy', reasons: ['down'] } } }, { flipAfter: 1 });
  health = nextHealth(health, { gpus: {} });
  m.setSnapshot({ readings: reading.gpus, health, gpuCount: 3, podsByUuid: new Map([['GPU-aaaa', { pod: 'train-0', namespace: 'ml', container: 'main' }]]), degradedPairs: 2 });
  m.smiCall('query-gpu', 0.04, undefined);
  m.smiCall('query-gpu', 10, 'timeout');
  return m;
}

describe('agent metrics exposition', () => {
  it('speaks dcgm-exporter: names, GPU labels, pod labels only where a pod holds the GPU, no line for a blank value', async () => {
    const text = await metricsFor().registry.metrics();
    expect(text).toContain('# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).');
    expect(text).toMatch(/^DCGM_FI_DEV_GPU_TEMP\{gpu="0",device="nvidia0",Hostname="gpu-node-1",UUID="GPU-aaaa",pci_bus_id="00000000:53:00.0",modelName="NVIDIA H100 80GB HBM3",DCGM_FI_DRIVER_VERSION="580.105.08",container="main",namespace="ml",pod="train-0"\} 64$/m);
    expect(text).toMatch(/^DCGM_FI_DEV_GPU_TEMP\{gpu="1",[^}]*\} 30$/m);
    expect(text).not.toMatch(/^DCGM_FI_DEV_GPU_TEMP\{gpu="1",[^}]*pod=/m);
    expect(text).not.toMatch(/^DCGM_FI_DEV_POWER_USAGE\{gpu="1"/m);
    expect(text).toMatch(/^linkpack_gpu_health\{gpu="2",device="nvidia2",Hostname="gpu-node-1",state="Unknown"\} 1$/m);
    expect(text).toMatch(/^linkpack_nvidia_smi_calls_total\{command="query-gpu",result="timeout"\} 1$/m);
  });

  it('uses the lower-case hostname label on request', async () => {
    const text = await metricsFor('hostname').registry.metrics();
    expect(text).toMatch(/^DCGM_FI_DEV_FB_USED\{gpu="0",device="nvidia0",hostname="gpu-node-1",/m);
    expect(text).not.toContain('Hostname=');
  });
});

describe.skipIf(prometheusSkip !== undefined)('a real Prometheus scrapes the agent and answers PromQL', () => {
  let prom: Prom;
  let server: ReturnType<typeof metricsServer>;
  beforeAll(async () => {
    server = metricsServer(metricsFor(), () => ({ ok: true, detail: 'ok' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    prom = await startPrometheus([`127.0.0.1:${(server.address() as AddressInfo).port}`]);
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
    await new Promise((r) => server?.close(r));
  });

  it('dashboard queries return the GPU values with their labels', async () => {
    let temps: Awaited<ReturnType<Prom['query']>> = [];
    const deadline = Date.now() + 30_000;
    while (temps.length < 2 && Date.now() < deadline) {
      temps = await prom.query('DCGM_FI_DEV_GPU_TEMP{job="linkpack-agent"}');
      if (temps.length < 2) await new Promise((r) => setTimeout(r, 250));
    }
    expect(temps.map((t) => [t.metric.gpu, t.value[1]]).sort()).toEqual([['0', '64'], ['1', '30']]);
    expect((await prom.query('avg(DCGM_FI_DEV_GPU_TEMP)'))[0].value[1]).toBe('47');
    expect((await prom.query('sum(DCGM_FI_DEV_POWER_USAGE)'))[0].value[1]).toBe('612.5');
    expect((await prom.query('DCGM_FI_DEV_SM_CLOCK{gpu="0"} * 1000000'))[0].value[1]).toBe('1980000000');
    const byPod = await prom.query('DCGM_FI_DEV_GPU_UTIL{namespace="ml",pod="train-0",container="main"}');
    expect(byPod.map((r) => [r.metric.UUID, r.value[1]])).toEqual([['GPU-aaaa', '97']]);
    const unhealthy = await prom.query('linkpack_gpu_health{state!="Healthy"} == 1');
    expect(unhealthy.map((r) => [r.metric.gpu, r.metric.state]).sort()).toEqual([['1', 'Unhealthy'], ['2', 'Unknown']]);
    expect((await prom.query('sum(linkpack_nvlink_degraded)'))[0].value[1]).toBe('1');
    expect((await prom.query('sum by (result) (linkpack_nvidia_smi_calls_total)')).map((r) => r.metric.result).sort()).toEqual(['ok', 'timeout']);
  }, 60_000);
});
