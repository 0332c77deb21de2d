/**
 * The FGD authors' released results (fgd-published/analysis_allo_discrete.csv): GPU allocation %
 * per workload, policy and seed at each arrived-% point. We read them as unallocated % = 100 − it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { meanSd, type Stat } from './metrics.js';
import { PUBLISHED_POLICY, type PolicyName } from './policies.js';

/** Mean ± sd over the published seeds, and how many seeds there are. */
export type PublishedTable = Map<string, Map<PolicyName, Stat & { n: number }>>;

/** Mean ± sd over the seeds 42–51 of the published unallocated % at `point` (default 100). */
export function loadPublishedUnallocated(dir: string, point = 100): PublishedTable {
  const file = join(dir, 'analysis_allo_discrete.csv');
  if (!existsSync(file)) throw new Error(`${file}: file not found`);
  const rows = parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const byPolicy = new Map<string, PolicyName>(Object.entries(PUBLISHED_POLICY).map(([k, v]) => [v, k as PolicyName]));
  const values = new Map<string, Map<PolicyName, number[]>>();
  rows.forEach((r, i) => {
    const policy = byPolicy.get(r.sc_policy);
    if (!policy) return;
    const seed = Number(r.seed);
    if (!(seed >= 42 && seed <= 51)) return;
    const raw = r[String(point)];
    const v = Number(raw);
    if (raw === undefined || raw === '' || !Number.isFinite(v)) throw new Error(`${file}:${i + 2}: column "${point}" is not a number ("${raw}")`);
    const workload = r.workload.replace(/^openb_pod_list_/, '');
    const m = values.get(workload) ?? new Map<PolicyName, number[]>();
    const list = m.get(policy) ?? [];
    list.push(100 - v);
    m.set(policy, list);
    values.set(workload, m);
  });
  const out: PublishedTable = new Map();
  for (const [w, m] of values) out.set(w, new Map([...m].map(([p, list]) => [p, { ...meanSd(list), n: list.length }])));
  return out;
}
