/**
 * Informers end to end: the real client-node against the test API server, feeding a ClusterCache.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import { ClusterInformers } from '../../src/cluster/informers.js';
import { TestApiServer, type TestApiServerOptions } from '../support/apiserver.js';
import { gpuNodeJson, podJson } from '../support/cluster-fixtures.js';
import { waitFor } from '../support/wait.js';

const fastBackoff = { initialMs: 5, maxMs: 50, jitter: 0.5 };

interface Rig {
  api: TestApiServer;
  cache: ClusterCache;
  inf: ClusterInformers;
  logs: string[];
}
let rigs: Rig[] = [];

async function rig(opts: TestApiServerOptions = {}, setup?: (api: TestApiServer) => void): Promise<Rig> {
  const api = await TestApiServer.start(opts);
  setup?.(api);
  const cache = new ClusterCache();
  const logs: string[] = [];
  const inf = new ClusterInformers({ kubeConfig: api.kubeConfig(), cache, backoff: fastBackoff, log: (l, m) => logs.push(`${l}: ${m}`) });
  const r = { api, cache, inf, logs };
  rigs.push(r);
  return r;
}

afterEach(async () => {
  for (const r of rigs) {
    await r.inf.stop();
    await r.api.close();
  }
  rigs = [];
});

function free(cache: ClusterCache, node: string): readonly number[] | string {
  const l = cache.lookupNode(node, Date.now());
  return l.ok ? l.state.freeMilli : l.reason;
}

const idle = [1000, 1000, 1000, 1000];

describe('ClusterInformers', () => {
  it('lists both kinds, becomes synced, then follows creates, updates and deletes', async () => {
    const { api, cache, inf } = await rig({}, (api) => {
      api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x'));
      api.create('pods', podJson('ml', 'a', { node: 'n1', gpus: [0] }));
    });
    expect(cache.synced()).toBe(false);
    await inf.start();
    expect(inf.synced()).toBe(true);
    expect(free(cache, 'n1')).toEqual([0, 1000, 1000, 1000]);

    api.create('gpunodes', gpuNodeJson('n2', 'pcie-4x'));
    api.create('pods', podJson('ml', 'b', { node: 'n2', gpus: [1, 2] }));
    api.modify('pods', 'ml', 'a', (p) => (p.status.phase = 'Succeeded'));
    await waitFor(() => JSON.stringify(free(cache, 'n2')) === '[1000,0,0,1000]' && free(cache, 'n1')[0] === 1000, 'cache to follow the watch');
    api.modify('gpunodes', undefined, 'n1', (g) => (g.status.gpus[3].health = 'Unhealthy'));
    await waitFor(() => {
      const l = cache.lookupNode('n1', Date.now());
      return l.ok && l.state.unhealthyMask === 8;
    }, 'health change');
    api.remove('gpunodes', undefined, 'n2');
    api.remove('pods', 'ml', 'b');
    await waitFor(() => cache.nodeNames().join() === 'n1' && cache.getPod('ml', 'b') === undefined, 'deletes');
    expect(inf.stats().pods.lists).toBe(1);
  });

  it('Nodes give the CPU and memory side: allocatable minus every active pod\'s requests, kept current', async () => {
    const node = (cpu: string, memory: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', resourceVersion: '1' }, status: { allocatable: { cpu, memory, pods: '110' } } });
    const web = podJson('ml', 'web', { node: 'n1', gpuCount: 0 });
    web.spec.containers[0].resources = { requests: { cpu: '1500m', memory: '2Gi' } };
    const { api, cache, inf } = await rig({}, (api) => {
      api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x'));
      api.create('nodes', node('16', '64Gi'));
      api.create('pods', web);
    });
    await inf.start();
    const cpuMem = () => {
      const l = cache.lookupNode('n1', Date.now());
      return l.ok ? [l.state.cpuTotalMilli, l.state.cpuFreeMilli, l.state.memoryFreeMiB] : l.reason;
    };
    expect(cpuMem()).toEqual([16000, 14500, 62 * 1024]);
    const train = podJson('ml', 'train', { node: 'n1', gpus: [0] });
    train.spec.containers[0].resources.requests = { cpu: '4', memory: '1024Mi' };
    api.create('pods', train);
    await waitFor(() => JSON.stringify(cpuMem()) === JSON.stringify([16000, 10500, 61 * 1024]), 'a new pod takes its requests');
    api.modify('pods', 'ml', 'web', (p) => (p.status.phase = 'Succeeded'));
    await waitFor(() => JSON.stringify(cpuMem()) === JSON.stringify([16000, 12000, 63 * 1024]), 'a finished pod gives them back');
    api.modify('nodes', undefined, 'n1', (n) => (n.status.allocatable.cpu = '32'));
    await waitFor(() => JSON.stringify(cpuMem()) === JSON.stringify([32000, 28000, 63 * 1024]), 'allocatable change');
    api.remove('nodes', undefined, 'n1');
    await waitFor(() => {
      const l = cache.lookupNode('n1', Date.now());
      return l.ok && l.state.cpuFreeMilli === undefined;
    }, 'without its Node the GPU view stays, CPU is unknown');
    expect(inf.stats().nodes.lists).toBe(1);
  });

  it('resumes a broken watch from the last resourceVersion without relisting, seeing what happened meanwhile', async () => {
    const { api, cache, inf } = await rig({}, (api) => api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x')));
    await inf.start();
    await waitFor(() => api.openWatchCount() === 3, 'all three watches open');
    api.create('pods', podJson('ml', 'a', { node: 'n1', gpus: [0] }));
    await waitFor(() => free(cache, 'n1')[0] === 0, 'first pod');
    const lastSeen = api.resourceVersion();
    expect(api.closeWatches({ abrupt: true })).toBe(3);
    api.create('pods', podJson('ml', 'b', { node: 'n1', gpus: [3] }));
    await waitFor(() => free(cache, 'n1')[3] === 0, 'pod created while disconnected');
    const podWatches = api.requests.filter((r) => r.watch && r.path === '/api/v1/pods');
    expect(podWatches.at(-1)!.query.resourceVersion).toBe(lastSeen);
    expect(api.requests.filter((r) => !r.watch && r.path === '/api/v1/pods')).toHaveLength(1);
    expect(inf.stats().pods.watchFailures).toBeGreaterThanOrEqual(1);
    expect(inf.synced()).toBe(true);
  });

  for (const mode of ['event', 'http'] as const) {
    it(`relists after history compaction (410 as ${mode}) and ends up exactly right`, async () => {
      const { api, cache, inf } = await rig({ expiredWatch: mode }, (api) => {
        api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x'));
        api.create('gpunodes', gpuNodeJson('n2', 'pcie-4x'));
        api.create('pods', podJson('ml', 'stays', { node: 'n1', gpus: [0] }));
        api.create('pods', podJson('ml', 'goes', { node: 'n1', gpus: [1] }));
      });
      await inf.start();
      await waitFor(() => api.openWatchCount() === 3, 'watches open');
      // While disconnected: a delete, a create, a GPUNode gone — then history is compacted away.
      api.closeWatches({ abrupt: false });
      api.remove('pods', 'ml', 'goes');
      api.create('pods', podJson('ml', 'new', { node: 'n2', gpus: [2, 3] }));
      api.remove('gpunodes', undefined, 'n1');
      api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x'));
      api.remove('gpunodes', undefined, 'n2');
      api.create('gpunodes', gpuNodeJson('n3', 'pcie-4x'));
      api.compact();
      await waitFor(() => inf.stats().pods.relistsAfterExpired >= 1 && inf.stats().gpuNodes.relistsAfterExpired >= 1 && inf.synced(), 'relists');
      await waitFor(() => cache.nodeNames().join() === 'n1,n3', 'GPUNodes relisted');
      expect(free(cache, 'n1')).toEqual([0, 1000, 1000, 1000]);
      expect(free(cache, 'n3')).toEqual(idle);
      expect(cache.getPod('ml', 'goes')).toBeUndefined();
      expect(cache.assignmentsOn('n2').map((a) => a.name)).toEqual(['new']);
      expect(api.requests.filter((r) => !r.watch && r.path === '/api/v1/pods')).toHaveLength(2);
    });
  }

  it('reports not synced while a relist is in progress', async () => {
    const { api, cache, inf } = await rig({}, (api) => api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x')));
    await inf.start();
    await waitFor(() => api.openWatchCount() === 3, 'watches open');
    api.addFault({ method: 'GET', path: /^\/api\/v1\/pods$/, watch: false, delayMs: 300, times: 1 });
    api.closeWatches();
    api.create('pods', podJson('ml', 'x', { node: 'n1', gpus: [1] }));
    api.compact();
    await waitFor(() => !inf.synced(), 'readiness to drop');
    expect(free(cache, 'n1')[1]).toBe(1000);
    await waitFor(() => inf.synced(), 'readiness to come back', 3000);
    expect(free(cache, 'n1')[1]).toBe(0);
  });

  it('reports not synced after repeated watch failures, and recovers when the server does', async () => {
    const { api, inf, logs } = await rig({}, (api) => api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x')));
    await inf.start();
    await waitFor(() => api.openWatchCount() === 3, 'watches open');
    api.addFault({ path: /gpunodes$/, watch: true, status: 503, times: 4 });
    api.closeWatches();
    await waitFor(() => !inf.synced(), 'out of sync after failures');
    await waitFor(() => inf.synced() && api.openWatchCount('gpunodes') === 1, 'back in sync');
    expect(logs.some((l) => /^warn: watch gpunodes: Service Unavailable/.test(l))).toBe(true);
    // Exponential backoff: the retries were spaced out, not hammered.
    const failed = api.requests.filter((r) => r.watch && r.path.endsWith('gpunodes') && r.status === 503);
    expect(failed).toHaveLength(4);
    // Delays double per consecutive failure from 5 ms (jitter takes off at most half): by the
    // fourth failure in a row the wait is ≥ 20 ms, so this gap cannot be a hot loop.
    expect(failed[3]!.at - failed[2]!.at).toBeGreaterThanOrEqual(9);
  });

  it('resumes from a BOOKMARK version when nothing it watches has changed', async () => {
    const { api, inf } = await rig({}, (api) => api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x')));
    await inf.start();
    await waitFor(() => api.openWatchCount() === 3, 'watches open');
    // GPUNode churn moves the global version; the pod watch only learns it from a bookmark.
    for (let i = 0; i < 3; i++) api.modify('gpunodes', undefined, 'n1', (g) => (g.status.heartbeatTime = new Date(Date.now() + i * 1000).toISOString().replace(/\.\d+Z$/, 'Z')));
    api.bookmark();
    const bookmarked = api.resourceVersion();
    await waitFor(() => inf.stats().pods.resourceVersion === bookmarked, 'bookmark seen');
    api.closeWatches();
    await waitFor(() => api.openWatchCount('pods') === 1, 'pod watch back');
    expect(api.requests.filter((r) => r.watch && r.path === '/api/v1/pods').at(-1)!.query).toMatchObject({ resourceVersion: bookmarked, allowWatchBookmarks: 'true' });
  });

  it('keeps counting a terminating pod until it is gone (graceful delete through client-node)', async () => {
    const { api, cache, inf } = await rig({ gracefulPodDelete: true }, (api) => {
      api.create('gpunodes', gpuNodeJson('n1', 'pcie-4x'));
      api.create('pods', podJson('ml', 'a', { node: 'n1', gpus: [2] }));
    });
    await inf.start();
    await api.kubeConfig().makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace: 'ml', name: 'a' });
    await waitFor(() => Boolean((cache.getPod('ml', 'a') as { metadata: { deletionTimestamp?: string } } | undefined)?.metadata.deletionTimestamp), 'terminating pod seen');
    expect(free(cache, 'n1')).toEqual([1000, 1000, 0, 1000]);
    api.remove('pods', 'ml', 'a');
    await waitFor(() => free(cache, 'n1')[2] === 1000, 'GPU freed once the pod is gone');
  });

  it('keeps a bad GPUNode out of service with its reason, without stopping the feed', async () => {
    const { api, cache, inf, logs } = await rig();
    await inf.start();
    const bad = gpuNodeJson('bad', 'pcie-4x');
    bad.status.links = [['X']];
    api.create('gpunodes', bad);
    api.create('gpunodes', gpuNodeJson('good', 'pcie-4x'));
    await waitFor(() => cache.nodeNames().length === 2, 'both GPUNodes seen');
    expect(free(cache, 'bad')).toMatch(/^GPUNode "bad": status\.links: expected 4 rows/);
    expect(free(cache, 'good')).toEqual(idle);
    expect(logs.some((l) => l.startsWith('warn: GPUNode "bad"'))).toBe(true);
  });

  it('start() resolves only after the first list succeeds, retrying a failing list', async () => {
    const { api, inf } = await rig({}, (api) => api.addFault({ path: /^\/api\/v1\/pods$/, watch: false, status: 500, times: 2 }));
    await inf.start();
    expect(inf.synced()).toBe(true);
    expect(api.requests.filter((r) => !r.watch && r.path === '/api/v1/pods').map((r) => r.status)).toEqual([500, 500, 200]);
  });
});
