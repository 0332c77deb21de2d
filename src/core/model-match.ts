/**
 * The one GPU model rule, used by the core (requests and profile shapes), the extender and the
 * simulator's trace models. A wanted name matches a GPU model when its tokens appear, whole and
 * in order, among the model's tokens. Tokens are the maximal runs of letters and digits, compared
 * case-insensitively: "NVIDIA A100-SXM4-80GB" is [nvidia, a100, sxm4, 80gb].
 *   "A100" and "a100-80gb" match it; "A10" does not (a10 ≠ a100), nor "SXM4-A100" (order).
 *   "A10" matches "NVIDIA A10" but not "NVIDIA A10G": a suffix letter is another SKU; list both.
 * Whole tokens, not substrings, because model names nest ("A10" ⊂ "A100", "T4" ⊂ "T40").
 */

import { BoundedCache } from './lru.js';

/** Names are few and asked for per node and per profile refresh; bounded, as names come from users. */
const tokenCache = new BoundedCache<string, readonly string[]>(1024);

/** Lower-cased letter/digit runs of a model name. */
export function modelTokens(name: string): readonly string[] {
  let t = tokenCache.get(name);
  if (t === undefined) tokenCache.set(name, (t = name.toLowerCase().match(/[a-z0-9]+/g) ?? []));
  return t;
}

/** Are `want`'s tokens a subsequence of `have`'s (whole tokens, in order)? An empty want matches nothing. */
function tokensMatch(have: readonly string[], want: readonly string[]): boolean {
  if (want.length === 0) return false;
  let j = 0;
  for (let i = 0; i < have.length && j < want.length; i++) if (have[i] === want[j]) j++;
  return j === want.length;
}

/** Does a GPU model (any case) match any of the wanted names? */
export function modelMatches(model: string, wanted: readonly string[]): boolean {
  const have = modelTokens(model);
  for (const w of wanted) if (tokensMatch(have, modelTokens(w))) return true;
  return false;
}
