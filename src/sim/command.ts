/**
 * `linkpack simulate`: without arguments, the built-in synthetic scenario (+ MAPA) with a table
 * and an HTML report in ./linkpack-report/; with --nodes and --pods, a trace under the FGD
 * protocol. Progress goes to stderr, only on a TTY.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { checkReadableFile, checkWritableDir } from '../cli/checks.js';
import { reportJson, reportText, mapaRows, textTable } from './format.js';
import { mapaScenario } from './mapa.js';
import { EXTENDER_TIES, POLICY_NAMES, TIE_BREAKS, parsePolicies, type ExtenderTies, type PolicyName, type TieBreak } from './policies.js';
import { winnersText, writeReport } from './report.js';
import { parseSeeds } from './rng.js';
import { runSynthetic, runTrace, type Progress } from './run.js';
import { G_TOPOLOGIES, type GTopology } from './topology-map.js';

export const DEFAULT_REPORT_DIR = './linkpack-report';

function policiesArg(v: string): PolicyName[] {
  const r = parsePolicies(v);
  if (typeof r === 'string') throw new InvalidArgumentError(r);
  return r;
}

function seedsArg(v: string): number[] {
  const r = parseSeeds(v);
  if (!r) throw new InvalidArgumentError(`--seeds takes a list or range like 42-51 or 42,43; got "${v}"`);
  return r;
}

/** A progress bar on a TTY, nothing otherwise. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): { onProgress?: Progress; stop: () => void } {
  if (!stream.isTTY) return { stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: 'simulate [{bar}] {value}/{total} {label}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (done, total, label) => {
      if (!started) {
        bar.start(total, 0, { label });
        started = true;
      }
      bar.update(done, { label });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

interface SimulateOptions {
  nodes?: string;
  pods?: string;
  policy: PolicyName[];
  seeds?: number[];
  gTopology: GTopology;
  ties?: TieBreak;
  extenderTies?: ExtenderTies;
  json?: boolean;
  out?: string;
  report: boolean;
  mapa?: boolean;
  jobs?: number;
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('replay a GPU trace (Alibaba openb) or the built-in scenario through placement policies, linkpack included')
    .option('--nodes <csv>', 'node list (openb_node_list_*.csv)')
    .option('--pods <csv>', 'pod list (openb_pod_list_*.csv)')
    .option('--policy <names>', `comma-separated: ${POLICY_NAMES.join(', ')}, or all`, policiesArg, [...POLICY_NAMES])
    .option('--seeds <list>', 'seeds, e.g. 42-51 (default: 42-51 for a trace, 42-44 built-in)', seedsArg)
    .addOption(new Option('--g-topology <kind>', 'assumed topology of the undisclosed 8-GPU models G2/G3').choices([...G_TOPOLOGIES]).default('nvswitch'))
    .addOption(new Option('--ties <rule>', 'ties between equal node scores: first node of a per-run random node order (the FGD artifact\'s rule; default), first node in file order, or random each time').choices([...TIE_BREAKS]))
    .addOption(new Option('--extender-ties <order>', "the deployed variants' extender order among equal raw scores: the node order above (default), or the extender's own nodeTieRank of the node names").choices([...EXTENDER_TIES]))
    .option('--json', 'print the results as JSON')
    .option('--out <dir>', `write the HTML report here (default: ${DEFAULT_REPORT_DIR})`)
    .option('--no-report', 'do not write the HTML report')
    .option('--mapa', 'run only the MAPA locality scenario (one DGX-1 V100, 1,000 jobs)')
    .option('--jobs <n>', 'jobs in the built-in scenario (default 1500)', (v) => {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`--jobs must be a positive whole number, got "${v}"`);
      return Number(v);
    })
    .action(async (o: SimulateOptions) => {
      await runSimulateCommand(o);
    });
}

async function runSimulateCommand(o: SimulateOptions): Promise<void> {
  if (o.mapa) {
    const mapa = mapaScenario(o.seeds?.[0] ?? 42);
    if (o.json) console.log(JSON.stringify({ mapa }, null, 2));
    else {
      const m = mapaRows(mapa);
      console.log(textTable(m.header, m.rows));
    }
    return;
  }
  if ((o.nodes === undefined) !== (o.pods === undefined)) {
    throw new InvalidArgumentError(`--nodes and --pods go together (got only ${o.nodes !== undefined ? '--nodes' : '--pods'})`);
  }
  // Before the run (minutes on a trace), not after it: a bad path fails at once.
  if (o.nodes !== undefined) checkReadableFile(o.nodes, '--nodes');
  if (o.pods !== undefined) checkReadableFile(o.pods, '--pods');
  if (o.report) checkWritableDir(o.out ?? DEFAULT_REPORT_DIR, '--out');
  const progress = progressReporter();
  let report;
  try {
    report =
      o.nodes !== undefined && o.pods !== undefined
        ? runTrace({ nodesFile: o.nodes, podsFile: o.pods, policies: o.policy, seeds: o.seeds ?? range(42, 51), gTopology: o.gTopology, ties: o.ties, extenderTies: o.extenderTies, onProgress: progress.onProgress })
        : runSynthetic({ policies: o.policy, seeds: o.seeds ?? range(42, 44), ties: o.ties, extenderTies: o.extenderTies, withMapa: true, jobs: o.jobs, onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
  const json = reportJson(report);
  // Every run writes its report (a trace run as well: it is the long one worth keeping).
  const dir = o.out ?? DEFAULT_REPORT_DIR;
  let written: string | undefined;
  if (o.report && dir !== undefined) written = await writeReport(report, dir, json);
  if (o.json) console.log(JSON.stringify(json, null, 2));
  else {
    console.log(reportText(report));
    console.log(`\nBest policy per measure:\n${winnersText(report)}`);
    if (written) console.log(`\nReport: ${written}`);
  }
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}
