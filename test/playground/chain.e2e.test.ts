/**
 * The GPU chain on real kubelets (the playground): the real kube-scheduler with the shipped
 * configuration calls the extender, which binds with `linkpack.io/assigned-gpus`; the real kubelet
 * asks the device plugin for a preferred allocation and allocates; the CRI runtime records what the
 * container got; the kubelet's PodResources, the agent's GPUNode and metrics, and the extender's
 * cache all tell the same story. Every component runs under its own ServiceAccount.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANN_ASSIGNED_GPUS, LABEL_MLTASK, parseAssignedGpus } from '../../src/api/annotations.js';
import { podResourcesClient } from '../../src/kubelet/pod-resources-client.js';
import { controlPlaneSkip, type KObj } from '../../src/playground/control-plane.js';
import { containerGpus, doubleAllocations, readCriRecords } from '../../src/playground/cri-records.js';
import { Playground } from '../../src/playground/playground.js';
import { assignedGpus, gpuPod, podInPhase } from './helpers.js';
import { getPreset } from '../../src/topology/presets.js';
import { islands } from '../../src/topology/islands.js';

const NODES = [
  { name: 'dgx1', topology: 'dgx1-v100' },
  { name: 'h100', topology: 'hgx-h100' },
  { name: 'pcie', topology: 'pcie-8x-nvlink-pairs' },
];

let pg: Playground;
let dir: string;

const uuidsOf = (pod: KObj): string[] => assignedGpus(pod).map((g) => g.uuid!).sort();

async function podResourcesGpus(node: string): Promise<Map<string, string[]>> {
  const client = podResourcesClient(pg.nodes.get(node)!.paths.podResourcesSocket);
  try {
    const out = new Map<string, string[]>();
    for (const d of await client.list()) {
      if (d.resourceName !== 'nvidia.com/gpu') continue;
      const key = `${d.namespace}/${d.pod}`;
      out.set(key, [...(out.get(key) ?? []), ...d.deviceIds].sort());
    }
    return out;
  } finally {
    client.close();
  }
}

/** The GPUs of one NVLink-connected component of the node's topology, by index. */
function sameIsland(node: string, indices: number[]): boolean {
  const topo = getPreset(NODES.find((n) => n.name === node)!.topology)!;
  return islands(topo).some((island) => indices.every((i) => island.includes(i)));
}

const runningPod = (name: string) => podInPhase(pg, name, ['Running'], 90_000);

/** NVIDIA_VISIBLE_DEVICES of the pod's newest container, as the CRI runtime received it. */
function criGpus(node: string, pod: string): string[] {
  const created = readCriRecords(pg.nodes.get(node)!.paths.criRecords).filter((r) => r.event === 'create' && r.podName === pod);
  return (created.at(-1)?.envs?.NVIDIA_VISIBLE_DEVICES ?? '').split(',').filter((x) => x !== '').sort();
}

const logOf = (name: string) => readFileSync(path.join(dir, `${name}.log`), 'utf8');
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe.skipIf(controlPlaneSkip)('the GPU chain on real kubelets', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-pg-'));
    pg = await Playground.up({ dir, nodes: NODES });
    await pg.cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
  }, 420_000);
  afterAll(async () => {
    await pg?.down();
  }, 60_000);

  it('an MLTask of 2 workers × 4 GPUs, require-nvlink: the GPUs bound are the GPUs the containers get, and every view agrees', async () => {
    const exitFile = path.join(dir, 'exit-chain');
    await pg.cp.apply({
      apiVersion: 'linkpack.io/v1alpha1',
      kind: 'MLTask',
      metadata: { name: 'chain', namespace: 'ml' },
      spec: {
        image: 'trainer:1',
        command: ['train'],
        env: [
          { name: 'PLAYGROUND_EXIT_ON_FILE', value: exitFile },
          { name: 'PLAYGROUND_EXIT_CODE', value: '0' },
        ],
        trainingData: { uri: 's3://datasets/chain/' },
        modelOutput: { uri: 's3://models/chain/' },
        parallelism: 2,
        resources: { gpus: 4, cpu: '100m', memory: '64Mi' },
        gpu: { topology: 'require-nvlink' },
      },
    });
    let workers: KObj[] = [];
    await pg.cp.eventually(async () => {
      workers = (await pg.cp.request('GET', `/api/v1/namespaces/ml/pods?labelSelector=${encodeURIComponent(`${LABEL_MLTASK}=chain`)}`)).items;
      return workers.length === 2 && workers.every((p) => p.status?.phase === 'Running');
    }, 'both workers Running', 150_000);

    for (const w of workers) {
      const node: string = w.spec.nodeName;
      const name = `ml/${w.metadata.name}`;
      // Bound by the real scheduler through the extender, onto one NVLink island of a node that has one.
      expect(['dgx1', 'h100'], name).toContain(node);
      const assigned = parseAssignedGpus(w.metadata.annotations[ANN_ASSIGNED_GPUS]);
      expect(assigned.ok, name).toBe(true);
      const indices = assigned.ok ? assigned.value.map((g) => g.index) : [];
      expect(indices, name).toHaveLength(4);
      expect(sameIsland(node, indices), `${name} on ${node} GPUs ${indices.join(',')} share NVLink`).toBe(true);
      const uuids = uuidsOf(w);

      // What the container got, as the CRI runtime received it from the kubelet.
      const created = readCriRecords(pg.nodes.get(node)!.paths.criRecords).filter((r) => r.event === 'create' && r.podName === w.metadata.name);
      expect(created.length, name).toBeGreaterThan(0);
      expect(created.at(-1)!.envs!.NVIDIA_VISIBLE_DEVICES!.split(',').sort(), `${name}: NVIDIA_VISIBLE_DEVICES`).toEqual(uuids);

      // The kubelet's own account of the devices, and that it asked the plugin first.
      expect((await podResourcesGpus(node)).get(name), `${name}: PodResources`).toEqual(uuids);
      const pluginLog = readFileSync(path.join(dir, `device-plugin-${node}.log`), 'utf8');
      expect(pluginLog, `${name}: GetPreferredAllocation answered from the extender's assignment`).toContain(`assigned to pod ${name}`);

      // The agent's GPUNode and its DCGM-named metrics.
      await pg.cp.eventually(async () => {
        const g = await pg.cp.get('linkpack.io/v1alpha1', 'GPUNode', node);
        const a = (g?.status?.assignments ?? []).find((x: KObj) => x.pod === name);
        return !!a && a.gpus.map((i: number) => g!.status.gpus.find((x: KObj) => x.index === i)?.uuid).sort().join(',') === uuids.join(',');
      }, `${name}: GPUNode ${node} reports the kubelet's assignment`, 60_000);
      const metricsUrl = pg.state.nodes.find((n) => n.name === node)!.agentMetrics;
      await pg.cp.eventually(async () => {
        const text = await (await fetch(metricsUrl)).text();
        return uuids.every((u) => new RegExp(`DCGM_FI_DEV_GPU_UTIL\\{[^}]*UUID="${u}"[^}]*pod="${w.metadata.name}"`).test(text) || new RegExp(`DCGM_FI_DEV_GPU_UTIL\\{[^}]*pod="${w.metadata.name}"[^}]*UUID="${u}"`).test(text));
      }, `${name}: the agent's DCGM_FI_DEV_GPU_UTIL carries the pod label on its GPUs`, 60_000);

      // The extender's cache counts those GPUs as taken by this pod.
      const ui = (await (await fetch(`${pg.extenderUrl}/ui/state`)).json()) as { nodes: { name: string; gpus: { uuid?: string; pods: { pod: string }[] }[] }[] };
      const held = ui.nodes.find((n) => n.name === node)!.gpus.filter((g) => g.pods.some((p) => p.pod === name)).map((g) => g.uuid).sort();
      expect(held, `${name}: the extender's cache`).toEqual(uuids);
    }

    writeFileSync(exitFile, 'done\n');
    await pg.cp.eventually(async () => (await pg.cp.get('linkpack.io/v1alpha1', 'MLTask', 'chain', 'ml'))?.status?.phase === 'Succeeded', 'MLTask chain Succeeded', 120_000);
  }, 300_000);

  it('20 pods of 1–4 GPUs racing on two nodes: no GPU is ever in two running containers (CRI records and PodResources)', async () => {
    const sizes = Array.from({ length: 20 }, (_, i) => 1 + ((i * 7) % 4));
    const stop = { now: false };
    const snapshots: string[] = [];
    // PodResources sampled while the race runs: within one snapshot a device is held once.
    const sampler = (async () => {
      while (!stop.now) {
        for (const node of ['dgx1', 'pcie']) {
          const seen = new Map<string, string>();
          for (const [pod, ids] of await podResourcesGpus(node).catch(() => new Map<string, string[]>())) {
            for (const id of ids) {
              if (seen.has(id)) snapshots.push(`${id} on ${node}: ${seen.get(id)} and ${pod} in one PodResources answer`);
              seen.set(id, pod);
            }
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const names = sizes.map((_, i) => `race-${i}`);
    await Promise.all(
      sizes.map((gpus, i) =>
        pg.cp.apply({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: names[i], namespace: 'ml' },
          spec: {
            schedulerName: 'linkpack-scheduler',
            restartPolicy: 'Never',
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['dgx1', 'pcie'] }] }] } } },
            containers: [{ name: 'main', image: 'worker:1', env: [{ name: 'PLAYGROUND_EXIT_CODE', value: '0' }], resources: { limits: { 'nvidia.com/gpu': String(gpus), cpu: '10m', memory: '16Mi' } } }],
          },
        }),
      ),
    );
    try {
      await pg.cp.eventually(async () => {
        const pods: KObj[] = (await pg.cp.request('GET', '/api/v1/namespaces/ml/pods')).items;
        return names.every((n) => pods.find((p) => p.metadata.name === n)?.status?.phase === 'Succeeded');
      }, 'all 20 racing pods Succeeded', 240_000);
    } finally {
      stop.now = true;
      await sampler;
    }
    const held = ['dgx1', 'pcie'].flatMap((n) => containerGpus(n, readCriRecords(pg.nodes.get(n)!.paths.criRecords)));
    const raced = held.filter((c) => c.pod.startsWith('ml/race-'));
    expect(raced.length).toBeGreaterThanOrEqual(20);
    for (const c of raced) expect(c.gpus.length, `${c.pod} got ${c.gpus.join(',')}`).toBe(sizes[Number(c.pod.slice('ml/race-'.length))]);
    expect(doubleAllocations(held)).toEqual([]);
    expect(snapshots).toEqual([]);
  }, 300_000);

  it('the kubelet restarted, then the device plugin restarted: running pods keep their GPUs, the plugin registers again, the next pods get the extender\'s set', async () => {
    await pg.cp.apply(gpuPod('keep', 2, { node: 'h100' }));
    const keep = uuidsOf(await runningPod('keep'));
    expect(criGpus('h100', 'keep')).toEqual(keep);
    const registered = 'registered nvidia.com/gpu';
    const before = count(logOf('device-plugin-h100'), registered);

    await pg.nodes.get('h100')!.restartKubelet();
    await pg.cp.eventually(async () => count(logOf('device-plugin-h100'), registered) > before, 'the device plugin registers with the new kubelet', 60_000);
    await pg.cp.eventually(async () => (await podResourcesGpus('h100')).get('ml/keep')?.join(',') === keep.join(','), 'PodResources lists keep with its GPUs after the restart', 60_000);
    expect((await pg.cp.get('v1', 'Pod', 'keep', 'ml'))!.status.phase).toBe('Running');
    await pg.cp.apply(gpuPod('after-kubelet', 2, { node: 'h100' }));
    const afterKubelet = uuidsOf(await runningPod('after-kubelet'));
    expect(criGpus('h100', 'after-kubelet')).toEqual(afterKubelet);
    expect(afterKubelet.filter((u) => keep.includes(u))).toEqual([]);

    const beforePlugin = count(logOf('device-plugin-h100'), registered);
    await pg.restart('device-plugin-h100');
    await pg.cp.eventually(async () => count(logOf('device-plugin-h100'), registered) > beforePlugin, 'the restarted device plugin registers', 60_000);
    await pg.cp.apply(gpuPod('after-plugin', 2, { node: 'h100' }));
    const afterPlugin = uuidsOf(await runningPod('after-plugin'));
    expect(criGpus('h100', 'after-plugin')).toEqual(afterPlugin);
    expect(afterPlugin.filter((u) => keep.includes(u) || afterKubelet.includes(u))).toEqual([]);
    expect((await podResourcesGpus('h100')).get('ml/keep')).toEqual(keep);

    // The agent's GPUNode reports the three pods (the empty answer of the restarting kubelet is not believed).
    await pg.cp.eventually(async () => {
      const g = await pg.cp.get('linkpack.io/v1alpha1', 'GPUNode', 'h100');
      const pods = (g!.status.assignments ?? []).map((a: KObj) => a.pod);
      return ['ml/keep', 'ml/after-kubelet', 'ml/after-plugin'].every((p) => pods.includes(p));
    }, 'the GPUNode lists all three pods', 60_000);
    for (const n of ['keep', 'after-kubelet', 'after-plugin']) await pg.cp.request('DELETE', `/api/v1/namespaces/ml/pods/${n}`);
  }, 300_000);

  it('a pod placed without linkpack (no assignment): the plugin gives the core\'s best set and the extender learns it from the agent', async () => {
    await pg.cp.apply(gpuPod('unscheduled', 2, { node: 'pcie', scheduler: false }));
    const pod = await runningPod('unscheduled');
    expect(pod.metadata.annotations?.[ANN_ASSIGNED_GPUS]).toBeUndefined();
    const got = criGpus('pcie', 'unscheduled');
    expect(got).toHaveLength(2);
    expect(logOf('device-plugin-pcie')).toContain("the core's best set");
    // The core's best pair on a PCIe box with NVLink bridges is a bridged pair.
    const topo = getPreset('pcie-8x-nvlink-pairs')!;
    const g = await pg.cp.get('linkpack.io/v1alpha1', 'GPUNode', 'pcie');
    const indexOf = (u: string) => g!.status.gpus.find((x: KObj) => x.uuid === u).index as number;
    expect(islands(topo).some((island) => got.every((u) => island.includes(indexOf(u)))), `${got.join(',')} share an NVLink bridge`).toBe(true);
    await pg.cp.eventually(async () => {
      const ui = (await (await fetch(`${pg.extenderUrl}/ui/state`)).json()) as { nodes: { name: string; gpus: { uuid?: string; pods: { pod: string }[] }[] }[] };
      return ui.nodes.find((n) => n.name === 'pcie')!.gpus.filter((x) => x.pods.some((p) => p.pod === 'ml/unscheduled')).map((x) => x.uuid).sort().join(',') === got.join(',');
    }, "the extender's cache holds the pod's GPUs as the kubelet gave them", 60_000);
    await pg.cp.request('DELETE', '/api/v1/namespaces/ml/pods/unscheduled');
  }, 180_000);
});
