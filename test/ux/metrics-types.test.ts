/**
 * Metrics follow Prometheus and dcgm-exporter conventions (issue 25): counts since start are
 * counters named `_total`, the ECC total is a counter as in dcgm-exporter's default-counters.csv,
 * and the extender exports per-node free GPUs and the largest free NVLink-connected set.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { emptyHealth } from '../../src/agent/health.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { parseGpuQuery } from '../../src/agent/observe.js';
import type { PublisherStats } from '../../src/agent/publisher.js';
import { registerClusterMetrics } from '../../src/extender/cluster-metrics.js';
import { getPreset } from '../../src/topology/index.js';
import { MemoryCluster, withUuids } from '../extender/memory-cluster.js';

/** name → TYPE line value. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Our own series: a counter ends in _total, nothing else does. */
function expectConventions(t: Map<string, string>): void {
  for (const [name, type] of t) {
    if (!name.startsWith('linkpack_')) continue;
    if (type === 'counter') expect(name, `${name} is a counter`).toMatch(/_total$/);
    else expect(name, `${name} is a ${type}`).not.toMatch(/_total$/);
  }
}

describe('agent metrics types', () => {
  it('the ECC total is a counter, publisher counts since start are _total counters', async () => {
    const m = new AgentMetrics({ hostname: 'gpu-node-1' });
    const reading = parseGpuQuery('0, GPU-aaaa, NVIDIA H100 80GB HBM3, 3', ['index', 'uuid', 'name', 'ecc.errors.uncorrected.volatile.total']);
    m.setSnapshot({ readings: reading.gpus, health: emptyHealth(), gpuCount: 1, podsByUuid: new Map(), degradedPairs: 0 });
    const stats = { changes: 4, heartbeats: 6, failures: 2, failingFor: 1 } as PublisherStats;
    m.watchPublisher(() => stats);
    const text = await m.registry.metrics();
    const t = types(text);
    expect(t.get('DCGM_FI_DEV_ECC_DBE_VOL_TOTAL')).toBe('counter');
    expect(text).toMatch(/^DCGM_FI_DEV_ECC_DBE_VOL_TOTAL\{gpu="0",[^}]*\} 3$/m);
    expect(t.get('DCGM_FI_DEV_GPU_TEMP')).toBe('gauge');
    expect(t.get('linkpack_gpunode_status_writes_total')).toBe('counter');
    expect(t.get('linkpack_gpunode_publish_failures_total')).toBe('counter');
    expect(t.get('linkpack_gpunode_publish_failing')).toBe('gauge');
    expect(text).toMatch(/^linkpack_gpunode_status_writes_total 10$/m);
    expect(text).toMatch(/^linkpack_gpunode_publish_failures_total 2$/m);
    // A scrape again does not add the totals twice.
    expect(await m.registry.metrics()).toMatch(/^linkpack_gpunode_status_writes_total 10$/m);
    expectConventions(t);
  });
});

describe('extender per-node series', () => {
  it('free GPUs and the largest free NVLink-connected set, per usable node', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('dgx1', getPreset('dgx1-v100')!);
    cluster.addNode('h100', getPreset('hgx-h100')!, { unhealthy: { 7: 'XID 79' } });
    // DGX-1 with 0,2,5,7 in use: 1,3,4,6 free, one island but no connected 4-set (pairs 1-3, 4-6).
    cluster.hold({ uid: 'a', namespace: 'ml', name: 'a', node: 'dgx1', gpus: [0, 2, 5, 7].map((index) => ({ index })), milliPerGpu: 1000 });
    cluster.hold({ uid: 'b', namespace: 'ml', name: 'b', node: 'h100', gpus: [0, 1, 2].map((index) => ({ index })), milliPerGpu: 1000 });
    const registry = new Registry();
    registerClusterMetrics(registry, { cluster, now: () => 0, profile: () => undefined });
    const text = await registry.metrics();
    const t = types(text);
    expect(t.get('linkpack_node_free_gpus')).toBe('gauge');
    expect(t.get('linkpack_node_largest_free_nvlink_set')).toBe('gauge');
    expect(text).toMatch(/^linkpack_node_free_gpus\{node="dgx1"\} 4$/m);
    expect(text).toMatch(/^linkpack_node_largest_free_nvlink_set\{node="dgx1"\} 2$/m);
    expect(text).toMatch(/^linkpack_node_free_gpus\{node="h100"\} 4$/m);
    expect(text).toMatch(/^linkpack_node_largest_free_nvlink_set\{node="h100"\} 4$/m);
    expectConventions(t);
  });
});

describe('the web view says the same', () => {
  it('largest free NVLink set is a connected set, not the free GPUs of one island', async () => {
    const { uiState } = await import('../../src/extender/ui.js');
    const cluster = new MemoryCluster();
    cluster.addNode('dgx1', getPreset('dgx1-v100')!);
    cluster.hold({ uid: 'a', namespace: 'ml', name: 'a', node: 'dgx1', gpus: [0, 2, 5, 7].map((index) => ({ index })), milliPerGpu: 1000 });
    expect(uiState(cluster, 0, []).nodes[0]!.largestFreeNvlinkSet).toBe(2);
  });
});

describe('assignments that cannot be true, counted in cluster mode', () => {
  it('a GPU held twice, an unknown GPU and a foreign UUID each count by kind', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode('h100', withUuids(getPreset('hgx-h100')!, 'h'));
    cluster.hold({ uid: 'a', namespace: 'ml', name: 'a', node: 'h100', gpus: [{ index: 0 }], milliPerGpu: 1000 });
    cluster.hold({ uid: 'b', namespace: 'ml', name: 'b', node: 'h100', gpus: [{ index: 0 }, { index: 9 }], milliPerGpu: 1000 });
    cluster.hold({ uid: 'c', namespace: 'ml', name: 'c', node: 'h100', gpus: [{ index: 1, uuid: 'GPU-elsewhere' }], milliPerGpu: 1000 });
    const registry = new Registry();
    registerClusterMetrics(registry, { cluster, now: () => 0, profile: () => undefined });
    const text = await registry.metrics();
    expect(text).toMatch(/^linkpack_cluster_assignment_problems\{kind="held-twice"\} 1$/m);
    expect(text).toMatch(/^linkpack_cluster_assignment_problems\{kind="unknown-gpu"\} 1$/m);
    expect(text).toMatch(/^linkpack_cluster_assignment_problems\{kind="uuid-mismatch"\} 1$/m);
  });
});
