/**
 * linkpack's ResourceSlices on the real control plane (resource.k8s.io/v1, served by default in
 * 1.37): slices built by resourceSliceObject for KWOK nodes, the shipped DeviceClass and example
 * claim templates, and the real kube-scheduler's DRA plugin (default profile) allocating from them.
 * Shows what the island attribute and the unhealthy taint make the built-in allocator do.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRA_DEVICE_CLASS, DRA_DRIVER } from '../../src/api/dra.js';
import { nvlinkIslandIds, resourceSliceObject, type ResourceSliceOptions } from '../../src/agent/resourceslice.js';
import { getPreset } from '../../src/topology/index.js';
import { cliPath, requireBuilt } from '../support/paths.js';
import { waitForReadyNodes } from '../support/scheduling.js';
import { controlPlaneSkip, repoRoot, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';

const NS = 'dra';
const RESOURCE = 'resource.k8s.io/v1';
/** Which preset each KWOK node is; `a100` has GPU 3 Unhealthy. */
const NODES: Record<string, string> = { dgx1: 'dgx1-v100', pcie: 'pcie-8x-nvlink-pairs', a100: 'dgx-a100' };
const TAINTED_GPU = 3;
let cp: ControlPlane;

/** The shipped scheduler config has only the linkpack profile; DRA pods need just the default one. */
const DEFAULT_SCHEDULER_CONFIG = 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n';

function claim(name: string, count: number, o: { island?: boolean } = {}): KObj {
  return {
    apiVersion: RESOURCE,
    kind: 'ResourceClaim',
    metadata: { name, namespace: NS },
    spec: {
      devices: {
        requests: [{ name: 'gpus', exactly: { deviceClassName: DRA_DEVICE_CLASS, allocationMode: 'ExactCount', count } }],
        ...(o.island ? { constraints: [{ requests: ['gpus'], matchAttribute: `${DRA_DRIVER}/nvlinkIsland` }] } : {}),
      },
    },
  };
}

function pod(name: string, node: string, source: { resourceClaimName: string } | { resourceClaimTemplateName: string }): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      resourceClaims: [{ name: 'gpus', ...source }],
      containers: [{ name: 'main', image: 'train:1', resources: { claims: [{ name: 'gpus' }], requests: { cpu: '100m' } } }],
    },
  };
}

/** The claim a pod uses (a template's claim is named in the pod's status by the controller manager). */
async function claimOf(podName: string): Promise<KObj> {
  let c: KObj | undefined;
  await cp.eventually(async () => {
    const p = await cp.get('v1', 'Pod', podName, NS);
    const direct = p?.spec.resourceClaims?.[0]?.resourceClaimName as string | undefined;
    const name = direct ?? (p?.status?.resourceClaimStatuses?.[0]?.resourceClaimName as string | undefined);
    c = name ? await cp.get(RESOURCE, 'ResourceClaim', name, NS) : undefined;
    return Boolean(c?.status?.allocation) && Boolean(p?.spec.nodeName);
  }, `pod ${podName} bound with its claim allocated`);
  return c!;
}

/** Allocated GPU indices of a claim, checking each result is ours and on `node`'s pool. */
function allocatedGpus(c: KObj, node: string): number[] {
  const results = c.status.allocation.devices.results as KObj[];
  for (const r of results) expect(r).toMatchObject({ driver: DRA_DRIVER, pool: node });
  return results.map((r) => Number(/^gpu-(\d+)$/.exec(r.device)![1])).sort((a, b) => a - b);
}

async function deleteAll(): Promise<void> {
  await cp.request('DELETE', `/api/v1/namespaces/${NS}/pods?gracePeriodSeconds=0`);
  await cp.eventually(async () => (await cp.list('v1', 'Pod', NS)).length === 0, 'pods deleted');
  await cp.request('DELETE', `/apis/${RESOURCE}/namespaces/${NS}/resourceclaims`);
  await cp.eventually(async () => (await cp.list(RESOURCE, 'ResourceClaim', NS)).length === 0, 'claims deleted');
}

beforeAll(async () => {
  if (controlPlaneSkip) return;
  // The controller manager lifts the not-ready taint, turns claim templates into claims and
  // collects a deleted Node's slice; the CRDs are for the agent's GPUNode.
  cp = await startControlPlane({ crds: true, kwok: true, controllerManager: true });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const name of Object.keys(NODES)) await cp.createFakeNode(name);
  await waitForReadyNodes(cp, Object.keys(NODES).length, { untainted: true });
  for (const [name, preset] of Object.entries(NODES)) {
    const node = (await cp.get('v1', 'Node', name))!;
    const topology = getPreset(preset)!;
    topology.gpus.forEach((g) => (g.uuid = `GPU-${name}-${g.index}`));
    const health: ResourceSliceOptions['health'] = name === 'a100' ? { [TAINTED_GPU]: { health: 'Unhealthy', reasons: ['uncorrected ECC errors since driver load: 2'] } } : {};
    await cp.apply(resourceSliceObject(name, topology, { nodeUid: node.metadata.uid, health }));
  }
  await cp.apply(readFileSync(path.join(repoRoot, 'deploy/dra/deviceclass.yaml'), 'utf8'));
  await cp.startScheduler({ config: DEFAULT_SCHEDULER_CONFIG });
}, 240_000);

afterAll(async () => {
  await cp?.stop();
});

describe.skipIf(controlPlaneSkip)('linkpack ResourceSlices with the real DRA allocator', () => {
  it('the API server accepts the slices as built: devices, taint with its time added, owner Node', async () => {
    const slices = await cp.list(RESOURCE, 'ResourceSlice');
    expect(slices.map((s) => s.spec.pool.name).sort()).toEqual(['a100', 'dgx1', 'pcie']);
    const a100 = slices.find((s) => s.spec.nodeName === 'a100')!;
    expect(a100.metadata.ownerReferences[0]).toMatchObject({ kind: 'Node', name: 'a100' });
    const tainted = a100.spec.devices.find((d: KObj) => d.name === `gpu-${TAINTED_GPU}`);
    expect(tainted.taints[0]).toMatchObject({ key: `${DRA_DRIVER}/unhealthy`, effect: 'NoSchedule', value: 'uncorrected-ECC-errors-since-driver-load-2' });
    expect(Date.parse(tainted.taints[0].timeAdded)).not.toBeNaN();
    expect(a100.spec.devices[0].capacity.memory.value).toBe('40Gi');
  });

  it('every shipped example ResourceClaimTemplate is valid for the API server', async () => {
    const dir = path.join(repoRoot, 'deploy/examples/dra');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'pod.yaml');
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const [t] = await cp.apply({ ...(await import('yaml')).parse(readFileSync(path.join(dir, f), 'utf8')), metadata: { name: f.replace(/\.yaml$/, ''), namespace: NS } });
      expect(t!.kind, f).toBe('ResourceClaimTemplate');
    }
  });

  it('4 GPUs with the island constraint on a DGX-1 (shipped template) get 4 devices of one island', async () => {
    await cp.apply(pod('dgx4', 'dgx1', { resourceClaimTemplateName: 'gpus-4-nvlink-island' }));
    const gpus = allocatedGpus(await claimOf('dgx4'), 'dgx1');
    expect(gpus).toHaveLength(4);
    const island = nvlinkIslandIds(getPreset('dgx1-v100')!);
    expect(new Set(gpus.map((g) => island[g])).size).toBe(1);
    await deleteAll();
  });

  it('2 GPUs with the island constraint on the PCIe node get an NVLink-bridged pair, never a split one', async () => {
    const island = nvlinkIslandIds(getPreset('pcie-8x-nvlink-pairs')!);
    // One GPU taken first: first fit alone would now hand out GPUs 1 and 2, which share no NVLink.
    await cp.apply(claim('single', 1));
    await cp.apply(pod('single', 'pcie', { resourceClaimName: 'single' }));
    expect(allocatedGpus(await claimOf('single'), 'pcie')).toEqual([0]);
    for (let i = 0; i < 3; i++) {
      await cp.apply(claim(`pair-${i}`, 2, { island: true }));
      await cp.apply(pod(`pair-${i}`, 'pcie', { resourceClaimName: `pair-${i}` }));
      const gpus = allocatedGpus(await claimOf(`pair-${i}`), 'pcie');
      expect(gpus).toHaveLength(2);
      expect(island[gpus[0]!], `GPUs ${gpus.join(',')} are not one NVLink pair`).toBe(island[gpus[1]!]);
      expect(gpus).not.toContain(1);
    }
    await deleteAll();
  });

  it('8 GPUs in one island on a node without an 8-GPU island stay pending with the reason', async () => {
    await cp.apply(claim('island8', 8, { island: true }));
    await cp.apply(pod('island8', 'pcie', { resourceClaimName: 'island8' }));
    let message = '';
    await cp.eventually(async () => {
      const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=island8`)).items as KObj[];
      message = events.find((e) => e.reason === 'FailedScheduling')?.message ?? '';
      return message !== '';
    }, 'FailedScheduling event for island8');
    expect(message).toMatch(/cannot allocate all claims/);
    const p = (await cp.get('v1', 'Pod', 'island8', NS))!;
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.status.conditions.find((c: KObj) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect((await cp.get(RESOURCE, 'ResourceClaim', 'island8', NS))!.status?.allocation).toBeUndefined();
    await deleteAll();
  });

  it('a tainted (unhealthy) GPU is never allocated: 7 of 8 get the healthy 7, 8 of 8 stays pending', async () => {
    await cp.apply(claim('all-healthy', 7));
    await cp.apply(pod('all-healthy', 'a100', { resourceClaimName: 'all-healthy' }));
    const gpus = allocatedGpus(await claimOf('all-healthy'), 'a100');
    expect(gpus).toEqual([0, 1, 2, 4, 5, 6, 7]);
    await deleteAll();
    await cp.apply(pod('whole', 'a100', { resourceClaimTemplateName: 'whole-node-8' }));
    await cp.eventually(async () => {
      const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=whole`)).items as KObj[];
      return events.some((e) => e.reason === 'FailedScheduling' && /cannot allocate all claims/.test(e.message));
    }, 'FailedScheduling event for whole');
    expect((await cp.get('v1', 'Pod', 'whole', NS))!.spec.nodeName).toBeUndefined();
    await deleteAll();
  });
});

/** `linkpack agent --once --dra` as the DaemonSet runs it, on the built-in fake nvidia-smi; its exit code and stderr. */
async function agentOnce(node: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  const args = [cliPath, 'agent', '--node-name', node, '--fake', 'dgx-a100', '--once', '--dra', '--kubeconfig', cp.kubeconfigPath, '--pod-resources-socket', '/nonexistent.sock', '--log-level', 'warn'];
  try {
    const r = await promisify(execFile)(process.execPath, args, { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stderr: string };
    return { code: x.code, stderr: x.stderr };
  }
}

describe.skipIf(controlPlaneSkip)('the agent publishes its node\'s ResourceSlice (--dra)', () => {
  requireBuilt(path.join(repoRoot, 'dist/src/agent/fake-nvidia-smi.js'));
  it('creates it owned by the Node, bumps the pool generation only on change, keeps a taint\'s time, and goes with its Node', async () => {
    const node = await cp.createFakeNode('agentnode');
    const name = 'agentnode-gpu.linkpack.io';
    const first = await agentOnce('agentnode');
    expect(first, first.stderr).toMatchObject({ code: 0 });
    let slice = (await cp.get(RESOURCE, 'ResourceSlice', name))!;
    expect(slice.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Node', name: 'agentnode', uid: node.metadata.uid })]);
    expect(slice.spec).toMatchObject({ driver: DRA_DRIVER, nodeName: 'agentnode', pool: { name: 'agentnode', generation: 1 } });
    expect(slice.spec.devices).toHaveLength(8);
    expect(slice.spec.devices.every((d: KObj) => !d.taints && /^GPU-/.test(d.attributes.uuid.string))).toBe(true);

    await agentOnce('agentnode'); // nothing changed: no write
    expect((await cp.get(RESOURCE, 'ResourceSlice', name))!.spec.pool.generation).toBe(1);

    // GPU 3 lost: the agent exits 1 (not every GPU read) and taints it.
    expect((await agentOnce('agentnode', { FAKE_NVIDIA_SMI_LOST_GPU: '3' })).code).toBe(1);
    slice = (await cp.get(RESOURCE, 'ResourceSlice', name))!;
    expect(slice.spec.pool.generation).toBe(2);
    const taint = slice.spec.devices.find((d: KObj) => d.name === 'gpu-3').taints[0];
    expect(taint).toMatchObject({ key: `${DRA_DRIVER}/unhealthy`, effect: 'NoSchedule' });
    expect(slice.spec.devices.filter((d: KObj) => d.taints).map((d: KObj) => d.name)).toEqual(['gpu-3']);
    await agentOnce('agentnode', { FAKE_NVIDIA_SMI_LOST_GPU: '3' });
    slice = (await cp.get(RESOURCE, 'ResourceSlice', name))!;
    expect(slice.spec.pool.generation).toBe(2);
    expect(slice.spec.devices.find((d: KObj) => d.name === 'gpu-3').taints[0].timeAdded).toBe(taint.timeAdded);

    // The garbage collector deletes the slice with its Node (ownerReference).
    await cp.request('DELETE', '/api/v1/nodes/agentnode');
    await cp.eventually(async () => (await cp.get(RESOURCE, 'ResourceSlice', name)) === undefined, 'the slice collected with its Node');
  });
});
