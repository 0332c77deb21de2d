/**
 * Label and field selectors as kube-apiserver reads them (the common subset): labels support
 * `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`; fields support `=`, `==`, `!=`
 * on dotted paths, where a missing field reads as "".
 */

export type Matcher = (obj: unknown) => boolean;

export class SelectorError extends Error {}

/** Split on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function labelsOf(obj: unknown): Record<string, string> {
  const meta = (obj as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata;
  return meta?.labels ?? {};
}

export function parseLabelSelector(text: string | null | undefined): Matcher {
  if (!text) return () => true;
  const tests: Matcher[] = splitTerms(text).map((term) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      return op === 'in'
        ? (o) => key in labelsOf(o) && values.has(labelsOf(o)[key]!)
        : (o) => !(key in labelsOf(o)) || !values.has(labelsOf(o)[key]!);
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (o) => labelsOf(o)[key] !== value : (o) => labelsOf(o)[key] === value;
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) {
      const [, not, key] = m as unknown as [string, string, string];
      return not ? (o) => !(key in labelsOf(o)) : (o) => key in labelsOf(o);
    }
    throw new SelectorError(`unable to parse requirement: "${term}"`);
  });
  return (o) => tests.every((t) => t(o));
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

/** `allowed` = field paths this resource supports; others are a 400 like the real server's. */
export function parseFieldSelector(text: string | null | undefined, allowed: (field: string) => boolean): Matcher {
  if (!text) return () => true;
  const tests: Matcher[] = splitTerms(text).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector: "${term}"`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!allowed(field)) throw new SelectorError(`field label not supported: ${field}`);
    return op === '!=' ? (o) => fieldValue(o, field) !== value : (o) => fieldValue(o, field) === value;
  });
  return (o) => tests.every((t) => t(o));
}
