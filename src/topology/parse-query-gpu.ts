/**
 * Parser for `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]`.
 * Values become numbers for numeric fields, strings otherwise, and null for nvidia-smi's
 * "no value" sentinels ([N/A], [Not Supported], bare N/A, ...).
 */
import { ParseError, type GpuInfo } from './types.js';

export type QueryGpuValue = string | number | null;

export interface QueryGpuRow {
  /** 1-based line of the row in the input, for messages downstream. */
  line: number;
  /** Canonical field name (`memory.total`, no unit) → value. */
  fields: Record<string, QueryGpuValue>;
}

export interface QueryGpuOptions {
  /**
   * The `--query-gpu` field list, in order: required when the output has no header
   * (`noheader`). A string may be comma- or space-separated, as on the command line.
   */
  fields?: readonly string[] | string;
  /** true: the first line is a header; false: there is none; absent: detect it. */
  header?: boolean;
  source?: string;
}

/** Aliases nvidia-smi accepts on the command line; its header always prints the canonical name. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  gpu_serial: 'serial',
  gpu_bus_id: 'pci.bus_id',
  'clocks.gr': 'clocks.current.graphics',
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
  'clocks.video': 'clocks.current.video',
  'retired_pages.sbe': 'retired_pages.single_bit_ecc.count',
  'retired_pages.dbe': 'retired_pages.double_bit.count',
};

/** Fields whose values are quantities (counts, %, MiB, W, MHz, °C); all others stay strings. */
const NUMERIC_PREFIXES = [
  'temperature.',
  'utilization.',
  'memory.',
  'power.',
  'enforced.power.',
  'module.power.',
  'clocks.',
  'ecc.errors.',
  'pcie.link.gen.',
  'pcie.link.width.',
  'encoder.stats.',
  'fan.',
] as const;
const NUMERIC_FIELDS = new Set([
  'index',
  'count',
  'retired_pages.single_bit_ecc.count',
  'retired_pages.double_bit.count',
]);
/** Under a numeric prefix but not a quantity. */
const STRING_FIELDS = new Set(['power.management']);

/** Units nvidia-smi appends to values without `nounits`. */
const VALUE_UNIT = / (%|MiB|W|MHz)$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
/** Known sentinels are bracketed, except bare `N/A`; any other bracketed word is a sentinel too. */
const SENTINEL = /^(N\/A|\[[^\]]*\])$/;
/** A header cell: a lower-case dotted field name and an optional ` [unit]`. */
const HEADER_CELL = /^([a-z][a-z0-9_]*(\.[a-z0-9_]+)*)( \[[^\]]+\])?$/;

export function canonicalField(name: string): string {
  const bare = name.trim().replace(/ \[[^\]]*\]$/, '');
  // Own keys only: a field named `constructor` must not pick up Object.prototype's.
  return Object.hasOwn(FIELD_ALIASES, bare) ? FIELD_ALIASES[bare]! : bare;
}

function isNumericField(field: string): boolean {
  if (STRING_FIELDS.has(field)) return false;
  return NUMERIC_FIELDS.has(field) || NUMERIC_PREFIXES.some((p) => field.startsWith(p));
}

/** Split one CSV line on commas, honouring double quotes (`""` is a literal quote). */
export function splitCsvLine(line: string, lineNo: number, source?: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cur += ch;
      }
    } else if (ch === '"' && cur.trim() === '') {
      cur = '';
      quoted = true;
    } else if (ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (quoted) throw new ParseError(`unterminated double quote in field ${out.length + 1}`, lineNo, source);
  out.push(cur.trim());
  return out;
}

function parseValue(raw: string, field: string, lineNo: number, source?: string): QueryGpuValue {
  if (SENTINEL.test(raw)) return null;
  if (!isNumericField(field)) return raw;
  const bare = raw.replace(VALUE_UNIT, '');
  if (!NUMBER.test(bare)) {
    throw new ParseError(`field ${field} is '${raw}'; expected a number (optionally with %, MiB, W or MHz) or N/A`, lineNo, source);
  }
  return Number(bare);
}

function fieldList(fields: QueryGpuOptions['fields']): string[] | undefined {
  if (fields === undefined) return undefined;
  const list = typeof fields === 'string' ? fields.split(/[\s,]+/) : [...fields];
  return list.map((f) => f.trim()).filter((f) => f !== '').map(canonicalField);
}

function looksLikeHeader(cells: string[]): boolean {
  return cells.every((c) => HEADER_CELL.test(c));
}

/** Parse `--query-gpu` CSV output into one row per GPU (or per sample, with `-lms`). */
export function parseQueryGpuCsv(text: string, opts: QueryGpuOptions = {}): QueryGpuRow[] {
  const { source } = opts;
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l, lineNo: i + 1 })).filter((l) => l.text.trim() !== '');
  if (lines.length === 0) throw new ParseError('empty input; expected `nvidia-smi --query-gpu` CSV output', undefined, source);
  const first = lines[0];
  if (/^No devices were found/i.test(first.text.trim())) {
    throw new ParseError(`nvidia-smi found no GPUs: '${first.text.trim()}'`, first.lineNo, source);
  }

  const given = fieldList(opts.fields);
  const firstCells = splitCsvLine(first.text, first.lineNo, source);
  const hasHeader = opts.header ?? looksLikeHeader(firstCells);
  let fields: string[];
  if (hasHeader) {
    if (!looksLikeHeader(firstCells)) {
      throw new ParseError(`expected a header of field names like 'memory.total [MiB]', got '${first.text.trim().slice(0, 60)}'`, first.lineNo, source);
    }
    fields = firstCells.map(canonicalField);
  } else {
    if (!given || given.length === 0) {
      throw new ParseError(
        'the CSV has no header line (noheader), so opts.fields must list the --query-gpu fields in order',
        first.lineNo,
        source,
      );
    }
    fields = given;
  }

  const rows: QueryGpuRow[] = [];
  for (const { text: line, lineNo } of hasHeader ? lines.slice(1) : lines) {
    const cells = splitCsvLine(line, lineNo, source);
    if (cells.length !== fields.length) {
      throw new ParseError(
        `${cells.length} value(s) but ${fields.length} field(s) (${fields.join(', ')})`,
        lineNo,
        source,
      );
    }
    const values: Record<string, QueryGpuValue> = {};
    fields.forEach((f, k) => (values[f] = parseValue(cells[k], f, lineNo, source)));
    rows.push({ line: lineNo, fields: values });
  }
  return rows;
}

/** The GpuInfo fields a query row carries: index, uuid, name → model, memory.total → memoryMiB. */
export function gpuInfoFromQueryRow(row: QueryGpuRow): Partial<GpuInfo> {
  const f = row.fields;
  const info: Partial<GpuInfo> = {};
  if (typeof f['index'] === 'number') info.index = f['index'];
  if (typeof f['uuid'] === 'string') info.uuid = f['uuid'];
  if (typeof f['name'] === 'string') info.model = f['name'];
  if (typeof f['memory.total'] === 'number') info.memoryMiB = f['memory.total'];
  return info;
}
