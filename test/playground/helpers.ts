/** Builders shared by the playground suites: GPU pods, waiting for a pod, its assigned GPUs, its log. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ANN_ASSIGNED_GPUS, parseAssignedGpus, type AssignedGpuRef } from '../../src/api/annotations.js';
import type { KObj } from '../../src/playground/control-plane.js';
import { PLAYGROUND_IMAGE } from '../../src/playground/node.js';
import type { Playground } from '../../src/playground/playground.js';

export interface GpuPodOptions {
  /** Pin to this node: by nodeSelector through the linkpack scheduler, or by nodeName (no scheduler). */
  node?: string;
  scheduler?: boolean;
  /** PLAYGROUND_EXIT_CODE=0: the fake runtime ends the container after a second. */
  exit?: boolean;
  /** A real container (containerd nodes): the busybox image running this shell command. */
  shell?: string;
  annotations?: Record<string, string>;
}

/** A `restartPolicy: Never` pod of `gpus` GPUs in namespace ml. */
export function gpuPod(name: string, gpus: number, o: GpuPodOptions = {}): KObj {
  const placement = o.scheduler === false ? { nodeName: o.node } : { schedulerName: 'linkpack-scheduler', ...(o.node ? { nodeSelector: { 'kubernetes.io/hostname': o.node } } : {}) };
  const container = o.shell
    ? { image: PLAYGROUND_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', o.shell] }
    : { image: 'worker:1', env: o.exit ? [{ name: 'PLAYGROUND_EXIT_CODE', value: '0' }] : [] };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ml', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      ...placement,
      ...(o.shell ? { hostNetwork: true } : {}),
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'main', ...container, resources: { limits: { 'nvidia.com/gpu': String(gpus), cpu: '10m', memory: '16Mi' } } }],
    },
  };
}

/** Waits until the pod reaches one of `phases`; returns it. */
export async function podInPhase(pg: Playground, name: string, phases: readonly string[], timeoutMs = 120_000): Promise<KObj> {
  let pod: KObj | undefined;
  await pg.cp.eventually(async () => phases.includes((pod = await pg.cp.get('v1', 'Pod', name, 'ml'))?.status?.phase), `pod ml/${name} ${phases.join(' or ')}`, timeoutMs);
  return pod!;
}

/** The GPUs written in the pod's linkpack.io/assigned-gpus. */
export function assignedGpus(pod: KObj): AssignedGpuRef[] {
  const a = parseAssignedGpus(pod.metadata?.annotations?.[ANN_ASSIGNED_GPUS] ?? '');
  if (!a.ok) throw new Error(`pod ${pod.metadata?.name}: ${a.error}`);
  return a.value;
}

/** The lines a container printed, as the kubelet logged them (timestamp and stream cut). */
export function containerLines(pg: Playground, node: string, pod: KObj, container = 'main'): string[] {
  const file = path.join(pg.nodes.get(node)!.paths.podLogs, `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`, container, '0.log');
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/^\S+ std(out|err) [FP] /, ''))
    .filter((l) => l !== '');
}
