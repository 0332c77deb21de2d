/**
 * `npm run bench:replay`: a scaled slice of the Alibaba trace through the REAL kube-scheduler (the
 * shipped deploy/scheduler/scheduler-config.yaml) + the linkpack extender (in this process, as
 * `linkpack extender --profile observed`) on a real kube-apiserver with KWOK fake nodes
 * (test/support/control-plane.ts), against the simulator's "as deployed" prediction
 * (linkpack-devicecap: the same scheduler configuration, kube-scheduler's device count) on the
 * same nodes and the same arrival list.
 *
 * Protocol, as the simulator's FGD protocol on the slice: pods arrive one at a time (the next is
 * created once the previous is bound or reported unschedulable; an unschedulable pod is deleted:
 * "dropped"), arrivals until 1.3× the slice's GPU capacity. Metric: unallocated GPU % when the
 * arrived GPU demand first reaches 100% of capacity, and at the end.
 *
 * Options: --nodes 100 --seed 42 --workload default --tolerance 1.5 --share-slots 1
 * (--share-slots N: the nodes advertise N nvidia.com/gpu devices per GPU, as the device plugin with
 * `--share-slots N` does, and the prediction counts devices the same way).
 */
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { ANN_GPU_MILLI, ANN_GPU_MODEL, ANN_ASSIGNED_GPUS } from '../src/api/annotations.js';
import { gpuNodeObject } from '../src/cluster/gpunode.js';
import { SimCluster, nodeSpecsFromTrace, MILLI, type SimPod } from '../src/sim/cluster.js';
import { deployedPolicy, shippedWithDeviceCount } from '../src/sim/policies.js';
import { parseShareSlots } from '../src/deviceplugin/command.js';
import { buildArrivals, runArrivals } from '../src/sim/protocol.js';
import { Rng } from '../src/sim/rng.js';
import { loadNodeCsv, loadPodCsv, type TraceNode } from '../src/sim/trace.js';
import { runProfile } from '../src/sim/profile.js';
import { controlPlaneSkip, startControlPlane, type KObj } from '../src/playground/control-plane.js';
import { startSchedulingStack, waitForReadyNodes } from '../test/support/scheduling.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const nodeCount = Number(arg('nodes', '100'));
const seed = Number(arg('seed', '42'));
const workload = arg('workload', 'default');
const tolerance = Number(arg('tolerance', '1.5'));
if (!Number.isInteger(nodeCount) || nodeCount < 2 || !Number.isInteger(seed) || !(tolerance > 0)) {
  console.error('bench:replay: --nodes must be a whole number ≥ 2, --seed a whole number, --tolerance > 0');
  process.exit(2);
}
// The device plugin's own rule for --share-slots.
let shareSlots = 1;
try {
  shareSlots = parseShareSlots(arg('share-slots', '1'));
} catch (err) {
  console.error(`bench:replay: ${(err as Error).message}`);
  process.exit(2);
}
const shared = process.env.LINKPACK_SHARED ?? resolve(process.cwd(), '../shared');
const csv = join(shared, 'traces/alibaba-v2023/csv');
if (!existsSync(join(csv, 'openb_node_list_gpu_node.csv'))) {
  console.error(`bench:replay: the openb trace is not at ${csv} (set LINKPACK_SHARED); nothing to run`);
  process.exit(2);
}
if (controlPlaneSkip) {
  console.error(`bench:replay: ${controlPlaneSkip}`);
  process.exit(2);
}

// The slice: a seeded sample of GPU nodes (the model mix of the whole cluster, in expectation).
const all = loadNodeCsv(join(csv, 'openb_node_list_gpu_node.csv')).filter((n) => n.gpuCount > 0);
const rng = new Rng(seed);
const slice: TraceNode[] = rng.shuffle([...all]).slice(0, nodeCount).map((n, i) => ({ ...n, name: `n${String(i).padStart(3, '0')}` }));
const specs = nodeSpecsFromTrace(slice, 'nvswitch');
const cluster = new SimCluster(specs);
const tracePods = loadPodCsv(join(csv, `openb_pod_list_${workload}.csv`)).map((p) => ({ ...p, name: p.name.toLowerCase() }));
const pods = tracePods.map((p) => cluster.compilePod(p));
const arrivals = buildArrivals(pods, cluster.capacityMilli, seed);

/** Unallocated % when arrived demand first reaches 100%, and after the last pod. */
function metric(arrivedMilli: ArrayLike<number>, usedMilli: ArrayLike<number>, capacity: number): { at100: number; end: number } {
  let at100 = NaN;
  for (let i = 0; i < arrivedMilli.length; i++) {
    if (arrivedMilli[i] >= capacity) {
      at100 = 100 - (100 * usedMilli[i]) / capacity;
      break;
    }
  }
  return { at100, end: 100 - (100 * usedMilli[usedMilli.length - 1]) / capacity };
}

// The simulator's prediction, same nodes, same arrivals, kube-scheduler's random ties.
const t0 = performance.now();
const predictedBy = shareSlots === 1 ? 'linkpack-devicecap' : `linkpack-devicecap, ${shareSlots} devices per GPU`;
// The extender breaks equal raw scores by nodeTieRank of the node's name, and learns its profile
// from the pods it has seen (none below 20 GPU pods, rebuilt as their count doubles): the
// prediction does both. The same with the whole list's profile from the first pod is shown too:
// what learning the profile costs.
const profile = runProfile(tracePods, cluster);
const sim = runArrivals(cluster, arrivals, deployedPolicy(shippedWithDeviceCount(shareSlots), predictedBy, { extenderTiesByName: true, observedProfile: true }), seed, profile, 'random');
const predicted = metric(sim.events.arrivedMilli, sim.events.usedMilli, cluster.capacityMilli);
const simMs = performance.now() - t0;
const simFull = runArrivals(cluster, arrivals, deployedPolicy(shippedWithDeviceCount(shareSlots), predictedBy, { extenderTiesByName: true }), seed, profile, 'random');
const predictedFull = metric(simFull.events.arrivedMilli, simFull.events.usedMilli, cluster.capacityMilli);

function podObject(p: SimPod, i: number): KObj {
  const limits: Record<string, string> = {};
  if (p.gpuCount > 0) limits['nvidia.com/gpu'] = String(p.gpuCount);
  const annotations: Record<string, string> = {};
  if (p.milliPerGpu > 0 && p.milliPerGpu < MILLI) annotations[ANN_GPU_MILLI] = String(p.milliPerGpu);
  // The trace's model constraint (gpuspecNN lists), as a user writes it.
  if (p.gpuCount > 0 && p.gpuSpec.length > 0) annotations[ANN_GPU_MODEL] = p.gpuSpec.join(',');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `r${String(i).padStart(5, '0')}`, namespace: 'replay', annotations },
    spec: {
      schedulerName: 'linkpack-scheduler',
      containers: [{ name: 'main', image: 'trace:1', resources: { requests: { cpu: `${p.cpuMilli}m`, memory: `${p.memoryMiB}Mi`, ...limits }, limits } }],
    },
  };
}

const cp = await startControlPlane({ crds: true, kwok: true, controllerManager: true });
let exitCode = 0;
try {
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'replay' } });
  for (const s of specs) {
    const node = await cp.createFakeNode(s.name, { gpus: s.gpuCount * shareSlots, cpu: `${s.cpuMilli}m`, memory: `${s.memoryMiB}Mi` });
    const topo = { ...s.topology, gpus: s.topology.gpus.map((g) => ({ ...g, uuid: `GPU-${s.name}-${g.index}` })) };
    const want = JSON.parse(JSON.stringify(gpuNodeObject(s.name, topo))) as KObj;
    want.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: s.name, uid: node.metadata.uid }];
    const [created] = await cp.apply(want);
    await cp.writeStatus(created!, want.status);
  }
  await waitForReadyNodes(cp, specs.length, { untainted: true });
  const stack = await startSchedulingStack(cp, { profile: 'observed' });
  const t1 = performance.now();
  const arrived = new Float64Array(arrivals.length);
  const used = new Float64Array(arrivals.length);
  let arrivedMilli = 0;
  let usedMilli = 0;
  let dropped = 0;
  for (let i = 0; i < arrivals.length; i++) {
    const p = arrivals[i]!;
    const obj = podObject(p, i);
    await cp.apply(obj);
    arrivedMilli += p.totalMilli;
    let outcome: 'bound' | 'unschedulable' | undefined;
    await cp.eventually(async () => {
      const got = await cp.get('v1', 'Pod', obj.metadata.name, 'replay');
      if (got?.spec?.nodeName && got.metadata?.annotations?.[ANN_ASSIGNED_GPUS] !== undefined) outcome = 'bound';
      else if (got?.spec?.nodeName && p.gpuCount === 0) outcome = 'bound';
      else if ((got?.status?.conditions ?? []).some((c: KObj) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')) outcome = 'unschedulable';
      return outcome !== undefined;
    }, `pod ${obj.metadata.name} bound or unschedulable`, 60_000);
    if (outcome === 'bound') usedMilli += p.totalMilli;
    else {
      dropped++;
      await cp.request('DELETE', `/api/v1/namespaces/replay/pods/${obj.metadata.name}?gracePeriodSeconds=0`);
    }
    arrived[i] = arrivedMilli;
    used[i] = usedMilli;
    if (process.stderr.isTTY && i % 50 === 0) process.stderr.write(`\rbench:replay: ${i}/${arrivals.length} pods`);
  }
  const realMs = performance.now() - t1;
  await stack.close();
  const real = metric(arrived, used, cluster.capacityMilli);
  const diff = real.at100 - predicted.at100;
  const ok = Math.abs(diff) <= tolerance;
  const gpus = cluster.capacityMilli / MILLI;
  console.log(`# Replay: ${specs.length} openb nodes (${gpus} GPUs, ${shareSlots} nvidia.com/gpu device${shareSlots === 1 ? '' : 's'} per GPU), ${arrivals.length} ${workload} pods, seed ${seed}`);
  console.log('');
  console.log('| | unallocated % at 100% arrival | at the end (130%) | dropped pods | time |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| real kube-scheduler + extender | ${real.at100.toFixed(2)} | ${real.end.toFixed(2)} | ${dropped} | ${(realMs / 1000).toFixed(0)} s |`);
  console.log(`| simulator, ${predictedBy}, profile learned from the pods seen (the prediction) | ${predicted.at100.toFixed(2)} | ${predicted.end.toFixed(2)} | ${sim.failedPods} | ${(simMs / 1000).toFixed(1)} s |`);
  console.log(`| simulator, the same with the whole list's profile from the first pod | ${predictedFull.at100.toFixed(2)} | ${predictedFull.end.toFixed(2)} | ${simFull.failedPods} | |`);
  console.log('');
  console.log(`difference ${diff >= 0 ? '+' : ''}${diff.toFixed(2)} points; tolerance ±${tolerance}: ${ok ? 'within' : 'OUTSIDE'}`);
  if (!ok) exitCode = 1;
} finally {
  await cp.stop();
}
process.exit(exitCode);
