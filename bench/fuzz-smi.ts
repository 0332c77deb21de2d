/**
 * Fuzz target `smi`: nvidia-smi outputs mutated from the recorded fixtures (../shared/fixtures/
 * nvidia-smi and test/fixtures/nvidia-smi) into every parser the agent runs (topo -m, --query-gpu,
 * --query-remapped-rows, nvlink -s, the exit classifier) and through the health rules (baseline,
 * verdicts, hysteresis) as one agent cycle would. The documented answer to bad text is a
 * ParseError (or a line in `problems`); anything else thrown is a crash.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { degradedLinksOf, emptyHealth, gpuHealth, isHealthy, nextHealth, type HealthState } from '../src/agent/health.js';
import { classifyExit } from '../src/agent/nvidia-smi.js';
import { buildBaseline, GPU_QUERY_FIELDS, normalizeBusId, nvPeers, parseGpuQuery, parseRemapQuery, REMAP_QUERY_FIELDS, verdictsOf, type Observation } from '../src/agent/observe.js';
import { parseNvlinkStatus } from '../src/topology/parse-nvlink-status.js';
import { canonicalField, gpuInfoFromQueryRow, parseQueryGpuCsv } from '../src/topology/parse-query-gpu.js';
import { parseTopoMatrix } from '../src/topology/parse-topo-matrix.js';
import { ParseError } from '../src/topology/types.js';
import { queryAnswer } from '../test/deviceplugin/helpers.js';
import { repoRoot, sharedDir } from '../test/support/paths.js';
import { mutateText, textOps, tolerate, type FuzzTarget, type TextOp } from './fuzz-kit.js';

export interface SmiFixture {
  name: string;
  text: string;
}

/** Every recorded and hand-written nvidia-smi output there is (../shared's when present). */
export function smiFixtures(): SmiFixture[] {
  const dirs = [path.join(sharedDir, 'fixtures', 'nvidia-smi'), path.join(repoRoot, 'test', 'fixtures', 'nvidia-smi')];
  const out: SmiFixture[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) {
      if (f.endsWith('.md')) continue;
      out.push({ name: f, text: readFileSync(path.join(d, f), 'utf8') });
    }
  }
  // The agent's own query (noheader,nounits, its field order), healthy and with ECC errors.
  out.push({ name: 'agent-query-8', text: queryAnswer(8) }, { name: 'agent-query-4-ecc', text: queryAnswer(4, { 1: 3 }) });
  out.push({ name: 'agent-remap-2', text: '00000000:10:00.0, 0, 0\n00000000:11:00.0, 1, No\n' });
  out.push({ name: 'lost-gpu', text: `${queryAnswer(2)}Unable to determine the device handle for GPU 0000:12:00.0: Unknown Error\n` });
  return out;
}

const kinds = (fx: SmiFixture[], test: (f: SmiFixture) => boolean): number[] => fx.flatMap((f, i) => (test(f) ? [i] : []));

interface Mutated {
  base: number;
  ops: TextOp[];
}

export interface SmiInput {
  topo: Mutated;
  /** undefined: no nvlink -s at baseline. */
  nvlink?: Mutated;
  query: Mutated;
  /** undefined: the agent reads the query with its own field list. */
  askFromHeader: boolean;
  remap?: Mutated;
  /** nvlink -s of the cycle. */
  nvlinkNow?: Mutated;
  exitCode: number | null;
  flipAfter: number;
  cycles: number;
}

/** The fields of a CSV header line, or undefined when the first line is not one. */
function headerFields(text: string): string[] | undefined {
  const first = text.split(/\r?\n/)[0] ?? '';
  if (!/^[a-z][a-z0-9_.]*( \[[^\]]*\])?(, ?[a-z][a-z0-9_.]*( \[[^\]]*\])?)*$/.test(first)) return undefined;
  return first.split(',').map(canonicalField);
}

export function smiTarget(fixtures: SmiFixture[] = smiFixtures()): FuzzTarget<SmiInput> {
  const topo = kinds(fixtures, (f) => f.name.startsWith('topo-'));
  const nvlink = kinds(fixtures, (f) => f.name.startsWith('nvlink-'));
  const query = kinds(fixtures, (f) => f.name.startsWith('query-') || f.name.startsWith('agent-query') || f.name === 'lost-gpu');
  const any = fixtures.map((_, i) => i);
  const from = (pool: number[]) =>
    fc.record({
      // Mostly the matching kind; sometimes any output at all (a wrong command's answer).
      base: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fc.constantFrom(...any) }),
      // Sometimes unmutated, so the deeper rules see well-formed input too.
      ops: fc.oneof({ weight: 1, arbitrary: fc.constant<TextOp[]>([]) }, { weight: 4, arbitrary: textOps }),
    });
  const gen: fc.Arbitrary<SmiInput> = fc.record(
    {
      topo: from(topo),
      nvlink: fc.option(from(nvlink), { freq: 4 }).map((v) => v ?? undefined),
      query: from(query),
      askFromHeader: fc.boolean(),
      remap: fc.option(from([fixtures.findIndex((f) => f.name === 'agent-remap-2'), ...query]), { freq: 3 }).map((v) => v ?? undefined),
      nvlinkNow: fc.option(from(nvlink), { freq: 3 }).map((v) => v ?? undefined),
      exitCode: fc.oneof(fc.constantFrom(0, 2, 3, 4, 9, 15, 18, 255, null), fc.integer()),
      flipAfter: fc.integer({ min: 0, max: 4 }),
      cycles: fc.integer({ min: 1, max: 4 }),
    },
    { requiredKeys: ['topo', 'query', 'askFromHeader', 'exitCode', 'flipAfter', 'cycles'] },
  );
  const text = (m: Mutated | undefined) => (m === undefined ? undefined : mutateText(fixtures[m.base]!.text, m.ops));
  const agentFields = GPU_QUERY_FIELDS.map((f) => f.name);

  return {
    name: 'smi',
    gen,
    show: (i) =>
      JSON.stringify({
        topo: text(i.topo),
        nvlink: text(i.nvlink),
        query: text(i.query),
        remap: text(i.remap),
        nvlinkNow: text(i.nvlinkNow),
        askFromHeader: i.askFromHeader,
        exitCode: i.exitCode,
        flipAfter: i.flipAfter,
      }),
    run(i) {
      const topoText = text(i.topo)!;
      const nvText = text(i.nvlink);
      const queryText = text(i.query)!;
      const remapText = text(i.remap);
      const nowText = text(i.nvlinkNow);

      // Each parser on its own input, and on the others' (a wrong command's output).
      for (const t of [topoText, nvText, queryText]) {
        if (t === undefined) continue;
        tolerate(() => void parseTopoMatrix(t, 'fuzz'), ParseError);
        tolerate(() => void parseNvlinkStatus(t), ParseError);
        tolerate(() => {
          for (const row of parseQueryGpuCsv(t)) gpuInfoFromQueryRow(row);
        }, ParseError);
        tolerate(() => void parseQueryGpuCsv(t, { fields: agentFields, header: false }), ParseError);
        tolerate(() => void parseQueryGpuCsv(t, { fields: 'index,uuid name', header: true }), ParseError);
      }
      classifyExit(['--query-gpu=index', '--format=csv,noheader,nounits'], i.exitCode, i.exitCode === null ? 'SIGKILL' : null, queryText, nvText ?? '');
      normalizeBusId(queryText.slice(0, 40));

      // One agent cycle: baseline, query, remap, nvlink, verdicts, hysteresis.
      let built: ReturnType<typeof buildBaseline> | undefined;
      tolerate(() => void (built = buildBaseline(topoText, nvText)), ParseError);
      const fromHeader = i.askFromHeader ? headerFields(queryText) : undefined;
      const asked = fromHeader ?? agentFields;
      const body = fromHeader ? queryText.split(/\r?\n/).slice(1).join('\n') : queryText;
      const q = parseGpuQuery(body, asked, new Map([['clocks.current.sm', 'clocks.sm']]));
      const remap = remapText === undefined ? undefined : parseRemapQuery(remapText, REMAP_QUERY_FIELDS.map((f) => f.name)).byBusId;
      let now: ReturnType<typeof parseNvlinkStatus> | undefined;
      let nvlinkFailure: string | undefined;
      if (nowText !== undefined) {
        try {
          now = parseNvlinkStatus(nowText, 'nvidia-smi nvlink -s');
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          nvlinkFailure = e.message;
        }
      }
      if (!built) return;
      const { baseline } = built;
      const obs: Observation = { query: q, ...(remap ? { remap } : {}), ...(now ? { nvlink: now } : {}), ...(nvlinkFailure ? { nvlinkFailure } : {}) };
      const busIds = new Map(q.gpus.flatMap((g) => (g.pciBusId ? [[g.index, g.pciBusId] as const] : [])));
      let health: HealthState = emptyHealth();
      for (let c = 0; c < i.cycles; c++) {
        // Every other cycle without the query (nvidia-smi failed): the GPUs go Unknown.
        const o: Observation = c % 2 === 1 ? { queryFailure: 'nvidia-smi --query-gpu: timeout' } : obs;
        health = nextHealth(health, verdictsOf(baseline, o, (g) => busIds.get(g)), { flipAfter: i.flipAfter });
      }
      const n = baseline.topology.gpus.length;
      for (let g = 0; g < n; g++) {
        gpuHealth(health, g);
        isHealthy(health, g);
        nvPeers(baseline.topology, g);
      }
      degradedLinksOf(health);
    },
  };
}
