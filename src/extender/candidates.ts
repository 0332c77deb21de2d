/**
 * The candidate nodes of a filter/prioritize body, checked by hand instead of by the JSON schema:
 * a per-element schema walk over a 15,000-name array costs more than the decision, and a bound on
 * the count must be checked before any per-name work. Errors name the field like the schema's
 * (`body/NodeNames/3 must be string`).
 */

/** More candidates than any supported cluster (Kubernetes supports 5,000 nodes); a bound on one request's work. */
export const DEFAULT_MAX_NODES = 50_000;

export type Candidates =
  | { ok: true; names: readonly string[]; byName: true }
  | { ok: true; names: readonly string[]; byName: false; items: readonly unknown[] }
  | { ok: false; error: string; status: 400 | 413 };

const tooMany = (field: string, n: number, max: number): Candidates => ({
  ok: false,
  status: 413,
  error: `body/${field} has ${n} entries; at most ${max} candidate nodes are accepted per request`,
});

export function candidatesOf(body: { NodeNames?: unknown; Nodes?: unknown }, maxNodes = DEFAULT_MAX_NODES): Candidates {
  const names = body.NodeNames;
  if (names !== undefined && names !== null) {
    if (!Array.isArray(names)) return { ok: false, status: 400, error: 'body/NodeNames must be an array of node names or null' };
    if (names.length > maxNodes) return tooMany('NodeNames', names.length, maxNodes);
    for (let i = 0; i < names.length; i++) if (typeof names[i] !== 'string') return { ok: false, status: 400, error: `body/NodeNames/${i} must be string` };
    return { ok: true, names: names as string[], byName: true };
  }
  const nodes = body.Nodes;
  if (nodes !== undefined && nodes !== null) {
    if (typeof nodes !== 'object' || Array.isArray(nodes)) return { ok: false, status: 400, error: 'body/Nodes must be a NodeList object or null' };
    const items = (nodes as { items?: unknown }).items;
    if (items !== undefined && items !== null) {
      if (!Array.isArray(items)) return { ok: false, status: 400, error: 'body/Nodes/items must be an array of Node objects or null' };
      if (items.length > maxNodes) return tooMany('Nodes/items', items.length, maxNodes);
      const out = new Array<string>(items.length);
      for (let i = 0; i < items.length; i++) {
        const meta = (items[i] as { metadata?: { name?: unknown } } | null)?.metadata;
        const name = meta !== null && typeof meta === 'object' ? meta.name : undefined;
        if (typeof name !== 'string' || name === '') return { ok: false, status: 400, error: `body/Nodes/items/${i}/metadata/name must be a non-empty string` };
        out[i] = name;
      }
      return { ok: true, names: out, byName: false, items };
    }
  }
  return { ok: false, status: 400, error: 'body must carry NodeNames (nodeCacheCapable: true) or Nodes.items (nodeCacheCapable: false); both are null' };
}
