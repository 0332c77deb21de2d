import type { Topology } from './types.js';
import { isNvlink } from './link.js';

/** NVLink islands: connected components of the NVLink graph, each ascending, ordered by first GPU. */
export function islands(t: Topology): number[][] {
  const n = t.gpus.length;
  const seen = new Array<boolean>(n).fill(false);
  const out: number[][] = [];
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    const comp: number[] = [];
    const stack = [s];
    seen[s] = true;
    while (stack.length) {
      const i = stack.pop()!;
      comp.push(i);
      for (let j = 0; j < n; j++) {
        if (!seen[j] && isNvlink(t.links[i][j])) {
          seen[j] = true;
          stack.push(j);
        }
      }
    }
    out.push(comp.sort((a, b) => a - b));
  }
  return out;
}
