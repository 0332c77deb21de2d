/**
 * `npm run bench:placement`: every shared openb workload with published FGD numbers × every policy
 * × seeds 42–51 under the FGD protocol. Prints and writes (.bench-out/placement.md) a Markdown
 * table of unallocated GPU % at 100% arrival next to the published means, and NVLink locality.
 *
 * Options: --workloads default,cpu050  --seeds 42-51  --policy all  --g-topology nvswitch|cubemesh
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { progressReporter } from '../src/sim/command.js';
import { markdownTable, seedText } from '../src/sim/format.js';
import type { PolicySummary } from '../src/sim/metrics.js';
import { FGD_TIES, parsePolicies, type PolicyName } from '../src/sim/policies.js';
import { pairedDifference, welchDifference, type Difference } from '../src/sim/paired.js';
import { loadPublishedUnallocated } from '../src/sim/published.js';
import { parseSeeds } from '../src/sim/rng.js';
import { constrainedPctOf, constraintPool, withModelConstraints } from '../src/sim/gpuspec.js';
import { runTracePolicies, traceOf } from '../src/sim/run.js';
import { loadPodCsv, type TracePod } from '../src/sim/trace.js';
import type { GTopology } from '../src/sim/topology-map.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function fmt(v: number | null | undefined, d = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d);
}

const shared = process.env.LINKPACK_SHARED ?? resolve(process.cwd(), '../shared');
const traceDir = join(shared, 'traces/alibaba-v2023');
if (!existsSync(join(traceDir, 'csv/openb_node_list_gpu_node.csv'))) {
  console.error(`bench:placement: the openb trace is not at ${traceDir} (set LINKPACK_SHARED); nothing to run`);
  process.exit(2);
}
const published = loadPublishedUnallocated(join(traceDir, 'fgd-published'));
// Model-constrained variants without a shared file are built in memory (src/sim/gpuspec.ts);
// `<name>-gen` builds one even where the file exists (to compare the construction with it).
const GENERATED = ['gpuspec05', 'gpuspec15', 'gpuspec20', 'gpuspec30', 'gpuspec40', 'gpuspec10-gen', 'gpuspec25-gen'];
const workloads = (arg('workloads') ?? [...[...published.keys()].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b))), ...GENERATED].join(','))
  .split(',')
  .filter(Boolean);
const csvOf = (w: string) => join(traceDir, `csv/openb_pod_list_${w}.csv`);
let pool: ReturnType<typeof constraintPool> | undefined;
function podsOf(w: string): TracePod[] {
  const name = w.replace(/-gen$/, '');
  if (name === w && existsSync(csvOf(w))) return loadPodCsv(csvOf(w));
  const pct = constrainedPctOf(name);
  if (pct === undefined) {
    console.error(`bench:placement: no pod list for workload "${w}" (${csvOf(w)}) and it is not a gpuspecNN variant`);
    process.exit(2);
  }
  pool ??= constraintPool(loadPodCsv(csvOf('gpuspec25')));
  return withModelConstraints(loadPodCsv(csvOf('default')), pct, pool, 2023 + pct);
}
const seeds = parseSeeds(arg('seeds') ?? '42-51');
// Default: the six baselines, the core's ranking and the shipped deployment (the other linkpack variants on request).
const policies = parsePolicies(arg('policy') ?? 'random,dotprod,gpuclustering,gpupacking,bestfit,fgd,linkpack,linkpack-deployed');
const gTopology = (arg('g-topology') ?? 'nvswitch') as GTopology;
if (!seeds || typeof policies === 'string') {
  console.error(`bench:placement: bad --seeds or --policy (${typeof policies === 'string' ? policies : 'seeds'})`);
  process.exit(2);
}

const BASELINES: PolicyName[] = ['random', 'dotprod', 'gpuclustering', 'gpupacking', 'bestfit', 'fgd'];
const progress = progressReporter();
const t0 = performance.now();
const results = new Map<string, Map<PolicyName, PolicySummary>>();
const base = { done: 0, total: workloads.length * policies.length * seeds.length };
for (const w of workloads) {
  const trace = traceOf(join(traceDir, 'csv/openb_node_list_gpu_node.csv'), podsOf(w), w, gTopology);
  const { summaries } = runTracePolicies(trace, policies, seeds, { ties: FGD_TIES, onProgress: progress.onProgress, progressBase: base });
  results.set(w, new Map(summaries.map((s) => [s.policy as PolicyName, s])));
  if (!process.stderr.isTTY) console.error(`bench:placement: ${w} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
progress.stop();

const lines: string[] = [];
lines.push(`# Placement benchmark: openb workloads × policies × seeds ${seedText(seeds)}`, '');
lines.push(
  `FGD protocol (seeded shuffle, resampling to 1.3× capacity, arrivals only, drop on failure); ties between equal node scores go to the first node of a per-seed random node order, as in the FGD artifact. G2/G3 assumed ${gTopology}. Cell = unallocated GPU % at 100% arrival, ours (published mean), mean over seeds. Total ${((performance.now() - t0) / 1000).toFixed(0)} s.`,
  '',
);
const header = ['workload', ...policies];
const rows = workloads.map((w) => [
  w,
  ...policies.map((p) => {
    const ours = results.get(w)?.get(p)?.unallocatedPct[100];
    const pub = published.get(w)?.get(p)?.mean;
    return pub !== undefined && pub !== null ? `${fmt(ours)} (${fmt(pub)})` : fmt(ours);
  }),
]);
lines.push(markdownTable(header, rows), '');

// "As deployed" (src/sim/deployed.ts): the kube-scheduler pick with the shipped configuration, with its defaults, with its device count.
const DEPLOYED = (['linkpack-deployed', 'linkpack-kubedefault', 'linkpack-devicecap', 'linkpack-shareslots'] as PolicyName[]).filter((p) => policies.includes(p));
if (policies.includes('linkpack')) {
  lines.push(
    '## linkpack against BestFit and FGD (unallocated % at 100%; negative = fewer GPUs left unallocated)',
    '',
    "95% CI: half-width of the interval of the difference. Against our FGD it is paired seed by seed (the same arrivals); against the published seeds (another RNG) it is Welch's over the two samples.",
    '',
  );
  const lrows = workloads.map((w) => {
    const r = results.get(w)!;
    const lp = r.get('linkpack')?.unallocatedPct[100] ?? null;
    const bf = r.get('bestfit')?.unallocatedPct[100] ?? null;
    const fg = r.get('fgd')?.unallocatedPct[100] ?? null;
    const pubFgdStat = published.get(w)?.get('fgd');
    const pubFgd = pubFgdStat?.mean ?? null;
    const d = (a: number | null, b: number | null) => (a === null || b === null ? '—' : (a - b >= 0 ? '+' : '') + (a - b).toFixed(2));
    const ci = (x: Difference | null | undefined) => (x?.ci95Pct === null || x?.ci95Pct === undefined ? '—' : `±${x.ci95Pct.toFixed(2)}`);
    const lpSum = r.get('linkpack');
    const fgSum = r.get('fgd');
    // Paired with our FGD (the same arrivals seed by seed); against the published seeds, Welch (another RNG).
    const vsFgd = lpSum && fgSum ? pairedDifference(lpSum, fgSum, 100) : null;
    const lpStat = lpSum && lpSum.unallocatedPct[100] !== null && lpSum.unallocatedSd[100] !== null ? { mean: lpSum.unallocatedPct[100]!, sd: lpSum.unallocatedSd[100]!, n: lpSum.seeds.length } : null;
    const vsPub = lpStat && pubFgdStat?.mean != null && pubFgdStat.sd != null ? welchDifference(lpStat, { mean: pubFgdStat.mean, sd: pubFgdStat.sd, n: pubFgdStat.n }) : null;
    const lpl = r.get('linkpack')?.nvlink;
    const dep = (p: PolicyName) => fmt(r.get(p)?.unallocatedPct[100] ?? null);
    return [w, fmt(lp), fmt(bf), d(lp, bf), fmt(fg), d(lp, fg), ci(vsFgd), fmt(pubFgd), d(lp, pubFgd), ci(vsPub), fmt(lpl?.connectedPctWhereAllowed, 1), ...DEPLOYED.map(dep)];
  });
  lines.push(
    markdownTable(['workload', 'linkpack', 'BestFit', 'Δ BestFit', 'FGD (ours)', 'Δ FGD', '95% CI (paired)', 'FGD (published)', 'Δ published', '95% CI (Welch)', 'NVLink-connected % where possible', ...DEPLOYED.map((p) => `${p} (as deployed)`)], lrows),
    '',
  );
}

lines.push('## NVLink locality of multi-GPU pods (connected % where the assumed topology allows / mean bottleneck GB/s)', '');
lines.push(
  markdownTable(
    header,
    workloads.map((w) => [w, ...policies.map((p) => {
      const l = results.get(w)?.get(p)?.nvlink;
      return l ? `${fmt(l.connectedPctWhereAllowed, 1)} / ${fmt(l.meanBottleneckGBps, 0)}` : '—';
    })]),
  ),
  '',
);

const fidelity = BASELINES.filter((p) => policies.includes(p)).map((p) => {
  const ours = results.get('default')?.get(p);
  const pub = published.get('default')?.get(p);
  if (!ours || !pub || pub.mean === null) return null;
  const diff = (ours.unallocatedPct[100] ?? NaN) - pub.mean;
  const tol = p === 'random' ? 1.0 : 0.5;
  return [p, fmt(ours.unallocatedPct[100]), fmt(ours.unallocatedSd[100]), fmt(pub.mean), fmt(pub.sd), (diff >= 0 ? '+' : '') + diff.toFixed(2), `±${tol}`, Math.abs(diff) <= tol ? 'yes' : 'NO'];
});
if (fidelity.some(Boolean)) {
  lines.push('## Fidelity on `default` (unallocated % at 100%)', '');
  lines.push(markdownTable(['policy', 'ours', 'sd', 'published', 'sd', 'diff', 'tolerance', 'within'], fidelity.filter((r): r is string[] => r !== null)), '');
}

const md = lines.join('\n');
console.log(md);
mkdirSync('.bench-out', { recursive: true });
writeFileSync('.bench-out/placement.md', `${md}\n`);
console.error('bench:placement: wrote .bench-out/placement.md');

