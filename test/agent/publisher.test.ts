import { afterEach, describe, expect, it } from 'vitest';
import { kubeRest, targetOfKubeConfig } from '../../src/agent/kube-rest.js';
import { GpuNodePublisher, type PublisherOptions } from '../../src/agent/publisher.js';
import { gpuNodeObject, parseGpuNode, type GpuNodeStatus } from '../../src/cluster/gpunode.js';
import { getPreset } from '../../src/topology/index.js';
import { TestApiServer } from '../support/apiserver.js';
import { waitFor } from '../support/wait.js';

const status = (unhealthy: Record<number, string[]> = {}): GpuNodeStatus => gpuNodeObject('gpu-1', getPreset('dgx-a100')!, { unhealthy }).status!;

let api: TestApiServer | undefined;
const pubs: GpuNodePublisher[] = [];
afterEach(async () => {
  pubs.splice(0).forEach((p) => p.stop());
  await api?.close();
  api = undefined;
});

async function setup(opts: Partial<PublisherOptions> = {}) {
  api = await TestApiServer.start();
  api.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-1' } });
  const p = new GpuNodePublisher({ api: kubeRest(targetOfKubeConfig(api.kubeConfig())), nodeName: 'gpu-1', backoff: { initialMs: 20, maxMs: 100 }, ...opts });
  pubs.push(p);
  return { api, p };
}
const statusWrites = (s: TestApiServer) => s.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/gpunodes/gpu-1/status') && r.status === 200);

describe('GPUNode publisher (test API server)', () => {
  it('creates the GPUNode owned by its Node and writes the status through the status subresource', async () => {
    const { api, p } = await setup();
    p.update(status({ 3: ['GPU lost'] }));
    await waitFor(() => p.upToDate, 'the first status is written');
    const obj = api.get('gpunodes', undefined, 'gpu-1')!;
    const node = api.get('nodes', undefined, 'gpu-1')!;
    expect(obj.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'gpu-1', uid: node.metadata.uid, controller: false, blockOwnerDeletion: false }]);
    const parsed = parseGpuNode(obj);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.record.unhealthy).toEqual({ 3: 'GPU lost' });
    expect(statusWrites(api)).toHaveLength(1);
    expect(api.requests.filter((r) => r.method === 'PUT' && !r.path.endsWith('/status'))).toEqual([]);
  });

  it('writes only on change, and otherwise a heartbeat once every heartbeatTimeout/3', async () => {
    let now = 1_000_000;
    const { api, p } = await setup({ now: () => now, heartbeatTimeoutMs: 30_000 });
    p.stop(); // drive attempts by hand
    p.update(status());
    expect(await p.syncOnce()).toBe('written');
    p.update(status());
    now += 9_000;
    expect(await p.syncOnce()).toBe('unchanged');
    now += 1_000;
    expect(await p.syncOnce()).toBe('written');
    expect(p.stats).toMatchObject({ creates: 1, changes: 1, heartbeats: 1 });
    p.update(status({ 0: ['uncorrected ECC errors since driver load: 1'] }));
    expect(await p.syncOnce()).toBe('written');
    expect(p.stats.changes).toBe(2);
    expect(statusWrites(api)).toHaveLength(3);
    expect(api.get('gpunodes', undefined, 'gpu-1')!.status.heartbeatTime).toBe(new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('re-reads and retries on conflicts (a 409 storm and a real concurrent writer)', async () => {
    const { api, p } = await setup();
    p.stop();
    p.update(status());
    await p.syncOnce();
    api.addFault({ method: 'PUT', path: /\/status$/, status: 409, times: 3 });
    p.update(status({ 1: ['x'] }));
    expect(await p.syncOnce()).toBe('written');
    expect(p.stats.conflicts).toBe(3);
    // Someone else changes the object: our resourceVersion is stale, the server says 409.
    api.modify('gpunodes', undefined, 'gpu-1', (o) => (o.metadata.labels = { other: 'writer' }));
    p.update(status({ 2: ['y'] }));
    expect(await p.syncOnce()).toBe('written');
    expect(p.stats.conflicts).toBe(4);
    const obj = api.get('gpunodes', undefined, 'gpu-1')!;
    expect(obj.metadata.labels).toEqual({ other: 'writer' });
    expect(obj.status.gpus[2].reasons).toEqual(['y']);
  });

  it('gives up a conflict storm after the retry limit with one clear line, then recovers', async () => {
    const { api, p } = await setup({ maxConflictRetries: 2 });
    p.stop();
    api.addFault({ method: 'PUT', path: /\/status$/, status: 409, times: 3 });
    p.update(status());
    await expect(p.syncOnce()).rejects.toThrow(/^status update conflicted 3 times in a row: PUT \/apis\/linkpack.io\/v1alpha1\/gpunodes\/gpu-1\/status: 409 /);
    expect(await p.syncOnce()).toBe('written');
  });

  it('loses nothing across an API outage: backs off, then writes the newest status', async () => {
    const { api, p } = await setup();
    api.addFault({ status: 503, message: 'apiserver is down' });
    p.update(status({ 0: ['a'] }));
    p.update(status({ 0: ['b'] }));
    await waitFor(() => p.stats.failingFor >= 3, 'several failed attempts during the outage');
    expect(p.stats.lastError).toMatch(/apiserver is down|503/);
    p.update(status({ 0: ['c'] }));
    api.clearFaults();
    await waitFor(() => p.upToDate, 'the newest status is written after the outage', 10_000);
    expect(api.get('gpunodes', undefined, 'gpu-1')!.status.gpus[0].reasons).toEqual(['c']);
    expect(p.stats.failingFor).toBe(0);
  });

  it('recreates a GPUNode deleted under it, and says clearly when its Node does not exist', async () => {
    const { api, p } = await setup();
    p.stop();
    p.update(status());
    await p.syncOnce();
    api.remove('gpunodes', undefined, 'gpu-1');
    p.update(status({ 4: ['z'] }));
    expect(await p.syncOnce()).toBe('written');
    expect(api.get('gpunodes', undefined, 'gpu-1')!.status.gpus[4].reasons).toEqual(['z']);
    const orphan = new GpuNodePublisher({ api: kubeRest(targetOfKubeConfig(api.kubeConfig())), nodeName: 'no-such-node' });
    orphan.update(status());
    await expect(orphan.syncOnce()).rejects.toThrow('Node no-such-node not found (check --node-name; the GPUNode is owned by its Node)');
  });
});
