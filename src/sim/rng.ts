/**
 * A small seeded PRNG (mulberry32), so that every run with the same seed is the same run.
 * Not the FGD simulator's Go math/rand stream: the published numbers are matched in distribution
 * (means over seeds), not pod by pod.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that nearby seeds (42, 43…) start far apart.
    let s = (seed ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (s ^ (s >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** `42-51` / `42,45` / `7` → list of seeds; null when malformed. */
export function parseSeeds(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(p);
    if (range) {
      const a = Number(range[1]);
      const b = Number(range[2]);
      if (b < a || b - a > 10_000) return null;
      for (let s = a; s <= b; s++) out.push(s);
    } else if (/^\d+$/.test(p)) out.push(Number(p));
    else return null;
  }
  return out.length > 0 ? out : null;
}

/** `Math.random`'s shape, seeded: the benches' clusters are the same every run. */
export function seededRandom(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
