/**
 * Answers of the core kept across requests. A node's verdict (fits, or why not) and raw score
 * are a pure function of (request, workload profile, compiled topology, free and unhealthy GPUs):
 * the same state under the same request gets the same answer, whichever node and whichever call.
 * kube-scheduler asks filter and prioritize pod after pod, and the pods of one StatefulSet share
 * one spec, so most states repeat. Keyed by the request's text, then by topology object, then by
 * the state key; bounded in request kinds and in states per kind.
 */
import { BoundedCache } from '../core/lru.js';
import type { CompiledTopology, GpuRequest, WorkloadProfile } from '../core/index.js';

/** Request kinds remembered (distinct GPU count / share / model / memory / mode / policy combinations). */
const REQUEST_KINDS = 32;
/** States remembered per request kind before its tables start again. */
const STATES_PER_KIND = 16_384;

export class StateTable<V> {
  private readonly byTopology = new Map<CompiledTopology, Map<number | string, V>>();
  private size = 0;
  get(t: CompiledTopology, key: number | string): V | undefined {
    return this.byTopology.get(t)?.get(key);
  }
  set(t: CompiledTopology, key: number | string, v: V): void {
    if (this.size >= STATES_PER_KIND) {
      this.byTopology.clear();
      this.size = 0;
    }
    let m = this.byTopology.get(t);
    if (!m) this.byTopology.set(t, (m = new Map()));
    if (!m.has(key)) this.size++;
    m.set(key, v);
  }
}

interface Kind<V> {
  profile: WorkloadProfile | undefined;
  table: StateTable<V>;
}

/** The text of a request without include/exclude (those make answers node-specific: never memoised). */
export function requestKey(r: GpuRequest): string {
  return `${r.gpuCount}|${r.milliPerGpu}|${r.topology}|${r.policy}|${(r.models ?? []).join('\u0000')}|${r.minMemoryMiB ?? ''}|${r.cpuMilli ?? ''}|${r.memoryMiB ?? ''}`;
}

export class DecisionMemo<V> {
  private readonly kinds = new BoundedCache<string, Kind<V>>(REQUEST_KINDS);

  /**
   * The table for this request under this profile (a new profile object starts a new table).
   * `wording`: what else shapes the answer's text (the annotation a reason quotes).
   */
  tableFor(req: GpuRequest, profile: WorkloadProfile | undefined, wording = ''): StateTable<V> {
    const key = wording ? `${requestKey(req)}|${wording}` : requestKey(req);
    let k = this.kinds.get(key);
    if (!k || k.profile !== profile) {
      k = { profile, table: new StateTable<V>() };
      this.kinds.set(key, k);
    }
    return k.table;
  }
}
