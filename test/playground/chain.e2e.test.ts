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
import { getPreset } from '../../src/topology/presets.js';
import { islands } from '../../src/topology/islands.js';

const NODES = [
  { name: 'dgx1', topology: 'dgx1-v100' },
  { name: 'h100', topology: 'hgx-h100' },
  { name: 'pcie', topology: 'pcie-8x-nvlink-pairs' },
];

let pg: Playground;
let dir: string;

const uuidsOf = (pod: KObj): string[] => {
  const parsed = parseAssignedGpus(pod.metadata?.annotations?.[ANN_ASSIGNED_GPUS] ?? '');
  if (!parsed.ok) throw new Error(`pod ${pod.metadata.name}: ${parsed.error}`);
  return parsed.value.map((g) => g.uuid!).sort();
};

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
        const a = (g?.status?.assignments ?? []).find((x: KObj) => x.namespace === 'ml' && x.name === w.metadata.name);
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
});
