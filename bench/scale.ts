/**
 * `npm run bench:scale -- [--nodes 500[,2000]] [--scenarios pods,nvlink8] [--pods 4000] [--json]`
 *
 * Scheduling throughput through the REAL kube-scheduler on a real kube-apiserver with KWOK nodes
 * (a mix: half HGX H100 NVSwitch, a quarter DGX-1 V100 cube mesh, a quarter 8-GPU PCIe), each
 * scenario run twice in one invocation on fresh clusters:
 * - extender: the shipped `linkpack-scheduler` profile with the linkpack extender (shipped flags);
 * - floor: the same kube-scheduler binary and profile name, NodeResourcesFit MostAllocated on
 *   nvidia.com/gpu (kube-scheduler's own bin-packing), no extender.
 * Scenarios: `pods` — `--pods` one-GPU pods created at once; `nvlink8` — nodes/8 × 8-GPU pods,
 * `require-nvlink` (the floor ignores the annotation), then the share of them on NVLink-connected sets.
 * Reported per run: seconds from the first create to all bound, pods/s (median of 10 s windows,
 * from each pod's PodScheduled time), unallocated GPU % when done, the extender's share of the
 * time (its filter+prioritize seconds, which sit in the serial scheduling cycle, over the wall
 * time; binds run beside the cycle), and the ratio extender/floor.
 */
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../src/playground/control-plane.js';
import { islands } from '../src/topology/islands.js';
import { getPreset } from '../src/topology/presets.js';
import { ANN_ASSIGNED_GPUS, parseAssignedGpus } from '../src/api/annotations.js';
import { keepGpuNodeHeartbeats, startSchedulingStack, waitForReadyNodes } from '../test/support/scheduling.js';
import { arg } from './child.js';

const MIX = ['hgx-h100', 'hgx-h100', 'dgx1-v100', 'pcie-8x-2socket'];

const FLOOR_CONFIG = (kubeconfig: string) =>
  JSON.stringify({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig },
    leaderElection: { leaderElect: false },
    profiles: [
      {
        schedulerName: 'linkpack-scheduler',
        pluginConfig: [{ name: 'NodeResourcesFit', args: { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'nvidia.com/gpu', weight: 1 }] } } }],
      },
    ],
  });

export interface ScaleResult {
  scenario: string;
  nodes: number;
  pods: number;
  extenderSeconds: number;
  floorSeconds: number;
  ratio: number;
  extenderPodsPerSecond: number;
  floorPodsPerSecond: number;
  extenderUnallocatedPct: number;
  floorUnallocatedPct: number;
  extenderNvlinkPct?: number;
  floorNvlinkPct?: number;
  extenderShareOfTimePct: number;
}

interface Run {
  seconds: number;
  podsPerSecond: number;
  unallocatedPct: number;
  nvlinkPct?: number;
  extenderSeconds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

async function createAll(cp: ControlPlane, objs: KObj[], concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < objs.length) await cp.apply(objs[next++]!);
    }),
  );
}

async function runOnce(mode: 'extender' | 'floor', scenario: string, nodeCount: number, podCount: number): Promise<Run> {
  const cp = await startControlPlane({ controllerManager: true, kwok: true });
  try {
    const presets = Array.from({ length: nodeCount }, (_, i) => MIX[i % MIX.length]!);
    let made = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (made < nodeCount) {
          const i = made++;
          await cp.createGpuNode(`n${i}`, presets[i]!, { cpu: '128', memory: '1Ti' });
        }
      }),
    );
    await waitForReadyNodes(cp, nodeCount, { untainted: true });
    let stack: Awaited<ReturnType<typeof startSchedulingStack>> | undefined;
    let stopBeats = () => {};
    if (mode === 'extender') stack = await startSchedulingStack(cp);
    else {
      await cp.startScheduler({ config: FLOOR_CONFIG(cp.kubeconfigPath) });
      stopBeats = keepGpuNodeHeartbeats(cp);
    }
    const gpus = scenario === 'nvlink8' ? 8 : 1;
    const pods = Array.from({ length: podCount }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: 'default', annotations: gpus === 8 ? { 'linkpack.io/topology': 'require-nvlink' } : {} },
      spec: { schedulerName: 'linkpack-scheduler', containers: [{ name: 'c', image: 'x', resources: { limits: { 'nvidia.com/gpu': String(gpus), cpu: '10m', memory: '16Mi' } } }], tolerations: [{ operator: 'Exists' }] },
    }));
    const t0 = Date.now();
    await createAll(cp, pods);
    let bound: KObj[] = [];
    for (;;) {
      const all = (await cp.request('GET', '/api/v1/namespaces/default/pods?limit=100000')).items as KObj[];
      bound = all.filter((p) => p.spec?.nodeName);
      if (bound.length >= podCount || Date.now() - t0 > 20 * 60_000) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const seconds = (Date.now() - t0) / 1000;
    const times = bound.map((p) => Date.parse((p.status?.conditions ?? []).find((c: KObj) => c.type === 'PodScheduled')?.lastTransitionTime ?? '') / 1000).filter(Number.isFinite);
    const start = Math.floor(t0 / 1000);
    const windows = new Map<number, number>();
    for (const t of times) windows.set(Math.floor((t - start) / 10), (windows.get(Math.floor((t - start) / 10)) ?? 0) + 1);
    const podsPerSecond = median([...windows.values()].map((n) => n / 10));
    const totalGpus = nodeCount * 8;
    const unallocatedPct = (100 * (totalGpus - bound.length * gpus)) / totalGpus;
    let nvlinkPct: number | undefined;
    if (gpus === 8 && mode === 'extender') {
      let connected = 0;
      for (const p of bound) {
        const a = parseAssignedGpus(p.metadata.annotations?.[ANN_ASSIGNED_GPUS] ?? '');
        const preset = presets[Number(String(p.spec.nodeName).slice(1))]!;
        const idx = a.ok ? a.value.map((g) => g.index) : [];
        if (idx.length > 0 && islands(getPreset(preset)!).some((isl) => idx.every((i) => isl.includes(i)))) connected++;
      }
      nvlinkPct = bound.length ? (100 * connected) / bound.length : 0;
    } else if (gpus === 8) {
      // Without the extender a whole 8-GPU node is NVLink-connected exactly when its preset is.
      nvlinkPct = bound.length ? (100 * bound.filter((p) => islands(getPreset(presets[Number(String(p.spec.nodeName).slice(1))]!)!).some((isl) => isl.length === 8)).length) / bound.length : 0;
    }
    let extenderSeconds = 0;
    if (stack) {
      const m = await stack.extender().app.inject({ method: 'GET', url: '/metrics' });
      for (const line of m.body.split('\n')) {
        // filter and prioritize sit in kube-scheduler's serial scheduling cycle; bind runs beside it.
        const mm = /^linkpack_extender_request_duration_seconds_sum\{[^}]*verb="(?:filter|prioritize)"[^}]*\} (\S+)/.exec(line);
        if (mm) extenderSeconds += Number(mm[1]);
      }
    }
    stopBeats();
    await stack?.close();
    return { seconds, podsPerSecond, unallocatedPct, nvlinkPct, extenderSeconds };
  } finally {
    await cp.stop();
  }
}

async function main(): Promise<void> {
  if (controlPlaneSkip) {
    console.error(`bench:scale: ${controlPlaneSkip}`);
    process.exit(2);
  }
  const sizes = (arg('--nodes') ?? '500').split(',').map(Number);
  const scenarios = (arg('--scenarios') ?? 'pods,nvlink8').split(',');
  const json = process.argv.includes('--json');
  const results: ScaleResult[] = [];
  for (const nodes of sizes) {
    for (const scenario of scenarios) {
      const pods = scenario === 'pods' ? Number(arg('--pods') ?? nodes * 8) : nodes / 2;
      const ext = await runOnce('extender', scenario, nodes, pods);
      const floor = await runOnce('floor', scenario, nodes, pods);
      const r: ScaleResult = {
        scenario,
        nodes,
        pods,
        extenderSeconds: ext.seconds,
        floorSeconds: floor.seconds,
        ratio: Math.round((ext.seconds / floor.seconds) * 100) / 100,
        extenderPodsPerSecond: ext.podsPerSecond,
        floorPodsPerSecond: floor.podsPerSecond,
        extenderUnallocatedPct: Math.round(ext.unallocatedPct * 100) / 100,
        floorUnallocatedPct: Math.round(floor.unallocatedPct * 100) / 100,
        ...(ext.nvlinkPct !== undefined ? { extenderNvlinkPct: Math.round(ext.nvlinkPct * 10) / 10, floorNvlinkPct: Math.round(floor.nvlinkPct! * 10) / 10 } : {}),
        extenderShareOfTimePct: Math.round((1000 * ext.extenderSeconds) / ext.seconds) / 10,
      };
      results.push(r);
      if (!json) console.log(JSON.stringify(r));
    }
  }
  if (json) console.log(JSON.stringify({ machine: '2-core VM', results }));
}

await main();
