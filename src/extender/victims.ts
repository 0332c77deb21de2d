/**
 * The victims this extender named in /preempt, per preemptor. kube-scheduler retries a preemptor
 * once its own cache has dropped the victims; if our watch is a few events behind, our filter still
 * counts them, refuses the node and kube-scheduler preempts a second set elsewhere (seen on the real
 * scheduler: 4 pods evicted for nothing). So before refusing a preemptor on a node where it has
 * victims, the filter asks the API server whether they are still there (server.ts).
 */
export interface VictimRef {
  node: string;
  uid: string;
}

export const DEFAULT_VICTIMS_TTL_MS = 120_000;
const MAX_PREEMPTORS = 1024;

export class PreemptionVictims {
  private readonly byPreemptor = new Map<string, { victims: VictimRef[]; untilMs: number }>();
  constructor(private readonly now: () => number, private readonly ttlMs = DEFAULT_VICTIMS_TTL_MS) {}

  /** The answer of one /preempt call: victims per candidate node (kube-scheduler evicts one node's). */
  record(preemptorUid: string, byNode: ReadonlyMap<string, readonly string[]>): void {
    if (!preemptorUid) return;
    const victims: VictimRef[] = [];
    for (const [node, uids] of byNode) for (const uid of uids) victims.push({ node, uid });
    this.byPreemptor.delete(preemptorUid);
    if (victims.length === 0) return;
    this.byPreemptor.set(preemptorUid, { victims, untilMs: this.now() + this.ttlMs });
    if (this.byPreemptor.size > MAX_PREEMPTORS) this.byPreemptor.delete(this.byPreemptor.keys().next().value!);
  }

  /** Victims recorded for the preemptor on these nodes (none once the record expired). */
  on(preemptorUid: string, nodes: ReadonlySet<string>): VictimRef[] {
    const r = this.byPreemptor.get(preemptorUid);
    if (!r) return [];
    if (r.untilMs <= this.now()) {
      this.byPreemptor.delete(preemptorUid);
      return [];
    }
    return r.victims.filter((v) => nodes.has(v.node));
  }

  /** The preemptor is bound (or gone): its victims no longer matter. */
  forget(preemptorUid: string): void {
    this.byPreemptor.delete(preemptorUid);
  }
}
