/**
 * What a cluster file must not say, because a live cluster cannot: no objects at all, one node
 * twice, and the assignment problems of assignment-checks.ts (a GPU held twice, an unknown GPU). Each is one line naming the file and the objects; accepting them
 * silently would serve a cluster that places on GPUs that do not exist or are taken twice.
 */
import { assignmentProblems, type Holder } from './assignment-checks.js';
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
  const byNode = new Map<string, Holder[]>();
  for (const pod of c.pods) {
    const f = podFacts(pod);
    if (!f?.active || !f.node || !f.gpus) continue;
    const list = byNode.get(f.node) ?? [];
    list.push({ ref: `${f.namespace}/${f.name}`, gpus: f.gpus, milliPerGpu: f.milliPerGpu });
    byNode.set(f.node, list);
  }
  for (const [node, holders] of byNode) {
    const gpus = gpusOf.get(node);
    if (!gpus) continue; // a Node without a GPUNode: checkReferences has the word on it
    const first = assignmentProblems(node, gpus, holders)[0];
    if (first) return `${source}: ${first.text}`;
  }
  return undefined;
}
