/**
 * The subset of OpenAPI v3 (as CRD structural schemas use it) that our CRDs use, checked the way
 * kube-apiserver would: types, required, enum, minimum, maxItems, pattern, nullable, date-time —
 * and fields the schema does not declare, which the API server would silently prune.
 */

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maxItems?: number;
  pattern?: string;
  nullable?: boolean;
  format?: string;
  description?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const KNOWN_KEYS = new Set(['type', 'properties', 'required', 'items', 'enum', 'minimum', 'maxItems', 'pattern', 'nullable', 'format', 'description', 'x-kubernetes-preserve-unknown-fields']);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** Structural-schema rules: every node has a known type, objects list properties, arrays have items. */
export function checkStructural(s: Schema, path = 'openAPIV3Schema'): string[] {
  const errs: string[] = [];
  for (const k of Object.keys(s)) if (!KNOWN_KEYS.has(k)) errs.push(`${path}: keyword "${k}" is not in the supported subset`);
  if (!s.type || !TYPES.has(s.type)) errs.push(`${path}: type must be one of ${[...TYPES].join(', ')} (got ${JSON.stringify(s.type)})`);
  if (s.type === 'array') {
    if (!s.items) errs.push(`${path}: array needs items`);
    else errs.push(...checkStructural(s.items, `${path}.items`));
  }
  if (s.type === 'object' && s.properties) {
    for (const [k, v] of Object.entries(s.properties)) errs.push(...checkStructural(v, `${path}.properties.${k}`));
    for (const r of s.required ?? []) if (!(r in s.properties)) errs.push(`${path}: required "${r}" is not a property`);
  }
  if (s.pattern !== undefined) {
    try {
      new RegExp(s.pattern);
    } catch {
      errs.push(`${path}: pattern does not compile`);
    }
  }
  return errs;
}

/** Validate a value; paths in errors read like kube-apiserver's (status.gpus[0].health). */
export function validate(value: unknown, s: Schema, path = ''): string[] {
  const at = path || '<root>';
  if (value === null) return s.nullable ? [] : [`${at}: null is not allowed`];
  const errs: string[] = [];
  switch (s.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected object`];
      const o = value as Record<string, unknown>;
      for (const r of s.required ?? []) if (o[r] === undefined) errs.push(`${path ? `${path}.` : ''}${r}: Required value`);
      if (s.properties) {
        for (const [k, v] of Object.entries(o)) {
          const sub = s.properties[k];
          const p = path ? `${path}.${k}` : k;
          if (!sub) {
            if (!s['x-kubernetes-preserve-unknown-fields']) errs.push(`${p}: field not declared in the schema (would be pruned)`);
          } else if (v !== undefined) errs.push(...validate(v, sub, p));
        }
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected array`];
      if (s.maxItems !== undefined && value.length > s.maxItems) errs.push(`${at}: must have at most ${s.maxItems} items`);
      value.forEach((v, i) => errs.push(...validate(v, s.items!, `${path}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') return [`${at}: expected string, got ${JSON.stringify(value)}`];
      if (s.pattern && !new RegExp(s.pattern).test(value)) errs.push(`${at}: "${value}" does not match ${s.pattern}`);
      if (s.format === 'date-time' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) errs.push(`${at}: "${value}" is not an RFC 3339 date-time`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${at}: expected integer, got ${JSON.stringify(value)}`];
      break;
    case 'number':
      if (typeof value !== 'number') return [`${at}: expected number, got ${JSON.stringify(value)}`];
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${at}: expected boolean`];
      break;
  }
  if (s.enum && !s.enum.includes(value)) errs.push(`${at}: Unsupported value ${JSON.stringify(value)}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (s.minimum !== undefined && typeof value === 'number' && value < s.minimum) errs.push(`${at}: must be ≥ ${s.minimum}`);
  return errs;
}

/** The schema node a simple JSONPath (.a.b[0].c) leads to, or undefined. */
export function schemaAt(root: Schema, jsonPath: string): Schema | undefined {
  let cur: Schema | undefined = root;
  for (const part of jsonPath.replace(/^\./, '').split('.')) {
    const m = /^(\w+)((?:\[\d+\])*)$/.exec(part);
    if (!m || !cur) return undefined;
    cur = cur.properties?.[m[1]!];
    for (let i = 0; i < (m[2]!.match(/\[/g)?.length ?? 0); i++) cur = cur?.items;
  }
  return cur;
}
