/**
 * The informers (src/kube/informer via ClusterInformers) against the real kube-apiserver and etcd:
 * paged lists with limit/continue over more objects than a page, and a 410 Gone produced by a real
 * etcd compaction (watch cache off, so the watch reads etcd), answered by a relist.
 * The test API server keeps the faults the real server cannot make on demand (test/cluster/informers.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import { ClusterInformers } from '../../src/cluster/informers.js';
import { kubePodsGone } from '../../src/cluster/k8s-pods-gone.js';
import { makeFeed } from '../../src/kube/informer.js';
import { gpuNodeJson, podJson } from '../support/cluster-fixtures.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';

let cp: ControlPlane;

beforeAll(async () => {
  if (controlPlaneSkip) return;
  cp = await startControlPlane({ crds: true, watchCache: false });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
});
afterAll(async () => {
  await cp?.stop();
});

function serverPod(name: string, node?: string, gpus?: number[]): KObj {
  const p = podJson('ml', name, { node, gpus });
  delete p.metadata.uid;
  delete p.metadata.resourceVersion;
  delete p.status;
  return p;
}

const fastBackoff = { initialMs: 5, maxMs: 100, jitter: 0.5 };

describe.skipIf(controlPlaneSkip)('informers on the real kube-apiserver', () => {
  it('lists more objects than a page through continue tokens', async () => {
    for (let i = 0; i < 13; i++) {
      const gn = gpuNodeJson(`page-${i}`, 'pcie-4x');
      const [created] = await cp.apply({ ...gn, status: undefined });
      await cp.writeStatus(created!, gn.status);
    }
    const cache = new ClusterCache();
    const inf = new ClusterInformers({ kubeConfig: cp.kubeConfig, cache, listPageSize: 5, backoff: fastBackoff });
    await inf.start();
    try {
      expect(cache.nodeNames().filter((n) => n.startsWith('page-')).sort()).toHaveLength(13);
      expect(inf.stats().gpuNodes.lists).toBe(1);
    } finally {
      await inf.stop();
    }
  });

  it('the generic feed pages any resource with a selector', async () => {
    for (let i = 0; i < 7; i++) await cp.apply(serverPod(`sel-${i}`, i % 2 === 0 ? 'node-a' : 'node-b'));
    const seen = new Map<string, KObj>();
    const feed = makeFeed({
      name: 'pods-on-nodeA',
      kubeConfig: cp.kubeConfig,
      path: '/api/v1/pods',
      query: { fieldSelector: 'spec.nodeName=node-a' },
      options: { listPageSize: 2, backoff: fastBackoff },
      handlers: {
        replace: (items) => {
          seen.clear();
          for (const o of items as KObj[]) seen.set(o.metadata.name, o);
        },
        upsert: (o) => seen.set((o as KObj).metadata.name, o as KObj),
        remove: (o) => seen.delete((o as KObj).metadata.name),
      },
    });
    await feed.start();
    try {
      expect([...seen.keys()].sort()).toEqual(['sel-0', 'sel-2', 'sel-4', 'sel-6']);
      await cp.apply(serverPod('sel-late', 'node-a'));
      await cp.apply(serverPod('sel-other', 'node-b'));
      await cp.eventually(async () => seen.has('sel-late'), 'watch delivers the new pod on node-a');
      expect(seen.has('sel-other')).toBe(false);
    } finally {
      await feed.stop();
    }
  });

  it('Node allocatable minus the bound pods\' requests is the CPU and memory side of a node, kept current', async () => {
    await cp.createGpuNode('cpu-view', 'pcie-4x', { cpu: '32', memory: '128Gi' });
    const web = serverPod('cpu-web', 'cpu-view');
    web.spec.containers[0].resources = { requests: { cpu: '1500m', memory: '2Gi' } };
    await cp.apply(web);
    const cache = new ClusterCache({ heartbeatTimeoutMs: Infinity });
    const inf = new ClusterInformers({ kubeConfig: cp.kubeConfig, cache, backoff: fastBackoff });
    await inf.start();
    const cpuMem = () => {
      const l = cache.lookupNode('cpu-view', Date.now());
      return l.ok ? `${l.state.cpuTotalMilli}/${l.state.cpuFreeMilli}/${l.state.memoryFreeMiB}` : l.reason;
    };
    try {
      expect(cpuMem()).toBe(`32000/30500/${126 * 1024}`);
      const train = serverPod('cpu-train', 'cpu-view', [0]);
      train.spec.containers[0].resources = { limits: { 'nvidia.com/gpu': '1', cpu: '4', memory: '1Gi' } };
      await cp.apply(train);
      await cp.eventually(async () => cpuMem() === `32000/26500/${125 * 1024}`, 'the new pod\'s requests (defaulted from limits by the API server)');
      await cp.request('DELETE', '/api/v1/namespaces/ml/pods/cpu-web?gracePeriodSeconds=0');
      await cp.eventually(async () => cpuMem() === `32000/28000/${127 * 1024}`, 'a deleted pod gives them back');
      expect(inf.stats().nodes.lists).toBe(1);
    } finally {
      await inf.stop();
    }
  });

  it('kubePodsGone: a deleted pod and a name now held by another uid are gone, a live pod is not', async () => {
    const [a] = await cp.apply(serverPod('gone-a'));
    const [b] = await cp.apply(serverPod('gone-b'));
    const [c] = await cp.apply(serverPod('gone-c'));
    const id = (o: KObj) => ({ namespace: 'ml', name: o.metadata.name as string, uid: o.metadata.uid as string });
    await cp.request('DELETE', '/api/v1/namespaces/ml/pods/gone-a?gracePeriodSeconds=0');
    await cp.request('DELETE', '/api/v1/namespaces/ml/pods/gone-b?gracePeriodSeconds=0');
    await cp.eventually(async () => (await cp.get('v1', 'Pod', 'gone-b', 'ml')) === undefined, 'gone-b deleted', 10_000);
    await cp.apply(serverPod('gone-b'));
    const errors: string[] = [];
    const gone = await kubePodsGone(cp.kubeConfig, 2000, (m) => errors.push(m))([id(a!), id(b!), id(c!)]);
    expect(gone.map((p) => p.name).sort()).toEqual(['gone-a', 'gone-b']);
    expect(errors).toEqual([]);
  });

  it('a watch resumed after etcd compaction gets 410 Gone and relists without losing a change', async () => {
    const cache = new ClusterCache();
    const logs: string[] = [];
    const inf = new ClusterInformers({ kubeConfig: cp.kubeConfig, cache, backoff: fastBackoff, log: (l, m) => logs.push(`${l}: ${m}`) });
    const gn = gpuNodeJson('compact-n1', 'pcie-4x');
    const [created] = await cp.apply({ ...gn, status: undefined });
    await cp.writeStatus(created!, gn.status);
    await inf.start();
    expect(cache.nodeNames()).toContain('compact-n1');
    // Disconnected while the cluster moves on and etcd compacts past our resourceVersion.
    await inf.stop();
    await cp.apply(serverPod('while-away', 'compact-n1', [2]));
    await cp.apply(serverPod('while-away-2', 'compact-n1', [3]));
    // Compacting at the newest revision removes the history the watch would resume from (it starts at rv+1).
    await cp.compactEtcd();
    await inf.start();
    try {
      await cp.eventually(async () => inf.stats().pods.relistsAfterExpired + inf.stats().gpuNodes.relistsAfterExpired >= 1, 'a relist after 410');
      await cp.eventually(async () => {
        const l = cache.lookupNode('compact-n1', Date.now());
        return l.ok && l.state.freeMilli[2] === 0 && l.state.freeMilli[3] === 0;
      }, 'the pod created while away is in the cache');
      expect(logs.some((l) => /expired \(410\)/.test(l))).toBe(true);
    } finally {
      await inf.stop();
    }
  });
});
