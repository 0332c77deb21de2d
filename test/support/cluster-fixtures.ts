/** Kubernetes objects for cluster-state tests: GPUNodes from presets and pods with linkpack annotations. */
import { ANN_ASSIGNED_GPUS, ANN_GPU_MILLI, formatAssignedGpus } from '../../src/api/annotations.js';
import { presetGpuNodeJson } from '../../src/playground/preset-gpunode.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObj = Record<string, any>;

/** A preset's GPUNode as plain JSON (UUIDs `GPU-<node>-<index>`). */
export const gpuNodeJson = presetGpuNodeJson;

export interface PodOpts {
  node?: string;
  gpus?: number[];
  milli?: number | string;
  phase?: string;
  uid?: string;
  deleting?: boolean;
  gpuCount?: number;
  annotations?: Record<string, string>;
}

export function podJson(namespace: string, name: string, o: PodOpts = {}): KObj {
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) };
  if (o.gpus) annotations[ANN_ASSIGNED_GPUS] = formatAssignedGpus(o.gpus.map((index) => ({ index, uuid: o.node ? `GPU-${o.node}-${index}` : undefined })));
  if (o.milli !== undefined) annotations[ANN_GPU_MILLI] = String(o.milli);
  const pod: KObj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: o.uid ?? `uid-${namespace}-${name}`, resourceVersion: '1', annotations },
    spec: {
      containers: [{ name: 'main', image: 'train:1', resources: { limits: { 'nvidia.com/gpu': String(o.gpuCount ?? o.gpus?.length ?? 1) } } }],
      ...(o.node ? { nodeName: o.node } : {}),
    },
    status: { phase: o.phase ?? (o.node ? 'Running' : 'Pending') },
  };
  if (o.deleting) pod.metadata.deletionTimestamp = '2026-11-26T10:00:00Z';
  return pod;
}
