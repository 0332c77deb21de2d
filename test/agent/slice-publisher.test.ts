import { afterEach, describe, expect, it } from 'vitest';
import { kubeRest, targetOfKubeConfig } from '../../src/agent/kube-rest.js';
import { resourceSliceObject } from '../../src/agent/resourceslice.js';
import { SlicePublisher } from '../../src/agent/slice-publisher.js';
import { getPreset } from '../../src/topology/index.js';
import { BUILTIN_RESOURCES, TestApiServer } from '../support/apiserver.js';

const RESOURCE_SLICES = { group: 'resource.k8s.io', version: 'v1', plural: 'resourceslices', kind: 'ResourceSlice', namespaced: false, statusSubresource: false };
const NAME = 'gpu-1-gpu.linkpack.io';
const slice = (unhealthy: number[] = []) =>
  resourceSliceObject('gpu-1', getPreset('dgx-a100')!, { health: Object.fromEntries(unhealthy.map((i) => [i, { health: 'Unhealthy' as const, reasons: ['GPU lost'] }])) });

let api: TestApiServer | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function setup() {
  api = await TestApiServer.start({ resources: [...BUILTIN_RESOURCES, RESOURCE_SLICES] });
  api.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-1' } });
  return { api, p: new SlicePublisher({ api: kubeRest(targetOfKubeConfig(api.kubeConfig())), nodeName: 'gpu-1' }) };
}
const writes = (s: TestApiServer) => s.requests.filter((r) => (r.method === 'POST' || r.method === 'PUT') && r.path.includes('/resourceslices'));

describe('ResourceSlice publisher (test API server)', () => {
  it('creates at generation 1 owned by the Node; writes again only on change, one generation up', async () => {
    const { api, p } = await setup();
    expect(await p.publish(slice())).toBe('created');
    const node = api.get('nodes', undefined, 'gpu-1')!;
    expect(api.get('resourceslices', undefined, NAME)!.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'gpu-1', uid: node.metadata.uid, controller: false, blockOwnerDeletion: false }]);
    expect(api.get('resourceslices', undefined, NAME)!.spec.pool.generation).toBe(1);
    expect(await p.publish(slice())).toBe('unchanged');
    expect(await p.publish(slice([3]))).toBe('updated');
    expect(api.get('resourceslices', undefined, NAME)!.spec.pool.generation).toBe(2);
    expect(writes(api)).toHaveLength(2);
    expect(p.stats).toMatchObject({ creates: 1, updates: 1, failures: 0 });
  });

  it('a stored slice with its maps in key order and a stamped taint time is no change; the time is kept on the next write', async () => {
    const { api, p } = await setup();
    await p.publish(slice([3]));
    // What the real API server does to it: maps in key order, timeAdded set.
    api.modify('resourceslices', undefined, NAME, (o) => {
      for (const d of o.spec.devices) {
        d.attributes = Object.fromEntries(Object.entries(d.attributes).sort(([a], [b]) => a.localeCompare(b)));
        for (const t of d.taints ?? []) t.timeAdded = '2026-12-07T20:00:00Z';
      }
    });
    expect(await p.publish(slice([3]))).toBe('unchanged');
    expect(await p.publish(slice([3, 5]))).toBe('updated');
    const devices = api.get('resourceslices', undefined, NAME)!.spec.devices;
    expect(devices[3].taints[0].timeAdded).toBe('2026-12-07T20:00:00Z');
    expect(devices[5].taints[0].timeAdded).toBeUndefined();
  });

  it('a conflict re-reads and retries; two publishes at once write one after the other', async () => {
    const { api, p } = await setup();
    await p.publish(slice());
    api.addFault({ method: 'PUT', path: /resourceslices/, status: 409, times: 1 });
    const [a, b] = await Promise.all([p.publish(slice([1])), p.publish(slice([1, 2]))]);
    expect([a, b]).toEqual(['updated', 'updated']);
    expect(api.get('resourceslices', undefined, NAME)!.spec.pool.generation).toBe(3);
  });

  it('another failure is the caller\'s (the agent retries next cycle), counted', async () => {
    const { api, p } = await setup();
    api.addFault({ method: 'POST', path: /resourceslices/, status: 500, times: 1 });
    await expect(p.publish(slice())).rejects.toThrow(/500/);
    expect(p.stats.failures).toBe(1);
    expect(await p.publish(slice())).toBe('created');
  });
});
