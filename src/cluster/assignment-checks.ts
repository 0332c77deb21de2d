/**
 * What the GPU assignments on one node must not say: a GPU the node does not have, a UUID that
 * is another GPU's (a pod annotated on another machine), a GPU held beyond one whole GPU. A cluster
 * file refuses them (static-checks.ts); a live cluster counts them in a metric, since the cache
 * must go on with the API's view.
 */
import type { AssignedGpuRef } from '../api/annotations.js';
import { GPU_MILLI } from '../core/types.js';

export type AssignmentProblemKind = 'unknown-gpu' | 'uuid-mismatch' | 'held-twice';
export const ASSIGNMENT_PROBLEM_KINDS: readonly AssignmentProblemKind[] = ['unknown-gpu', 'uuid-mismatch', 'held-twice'];

export interface AssignmentProblem {
  kind: AssignmentProblemKind;
  text: string;
}

export interface Holder {
  /** `namespace/name`. */
  ref: string;
  gpus: readonly AssignedGpuRef[];
  milliPerGpu: number;
}

export function assignmentProblems(node: string, gpus: readonly { index: number; uuid?: string }[], holders: readonly Holder[]): AssignmentProblem[] {
  const out: AssignmentProblem[] = [];
  const held = new Map<number, { milli: number; pods: string[] }>();
  for (const h of holders) {
    for (const a of h.gpus) {
      const gpu = gpus.find((x) => x.index === a.index);
      if (!gpu) {
        out.push({ kind: 'unknown-gpu', text: `Pod ${h.ref} is assigned GPU ${a.index}, which node ${node} does not have (GPUs 0–${gpus.length - 1})` });
        continue;
      }
      if (a.uuid && gpu.uuid && a.uuid.toUpperCase() !== gpu.uuid.toUpperCase()) {
        out.push({ kind: 'uuid-mismatch', text: `Pod ${h.ref} is assigned GPU ${a.index} as ${a.uuid}, but that GPU on node ${node} is ${gpu.uuid} (a UUID from another machine?)` });
      }
      const e = held.get(a.index) ?? { milli: 0, pods: [] };
      e.milli += h.milliPerGpu;
      e.pods.push(h.ref);
      held.set(a.index, e);
    }
  }
  for (const [index, e] of held) {
    if (e.milli > GPU_MILLI) out.push({ kind: 'held-twice', text: `GPU ${index} on node ${node} is held by ${e.pods.join(' and ')} (${e.milli} milli-GPU of ${GPU_MILLI})` });
  }
  return out;
}
