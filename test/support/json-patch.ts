/**
 * The two generic patch formats the test API server applies: JSON merge patch (RFC 7386) and
 * JSON patch (RFC 6902). Strategic merge patch is treated as merge patch (our objects do not
 * rely on list merge keys).
 */

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`JSON pointer "${pointer}" does not start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container holding the pointer's last token, and that token. */
function locate(doc: unknown, tokens: string[], pointer: string): { parent: unknown; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path "${pointer}": "${t}" does not exist`);
  }
  return { parent: cur, key: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw new PatchError(`path "${pointer}" does not exist`);
  }
  return cur;
}

function arrayIndex(arr: unknown[], key: string, pointer: string, forInsert: boolean): number {
  if (forInsert && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new PatchError(`path "${pointer}": "${key}" is not an array index`);
  const i = Number(key);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new PatchError(`path "${pointer}": index ${i} out of range`);
  return i;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, structuredClone(value));
  else if (isObject(parent)) parent[key] = structuredClone(value);
  else throw new PatchError(`path "${pointer}": parent is not an object or array`);
  return doc;
}

function remove(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, key } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else throw new PatchError(`path "${pointer}" does not exist`);
  return doc;
}

/** RFC 6902 on a deep copy of doc. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let out = structuredClone(doc);
  ops.forEach((raw, i) => {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(`operation ${i} needs string "op" and "path"`);
    }
    const op = raw as unknown as Op;
    switch (op.op) {
      case 'add':
        out = add(out, op.path, op.value);
        break;
      case 'remove':
        out = remove(out, op.path);
        break;
      case 'replace':
        getAt(out, op.path);
        out = add(remove(out, op.path), op.path, op.value);
        break;
      case 'move': {
        const v = getAt(out, op.from ?? '');
        out = add(remove(out, op.from ?? ''), op.path, v);
        break;
      }
      case 'copy':
        out = add(out, op.path, getAt(out, op.from ?? ''));
        break;
      case 'test':
        if (JSON.stringify(getAt(out, op.path)) !== JSON.stringify(op.value)) {
          throw new PatchError(`test operation at "${op.path}" failed`);
        }
        break;
      default:
        throw new PatchError(`operation ${i}: unknown op "${op.op}"`);
    }
  });
  return out;
}
