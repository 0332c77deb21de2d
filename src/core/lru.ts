/**
 * A bounded cache for keys that users can vary without limit (annotation strings, GPU masks):
 * a two-generation approximation of LRU. Hits in the young generation cost one Map read and
 * move nothing (the hot path reads these caches per node evaluation); a hit in the old
 * generation moves the entry to the young one; when the young generation reaches half the
 * capacity it becomes the old one and the previous old generation is dropped. At most
 * `capacity` entries are held; an entry used at least once per capacity/2 insertions is never
 * evicted.
 */
export class BoundedCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(readonly capacity: number) {
    this.half = Math.max(1, Math.floor(capacity / 2));
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.insert(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insert(key, value);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private insert(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
