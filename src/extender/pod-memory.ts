/**
 * The Pods kube-scheduler sent in filter/prioritize, kept briefly so that bind can proceed for a
 * pod the informer has not delivered yet (standalone mode, or a watch that lags the scheduler),
 * and so that /explain can re-evaluate on the nodes of the last call. Keyed by UID, bounded by
 * entry count and by an estimate of the bytes held (pod JSON + node names), entries expire after
 * a short TTL: a pod is bound within one scheduling cycle of its filter call.
 */
import type { PodLike } from './preferences.js';

export interface SeenCall {
  pod: PodLike;
  /** Candidate node names of that call. */
  names: readonly string[];
  atMs: number;
}

export interface PodMemoryOptions {
  maxEntries?: number;
  /** Bytes of pod JSON and names held, all entries together. */
  maxBytes?: number;
  ttlMs?: number;
  now?: () => number;
}

interface Entry extends SeenCall {
  key: string;
  bytes: number;
}

export const POD_MEMORY_DEFAULTS = { maxEntries: 4096, maxBytes: 32 * 1024 * 1024, ttlMs: 120_000 } as const;

/** Key of a pod in the memory: its UID, or `ns/name` for hand-written bodies without one. */
const keyOf = (uid: string | undefined, nsName: string) => (uid ? `uid:${uid}` : `name:${nsName}`);

export class PodMemory {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  /** Insertion order = least recently remembered first. */
  private readonly entries = new Map<string, Entry>();
  private readonly keyByName = new Map<string, string>();
  private heldBytes = 0;

  constructor(opts: PodMemoryOptions = {}) {
    this.maxEntries = opts.maxEntries ?? POD_MEMORY_DEFAULTS.maxEntries;
    this.maxBytes = opts.maxBytes ?? POD_MEMORY_DEFAULTS.maxBytes;
    this.ttlMs = opts.ttlMs ?? POD_MEMORY_DEFAULTS.ttlMs;
    this.now = opts.now ?? Date.now;
  }

  /** `podBytes`: size of the pod's JSON (or a bound on it). */
  remember(pod: PodLike, nsName: string, names: readonly string[], podBytes: number): void {
    const key = keyOf(pod.metadata?.uid, nsName);
    this.drop(key);
    const oldKey = this.keyByName.get(nsName);
    if (oldKey !== undefined) this.drop(oldKey); // a recreated pod (new UID) replaces the old one
    // Names are the body's own strings: V8 holds each with a header (~24 bytes) and an array slot.
    let bytes = podBytes + 64;
    for (let i = 0; i < names.length; i++) bytes += names[i]!.length + 40;
    if (bytes > this.maxBytes) return; // one call larger than the whole budget is not kept
    const e: Entry = { pod, names, atMs: this.now(), key, bytes };
    this.entries.set(key, e);
    this.keyByName.set(nsName, key);
    this.heldBytes += bytes;
    while (this.entries.size > this.maxEntries || this.heldBytes > this.maxBytes) this.drop(this.entries.keys().next().value!);
  }

  /** The pod to bind: by UID when the scheduler gave one, else by namespace/name. */
  forBind(uid: string, nsName: string): SeenCall | undefined {
    const e = this.live(uid ? keyOf(uid, nsName) : this.keyByName.get(nsName));
    if (!e) return undefined;
    const m = e.pod.metadata;
    // A UID reused under another name would be a scheduler bug; refuse rather than bind the wrong pod.
    return `${m?.namespace ?? 'default'}/${m?.name}` === nsName ? e : undefined;
  }

  /** The last call for this pod, for /explain. */
  byName(nsName: string): SeenCall | undefined {
    return this.live(this.keyByName.get(nsName));
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  private live(key: string | undefined): Entry | undefined {
    if (key === undefined) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() - e.atMs > this.ttlMs) {
      this.drop(key);
      return undefined;
    }
    return e;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.heldBytes -= e.bytes;
    const nsName = `${e.pod.metadata?.namespace ?? 'default'}/${e.pod.metadata?.name}`;
    if (this.keyByName.get(nsName) === key) this.keyByName.delete(nsName);
  }
}
