/**
 * Intents: what the extender decided for the pods bound to this node (`linkpack.io/assigned-gpus`
 * and `linkpack.io/assigned-at`, written at bind), kept in memory from a watch so that the
 * kubelet's GetPreferredAllocation is answered from a cache, never from an API call.
 *
 * Fencing: one intent serves one allocation per GPU container of its pod. Once a container
 * request has been answered with an intent, that container size is used up (keyed by pod uid and
 * assigned-at, so a re-bind with a new decision is a new intent); the kubelet's own available
 * list is the second fence, as devices already allocated are never offered again.
 */
import { ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, parseAssignedGpus } from '../api/annotations.js';
import { containerGpus, type ContainerLike } from '../extender/preferences.js';

export interface Intent {
  uid: string;
  namespace: string;
  name: string;
  /** uid + assigned-at: what "already served" is remembered by. */
  fence: string;
  assignedAt: string;
  assignedAtMs: number;
  createdMs: number;
  /** The assigned set as device IDs (UUIDs), in the annotation's order. */
  uuids: readonly string[];
  /** nvidia.com/gpu of each GPU container (init containers first, as the kubelet admits them). */
  containerSizes: readonly number[];
}

/** The pod fields read here. */
export interface IntentPod {
  metadata?: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string; deletionTimestamp?: string; annotations?: Record<string, string> | null };
  spec?: { nodeName?: string; containers?: ContainerLike[] | null; initContainers?: ContainerLike[] | null };
  status?: { phase?: string };
}

export type IntentParse = { kind: 'none' } | { kind: 'intent'; intent: Intent } | { kind: 'invalid'; error: string };

const podName = (p: IntentPod) => `${p.metadata?.namespace ?? '?'}/${p.metadata?.name ?? '?'}`;

/**
 * A pod's intent (pure). `uuidOfIndex` maps a GPU index of this node to its UUID, for annotations
 * written without UUIDs; `knownUuid` says whether a UUID is one of this node's GPUs.
 */
export function intentOfPod(pod: IntentPod, uuidOfIndex: (index: number) => string | undefined, knownUuid: (uuid: string) => boolean): IntentParse {
  const ann = pod.metadata?.annotations ?? {};
  const raw = ann[ANN_ASSIGNED_GPUS];
  if (raw === undefined) return { kind: 'none' };
  // Finished or terminating pods will not be admitted again: their intent is spent.
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp) return { kind: 'none' };
  const where = `pod ${podName(pod)}`;
  const uid = pod.metadata?.uid;
  if (!uid) return { kind: 'invalid', error: `${where}: no metadata.uid` };
  const parsed = parseAssignedGpus(raw);
  if (!parsed.ok) return { kind: 'invalid', error: `${where}: ${parsed.error}` };
  const uuids: string[] = [];
  for (const g of parsed.value) {
    const uuid = g.uuid ?? uuidOfIndex(g.index);
    if (uuid === undefined) return { kind: 'invalid', error: `${where}: ${ANN_ASSIGNED_GPUS}="${raw}" names GPU ${g.index}, which this node does not have` };
    if (!knownUuid(uuid)) return { kind: 'invalid', error: `${where}: ${ANN_ASSIGNED_GPUS}="${raw}" names ${uuid}, which is not a GPU of this node` };
    uuids.push(uuid);
  }
  const sizes: number[] = [];
  const spec = pod.spec;
  const containers: Array<[ContainerLike, string]> = [
    ...(spec?.initContainers ?? []).map((c, i): [ContainerLike, string] => [c, `spec.initContainers[${i}]`]),
    ...(spec?.containers ?? []).map((c, i): [ContainerLike, string] => [c, `spec.containers[${i}]`]),
  ];
  for (const [c, at] of containers) {
    const n = containerGpus(c, `${where} ${at}`);
    if (!n.ok) return { kind: 'invalid', error: n.error };
    if (n.value > 0) sizes.push(n.value);
  }
  // A pod whose spec we did not see in full (or that asks for nothing) still has one allocation: its set.
  if (sizes.length === 0) sizes.push(uuids.length);
  const assignedAt = ann[ANN_ASSIGNED_AT] ?? '';
  const assignedAtMs = assignedAt ? Date.parse(assignedAt) : NaN;
  const createdMs = pod.metadata?.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : NaN;
  return {
    kind: 'intent',
    intent: {
      uid,
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      fence: `${uid}@${assignedAt}`,
      assignedAt,
      // An unreadable or missing time sorts last: it cannot claim to be older than a readable one.
      assignedAtMs: Number.isFinite(assignedAtMs) ? assignedAtMs : Number.POSITIVE_INFINITY,
      createdMs: Number.isFinite(createdMs) ? createdMs : Number.POSITIVE_INFINITY,
      uuids,
      containerSizes: sizes,
    },
  };
}

/** An intent with the container sizes it can still serve. */
export interface OpenIntent {
  intent: Intent;
  sizesLeft: readonly number[];
}

/** One container request of the kubelet, as IDs. */
export interface ContainerAsk {
  available: ReadonlySet<string>;
  mustInclude: readonly string[];
  size: number;
}

/** The intent's GPUs the kubelet can still hand out (must-include ones included). */
export function candidatesOf(intent: Intent, ask: ContainerAsk): string[] {
  const must = new Set(ask.mustInclude);
  return intent.uuids.filter((u) => ask.available.has(u) || must.has(u));
}

/**
 * Does an intent fit a container request: a container of this size is still open, every
 * must-include device belongs to the intent, and enough of its devices are available.
 */
export function intentFits(open: OpenIntent, ask: ContainerAsk): boolean {
  if (!open.sizesLeft.includes(ask.size)) return false;
  const set = new Set(open.intent.uuids);
  if (!ask.mustInclude.every((u) => set.has(u))) return false;
  return candidatesOf(open.intent, ask).length >= ask.size;
}

/** Partly served pods first (their next container is being admitted), then oldest assigned-at, creation, name. */
export function compareOpen(a: OpenIntent, b: OpenIntent): number {
  const pa = a.sizesLeft.length < a.intent.containerSizes.length ? 0 : 1;
  const pb = b.sizesLeft.length < b.intent.containerSizes.length ? 0 : 1;
  if (pa !== pb) return pa - pb;
  if (a.intent.assignedAtMs !== b.intent.assignedAtMs) return a.intent.assignedAtMs < b.intent.assignedAtMs ? -1 : 1;
  if (a.intent.createdMs !== b.intent.createdMs) return a.intent.createdMs < b.intent.createdMs ? -1 : 1;
  const ka = `${a.intent.namespace}/${a.intent.name}`;
  const kb = `${b.intent.namespace}/${b.intent.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The intent that serves a request (pure): the first fitting one in compareOpen order. */
export function pickIntent(open: readonly OpenIntent[], ask: ContainerAsk): { chosen?: OpenIntent; fitting: number } {
  let chosen: OpenIntent | undefined;
  let fitting = 0;
  for (const o of open) {
    if (!intentFits(o, ask)) continue;
    fitting += 1;
    if (!chosen || compareOpen(o, chosen) < 0) chosen = o;
  }
  return { chosen, fitting };
}

export type IntentLog = (level: 'info' | 'warn', message: string) => void;

/**
 * The cache of this node's intents and of what has been served. Fed by the pod watch
 * (replace/upsert/remove: FeedHandlers); read synchronously on the kubelet's path.
 */
export class IntentStore {
  private readonly byUid = new Map<string, Intent>();
  /** fence → container sizes still open; absent = untouched (all sizes open). */
  private readonly served = new Map<string, number[]>();
  /** Last problem reported per pod uid (so a bad annotation is logged once, not on every event). */
  private readonly reported = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly uuidOfIndex: (index: number) => string | undefined,
    private readonly knownUuid: (uuid: string) => boolean,
    private readonly log: IntentLog = () => {},
  ) {}

  /** Called after every change of the cache (a watch event or a relist); returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  replace(items: readonly unknown[]): void {
    this.byUid.clear();
    for (const p of items) this.apply(p);
    // Serving state of pods that are gone is dropped; that of pods still here is kept.
    const fences = new Set([...this.byUid.values()].map((i) => i.fence));
    for (const f of [...this.served.keys()]) if (!fences.has(f)) this.served.delete(f);
    this.changed();
  }

  upsert(obj: unknown): void {
    this.apply(obj);
    this.changed();
  }

  private apply(obj: unknown): void {
    const pod = obj as IntentPod;
    const uid = pod.metadata?.uid;
    const r = intentOfPod(pod, this.uuidOfIndex, this.knownUuid);
    if (r.kind === 'invalid') {
      if (uid) this.byUid.delete(uid);
      if (this.reported.get(uid ?? '') !== r.error) this.log('warn', `ignoring intent: ${r.error}`);
      if (uid) this.reported.set(uid, r.error);
      return;
    }
    if (!uid) return;
    this.reported.delete(uid);
    const before = this.byUid.get(uid);
    if (r.kind === 'none') {
      this.byUid.delete(uid);
      if (before) this.served.delete(before.fence);
      return;
    }
    if (before && before.fence !== r.intent.fence) this.served.delete(before.fence);
    this.byUid.set(uid, r.intent);
  }

  remove(obj: unknown): void {
    const uid = (obj as IntentPod).metadata?.uid;
    if (!uid) return;
    const before = this.byUid.get(uid);
    if (before) this.served.delete(before.fence);
    this.byUid.delete(uid);
    this.reported.delete(uid);
    this.changed();
  }

  /** Intents with at least one container size still open. */
  open(): OpenIntent[] {
    const out: OpenIntent[] = [];
    for (const intent of this.byUid.values()) {
      const sizesLeft = this.served.get(intent.fence) ?? intent.containerSizes;
      if (sizesLeft.length > 0) out.push({ intent, sizesLeft });
    }
    return out;
  }

  /** Every intent, served or not (for the Allocate-side check and for logs). */
  all(): Intent[] {
    return [...this.byUid.values()];
  }

  /** Marks one container of this size as served by the intent. */
  take(intent: Intent, size: number): void {
    const left = [...(this.served.get(intent.fence) ?? intent.containerSizes)];
    const i = left.indexOf(size);
    if (i >= 0) left.splice(i, 1);
    this.served.set(intent.fence, left);
  }

  get size(): number {
    return this.byUid.size;
  }
}
