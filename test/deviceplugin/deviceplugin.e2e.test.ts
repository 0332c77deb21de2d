/**
 * The device plugin end to end on the real control plane: kube-scheduler + the linkpack extender
 * bind a GPU pod to a KWOK node (writing linkpack.io/assigned-gpus); `linkpack device-plugin`
 * for that node (fake nvidia-smi printing a recorded DGX-1 `topo -m`, UUIDs as the GPUNode has
 * them) watches the pod through the real API server; the kubelet stand-in asks it for that size
 * and gets the extender's set. A kubelet that allocates other devices leaves an Event on the pod.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ANN_ASSIGNED_GPUS, parseAssignedGpus } from '../../src/api/annotations.js';
import { runDevicePlugin, type RunningDevicePlugin } from '../../src/deviceplugin/command.js';
import { EVENT_REASON_MISMATCH } from '../../src/deviceplugin/events.js';
import { makeFakeSmi, type FakeSmi } from '../agent/fake-smi.js';
import { startSchedulingStack, type SchedulingStack } from '../support/scheduling.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';
import { FakeKubelet } from '../support/fake-kubelet.js';
import { hasShared, sharedFixture } from '../support/paths.js';
import { pluginDir, queryAnswer } from './helpers.js';

const NS = 'ml';
const NODE = 'dgx1';
const uuid = (i: number) => `GPU-${NODE}-${i}`;
const skip = controlPlaneSkip ?? (hasShared ? undefined : 'shared fixtures absent (the recorded DGX-1 topo -m)');

let cp: ControlPlane;
let stack: SchedulingStack | undefined;
let dp: RunningDevicePlugin | undefined;
let kubelet: FakeKubelet | undefined;
let smi: FakeSmi | undefined;
let dir: string | undefined;

function gpuPod(name: string, gpus: number): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      schedulerName: 'linkpack-scheduler',
      // The NodeTaint admission plugin taints every new Node not-ready; without a
      // kube-controller-manager (not started here, to spare the CPUs) nothing lifts it.
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'main', image: 'train:1', resources: { limits: { 'nvidia.com/gpu': String(gpus) }, requests: { cpu: '100m' } } }],
    },
  };
}

async function assignedUuids(name: string): Promise<string[]> {
  let text: string | undefined;
  let pod: KObj | undefined;
  try {
    await cp.eventually(async () => {
      pod = await cp.get('v1', 'Pod', name, NS);
      text = pod?.spec?.nodeName ? pod.metadata.annotations?.[ANN_ASSIGNED_GPUS] : undefined;
      return text !== undefined;
    }, `pod ${name} bound with ${ANN_ASSIGNED_GPUS}`);
  } catch (err) {
    const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=${name}`)).items as KObj[];
    throw new Error(`${(err as Error).message}; pod status ${JSON.stringify(pod?.status)}; events: ${events.map((e) => `${e.reason}: ${e.message}`).join(' | ')}; scheduler log tail:\n${cp.log('kube-scheduler').split('\n').slice(-15).join('\n')}`);
  }
  const parsed = parseAssignedGpus(text!);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value.map((g) => g.uuid ?? uuid(g.index));
}

beforeAll(async () => {
  if (skip) return;
  cp = await startControlPlane({ crds: true, kwok: true });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cp.createGpuNode(NODE, 'dgx1-v100');
  await cp.eventually(async () => (await cp.get('v1', 'Node', NODE))?.status?.conditions?.some((c: KObj) => c.type === 'Ready' && c.status === 'True') ?? false, 'node Ready');
  stack = await startSchedulingStack(cp);

  smi = makeFakeSmi([
    { when: 'topo -m', stdout: readFileSync(sharedFixture('topo-dgx1-v100-mlx5-4nic.txt'), 'utf8') },
    { when: '--query-gpu=*', stdout: queryAnswer(8, {}, uuid) },
  ]);
  dir = pluginDir();
  kubelet = new FakeKubelet(dir);
  await kubelet.start();
  dp = await runDevicePlugin(
    { nodeName: NODE, nvidiaSmi: smi.path, pluginDir: dir, kubeconfig: cp.kubeconfigPath, api: true, healthInterval: '60', logLevel: 'silent' },
    pino({ level: 'silent' }),
  );
  await dp.plugin.whenRegistered();
});

afterAll(async () => {
  await dp?.close();
  await kubelet?.stop();
  await stack?.close();
  await cp?.stop();
  smi?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const all = Array.from({ length: 8 }, (_, i) => uuid(i));
let firstSet: string[] = [];

/** Ask the kubelet stand-in for 2 of `available` until the plugin has answered `nth` times from an intent. */
async function preferredFromIntent(available: string[], nth: number): Promise<string[]> {
  let got: string[] = [];
  await cp.eventually(async () => {
    got = await kubelet!.preferred(available, 2);
    return dp!.plugin.stats.preferredFromIntent === nth;
  }, `preference from the intent of pod ${nth}`, 30_000);
  return got;
}

describe.skipIf(skip)('device plugin on the real control plane', () => {
  it('the kubelet stand-in, asking for the pod’s size, gets the set the extender bound it with', async () => {
    await cp.apply(gpuPod('train', 2));
    const assigned = await assignedUuids('train');
    expect(assigned).toHaveLength(2);
    // The pod reaches the plugin's cache through the real watch; the answer never waits on the API.
    const got = await preferredFromIntent(all, 1);
    expect([...got].sort()).toEqual([...assigned].sort());
    firstSet = got;
    const r = await kubelet!.allocate(got);
    expect(r.container_responses[0]!.envs.NVIDIA_VISIBLE_DEVICES.split(',').sort()).toEqual([...assigned].sort());
  });

  it('a kubelet that allocates other devices than assigned leaves a Warning Event on the pod', async () => {
    await cp.apply(gpuPod('other', 2));
    const assigned = await assignedUuids('other');
    // The first pod holds its GPUs: the kubelet offers the rest.
    const available = all.filter((u) => !firstSet.includes(u));
    const got = await preferredFromIntent(available, 2);
    expect([...got].sort()).toEqual([...assigned].sort());
    const instead = available.filter((u) => !assigned.includes(u)).slice(0, 2);
    await kubelet!.allocate(instead);
    let ev: KObj | undefined;
    await cp.eventually(async () => {
      const events = (await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=other`)).items as KObj[];
      ev = events.find((e) => e.reason === EVENT_REASON_MISMATCH);
      return ev !== undefined;
    }, `${EVENT_REASON_MISMATCH} event`, 30_000);
    expect(ev!.type).toBe('Warning');
    expect(ev!.message).toContain(instead.join(','));
    expect(ev!.message).toContain(assigned.join(','));
  });
});
