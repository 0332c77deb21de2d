/** Small builders for MLTask tests: a valid raw task, and pods as the StatefulSet controller makes them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { parseMLTask } from '../../src/mltask/validate.js';
import type { MLTask } from '../../src/mltask/types.js';
import type { KubeObject } from '../../src/mltask/render.js';

export const exampleRaw = (): KubeObject => parse(readFileSync(path.join(repoRoot, 'deploy/examples/mltask.yaml'), 'utf8')) as KubeObject;

/** A task in mode Instance (StatefulSet): what the controller tests of the instance lifecycle use. */
export const rawInstance = (spec: KubeObject = {}, name = 'train'): KubeObject => rawTask({ mode: 'Instance', ...spec }, name);

export function rawTask(spec: KubeObject = {}, name = 'train'): KubeObject {
  return {
    apiVersion: 'linkpack.io/v1alpha1',
    kind: 'MLTask',
    metadata: { name, namespace: 'ml', uid: 'uid-1', generation: 1 },
    spec: { image: 'trainer:1', trainingData: { uri: 's3://data/x' }, modelOutput: { pvc: { claimName: 'out' } }, parallelism: 2, resources: { gpus: 4 }, ...spec },
  };
}

export function task(spec: KubeObject = {}, name = 'train'): MLTask {
  const r = parseMLTask(rawTask(spec, name));
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.task;
}

export interface PodOpts {
  uid?: string;
  phase?: string;
  ready?: boolean;
  restarts?: number;
  terminated?: number;
  lastTerminated?: number;
  node?: string;
  gpus?: string;
  decision?: string;
}

export function pod(taskName: string, i: number, o: PodOpts = {}): KubeObject {
  const cs: KubeObject = { name: 'worker', restartCount: o.restarts ?? 0, state: o.terminated !== undefined ? { terminated: { exitCode: o.terminated } } : { running: {} } };
  if (o.lastTerminated !== undefined) cs.lastState = { terminated: { exitCode: o.lastTerminated } };
  return {
    metadata: {
      name: `${taskName}-${i}`,
      uid: o.uid ?? `pod-${i}`,
      labels: { 'apps.kubernetes.io/pod-index': String(i) },
      annotations: { ...(o.gpus ? { 'linkpack.io/assigned-gpus': o.gpus } : {}), ...(o.decision ? { 'linkpack.io/decision': o.decision } : {}) },
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      containerStatuses: [cs],
    },
  };
}
