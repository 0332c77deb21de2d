/**
 * The victims this extender named in /preempt, per preemptor. kube-scheduler retries a preemptor
 * once its own cache has dropped the victims; if our watch is a few events behind, our filter still
 * counts them, refuses the node and kube-scheduler preempts a second set elsewhere (seen on the real
 * scheduler: 4 pods evicted for nothing). So before refusing a preemptor on a node where it has
 * victims, the filter asks the API server whether they are still there (server.ts).
 */
import type { PodIdentity, PodsGone } from '../cluster/k8s-pods-gone.js';
import type { ClusterView } from '../cluster/types.js';

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

  /** Whether victims are recorded for this pod (the filter's cheap first question). */
  has(preemptorUid: string): boolean {
    return this.byPreemptor.has(preemptorUid);
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

/**
 * The catch-up: victims named for this preemptor that the cache still holds on nodes the filter
 * refused (only the nominated node once kube-scheduler has set one) are checked with the API
 * server; those gone leave the cache. Returns how many left (0: nothing to re-evaluate).
 */
export async function catchUpOnVictims(
  victims: PreemptionVictims,
  cluster: ClusterView,
  podsGone: PodsGone,
  pod: { metadata?: { uid?: string }; status?: { nominatedNodeName?: unknown } },
  refused: readonly string[],
): Promise<number> {
  const uid = pod.metadata?.uid;
  if (!uid || !cluster.locatePod || !cluster.podGone) return 0;
  const nominated = pod.status?.nominatedNodeName;
  const nodes = new Set(typeof nominated === 'string' && nominated !== '' ? refused.filter((n) => n === nominated) : refused);
  const stale: PodIdentity[] = [];
  for (const v of victims.on(uid, nodes)) {
    const at = cluster.locatePod(v.uid);
    if (at && at.node === v.node) stale.push({ namespace: at.namespace, name: at.name, uid: v.uid });
  }
  if (stale.length === 0) return 0;
  const gone = await podsGone(stale);
  for (const g of gone) cluster.podGone(g.namespace, g.name, g.uid);
  return gone.length;
}
