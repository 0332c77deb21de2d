/**
 * Parser for `nvidia-smi topo -m` (the link matrix). Accepts the tool's own TAB-separated output
 * and copies whose TABs were expanded to spaces by a terminal or editor. Anything partial or
 * inconsistent is a ParseError that names the line and the cell; the parser never guesses a link.
 */
import { parseLinkLegend } from './link.js';
import { ParseError, type GpuInfo, type LinkLegend, type Topology } from './types.js';

/** A non-GPU device column of the matrix (a NIC). */
export interface TopoNic {
  /** Column name as printed: `NIC0` (newer drivers) or the device itself (`mlx5_0`, older drivers). */
  name: string;
  /** RDMA device name: from the `NIC Legend:` block, or the column name when that already is the device. */
  device?: string;
}

export interface TopoMatrix {
  topology: Topology;
  nics: TopoNic[];
  /** gpuNicLinks[gpu][nic]: legend of the path from GPU row to NIC column (e.g. 'PIX', 'SYS'). */
  gpuNicLinks: LinkLegend[][];
}

const TAB_WIDTH = 8;
const CPU_AFFINITY = 'CPU Affinity';
const NUMA_AFFINITY = 'NUMA Affinity';
const GPU_NUMA_ID = 'GPU NUMA ID';
/** Columns after the device columns, in the order nvidia-smi prints them. */
const TRAILING_COLUMNS = [CPU_AFFINITY, NUMA_AFFINITY, GPU_NUMA_ID] as const;
type TrailingName = (typeof TRAILING_COLUMNS)[number];

/** One cell of a line and the display column it starts at (TABs expanded to 8-column stops). */
interface Cell {
  text: string;
  col: number;
}

interface SplitLine {
  cells: Cell[];
  /** True when the line kept its TABs, so empty cells are real; false for a space-aligned copy. */
  tabbed: boolean;
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const NUMA_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/**
 * Split on TAB when the line has TABs (keeping empty cells); otherwise take runs of non-blanks,
 * since no cell of a data row contains a space. Header names with spaces are re-joined later.
 */
function splitLine(line: string): SplitLine {
  if (line.includes('\t')) {
    const cells: Cell[] = [];
    let col = 0;
    for (const part of line.split('\t')) {
      const lead = part.length - part.trimStart().length;
      cells.push({ text: part.trim(), col: col + lead });
      col = (Math.floor((col + part.length) / TAB_WIDTH) + 1) * TAB_WIDTH;
    }
    return { cells, tabbed: true };
  }
  const cells = [...line.matchAll(/\S+/g)].map((m) => ({ text: m[0], col: m.index ?? 0 }));
  return { cells, tabbed: false };
}

/** Re-join header words that a space-aligned copy split apart ("CPU" "Affinity" → "CPU Affinity"). */
function mergeHeaderWords(cells: Cell[]): Cell[] {
  const out: Cell[] = [];
  for (let i = 0; i < cells.length; i++) {
    const match = TRAILING_COLUMNS.find((name) => {
      const words = name.split(' ');
      return words.every((w, k) => cells[i + k]?.text === w);
    });
    if (match) {
      out.push({ text: match, col: cells[i].col });
      i += match.split(' ').length - 1;
    } else {
      out.push(cells[i]);
    }
  }
  return out;
}

interface Header {
  devices: string[];
  gpuCount: number;
  trailing: { name: TrailingName; col: number }[];
}

function parseHeader(line: string, lineNo: number, source?: string): Header {
  const cells = mergeHeaderWords(splitLine(line).cells.filter((c) => c.text !== ''));
  // A row (`GPU0  X  NV1 ...`) also starts with GPU0; legend values in it give it away.
  if (cells[0]?.text !== 'GPU0' || cells.some((c) => c.text === 'X' || parseLinkLegend(c.text) !== null)) {
    throw new ParseError(
      `expected the header row of \`nvidia-smi topo -m\` (GPU0, GPU1, ... columns), got '${line.trim().slice(0, 60)}'`,
      lineNo,
      source,
    );
  }
  const devices: string[] = [];
  const trailing: Header['trailing'] = [];
  let gpuCount = 0;
  for (const cell of cells) {
    const trailingName = TRAILING_COLUMNS.find((n) => n === cell.text);
    if (trailingName) {
      if (trailing.some((t) => t.name === trailingName)) {
        throw new ParseError(`header repeats the column '${trailingName}'`, lineNo, source);
      }
      trailing.push({ name: trailingName, col: cell.col });
      continue;
    }
    if (trailing.length > 0) {
      throw new ParseError(
        `header column '${cell.text}' comes after '${trailing[trailing.length - 1].name}'; expected only ${TRAILING_COLUMNS.join(', ')} there`,
        lineNo,
        source,
      );
    }
    if (!/^[A-Za-z][\w.:-]*$/.test(cell.text)) {
      throw new ParseError(`header column '${cell.text}' is not a device name (GPU<n>, NIC<n> or an RDMA device)`, lineNo, source);
    }
    if (devices.includes(cell.text)) throw new ParseError(`header repeats the column '${cell.text}'`, lineNo, source);
    const gpu = /^GPU(\d+)$/.exec(cell.text);
    if (gpu) {
      if (Number(gpu[1]) !== gpuCount || devices.length !== gpuCount) {
        throw new ParseError(
          `header column '${cell.text}' is out of order; expected GPU${gpuCount} (GPUs are numbered from 0 and come before NICs)`,
          lineNo,
          source,
        );
      }
      gpuCount++;
    }
    devices.push(cell.text);
  }
  return { devices, gpuCount, trailing };
}

/** Normalise one link cell; legacy `SOC` becomes `SYS`. */
function linkCell(text: string, row: string, column: string, lineNo: number, source?: string): LinkLegend {
  if (row === column) {
    if (text !== 'X') throw new ParseError(`diagonal cell (${row}, ${column}) is '${text}'; expected X`, lineNo, source);
    return 'X';
  }
  const info = text === '' ? null : parseLinkLegend(text);
  if (!info || text !== text.toUpperCase()) {
    throw new ParseError(
      `cell (row ${row}, column ${column}) is '${text}'; expected NV<n>, PIX, PXB, PHB, NODE, SYS or SOC`,
      lineNo,
      source,
    );
  }
  return info.kind === 'NV' ? `NV${info.nvlinks}` : info.kind;
}

/**
 * Which trailing column each value after the link cells belongs to. Drivers differ: newer ones
 * print `cpu<TAB>numa<TAB><TAB>gpuNumaId`, older ones pad short values with extra TABs up to the
 * header's column; space-aligned copies lose empty cells altogether. When every column has a
 * value the order decides; when some are empty the TAB layout or the header offsets decide.
 */
function assignTrailing(
  cells: Cell[],
  tabbed: boolean,
  header: Header,
  row: string,
  lineNo: number,
  source?: string,
): Partial<Record<TrailingName, string>> {
  const columns = header.trailing;
  const values = cells.filter((c) => c.text !== '');
  if (values.length > columns.length) {
    throw new ParseError(
      `row ${row} has ${values.length} values after its ${header.devices.length} link cells, but the header has ${columns.length} more column(s) (${columns.map((c) => c.name).join(', ') || 'none'})`,
      lineNo,
      source,
    );
  }
  const out: Partial<Record<TrailingName, string>> = {};
  if (values.length === columns.length) {
    values.forEach((v, k) => (out[columns[k].name] = v.text));
    return out;
  }
  if (values.length === 0) return out;
  if (tabbed && cells.length <= columns.length) {
    cells.forEach((c, k) => (out[columns[k].name] = c.text));
    return out;
  }
  const padAt = columns.length - 1;
  if (tabbed && columns[padAt].name === GPU_NUMA_ID && cells.length === columns.length + 1 && cells[padAt].text === '') {
    cells.filter((_, k) => k !== padAt).forEach((c, k) => (out[columns[k].name] = c.text));
    return out;
  }
  // Offsets: a value belongs to the last column that starts at or before it.
  let last = -1;
  for (const v of values) {
    let k = 0;
    while (k + 1 < columns.length && columns[k + 1].col <= v.col) k++;
    if (k <= last) {
      throw new ParseError(
        `row ${row}: cannot tell which of ${columns.map((c) => c.name).join(', ')} the value '${v.text}' belongs to`,
        lineNo,
        source,
      );
    }
    out[columns[k].name] = v.text;
    last = k;
  }
  return out;
}

function parseCpuAffinity(text: string | undefined, row: string, lineNo: number, source?: string): string | null {
  if (text === undefined || text === '' || text === 'N/A') return null;
  if (!CPU_LIST.test(text)) {
    throw new ParseError(`CPU Affinity of ${row} is '${text}'; expected a CPU list like 0-23,48-71`, lineNo, source);
  }
  return text;
}

/** NUMA node of a GPU; a list (`0-1`, POWER9's `0,8,252-255`) yields its first node. */
function parseNumaNode(text: string | undefined, row: string, lineNo: number, source?: string): number | null {
  if (text === undefined || text === '' || text === 'N/A') return null;
  if (!NUMA_LIST.test(text)) {
    throw new ParseError(`NUMA Affinity of ${row} is '${text}'; expected a node number, a list like 0-1, or N/A`, lineNo, source);
  }
  return Number(/^\d+/.exec(text)![0]);
}

function checkGpuNumaId(text: string | undefined, row: string, lineNo: number, source?: string): void {
  if (text === undefined || text === '' || text === 'N/A' || /^\d+$/.test(text)) return;
  throw new ParseError(`GPU NUMA ID of ${row} is '${text}'; expected a number or N/A`, lineNo, source);
}

interface Row {
  lineNo: number;
  links: LinkLegend[];
  trailing: Partial<Record<TrailingName, string>>;
}

function parseRow(line: string, lineNo: number, header: Header, source?: string): { name: string; row: Row } {
  const { cells, tabbed } = splitLine(line);
  // A space-aligned copy has no empty cells; a TABbed one keeps them (only the row name may not be empty).
  const nonEmptyLead = tabbed ? cells.findIndex((c) => c.text !== '') : 0;
  const rest = cells.slice(Math.max(nonEmptyLead, 0));
  const name = rest[0]?.text ?? '';
  if (!header.devices.includes(name)) {
    throw new ParseError(
      `row '${name}' is not one of the header's columns (${header.devices.join(', ')})`,
      lineNo,
      source,
    );
  }
  const d = header.devices.length;
  const linkCells = rest.slice(1, 1 + d);
  const emptyAt = linkCells.findIndex((c) => c.text === '');
  if (linkCells.length < d || emptyAt >= 0) {
    const got = emptyAt >= 0 ? emptyAt : linkCells.length;
    throw new ParseError(
      `row ${name} has ${got} link cell(s) before ${emptyAt >= 0 ? 'an empty cell' : 'the line ends'}; expected ${d} (one per header column ${header.devices[0]}..${header.devices[d - 1]})`,
      lineNo,
      source,
    );
  }
  const links = linkCells.map((c, j) => linkCell(c.text, name, header.devices[j], lineNo, source));
  const isGpu = header.devices.indexOf(name) < header.gpuCount;
  // NIC rows carry no affinity values; whatever trails them is ignored.
  const trailing = isGpu ? assignTrailing(rest.slice(1 + d), tabbed, header, name, lineNo, source) : {};
  return { name, row: { lineNo, links, trailing } };
}

/** `NIC Legend:` lines, `  NIC0: mlx5_0`. */
function parseNicLegend(lines: string[]): Map<string, string> {
  const legend = new Map<string, string>();
  const start = lines.findIndex((l) => l.trim() === 'NIC Legend:');
  if (start < 0) return legend;
  for (const line of lines.slice(start + 1)) {
    const m = /^\s*(NIC\d+):\s*(\S+)\s*$/.exec(line);
    if (m) legend.set(m[1], m[2]);
  }
  return legend;
}

function checkSymmetry(header: Header, rows: Map<string, Row>, source?: string): void {
  const { devices } = header;
  for (let i = 0; i < devices.length; i++) {
    const a = rows.get(devices[i]);
    if (!a) continue;
    for (let j = i + 1; j < devices.length; j++) {
      const b = rows.get(devices[j]);
      if (!b || a.links[j] === b.links[i]) continue;
      throw new ParseError(
        `matrix is not symmetric: (${devices[i]}, ${devices[j]}) is '${a.links[j]}' on line ${a.lineNo} but (${devices[j]}, ${devices[i]}) is '${b.links[i]}'`,
        b.lineNo,
        source,
      );
    }
  }
}

/** Parse the output of `nvidia-smi topo -m`. `source` (e.g. a file name) prefixes error messages. */
export function parseTopoMatrix(text: string, source?: string): TopoMatrix {
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new ParseError('empty input; expected the output of `nvidia-smi topo -m`', undefined, source);
  const header = parseHeader(lines[headerAt], headerAt + 1, source);
  if (header.gpuCount === 0) throw new ParseError('header lists no GPU columns', headerAt + 1, source);

  const rows = new Map<string, Row>();
  let end = headerAt + 1;
  for (; end < lines.length; end++) {
    const line = lines[end];
    if (line.trim() === '' || line.trim() === 'Legend:') break;
    const { name, row } = parseRow(line, end + 1, header, source);
    const seen = rows.get(name);
    if (seen) throw new ParseError(`second row for ${name} (first on line ${seen.lineNo})`, end + 1, source);
    rows.set(name, row);
  }

  const gpuNames = header.devices.slice(0, header.gpuCount);
  const missing = gpuNames.filter((g) => !rows.has(g));
  if (missing.length > 0) {
    throw new ParseError(
      `header lists GPU0..GPU${header.gpuCount - 1} but no row for ${missing.join(', ')} (the matrix ends here; partial output?)`,
      end + 1,
      source,
    );
  }
  checkSymmetry(header, rows, source);

  const gpus: GpuInfo[] = gpuNames.map((g, index) => {
    const row = rows.get(g)!;
    checkGpuNumaId(row.trailing[GPU_NUMA_ID], g, row.lineNo, source);
    return {
      index,
      numaNode: parseNumaNode(row.trailing[NUMA_AFFINITY], g, row.lineNo, source),
      cpuAffinity: parseCpuAffinity(row.trailing[CPU_AFFINITY], g, row.lineNo, source),
    };
  });
  const n = header.gpuCount;
  const legend = parseNicLegend(lines.slice(end));
  const nics: TopoNic[] = header.devices.slice(n).map((name) => {
    // Older drivers name the column after the device itself; newer ones say NIC<n> and add a legend.
    const device = legend.get(name) ?? (/^NIC\d+$/.test(name) ? undefined : name);
    return device === undefined ? { name } : { name, device };
  });
  const topology: Topology = {
    ...(source !== undefined ? { name: source } : {}),
    gpus,
    links: gpuNames.map((g) => rows.get(g)!.links.slice(0, n)),
  };
  const gpuNicLinks = gpuNames.map((g) => rows.get(g)!.links.slice(n));
  return { topology, nics, gpuNicLinks };
}
