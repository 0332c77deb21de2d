import { SimCluster, nodeSpecsFromTrace, type SimPod } from '../../src/sim/cluster.js';
import type { TraceNode, TracePod } from '../../src/sim/trace.js';

export function node(name: string, gpuCount: number, model = 'T4', cpuMilli = 64000, memoryMiB = 262144): TraceNode {
  return { name, cpuMilli, memoryMiB, gpuCount, model };
}

export function pod(name: string, gpuCount: number, milliPerGpu: number, cpuMilli = 1000, memoryMiB = 1024, gpuSpec: string[] = []): TracePod {
  return { name, cpuMilli, memoryMiB, gpuCount, milliPerGpu, gpuSpec };
}

export function clusterOf(...nodes: TraceNode[]): SimCluster {
  return new SimCluster(nodeSpecsFromTrace(nodes, 'nvswitch'));
}

/** Place a pod on given GPUs of a node (by name), for setting up a state. */
export function put(c: SimCluster, nodeName: string, p: TracePod, gpus: number[]): SimPod {
  const idx = c.specs.findIndex((s) => s.name === nodeName);
  const sp = c.compilePod(p);
  c.place(idx, sp, gpus);
  return sp;
}
