/**
 * The cluster cache: GPUNode inventory + the GPUs that pods hold, as informers (or a static file)
 * feed it, plus the assume cache that covers the gap between our bind and the watch seeing it.
 * Readers see it as a ClusterView. Counting rules are in docs/cluster-state.md.
 */
import type { AssignedGpuRef } from '../api/annotations.js';
import { compileTopology, gpusByModelOf, type CompiledTopology } from '../core/index.js';
import { GPU_MILLI, type NodeState } from '../core/types.js';
import type { ClusterView, GpuNodeRecord, NodeLookup, PodAssignment } from './types.js';
import { parseGpuNode, type GpuNodeAssignment } from './gpunode.js';
import { podFacts, podKey, type PodFacts } from './pod.js';
import { cpuMilliOf, memoryMiBOf } from '../kube/quantity.js';

export interface ClusterCacheOptions {
  /** A GPUNode whose heartbeat is older than this is not used (default 120 s; Infinity = never stale). */
  heartbeatTimeoutMs?: number;
  /** An assumption the watch has not confirmed is dropped after this long (default 30 s). */
  assumeTtlMs?: number;
  /** Clock for assume expiry (default Date.now). */
  now?: () => number;
  /** Transient notices (an assumption contradicted by the API, an expired assumption). */
  onNotice?: (message: string) => void;
}

interface GpuNodeEntry {
  record?: GpuNodeRecord;
  compiled?: CompiledTopology;
  error?: string;
  kubelet: GpuNodeAssignment[];
  /** The scoring view, built on the first lookup after a change (one Map read per lookup after). */
  view: NodeLookup | undefined;
}

interface PodEntry {
  obj: unknown;
  facts: PodFacts;
}

interface Assumed {
  a: PodAssignment;
  expiresMs: number;
}

/** Per-GPU held milli and who holds it, for one node; CPU and memory requested by its active pods. */
interface Usage {
  cpuMilli: number;
  memoryMiB: number;
  heldMilli: number[];
  holders: string[][];
  assignments: PodAssignment[];
  problems: string[];
}

const DEFAULT_HEARTBEAT_TIMEOUT_MS = 120_000;
/** Candidate lists remembered by lookupNodes (each at most the request bound of names). */
const NAMES_MEMO_LISTS = 4;
const NO_GPUNODE: NodeLookup = Object.freeze({ ok: false, reason: 'no GPUNode: the linkpack agent has not reported this node', noGpuNode: true });
const DEFAULT_ASSUME_TTL_MS = 30_000;
/** How long a pod confirmed gone by the API server shuts out its late watch events. */
const GONE_TTL_MS = 10 * 60_000;

const podRef = (namespace: string, name: string) => `${namespace}/${name}`;
const sameIndices = (a: readonly AssignedGpuRef[], b: readonly AssignedGpuRef[]) =>
  a.length === b.length && a.every((g, i) => g.index === b[i]!.index);

/** A relist of cluster-scoped objects: upsert each, then delete the known names the list no longer has. */
function replaceByName(objs: readonly unknown[], upsert: (o: unknown) => void, known: Iterable<string>, remove: (name: string) => void): void {
  const keep = new Set<string>();
  for (const o of objs) {
    upsert(o);
    const name = podKey(o)?.name;
    if (name !== undefined) keep.add(name);
  }
  for (const name of [...known]) if (!keep.has(name)) remove(name);
}

/** GPU milli a pod holds by its annotation while it runs on a node. */
function heldMilliOf(f: PodFacts | undefined): number {
  return f && f.active && f.node !== undefined && f.gpus ? f.gpus.length * f.milliPerGpu : 0;
}

export class ClusterCache implements ClusterView {
  private readonly heartbeatTimeoutMs: number;
  private readonly assumeTtlMs: number;
  private readonly now: () => number;
  private readonly onNotice: (m: string) => void;

  private readonly gpuNodes = new Map<string, GpuNodeEntry>();
  /** Node status.allocatable (from the Node feed), when known: the CPU and memory side of a node's state. */
  private readonly allocatable = new Map<string, { cpuMilli: number; memoryMiB: number }>();
  private readonly pods = new Map<string, PodEntry>();
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly podByUid = new Map<string, string>();
  /** uid → until when: pods the API server confirmed gone before their DELETED event arrived (podGone). */
  private readonly gone = new Map<string, number>();
  /** GPU milli that pods took and released while this cache watched (churn(): the scarcity term's supply). */
  private heldEverMilli = 0;
  private releasedMilli = 0;
  private readonly assumed = new Map<string, Assumed>();
  private readonly usageCache = new Map<string, Usage>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly syncSources = new Map<string, boolean>();
  /** Bumped whenever a GPUNode entry is added, replaced or removed (the names memo below is then stale). */
  private entriesVersion = 0;
  /**
   * The entries of the last candidate list, in its order. kube-scheduler sends the same node list
   * call after call; comparing the new names with the last ones in order is a sequential scan,
   * where a Map read per fresh (unhashed) string costs about 100 ns (15,000 names: 1.5 ms).
   */
  private namesMemo: { names: readonly string[]; entries: (GpuNodeEntry | undefined)[]; version: number }[] = [];

  constructor(opts: ClusterCacheOptions = {}) {
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.assumeTtlMs = opts.assumeTtlMs ?? DEFAULT_ASSUME_TTL_MS;
    this.now = opts.now ?? Date.now;
    this.onNotice = opts.onNotice ?? (() => {});
  }

  // ------------------------------------------------------------------ sync state

  /** Declare a feed (e.g. 'gpunodes', 'pods', 'static') in or out of sync; synced() needs all in. */
  markSynced(source: string, synced: boolean): void {
    this.syncSources.set(source, synced);
  }

  synced(): boolean {
    return this.syncSources.size > 0 && [...this.syncSources.values()].every(Boolean);
  }

  // ------------------------------------------------------------------ feeds

  /** Add or replace a GPUNode; returns the parse error (also kept for lookupNode) or null. */
  upsertGpuNode(obj: unknown): string | null {
    const parsed = parseGpuNode(obj);
    const name = podKey(obj)?.name;
    if (name === undefined) return parsed.ok ? null : parsed.error;
    this.invalidate(name);
    if (!parsed.ok) {
      this.gpuNodes.set(name, { error: parsed.error, kubelet: [], view: undefined });
      this.entriesVersion++;
      return parsed.error;
    }
    const { record, kubeletAssignments } = parsed.value;
    const prev = this.gpuNodes.get(name);
    // Keep the previous Topology object when nothing changed, so the compiled tables are reused.
    if (prev?.record && prev.compiled && JSON.stringify(prev.record.topology) === JSON.stringify(record.topology)) {
      record.topology = prev.record.topology;
    }
    try {
      const compiled = compileTopology(record.topology);
      this.gpuNodes.set(name, { record, compiled, kubelet: kubeletAssignments, view: undefined });
      this.entriesVersion++;
      return null;
    } catch (e) {
      const error = `GPUNode "${name}": ${e instanceof Error ? e.message : String(e)}`;
      this.gpuNodes.set(name, { error, kubelet: [], view: undefined });
      this.entriesVersion++;
      return error;
    }
  }

  deleteGpuNode(name: string): void {
    this.gpuNodes.delete(name);
    this.entriesVersion++;
    this.invalidate(name);
  }

  /** A Node: only its allocatable CPU and memory are kept (a Node object is tens of KiB). */
  upsertNode(obj: unknown): void {
    const name = podKey(obj)?.name;
    if (name === undefined) return;
    const alloc = ((obj as { status?: { allocatable?: Record<string, unknown> } }).status?.allocatable ?? {}) as Record<string, unknown>;
    const cpuMilli = cpuMilliOf(alloc.cpu);
    const memoryMiB = memoryMiBOf(alloc.memory);
    const prev = this.allocatable.get(name);
    if (cpuMilli === undefined || memoryMiB === undefined) {
      // Not reported (yet): score without CPU rather than with a guess.
      if (prev) this.deleteNode(name);
      return;
    }
    if (prev && prev.cpuMilli === cpuMilli && prev.memoryMiB === memoryMiB) return; // heartbeats change nothing here
    this.allocatable.set(name, { cpuMilli, memoryMiB });
    this.invalidate(name);
  }

  deleteNode(name: string): void {
    if (this.allocatable.delete(name)) this.invalidate(name);
  }

  replaceNodes(objs: readonly unknown[]): void {
    replaceByName(objs, (o) => this.upsertNode(o), this.allocatable.keys(), (n) => this.deleteNode(n));
  }

  upsertPod(obj: unknown): void {
    const facts = podFacts(obj);
    if (!facts) return;
    // A late event of a pod already confirmed gone would bring it back.
    if (this.gone.size > 0 && facts.uid && this.gone.has(facts.uid)) return;
    const key = podRef(facts.namespace, facts.name);
    this.countHeld(heldMilliOf(this.pods.get(key)?.facts), heldMilliOf(facts));
    this.removePodIndex(key);
    this.pods.set(key, { obj, facts });
    if (facts.uid) this.podByUid.set(facts.uid, key);
    if (facts.node !== undefined) {
      let set = this.podsByNode.get(facts.node);
      if (!set) this.podsByNode.set(facts.node, (set = new Set()));
      set.add(key);
      this.invalidate(facts.node);
    }
    this.confirmAssumption(facts);
  }

  deletePod(obj: unknown): void {
    const key = podKey(obj);
    if (!key) return;
    if (key.uid) this.gone.delete(key.uid);
    this.dropPod(podRef(key.namespace, key.name), key.uid);
  }

  private dropPod(ref: string, uidHint: string): void {
    const facts = this.pods.get(ref)?.facts;
    const uid = facts?.uid || uidHint;
    this.countHeld(heldMilliOf(facts), 0);
    this.removePodIndex(ref);
    this.pods.delete(ref);
    if (uid) this.dropAssumption(uid);
  }

  private countHeld(beforeMilli: number, afterMilli: number): void {
    if (afterMilli > beforeMilli) this.heldEverMilli += afterMilli - beforeMilli;
    else this.releasedMilli += beforeMilli - afterMilli;
  }

  /**
   * Of the GPU milli pods have taken while this cache watched (those running at its start
   * included), the share already released: 0 when pods only arrive, near 1 in a long steady
   * state. The estimate of how much held capacity the coming demand will also get.
   */
  churn(): number {
    return this.heldEverMilli > 0 ? Math.min(1, this.releasedMilli / this.heldEverMilli) : 0;
  }

  locatePod(uid: string): { namespace: string; name: string; node?: string } | undefined {
    const ref = this.podByUid.get(uid);
    const f = ref === undefined ? undefined : this.pods.get(ref)?.facts;
    if (!f || f.uid !== uid) return undefined;
    return f.node === undefined ? { namespace: f.namespace, name: f.name } : { namespace: f.namespace, name: f.name, node: f.node };
  }

  podGone(namespace: string, name: string, uid: string): void {
    const now = this.now();
    for (const [u, until] of this.gone) if (until <= now) this.gone.delete(u);
    this.gone.set(uid, now + GONE_TTL_MS);
    const ref = podRef(namespace, name);
    if (this.pods.get(ref)?.facts.uid === uid) this.dropPod(ref, uid);
  }

  replaceGpuNodes(objs: readonly unknown[]): void {
    replaceByName(objs, (o) => this.upsertGpuNode(o), this.gpuNodes.keys(), (n) => this.deleteGpuNode(n));
  }

  replacePods(objs: readonly unknown[]): void {
    const keep = new Set<string>();
    for (const o of objs) {
      this.upsertPod(o);
      const k = podKey(o);
      if (k) keep.add(podRef(k.namespace, k.name));
    }
    for (const [ref, e] of [...this.pods]) if (!keep.has(ref)) this.deletePod(e.obj);
  }

  /** Relist of everything: the cache becomes exactly these objects (assumptions kept unless confirmed). */
  replaceAll(gpuNodes: readonly unknown[], pods: readonly unknown[]): void {
    this.replaceGpuNodes(gpuNodes);
    this.replacePods(pods);
  }

  // ------------------------------------------------------------------ assume cache

  assume(a: PodAssignment): void {
    this.dropAssumption(a.uid);
    this.assumed.set(a.uid, { a: { ...a, gpus: a.gpus.map((g) => ({ ...g })), assumed: true }, expiresMs: this.now() + this.assumeTtlMs });
    this.invalidate(a.node);
  }

  forget(uid: string): void {
    this.dropAssumption(uid);
  }

  private dropAssumption(uid: string): void {
    const x = this.assumed.get(uid);
    if (!x) return;
    this.assumed.delete(uid);
    this.invalidate(x.a.node);
  }

  /** The watch shows the pod bound: the API now carries it, so the assumption goes. */
  private confirmAssumption(f: PodFacts): void {
    const x = this.assumed.get(f.uid);
    if (!x || f.node === undefined) return;
    if (f.node !== x.a.node || !f.gpus || !sameIndices(f.gpus, x.a.gpus)) {
      this.onNotice(
        `pod ${f.namespace}/${f.name}: assumed on ${x.a.node} GPUs [${x.a.gpus.map((g) => g.index)}], ` +
          `but the API shows ${f.node} GPUs [${f.gpus?.map((g) => g.index) ?? 'none'}]; using the API's view`,
      );
    }
    this.dropAssumption(f.uid);
  }

  private expireAssumptions(): void {
    if (this.assumed.size === 0) return; // the hot path: nothing assumed, no clock read
    const now = this.now();
    for (const [uid, x] of this.assumed) {
      if (x.expiresMs > now) continue;
      this.onNotice(`pod ${x.a.namespace}/${x.a.name}: assumption on ${x.a.node} expired after ${this.assumeTtlMs} ms without the watch confirming it`);
      this.dropAssumption(uid);
    }
  }

  // ------------------------------------------------------------------ reads

  /** Every pod object the cache holds (for the extender's observed workload profile). */
  *podObjects(): IterableIterator<unknown> {
    for (const p of this.pods.values()) yield p.obj;
  }

  /** How many pods the cache holds (O(1): the observed profile asks on every request). */
  podCount(): number {
    return this.pods.size;
  }

  nodeNames(): string[] {
    return [...this.gpuNodes.keys()].sort();
  }

  /** GPUs per lower-cased model over the usable GPUNodes (the supply side of the core's model-scarcity term). */
  gpusByModel(): Map<string, number> {
    const compiled: CompiledTopology[] = [];
    for (const e of this.gpuNodes.values()) if (e.compiled) compiled.push(e.compiled);
    return gpusByModelOf(compiled);
  }

  /**
   * Free GPUs per lower-cased model now (milli ÷ 1000; healthy GPUs of usable GPUNodes, assumed
   * placements held): the core's freeGpusByModel, so model scarcity follows what is still free.
   */
  freeGpusByModel(nowMs: number = Date.now()): Map<string, number> {
    this.expireAssumptions();
    const out = new Map<string, number>();
    for (const [name, e] of this.gpuNodes) {
      const v = this.lookupEntry(name, e, nowMs);
      if (!v.ok) continue;
      const { topology, freeMilli, unhealthyMask = 0 } = v.state;
      for (let g = 0; g < topology.n; g++) {
        if (unhealthyMask & (1 << g)) continue;
        const m = topology.modelsLower[g]!;
        out.set(m, (out.get(m) ?? 0) + freeMilli[g]! / GPU_MILLI);
      }
    }
    return out;
  }

  gpuNode(name: string): GpuNodeRecord | undefined {
    return this.gpuNodes.get(name)?.record;
  }

  getPod(namespace: string, name: string): unknown | undefined {
    return this.pods.get(podRef(namespace, name))?.obj;
  }

  assignmentsOn(node: string): PodAssignment[] {
    this.expireAssumptions();
    return this.usage(node).assignments.map((a) => ({ ...a, gpus: a.gpus.map((g) => ({ ...g })) }));
  }

  lookupNode(name: string, nowMs: number): NodeLookup {
    this.expireAssumptions();
    return this.lookupEntry(name, this.gpuNodes.get(name), nowMs);
  }

  /** lookupNode for a whole candidate list, in order. */
  lookupNodes(names: readonly string[], nowMs: number): NodeLookup[] {
    this.expireAssumptions();
    const entries = this.entriesOf(names);
    const out = new Array<NodeLookup>(names.length);
    for (let i = 0; i < names.length; i++) out[i] = this.lookupEntry(names[i]!, entries[i], nowMs);
    return out;
  }

  private entriesOf(names: readonly string[]): (GpuNodeEntry | undefined)[] {
    // A few lists: filter sends every node, prioritize the ones that passed, pod after pod.
    for (const memo of this.namesMemo) {
      if (memo.version !== this.entriesVersion || memo.names.length !== names.length) continue;
      let same = true;
      for (let i = 0; i < names.length; i++) {
        if (memo.names[i] !== names[i]) {
          same = false;
          break;
        }
      }
      if (same) return memo.entries;
    }
    const entries = new Array<GpuNodeEntry | undefined>(names.length);
    for (let i = 0; i < names.length; i++) entries[i] = this.gpuNodes.get(names[i]!);
    this.namesMemo.unshift({ names, entries, version: this.entriesVersion });
    if (this.namesMemo.length > NAMES_MEMO_LISTS) this.namesMemo.pop();
    return entries;
  }

  private lookupEntry(name: string, e: GpuNodeEntry | undefined, nowMs: number): NodeLookup {
    if (!e) return NO_GPUNODE; // one shared answer: unknown names (up to the request bound) allocate nothing
    if (!e.record || !e.compiled) return { ok: false, reason: `${e.error ?? `GPUNode ${name} is unusable`}` };
    const rec = e.record;
    if (Number.isFinite(this.heartbeatTimeoutMs)) {
      const limitS = Math.round(this.heartbeatTimeoutMs / 1000);
      if (rec.heartbeatMs === undefined) return { ok: false, reason: `GPUNode ${name} has no heartbeat (limit ${limitS}s); treating its GPUs as unknown` };
      const ageMs = nowMs - rec.heartbeatMs;
      if (ageMs > this.heartbeatTimeoutMs) {
        return { ok: false, reason: `GPUNode ${name} heartbeat is ${Math.round(ageMs / 1000)}s old (limit ${limitS}s); treating its GPUs as unknown` };
      }
    }
    if (e.view) return e.view;
    const u = this.usage(name);
    let unhealthyMask = 0;
    for (const idx of Object.keys(rec.unhealthy)) unhealthyMask |= 1 << Number(idx);
    const state: NodeState = { name, topology: e.compiled, freeMilli: u.heldMilli.map((h) => Math.max(0, GPU_MILLI - h)) };
    if (unhealthyMask !== 0) state.unhealthyMask = unhealthyMask;
    const alloc = this.allocatable.get(name);
    if (alloc) {
      state.cpuTotalMilli = alloc.cpuMilli;
      state.cpuFreeMilli = alloc.cpuMilli - u.cpuMilli;
      state.memoryFreeMiB = alloc.memoryMiB - u.memoryMiB;
    }
    e.view = { ok: true, state: Object.freeze(state), gpuNode: rec };
    return e.view;
  }

  /** Sizes for metrics and logs. */
  counts(): { gpuNodes: number; unusableGpuNodes: number; pods: number; podsHoldingGpus: number; assumed: number } {
    let holding = 0;
    for (const p of this.pods.values()) if (p.facts.active && p.facts.gpus) holding += 1;
    let unusable = 0;
    for (const e of this.gpuNodes.values()) if (!e.record) unusable += 1;
    return { gpuNodes: this.gpuNodes.size, unusableGpuNodes: unusable, pods: this.pods.size, podsHoldingGpus: holding, assumed: this.assumed.size };
  }

  /**
   * Standing problems: GPUNodes that cannot be used, bad pod annotations, GPUs held by more than
   * they have (two pods claiming one GPU), assignments outside a node's GPUs.
   */
  problems(): string[] {
    const out: string[] = [];
    for (const e of this.gpuNodes.values()) if (e.error) out.push(e.error);
    for (const p of this.pods.values()) if (p.facts.active) out.push(...p.facts.problems);
    const nodes = new Set([...this.gpuNodes.keys(), ...this.podsByNode.keys()]);
    for (const n of [...nodes].sort()) out.push(...this.usage(n).problems);
    return out;
  }

  withNodeLock<T>(node: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(node) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    // The chain continues whether fn succeeds or fails; the map forgets a node when it goes idle.
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(node, tail);
    void tail.then(() => {
      if (this.locks.get(node) === tail) this.locks.delete(node);
    });
    return run;
  }

  // ------------------------------------------------------------------ counting

  private invalidate(node: string): void {
    this.usageCache.delete(node);
    const e = this.gpuNodes.get(node);
    if (e) e.view = undefined;
  }

  private removePodIndex(key: string): void {
    const old = this.pods.get(key);
    if (!old) return;
    if (old.facts.uid && this.podByUid.get(old.facts.uid) === key) this.podByUid.delete(old.facts.uid);
    if (old.facts.node !== undefined) {
      const set = this.podsByNode.get(old.facts.node);
      set?.delete(key);
      if (set && set.size === 0) this.podsByNode.delete(old.facts.node);
      this.invalidate(old.facts.node);
    }
  }

  /** Who holds what on a node: annotated pods, kubelet-reported pods without annotations, assumptions. */
  private usage(node: string): Usage {
    const hit = this.usageCache.get(node);
    if (hit) return hit;
    const entry = this.gpuNodes.get(node);
    const n = entry?.record?.topology.gpus.length ?? 0;
    const u: Usage = { cpuMilli: 0, memoryMiB: 0, heldMilli: new Array<number>(n).fill(0), holders: Array.from({ length: n }, () => []), assignments: [], problems: [] };
    const counted = new Set<string>();
    const add = (a: PodAssignment) => {
      u.assignments.push(a);
      counted.add(a.uid || podRef(a.namespace, a.name));
      for (const g of a.gpus) {
        if (g.index >= n) {
          if (entry?.record) u.problems.push(`pod ${a.namespace}/${a.name} holds GPU ${g.index} on ${node}, which has only ${n} GPUs`);
          continue;
        }
        u.heldMilli[g.index]! += a.milliPerGpu;
        u.holders[g.index]!.push(`${a.namespace}/${a.name}${a.assumed ? ' (assumed)' : ''} ${a.milliPerGpu}m`);
      }
    };
    const activeHere = [...(this.podsByNode.get(node) ?? [])].map((k) => this.pods.get(k)!.facts).filter((f) => f.active);
    // Every active pod holds its CPU and memory requests, GPU or not (kube-scheduler's NodeInfo).
    for (const f of activeHere) {
      u.cpuMilli += f.cpuMilli;
      u.memoryMiB += f.memoryMiB;
    }
    for (const f of activeHere) {
      if (f.gpus) add({ uid: f.uid, namespace: f.namespace, name: f.name, node, gpus: f.gpus, milliPerGpu: f.milliPerGpu, assumed: false });
    }
    // Pods placed without linkpack (no annotation) still hold the GPUs the kubelet gave them.
    const byRef = new Map(activeHere.map((f) => [podRef(f.namespace, f.name), f]));
    for (const k of entry?.kubelet ?? []) {
      const f = (k.uid ? activeHere.find((p) => p.uid === k.uid) : undefined) ?? byRef.get(k.pod);
      if (!f || f.gpus || counted.has(f.uid || podRef(f.namespace, f.name))) continue;
      const uuids = entry?.record?.topology.gpus;
      add({ uid: f.uid, namespace: f.namespace, name: f.name, node, gpus: k.gpus.map((i) => (uuids?.[i]?.uuid ? { index: i, uuid: uuids[i]!.uuid! } : { index: i })), milliPerGpu: GPU_MILLI, assumed: false });
    }
    for (const x of this.assumed.values()) {
      if (x.a.node !== node || counted.has(x.a.uid)) continue;
      add(x.a);
      // The watch has not shown this pod on the node yet, so its requests are not in the sums above.
      if (!activeHere.some((f) => f.uid === x.a.uid)) {
        u.cpuMilli += x.a.cpuMilli ?? 0;
        u.memoryMiB += x.a.memoryMiB ?? 0;
      }
    }
    u.heldMilli.forEach((h, i) => {
      if (h > GPU_MILLI) u.problems.push(`GPU ${i} on ${node} is over-allocated: ${h} milli held by ${u.holders[i]!.join(', ')}`);
    });
    this.usageCache.set(node, u);
    return u;
  }
}
