/**
 * The agent against the real kube-apiserver (test/support/control-plane.ts): `linkpack agent
 * --once` with the built-in fake nvidia-smi creates the GPUNode owned by its Node, the CRD's
 * schema keeps every field, and a concurrent writer's 409 is re-read and retried.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigTarget, kubeRest } from '../../src/agent/kube-rest.js';
import { GpuNodePublisher } from '../../src/agent/publisher.js';
import { gpuNodeObject, parseGpuNode } from '../../src/cluster/gpunode.js';
import { getPreset } from '../../src/topology/index.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { repoRoot, requireBuilt } from '../support/paths.js';

const run = promisify(execFile);

describe.skipIf(controlPlaneSkip !== undefined)('agent against the real kube-apiserver', () => {
  requireBuilt(path.join(repoRoot, 'dist/src/agent/main.js'));
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
  });
  afterAll(async () => cp?.stop());

  it('linkpack agent --once creates the GPUNode owned by its Node, and a second run updates its status', async () => {
    const node = await cp.createFakeNode('gpu-e2e', { gpus: 8 });
    const args = [path.join(repoRoot, 'dist/src/agent/main.js'), 'agent', '--node-name', 'gpu-e2e', '--fake', 'dgx-a100', '--once', '--kubeconfig', cp.kubeconfigPath, '--log-level', 'warn', '--pod-resources-socket', '/nonexistent.sock'];
    await run(process.execPath, args, { timeout: 60_000 });
    const obj = await cp.get('linkpack.io/v1alpha1', 'GPUNode', 'gpu-e2e');
    expect(obj!.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Node', name: 'gpu-e2e', uid: node.metadata.uid })]);
    const parsed = parseGpuNode(obj);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.record.topology.gpus.map((g) => g.uuid)).toEqual(obj!.status.gpus.map((g: { uuid: string }) => g.uuid));
    expect(obj!.status.gpus[0].pciBusId).toBe('00000000:07:00.0'); // not pruned by the CRD schema
    await run(process.execPath, args, { timeout: 60_000, env: { ...process.env, FAKE_NVIDIA_SMI_ECC_GPU: '4' } });
    const after = await cp.get('linkpack.io/v1alpha1', 'GPUNode', 'gpu-e2e');
    expect(after!.status.gpus[4]).toMatchObject({ health: 'Unhealthy', reasons: ['uncorrected ECC errors since driver load: 2'] });
    expect(after!.status.healthyCount).toBe(7);
  });

  it('re-reads and retries when another writer changed the GPUNode (a real 409)', async () => {
    await cp.createFakeNode('gpu-e2e-2', { gpus: 4 });
    const p = new GpuNodePublisher({ api: kubeRest(kubeconfigTarget(cp.kubeconfigPath)), nodeName: 'gpu-e2e-2' });
    p.stop();
    const status = (r: string[]) => gpuNodeObject('gpu-e2e-2', getPreset('pcie-4x')!, { unhealthy: { 1: r } }).status!;
    p.update(status(['a']));
    expect(await p.syncOnce()).toBe('written');
    const cur = await cp.get('linkpack.io/v1alpha1', 'GPUNode', 'gpu-e2e-2');
    await cp.writeStatus(cur!, { ...cur!.status, gpus: cur!.status.gpus.map((g: object) => ({ ...g })) , heartbeatTime: '2020-01-01T00:00:00Z' });
    p.update(status(['b']));
    expect(await p.syncOnce()).toBe('written');
    expect(p.stats.conflicts).toBe(1);
    expect((await cp.get('linkpack.io/v1alpha1', 'GPUNode', 'gpu-e2e-2'))!.status.gpus[1].reasons).toEqual(['b']);
  });
});
