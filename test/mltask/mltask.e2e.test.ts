/**
 * MLTask on the real control plane: the CRD's own validation (bad tasks refused naming the field,
 * defaults applied), and the controller with the real StatefulSet controller creating the pods,
 * the real kube-scheduler + our extender placing them (gang), KWOK running them and ending them
 * with chosen exit codes; phase, status and Events read back; deletion collected by the real
 * garbage collector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putMLTaskCrdVerbatim } from './real-crd.js';
import { MLTaskController } from '../../src/mltask/controller.js';
import { parseMLTask } from '../../src/mltask/validate.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';
import { startSchedulingStack, type SchedulingStack } from '../support/scheduling.js';

const NS = 'ml';
const BASE = `/apis/linkpack.io/v1alpha1/namespaces/${NS}/mltasks`;
let cp: ControlPlane;
let stack: SchedulingStack | undefined;
let controller: MLTaskController | undefined;

function mltask(name: string, spec: KObj = {}): KObj {
  return {
    apiVersion: 'linkpack.io/v1alpha1',
    kind: 'MLTask',
    metadata: { name, namespace: NS },
    spec: { mode: 'Instance', image: 'trainer:1', trainingData: { uri: 's3://data/set' }, modelOutput: { uri: 's3://models/out' }, parallelism: 2, resources: { gpus: 8, cpu: '1' }, gpu: { topology: 'require-nvlink' }, ...spec },
  };
}

async function refusal(obj: KObj): Promise<string> {
  try {
    await cp.request('POST', BASE, obj);
  } catch (err) {
    expect((err as { code?: number }).code).toBe(422);
    return (err as Error).message;
  }
  throw new Error(`the server accepted an invalid MLTask: ${JSON.stringify(obj.spec)}`);
}

const task = (name: string) => cp.get('linkpack.io/v1alpha1', 'MLTask', name, NS);
const eventsOf = async (name: string) =>
  ((await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},involvedObject.kind=MLTask`)}`)).items as KObj[]).map((e) => e.reason as string);
const podsOf = async (name: string) => (await cp.request('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`linkpack.io/mltask=${name}`)}`)).items as KObj[];
const phaseIs = (name: string, phase: string) => async () => (await task(name))?.status?.phase === phase;

beforeAll(async () => {
  if (controlPlaneSkip) return;
  cp = await startControlPlane({ crds: true, controllerManager: true, kwok: true });
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await putMLTaskCrdVerbatim(cp, NS);
  for (const n of ['h1', 'h2', 'h3']) await cp.createGpuNode(n, 'hgx-h100');
  await cp.eventually(async () => {
    const nodes = await cp.list('v1', 'Node');
    return nodes.length === 3 && nodes.every((n) => (n.status?.conditions ?? []).some((c: KObj) => c.type === 'Ready' && c.status === 'True'));
  }, 'three Ready fake GPU nodes');
  // The extender with the shipped flags, and the real kube-scheduler calling it.
  stack = await startSchedulingStack(cp);
  controller = new MLTaskController({ kubeConfig: cp.kubeConfig, namespace: NS, workers: 2 });
  await controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await stack?.close();
  await cp?.stop();
});

describe.skipIf(controlPlaneSkip)('MLTask on the real control plane', () => {
  it('the server applies the CRD defaults', async () => {
    const created = await cp.request('POST', BASE, { apiVersion: 'linkpack.io/v1alpha1', kind: 'MLTask', metadata: { name: 'defaults', namespace: NS }, spec: { image: 'x', suspend: true, trainingData: { uri: 's3://a/b' }, modelOutput: { pvc: { claimName: 'out' } } } });
    expect(created.spec).toMatchObject({ mode: 'Job', parallelism: 1, resources: { gpus: 1 }, gpu: { topology: 'prefer-nvlink', policy: 'binpack' }, backoffLimit: 3, suspend: true });
    // What the server stored parses with the CLI's rules to the same values.
    const parsed = parseMLTask(created);
    expect(parsed.ok && parsed.task.spec).toMatchObject({ parallelism: 1, resources: { gpus: 1 }, backoffLimit: 3 });
  });

  const bad: Array<[string, KObj, KObj, RegExp]> = [
    ['parallelism 0', { parallelism: 0 }, {}, /spec\.parallelism/],
    ['too many GPUs', { resources: { gpus: 17 } }, {}, /spec\.resources\.gpus/],
    ['both uri and pvc', { trainingData: { uri: 's3://a/b', pvc: { claimName: 'd' } } }, {}, /spec\.trainingData.*exactly one of uri or pvc/],
    ['neither uri nor pvc', { modelOutput: {} }, {}, /spec\.modelOutput.*exactly one of uri or pvc/],
    ['subPath with ..', { trainingData: { pvc: { claimName: 'd', subPath: 'a/../b' } } }, {}, /spec\.trainingData\.pvc\.subPath/],
    ['bad topology', { gpu: { topology: 'nvlink' } }, {}, /spec\.gpu\.topology/],
    ['reserved env', { env: [{ name: 'MASTER_ADDR', value: 'x' }] }, {}, /spec\.env\[0\]\.name.*set by the controller/],
    ['memory scratch with a class', { scratch: { size: '1Gi', medium: 'Memory', storageClassName: 'fast' } }, {}, /spec\.scratch.*exclude each other/],
    ['scratch size 0', { scratch: { size: '0' } }, {}, /spec\.scratch\.size/],
    ['name not a DNS-1035 label', {}, { name: 'a.b' }, /metadata\.name must be a DNS-1035 label/],
    ['mode not Job or Instance', { mode: 'Batch' }, {}, /spec\.mode/],
    ['value and valueFrom', { env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, {}, /spec\.env\[0\].*set value or valueFrom, not both/],
    ['secretKeyRef without key', { env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's' } } }] }, {}, /spec\.env\[0\]\.valueFrom\.secretKeyRef\.key/],
    ['credentialsSecret with a pvc', { modelOutput: { pvc: { claimName: 'o' }, credentialsSecret: 's' } }, {}, /spec\.modelOutput.*credentialsSecret only with uri/],
    ['envFrom with both refs', { envFrom: [{ secretRef: { name: 's' }, configMapRef: { name: 'c' } }] }, {}, /spec\.envFrom\[0\].*exactly one of secretRef or configMapRef/],
    ['a TTL on an instance', { ttlSecondsAfterFinished: 5 }, {}, /spec.*only for mode Job/],
  ];
  it.each(bad)('refuses %s, naming the field (and the CLI rules agree)', async (_what, spec, meta, field) => {
    const obj = mltask('bad', spec);
    obj.metadata = { ...obj.metadata, ...meta };
    expect(await refusal(obj)).toMatch(field);
    const local = parseMLTask(obj);
    expect(local.ok).toBe(false);
  });

  it('runs a 2-worker gang to Succeeded: pods from the StatefulSet controller, placed by kube-scheduler + extender, exit 0 by KWOK', async () => {
    await cp.request('POST', BASE, mltask('train'));
    await cp.eventually(async () => (await podsOf('train')).filter((p) => p.spec.nodeName).length === 2, 'both workers bound', 90_000);
    await cp.eventually(phaseIs('train', 'Running'), 'phase Running', 60_000);
    const running = (await task('train'))!;
    expect(running.status).toMatchObject({ readyWorkers: 2, ready: '2/2', totalWorkers: 2, gpus: 16, observedGeneration: 1 });
    const nodes = running.status.workers.map((w: KObj) => w.node);
    expect(new Set(nodes).size).toBe(2);
    for (const w of running.status.workers) {
      expect(w.gpus.split(',')).toHaveLength(8);
      expect(w.nvlink).toBe(true);
    }
    const svc = await cp.get('v1', 'Service', 'train', NS);
    expect(svc?.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    const pods = await podsOf('train');
    expect(pods.map((p) => p.metadata.labels['apps.kubernetes.io/pod-index']).sort()).toEqual(['0', '1']);
    expect(pods[0]!.metadata.annotations['linkpack.io/gang']).toBe(`${running.metadata.uid}/2`);

    for (const p of pods) await cp.request('PATCH', `/api/v1/namespaces/${NS}/pods/${p.metadata.name}`, { metadata: { annotations: { 'linkpack.test/exit-code': '0', 'linkpack.test/exit-after-ms': '100' } } }, 'application/merge-patch+json');
    await cp.eventually(phaseIs('train', 'Succeeded'), 'phase Succeeded', 60_000).catch(async (err) => {
      const t = await task('train');
      const ps = (await podsOf('train')).map((p) => ({ name: p.metadata.name, uid: p.metadata.uid, ann: p.metadata.annotations, phase: p.status?.phase, cs: p.status?.containerStatuses }));
      const evs = ((await cp.request('GET', `/api/v1/namespaces/${NS}/events`)).items as KObj[]).map((e) => `${e.lastTimestamp ?? e.eventTime} ${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`);
      throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(t?.status)}\npods: ${JSON.stringify(ps)}\nevents:\n${evs.join('\n')}`);
    });
    await cp.eventually(async () => (await cp.get('apps/v1', 'StatefulSet', 'train', NS))?.spec?.replicas === 0, 'scaled to 0', 30_000);
    const done = (await task('train'))!;
    expect(done.status.completionTime).toBeDefined();
    expect(done.status.conditions.find((c: KObj) => c.type === 'Succeeded')).toMatchObject({ status: 'True', reason: 'AllWorkersSucceeded' });
    await cp.eventually(async () => {
      const r = await eventsOf('train');
      return ['CreatedService', 'CreatedStatefulSet', 'Running', 'Succeeded', 'ScaledWorkers'].every((x) => r.includes(x));
    }, 'Events for each step', 30_000);
  });

  it('a worker exiting non-zero beyond backoffLimit: Failed, scaled to 0', async () => {
    await cp.request('POST', BASE, mltask('flaky', { parallelism: 1, backoffLimit: 0 }));
    await cp.eventually(async () => (await podsOf('flaky')).some((p) => p.status?.phase === 'Running'), 'worker Running', 90_000);
    const [p] = await podsOf('flaky');
    await cp.request('PATCH', `/api/v1/namespaces/${NS}/pods/${p!.metadata.name}`, { metadata: { annotations: { 'linkpack.test/exit-code': '3', 'linkpack.test/exit-after-ms': '100' } } }, 'application/merge-patch+json');
    await cp.eventually(phaseIs('flaky', 'Failed'), 'phase Failed', 60_000);
    const t = (await task('flaky'))!;
    expect(t.status.conditions.find((c: KObj) => c.type === 'Failed').message).toMatch(/1 failures \(worker 0: 1\) exceed backoffLimit 0/);
    await cp.eventually(async () => (await cp.get('apps/v1', 'StatefulSet', 'flaky', NS))?.spec?.replicas === 0, 'scaled to 0', 30_000);
  });

  it('a task that cannot be placed whole waits with a reason; nothing is half-started', async () => {
    // 3 nodes, 2 held by train? No: train finished and scaled to 0. Ask for 4 whole nodes of 3.
    await cp.request('POST', BASE, mltask('toobig', { parallelism: 4 }));
    await cp.eventually(async () => {
      const r = await cp.request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('reason=FailedScheduling')}`);
      return (r.items as KObj[]).some((e) => /4 workers need 4 NVLink-connected 8-GPU sets; 3 exist free/.test(e.message));
    }, 'FailedScheduling with the gang reason', 90_000);
    expect((await podsOf('toobig')).filter((p) => p.spec.nodeName)).toHaveLength(0);
    expect((await task('toobig'))!.status.phase).toBe('Pending');
  });

  it('deleting the task: the garbage collector removes its StatefulSet, Service and pods', async () => {
    await cp.request('DELETE', `${BASE}/toobig`);
    await cp.eventually(async () => !(await cp.get('apps/v1', 'StatefulSet', 'toobig', NS)) && !(await cp.get('v1', 'Service', 'toobig', NS)) && (await podsOf('toobig')).length === 0, 'children collected', 60_000);
  });
});
