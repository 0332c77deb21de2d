/**
 * Loaders for the Alibaba "openb" node and pod lists (cluster-trace-gpu-v2023). Rows are parsed
 * at the edge into plain typed objects; a malformed row is a TraceError naming file, line and
 * column, never a crash further in.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

export interface TraceNode {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
  gpuCount: number;
  /** GPU model code as in the trace (T4, P100, V100M16, V100M32, A10, G2, G3…); '' for CPU-only. */
  model: string;
}

export interface TracePod {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
  gpuCount: number;
  /** Share of each GPU (1000 = whole); < 1000 only with gpuCount = 1; 0 for CPU-only pods. */
  milliPerGpu: number;
  /** Allowed GPU models (exact codes); empty = any. */
  gpuSpec: string[];
  qos?: string;
  phase?: string;
  creationTime?: number;
  deletionTime?: number;
  scheduledTime?: number;
}

/** A trace file that cannot be used, with the place of the problem. */
export class TraceError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}${column !== undefined ? ` column "${column}"` : ''}: ${message}`);
    this.name = 'TraceError';
  }
}

export const NODE_COLUMNS = ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model'] as const;
export const POD_COLUMNS_MIN = ['name', 'cpu_milli', 'memory_mib', 'num_gpu', 'gpu_milli'] as const;
export const POD_COLUMNS_OPTIONAL = ['gpu_spec', 'qos', 'pod_phase', 'creation_time', 'deletion_time', 'scheduled_time'] as const;

interface Row {
  line: number;
  cells: string[];
}

function readRows(text: string, file: string, required: readonly string[]): { header: Map<string, number>; rows: Row[] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as unknown as typeof records;
  } catch (e) {
    const err = e as { message: string; lines?: number };
    throw new TraceError(`not valid CSV: ${err.message}`, file, err.lines);
  }
  if (records.length === 0) throw new TraceError('empty file (expected a header line)', file, 1);
  const headerCells = records[0].record.map((c) => c.toLowerCase());
  const header = new Map<string, number>();
  headerCells.forEach((c, i) => header.set(c, i));
  const missing = required.filter((c) => !header.has(c));
  if (missing.length > 0) {
    throw new TraceError(`header lacks column(s) ${missing.join(', ')} (found: ${headerCells.join(',')})`, file, records[0].info.lines);
  }
  const rows: Row[] = [];
  for (let i = 1; i < records.length; i++) {
    const { record, info } = records[i];
    if (record.length !== headerCells.length) {
      throw new TraceError(`expected ${headerCells.length} fields, found ${record.length}`, file, info.lines);
    }
    rows.push({ line: info.lines, cells: record });
  }
  return { header, rows };
}

function intCell(row: Row, header: Map<string, number>, col: string, file: string, min: number, max: number): number {
  const raw = row.cells[header.get(col)!];
  if (!/^-?\d+$/.test(raw)) throw new TraceError(`expected an integer, got "${raw}"`, file, row.line, col);
  const v = Number(raw);
  if (v < min || v > max) throw new TraceError(`${v} is out of range ${min}..${max}`, file, row.line, col);
  return v;
}

function optionalIntCell(row: Row, header: Map<string, number>, col: string, file: string): number | undefined {
  const idx = header.get(col);
  if (idx === undefined) return undefined;
  const raw = row.cells[idx];
  if (raw === '') return undefined;
  if (!/^-?\d+(\.0+)?$/.test(raw)) throw new TraceError(`expected an integer time or empty, got "${raw}"`, file, row.line, col);
  return Math.trunc(Number(raw));
}

function textCell(row: Row, header: Map<string, number>, col: string): string | undefined {
  const idx = header.get(col);
  return idx === undefined ? undefined : row.cells[idx];
}

const MAX_MILLI_CPU = 100_000_000;
const MAX_MEMORY_MIB = 1 << 30;

/** Parse a node list (`openb_node_list_*.csv`). `file` names the source in errors. */
export function parseNodeCsv(text: string, file: string): TraceNode[] {
  const { header, rows } = readRows(text, file, NODE_COLUMNS);
  const seen = new Set<string>();
  return rows.map((row) => {
    const name = textCell(row, header, 'sn')!;
    if (name === '') throw new TraceError('empty node name', file, row.line, 'sn');
    if (seen.has(name)) throw new TraceError(`duplicate node name "${name}"`, file, row.line, 'sn');
    seen.add(name);
    const gpuCount = intCell(row, header, 'gpu', file, 0, 16);
    const model = textCell(row, header, 'model')!;
    if (gpuCount > 0 && model === '') throw new TraceError(`node has ${gpuCount} GPUs but no model`, file, row.line, 'model');
    if (model.includes('|')) throw new TraceError(`a node has one GPU model, got "${model}"`, file, row.line, 'model');
    return {
      name,
      cpuMilli: intCell(row, header, 'cpu_milli', file, 0, MAX_MILLI_CPU),
      memoryMiB: intCell(row, header, 'memory_mib', file, 0, MAX_MEMORY_MIB),
      gpuCount,
      model,
    };
  });
}

/** Parse a pod list (`openb_pod_list_*.csv`; the `multigpu*` files have only the first five columns). */
export function parsePodCsv(text: string, file: string): TracePod[] {
  const { header, rows } = readRows(text, file, POD_COLUMNS_MIN);
  return rows.map((row) => {
    const name = textCell(row, header, 'name')!;
    if (name === '') throw new TraceError('empty pod name', file, row.line, 'name');
    const gpuCount = intCell(row, header, 'num_gpu', file, 0, 16);
    const milliPerGpu = intCell(row, header, 'gpu_milli', file, 0, 1000);
    if (gpuCount === 0 && milliPerGpu !== 0) {
      throw new TraceError(`gpu_milli is ${milliPerGpu} but num_gpu is 0 (a CPU-only pod has gpu_milli 0)`, file, row.line, 'gpu_milli');
    }
    if (gpuCount > 0 && milliPerGpu === 0) throw new TraceError(`num_gpu is ${gpuCount} but gpu_milli is 0`, file, row.line, 'gpu_milli');
    if (gpuCount > 1 && milliPerGpu < 1000) {
      throw new TraceError(`a GPU share (gpu_milli ${milliPerGpu} < 1000) needs num_gpu 1, got ${gpuCount}`, file, row.line, 'gpu_milli');
    }
    const specRaw = textCell(row, header, 'gpu_spec') ?? '';
    const gpuSpec = specRaw
      .split('|')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const pod: TracePod = {
      name,
      cpuMilli: intCell(row, header, 'cpu_milli', file, 0, MAX_MILLI_CPU),
      memoryMiB: intCell(row, header, 'memory_mib', file, 0, MAX_MEMORY_MIB),
      gpuCount,
      milliPerGpu,
      gpuSpec,
    };
    const qos = textCell(row, header, 'qos');
    if (qos !== undefined && qos !== '') pod.qos = qos;
    const phase = textCell(row, header, 'pod_phase');
    if (phase !== undefined && phase !== '') pod.phase = phase;
    const ct = optionalIntCell(row, header, 'creation_time', file);
    if (ct !== undefined) pod.creationTime = ct;
    const dt = optionalIntCell(row, header, 'deletion_time', file);
    if (dt !== undefined) pod.deletionTime = dt;
    const st = optionalIntCell(row, header, 'scheduled_time', file);
    if (st !== undefined) pod.scheduledTime = st;
    return pod;
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceError(code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(e)})`, file);
  }
}

export function loadNodeCsv(file: string): TraceNode[] {
  const nodes = parseNodeCsv(readText(file), file);
  if (nodes.length === 0) throw new TraceError('no nodes in file', file);
  return nodes;
}

export function loadPodCsv(file: string): TracePod[] {
  const pods = parsePodCsv(readText(file), file);
  if (pods.length === 0) throw new TraceError('no pods in file', file);
  return pods;
}

/** `openb_pod_list_default.csv` → `default`. */
export function workloadNameOf(podFile: string): string {
  const base = podFile.split(/[\\/]/).pop() ?? podFile;
  return base.replace(/\.csv$/i, '').replace(/^openb_pod_list_/, '');
}
