/** What deploy/controller/rbac.yaml grants, and the verb a recorded request needs, as `group/resource:verb`. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/paths.js';
import type { KObject } from '../support/apiserver.js';

export function verbOf(r: { method: string; path: string; watch: boolean }): string {
  const segs = r.path.split('/').filter(Boolean);
  const [group, rest] = segs[0] === 'api' ? ['', segs.slice(2)] : [segs[1]!, segs.slice(3)];
  const parts = rest[0] === 'namespaces' ? rest.slice(2) : rest;
  const resource = parts.length >= 3 ? `${parts[0]}/${parts[2]}` : parts[0];
  const verb = r.method === 'GET' ? (r.watch ? 'watch' : parts.length === 1 ? 'list' : 'get') : { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[r.method];
  return `${group}/${resource}:${verb}`;
}

export function grants(): Set<string> {
  const docs = parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/controller/rbac.yaml'), 'utf8')).map((d) => d.toJS() as KObject);
  const out = new Set<string>();
  for (const d of docs.filter((x) => x.kind === 'ClusterRole')) for (const rule of d.rules) for (const g of rule.apiGroups) for (const res of rule.resources) for (const v of rule.verbs) out.add(`${g}/${res}:${v}`);
  return out;
}
