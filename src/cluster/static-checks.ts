/**
 * What a cluster file must not say, because a live cluster cannot: no objects at all, one node
 * twice, a GPU held beyond its capacity by the pods in the file, a pod assigned a GPU index or
 * UUID its node does not have. Each is one line naming the file and the objects; accepting them
 * silently would serve a cluster that places on GPUs that do not exist or are taken twice.
 */
import { GPU_MILLI } from '../core/types.js';
import { parseGpuNode } from './gpunode.js';
import { podFacts } from './pod.js';

type Obj = Record<string, unknown>;

export interface ClusterObjects {
  nodes: Obj[];
  gpuNodes: Obj[];
  pods: Obj[];
}

const nameOf = (o: Obj) => (o.metadata as Obj).name as string;

/** The first problem, or undefined. */
export function clusterFileProblem(c: ClusterObjects, source: string): string | undefined {
  if (c.nodes.length + c.gpuNodes.length + c.pods.length === 0) {
    return `${source}: the file holds no Node, GPUNode or Pod (see deploy/examples/cluster.yaml)`;
  }
  for (const [kind, list] of [['Node', c.nodes], ['GPUNode', c.gpuNodes]] as const) {
    const seen = new Set<string>();
    for (const o of list) {
      if (seen.has(nameOf(o))) return `${source}: ${kind} ${nameOf(o)} appears twice`;
      seen.add(nameOf(o));
    }
  }
  const gpusOf = new Map<string, { index: number; uuid?: string }[]>();
  for (const g of c.gpuNodes) {
    const p = parseGpuNode(g);
    if (p.ok) gpusOf.set(nameOf(g), p.value.record.topology.gpus);
  }
  // GPU → milli-GPU held and by whom, per node.
  const held = new Map<string, { milli: number; pods: string[] }>();
  for (const pod of c.pods) {
    const f = podFacts(pod);
    if (!f?.active || !f.node || !f.gpus) continue;
    const gpus = gpusOf.get(f.node);
    const ref = `${f.namespace}/${f.name}`;
    for (const a of f.gpus) {
      const gpu = gpus?.find((x) => x.index === a.index);
      if (gpus && !gpu) return `${source}: Pod ${ref} is assigned GPU ${a.index}, which node ${f.node} does not have (GPUs 0–${gpus.length - 1})`;
      if (gpu && a.uuid && gpu.uuid && a.uuid.toUpperCase() !== gpu.uuid.toUpperCase()) {
        return `${source}: Pod ${ref} is assigned GPU ${a.index} as ${a.uuid}, but that GPU on node ${f.node} is ${gpu.uuid} (a UUID from another machine?)`;
      }
      const key = `${f.node}\u0000${a.index}`;
      const h = held.get(key) ?? { milli: 0, pods: [] };
      h.milli += f.milliPerGpu;
      h.pods.push(ref);
      held.set(key, h);
      if (h.milli > GPU_MILLI) return `${source}: GPU ${a.index} on node ${f.node} is held by ${h.pods.join(' and ')} (${h.milli} milli-GPU of ${GPU_MILLI})`;
    }
  }
  return undefined;
}
