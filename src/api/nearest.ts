/**
 * "Did you mean …?": the closest candidate to a misspelled word by edit distance, used for
 * annotation keys, preset names and CLI values. Only a near miss is suggested (distance ≤ a third
 * of the word, at least 2), so an unrelated word gets no misleading hint.
 */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Every candidate at the smallest edit distance, when that distance is a near miss. */
export function nearestAll(word: string, candidates: readonly string[]): string[] {
  const w = word.toLowerCase();
  let best: string[] = [];
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) [best, bestD] = [[c], d];
    else if (d === bestD) best.push(c);
  }
  return bestD <= Math.max(2, Math.floor(w.length / 3)) ? best : [];
}

export function nearest(word: string, candidates: readonly string[]): string | undefined {
  return nearestAll(word, candidates)[0];
}

/** `; did you mean "x"?` (or `"x" or "y"` on a tie), or the empty string. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const n = nearestAll(word, candidates);
  return n.length === 0 ? '' : `; did you mean ${n.map((c) => `"${c}"`).join(' or ')}?`;
}
