/**
 * Pure: nvidia-smi's raw outputs → typed readings, and readings → per-GPU and per-link verdicts
 * for the health rules. Parsing goes through src/topology; a line that does not parse costs that
 * line (its GPU becomes unknown, with the reason), never the whole reading.
 */
import { canonicalField, parseQueryGpuCsv, type QueryGpuRow, type QueryGpuValue } from '../topology/parse-query-gpu.js';
import { splitCsvLine } from '../topology/parse-query-gpu.js';
import { activeLinkSpeedGBps, parseNvlinkStatus, type NvlinkGpuStatus } from '../topology/parse-nvlink-status.js';
import { parseTopoMatrix } from '../topology/parse-topo-matrix.js';
import { parseLinkLegend } from '../topology/link.js';
import { ParseError, type Topology } from '../topology/types.js';
import type { QueryField } from './nvidia-smi.js';
import type { Verdict } from './health.js';

const eventReason = (r: string): QueryField => ({ name: `clocks_event_reasons.${r}`, alternatives: [`clocks_throttle_reasons.${r}`] });

/** What the agent asks `--query-gpu` for every interval (names from the driver-535 help). */
export const GPU_QUERY_FIELDS: readonly QueryField[] = [
  { name: 'index' },
  { name: 'uuid' },
  { name: 'name' },
  { name: 'pci.bus_id' },
  { name: 'driver_version' },
  { name: 'memory.total' },
  { name: 'memory.used' },
  { name: 'memory.free' },
  { name: 'utilization.gpu' },
  { name: 'utilization.memory' },
  { name: 'temperature.gpu' },
  { name: 'temperature.memory' },
  { name: 'power.draw' },
  { name: 'clocks.current.sm', alternatives: ['clocks.sm'] },
  { name: 'clocks.current.memory', alternatives: ['clocks.mem'] },
  { name: 'ecc.errors.uncorrected.volatile.total' },
  { name: 'retired_pages.pending' },
  eventReason('hw_slowdown'),
  eventReason('hw_thermal_slowdown'),
  eventReason('hw_power_brake_slowdown'),
];

/** Row remapping (Ampere+) is its own query in driver 535 (reference/node-side.md §2c). */
export const REMAP_QUERY_FIELDS: readonly QueryField[] = [{ name: 'gpu_bus_id' }, { name: 'remapped_rows.pending' }, { name: 'remapped_rows.failure' }];

export interface GpuReading {
  index: number;
  uuid?: string;
  name?: string;
  /** Normalised: 8-digit domain, upper case (`00000000:8A:00.0`). */
  pciBusId?: string;
  driverVersion?: string;
  memoryTotalMiB?: number;
  memoryUsedMiB?: number;
  memoryFreeMiB?: number;
  gpuUtilPct?: number;
  memUtilPct?: number;
  temperatureC?: number;
  memoryTemperatureC?: number;
  powerW?: number;
  smClockMHz?: number;
  memClockMHz?: number;
  eccUncorrectedVolatile?: number;
  retiredPagesPending?: boolean;
  remapPending?: boolean;
  remapFailure?: boolean;
  hwSlowdown?: boolean;
  hwThermalSlowdown?: boolean;
  hwPowerBrakeSlowdown?: boolean;
  /** Fields that printed an error marker rather than "no value": `power.draw: [GPU requires reset]`. */
  fieldErrors: string[];
}

export interface GpuQueryReading {
  gpus: GpuReading[];
  /** GPUs nvidia-smi named as unreachable (`Unable to determine the device handle for GPU <bus>: <why>`). */
  lost: { pciBusId: string; message: string }[];
  /** Lines that did not parse, each naming the line and what is wrong. */
  problems: string[];
}

/** `0000:8a:00.0`, `00000000:8A:00.0`, `PCI:0000:8a:00` → `00000000:8A:00.0`. */
export function normalizeBusId(id: string): string {
  const m = /^(?:PCI:)?(?:([0-9a-f]{1,8}):)?([0-9a-f]{2}):([0-9a-f]{2})(?:\.([0-7]))?$/i.exec(id.trim());
  if (!m) return id.trim().toUpperCase();
  return `${(m[1] ?? '0').padStart(8, '0')}:${m[2]}:${m[3]}.${m[4] ?? '0'}`.toUpperCase();
}

const LOST_LINE = /^Unable to determine the device handle for GPU ([0-9A-Fa-f:.]+): (.+)$/;
/** Markers that mean the GPU is in trouble, not merely that a field is unsupported. */
const ERROR_MARKER = /^\[(Unknown Error|GPU requires reset|GPU is lost|Insufficient Permissions)\]$/i;

const num = (v: QueryGpuValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: QueryGpuValue | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** `Active`/`Not Active`, `Yes`/`No`, `1`/`0` → boolean; anything else → undefined. */
function flag(v: QueryGpuValue | undefined): boolean | undefined {
  if (typeof v === 'number') return v !== 0;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'active' || s === 'yes' || s === 'true' || s === '1' || s === 'enabled') return true;
  if (s === 'not active' || s === 'no' || s === 'false' || s === '0' || s === 'disabled') return false;
  return undefined;
}

/**
 * Parse `--query-gpu=<asked> --format=csv,noheader,nounits` output line by line. `asked` is the
 * field list of the call (as queryFields reports it); `used` maps requested names to asked ones.
 */
export function parseGpuQuery(stdout: string, asked: readonly string[], used?: ReadonlyMap<string, string>): GpuQueryReading {
  const out: GpuQueryReading = { gpus: [], lost: [], problems: [] };
  const canonical = asked.map(canonicalField);
  const get = (row: QueryGpuRow, requested: string) => row.fields[canonicalField(used?.get(requested) ?? requested)];
  stdout.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const lineNo = i + 1;
    if (line === '') return;
    const lost = LOST_LINE.exec(line);
    if (lost) {
      out.lost.push({ pciBusId: normalizeBusId(lost[1]), message: lost[2].trim() });
      return;
    }
    let row: QueryGpuRow;
    let cells: string[];
    try {
      cells = splitCsvLine(line, lineNo);
      // A short or long line is the common garbage: said without building a ParseError (a 4 MiB output is ~100,000 lines).
      if (cells.length !== canonical.length) {
        out.problems.push(`nvidia-smi --query-gpu line ${lineNo}: ${cells.length} value(s) but ${canonical.length} field(s) (${canonical.join(', ')})`);
        return;
      }
      row = parseQueryGpuCsv(line, { fields: canonical, header: false, source: 'nvidia-smi --query-gpu' })[0];
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.problems.push(`nvidia-smi --query-gpu line ${lineNo}: ${e.message.replace(/^[^:]+:\d+: /, '')}`);
      return;
    }
    const index = num(row.fields['index']);
    if (index === undefined || !Number.isInteger(index) || index < 0) {
      out.problems.push(`nvidia-smi --query-gpu line ${lineNo}: no GPU index in '${line.slice(0, 60)}'`);
      return;
    }
    const fieldErrors = cells.flatMap((c, k) => (ERROR_MARKER.test(c) ? [`${canonical[k]}: ${c}`] : []));
    const r: GpuReading = { index, fieldErrors };
    const set = <K extends keyof GpuReading>(k: K, v: GpuReading[K] | undefined) => {
      if (v !== undefined) r[k] = v;
    };
    set('uuid', str(get(row, 'uuid')));
    set('name', str(get(row, 'name')));
    const bus = str(get(row, 'pci.bus_id'));
    if (bus) r.pciBusId = normalizeBusId(bus);
    set('driverVersion', str(get(row, 'driver_version')));
    set('memoryTotalMiB', num(get(row, 'memory.total')));
    set('memoryUsedMiB', num(get(row, 'memory.used')));
    set('memoryFreeMiB', num(get(row, 'memory.free')));
    set('gpuUtilPct', num(get(row, 'utilization.gpu')));
    set('memUtilPct', num(get(row, 'utilization.memory')));
    set('temperatureC', num(get(row, 'temperature.gpu')));
    set('memoryTemperatureC', num(get(row, 'temperature.memory')));
    set('powerW', num(get(row, 'power.draw')));
    set('smClockMHz', num(get(row, 'clocks.current.sm')));
    set('memClockMHz', num(get(row, 'clocks.current.memory')));
    set('eccUncorrectedVolatile', num(get(row, 'ecc.errors.uncorrected.volatile.total')));
    set('retiredPagesPending', flag(get(row, 'retired_pages.pending')));
    set('hwSlowdown', flag(get(row, 'clocks_event_reasons.hw_slowdown')));
    set('hwThermalSlowdown', flag(get(row, 'clocks_event_reasons.hw_thermal_slowdown')));
    set('hwPowerBrakeSlowdown', flag(get(row, 'clocks_event_reasons.hw_power_brake_slowdown')));
    if (out.gpus.some((g) => g.index === index)) {
      out.problems.push(`nvidia-smi --query-gpu line ${lineNo}: GPU ${index} appears twice; keeping the first`);
      return;
    }
    out.gpus.push(r);
  });
  return out;
}

/** `--query-remapped-rows` output → bus id → pending/failure; lines that do not parse are problems. */
export function parseRemapQuery(stdout: string, asked: readonly string[]): { byBusId: Map<string, { pending?: boolean; failure?: boolean }>; problems: string[] } {
  const byBusId = new Map<string, { pending?: boolean; failure?: boolean }>();
  const problems: string[] = [];
  const canonical = asked.map(canonicalField);
  stdout.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      // As in parseGpuQuery: a wrong-shape line is said without building a ParseError.
      const cells = splitCsvLine(raw, i + 1);
      if (cells.length !== canonical.length) {
        problems.push(`nvidia-smi --query-remapped-rows line ${i + 1}: ${cells.length} value(s) but ${canonical.length} field(s) (${canonical.join(', ')})`);
        return;
      }
      const row = parseQueryGpuCsv(raw, { fields: canonical, header: false })[0];
      const bus = str(row.fields['pci.bus_id']);
      if (!bus) throw new ParseError('no bus id', i + 1);
      byBusId.set(normalizeBusId(bus), { pending: flag(row.fields['remapped_rows.pending']), failure: flag(row.fields['remapped_rows.failure']) });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      problems.push(`nvidia-smi --query-remapped-rows line ${i + 1}: ${e.message.replace(/^line \d+: /, '')}`);
    }
  });
  return { byBusId, problems };
}

/** What the agent takes as the node's fixed shape: the link matrix and NVLinks seen at start. */
export interface Baseline {
  topology: Topology;
  /** activeLinks[gpu]: NVLink numbers active at baseline (empty without NVLink or when unknown). */
  activeLinks: number[][];
  /** nvlink -s could be read at baseline. */
  nvlinkKnown: boolean;
}

/**
 * Baseline from `topo -m` (required) and `nvlink -s` (optional: its failure or absence leaves link
 * health unmonitored, said in `problems`). Throws ParseError when topo -m does not parse.
 */
export function buildBaseline(topoText: string, nvlinkText: string | undefined): { baseline: Baseline; problems: string[]; nvlink?: NvlinkGpuStatus[] } {
  const { topology } = parseTopoMatrix(topoText, 'nvidia-smi topo -m');
  const problems: string[] = [];
  const activeLinks: number[][] = topology.gpus.map(() => []);
  let nvlinkKnown = false;
  let nvlink: NvlinkGpuStatus[] | undefined;
  if (nvlinkText !== undefined) {
    try {
      const status = parseNvlinkStatus(nvlinkText, 'nvidia-smi nvlink -s');
      nvlink = status;
      nvlinkKnown = true;
      for (const g of status) {
        if (g.index < activeLinks.length) activeLinks[g.index] = g.links.filter((l) => l.speedGBps !== null).map((l) => l.link);
      }
      const speed = activeLinkSpeedGBps(status);
      if (speed !== null) topology.nvlinkGBpsPerLink = speed;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      problems.push(`NVLink health not monitored: ${e.message}`);
    }
  }
  return { baseline: { topology, activeLinks, nvlinkKnown }, problems, ...(nvlink ? { nvlink } : {}) };
}

/** GPU indices with an NVLink peer in the baseline matrix. */
export function nvPeers(topology: Topology, gpu: number): number[] {
  const row = topology.links[gpu] ?? [];
  return row.flatMap((cell, j) => (j !== gpu && parseLinkLegend(cell)?.kind === 'NV' ? [j] : []));
}

/** One reading cycle as the agent saw it. */
export interface Observation {
  /** undefined when --query-gpu gave nothing usable; then `queryFailure` says why. */
  query?: GpuQueryReading;
  queryFailure?: string;
  /** Remap state by bus id, when that query ran. */
  remap?: Map<string, { pending?: boolean; failure?: boolean }>;
  /** nvlink -s of this cycle (only on cycles that read it). */
  nvlink?: NvlinkGpuStatus[];
  nvlinkFailure?: string;
}

/** Key of one NVLink in the health state: `<gpu>:<link>`; `<gpu>:any` = "has NVLink peers but no active link". */
export const linkKey = (gpu: number, link: number | 'any'): string => `${gpu}:${link}`;

export interface Verdicts {
  gpus: Map<number, Verdict>;
  /** Only links observed this cycle; the others keep their state. */
  links: Map<string, Verdict>;
}

/** The health rules' input: one verdict per GPU of the baseline and per NVLink read this cycle. */
export function verdictsOf(baseline: Baseline, obs: Observation, busIdOf: (gpu: number) => string | undefined): Verdicts {
  const gpus = new Map<number, Verdict>();
  const n = baseline.topology.gpus.length;
  // A lost GPU's bus id may never have been seen (lost from the start): if exactly one GPU is
  // missing and exactly one lost bus id is unmatched, they are the same GPU.
  const known = new Set([...Array(n).keys()].map(busIdOf).filter((b) => b !== undefined));
  const unmatched = obs.query?.lost.filter((l) => !known.has(l.pciBusId)) ?? [];
  const missing = [...Array(n).keys()].filter((i) => !obs.query?.gpus.some((g) => g.index === i) && !obs.query?.lost.some((l) => l.pciBusId === busIdOf(i)));
  for (let i = 0; i < n; i++) {
    if (!obs.query) {
      gpus.set(i, { status: 'Unknown', reasons: [`not read: ${obs.queryFailure ?? 'nvidia-smi gave no output'}`] });
      continue;
    }
    const bus = busIdOf(i);
    const lost = bus !== undefined ? obs.query.lost.find((l) => l.pciBusId === bus) : missing.length === 1 && missing[0] === i && unmatched.length === 1 ? unmatched[0] : undefined;
    if (lost) {
      gpus.set(i, { status: 'Unhealthy', reasons: [`GPU lost: ${lost.message}`] });
      continue;
    }
    const r = obs.query.gpus.find((g) => g.index === i);
    if (!r) {
      const lostElsewhere = unmatched.map((l) => `nvidia-smi reports GPU ${l.pciBusId} lost (${l.message})`).join('; ');
      const why = obs.query.problems[0] ?? (lostElsewhere || obs.queryFailure) ?? 'nvidia-smi printed no line for it (partial output?)';
      gpus.set(i, { status: 'Unknown', reasons: [`not read: ${why}`] });
      continue;
    }
    const reasons: string[] = [];
    if ((r.eccUncorrectedVolatile ?? 0) > 0) reasons.push(`uncorrected ECC errors since driver load: ${r.eccUncorrectedVolatile}`);
    if (r.retiredPagesPending) reasons.push('page retirement pending (GPU reset needed)');
    const remap = r.pciBusId !== undefined ? obs.remap?.get(r.pciBusId) : undefined;
    if (remap?.pending || r.remapPending) reasons.push('row remapping pending (GPU reset needed)');
    if (remap?.failure || r.remapFailure) reasons.push('row remapping failed');
    if (r.hwSlowdown) reasons.push('hardware slowdown active (clocks_event_reasons.hw_slowdown)');
    if (r.hwThermalSlowdown) reasons.push('hardware thermal slowdown active');
    if (r.hwPowerBrakeSlowdown) reasons.push('hardware power-brake slowdown active');
    for (const fe of r.fieldErrors) if (/requires reset|is lost/i.test(fe)) reasons.push(`nvidia-smi reports ${fe}`);
    gpus.set(i, reasons.length > 0 ? { status: 'Unhealthy', reasons } : { status: 'Healthy', reasons: [] });
  }
  const links = new Map<string, Verdict>();
  if (obs.nvlink) {
    for (let i = 0; i < n; i++) {
      const now = obs.nvlink.find((g) => g.index === i);
      for (const link of baseline.activeLinks[i] ?? []) {
        const cur = now?.links.find((l) => l.link === link);
        const up = cur !== undefined && cur.speedGBps !== null;
        links.set(
          linkKey(i, link),
          up ? { status: 'Healthy', reasons: [] } : { status: 'Unhealthy', reasons: [`GPU ${i} NVLink ${link} ${now ? 'inactive' : 'not listed by nvlink -s'} (active at baseline)`] },
        );
      }
      if (nvPeers(baseline.topology, i).length > 0 && now) {
        // topo -m's widest bond (NV12) needs at least that many active links on this GPU.
        const bond = Math.max(...baseline.topology.links[i].map((c, j) => (j === i ? 0 : (parseLinkLegend(c)?.nvlinks ?? 0))));
        const active = now.links.filter((l) => l.speedGBps !== null).length;
        const why = now.allInactive
          ? `GPU ${i} has NVLink peers in topo -m but nvlink -s reports no active link`
          : active < bond
            ? `GPU ${i} has ${active} active NVLinks but topo -m shows NV${bond}`
            : undefined;
        links.set(linkKey(i, 'any'), why ? { status: 'Unhealthy', reasons: [why] } : { status: 'Healthy', reasons: [] });
      }
    }
  }
  return { gpus, links };
}
