/**
 * `linkpack mltask render -f <task.yaml> [--class-file <class.yaml>] [--json]`: the Service and the
 * Job (or StatefulSet) the controller would create, offline, from the same validate + render code,
 * with the MLTaskClass merged (from --class-file or from MLTaskClass documents in the file). An
 * invalid task prints one line per bad field (`file:line: field: problem`) and exits 1. Other
 * kinds in a multi-document file are named on stderr and skipped; the tasks still render.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { LineCounter, parseAllDocuments, stringify, type Document } from 'yaml';
import { memoryAdvice } from './advice.js';
import { chooseClass, MLTASKCLASS_KIND, parseMLTaskClass, withClassGpu, type MLTaskClass } from './class.js';
import { parseMLTask } from './validate.js';
import { renderTask, type KubeObject } from './render.js';
import { MLTASK_KIND } from './types.js';

export interface RenderOutcome {
  objects: KubeObject[];
  errors: string[];
  /** Documents skipped (not an MLTask), named. */
  notes: string[];
}

/** `spec.env[0].name` → ['spec', 'env', 0, 'name'] (a key with '/' or '.' inside stays whole after the first segments). */
function fieldPath(field: string): Array<string | number> {
  const m = /^metadata\.(labels|annotations)\.(.+)$/.exec(field);
  if (m) return ['metadata', m[1]!, m[2]!];
  const out: Array<string | number> = [];
  for (const part of field.split('.')) {
    const re = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!re) return out;
    if (re[1]) out.push(re[1]);
    for (const i of re[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

/** The 1-based line of the deepest node of `path` that exists in the document. */
function lineOf(doc: Document, lc: LineCounter, path: Array<string | number>): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lc.linePos(range[0]).line;
  }
  return undefined;
}

/** Every document of a YAML/JSON text → rendered objects, or `<where>:<line>: <field>: <problem>` lines. */
export function renderText(text: string, where: string, extraClasses: readonly MLTaskClass[] = []): RenderOutcome {
  const out: RenderOutcome = { objects: [], errors: [], notes: [] };
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  const list = Array.isArray(docs) ? docs : [docs];
  const many = list.length > 1;
  const at = (i: number, line?: number) => `${where}${line !== undefined ? `:${line}` : ''}${many ? ` (document ${i + 1})` : ''}`;
  const classes = [...extraClasses];
  const tasks: Array<{ i: number; doc: Document; value: unknown }> = [];
  // Classes first (a task may come before its class in the file); errors are told in document order.
  const errs: Array<{ i: number; text: string }> = [];
  for (const [i, doc] of list.entries()) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      errs.push({ i, text: `${at(i, e.linePos?.[0]?.line)}: not valid YAML: ${e.message.split('\n')[0]}` });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS(); // throws on an alias without its anchor, or past yaml's alias limit
    } catch (e) {
      errs.push({ i, text: `${at(i, lineOf(doc, lc, []))}: not valid YAML: ${(e as Error).message.split('\n')[0]}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    const kind = (value as { kind?: unknown }).kind;
    if (kind === MLTASKCLASS_KIND) {
      const c = parseMLTaskClass(value);
      if (c.ok) classes.push(c.value);
      else for (const e of c.errors) errs.push({ i, text: `${at(i, lineOf(doc, lc, fieldPath(e.slice(0, e.indexOf(': ')))))}: MLTaskClass: ${e}` });
      continue;
    }
    if (kind !== undefined && kind !== MLTASK_KIND) {
      const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
      out.notes.push(`${at(i, lineOf(doc, lc, []))}: skipped ${String(kind)}${typeof name === 'string' ? ` ${name}` : ''}: not an MLTask`);
      continue;
    }
    tasks.push({ i, doc, value });
  }
  for (const { i, doc, value } of tasks) {
    const parsed = parseMLTask(value);
    if (!parsed.ok) {
      for (const e of parsed.errors) errs.push({ i, text: `${at(i, lineOf(doc, lc, fieldPath(e.slice(0, e.indexOf(': ')))))}: ${e}` });
      continue;
    }
    const choice = chooseClass(parsed.task, classes);
    if (!choice.ok) {
      errs.push({ i, text: `${at(i, lineOf(doc, lc, ['spec', 'className']))}: ${choice.reason}` });
      continue;
    }
    const advice = memoryAdvice(withClassGpu(parsed.task, choice.cls).spec);
    if (advice) out.notes.push(`${at(i, lineOf(doc, lc, ['spec', 'gpu', 'memoryMin']))}: ${advice}`);
    const r = renderTask(parsed.task, undefined, choice.cls);
    out.objects.push(r.service, r.workload);
  }
  out.errors = errs.sort((a, b) => a.i - b.i).map((e) => e.text);
  if (tasks.length === 0 && out.errors.length === 0) out.errors.push(`${where}: no MLTask in the file`);
  return out;
}

/**
 * YAML that kubectl (YAML 1.1 rules) reads back the same: strings such as `yes`, `on`, `NO`,
 * `1_000` or `0x1F` are quoted, where YAML 1.2 output would leave them bare.
 */
export function toYaml(objects: readonly KubeObject[]): string {
  return objects.map((obj) => stringify(obj, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false })).join('---\n');
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function registerMLTaskCommand(program: Command): void {
  const mltask = program.command('mltask').description('MLTask tools (the training-job resource)');
  mltask
    .command('render')
    .description('print the headless Service and the Job (or StatefulSet) the controller would create for an MLTask, with its MLTaskClass merged')
    .requiredOption('-f, --file <task.yaml>', 'the MLTask (YAML or JSON; several documents allowed, MLTaskClass documents among them are used)')
    .option('--class-file <class.yaml>', 'MLTaskClass(es) to merge: the one the task names, else the one marked default')
    .option('--json', 'print a JSON List instead of YAML documents')
    .action(async (o: { file: string; classFile?: string; json?: boolean }) => {
      const classes: MLTaskClass[] = [];
      const errors: string[] = [];
      if (o.classFile) {
        const lc = new LineCounter();
        for (const [i, doc] of parseAllDocuments(await readText(o.classFile), { lineCounter: lc }).entries()) {
          if (doc.errors.length) {
            errors.push(`${o.classFile}:${doc.errors[0]!.linePos?.[0]?.line ?? '?'}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
            continue;
          }
          const v: unknown = doc.toJS();
          if (v === null || v === undefined) continue;
          const c = parseMLTaskClass(v);
          if (c.ok) classes.push(c.value);
          else for (const e of c.errors) errors.push(`${o.classFile} (document ${i + 1}): MLTaskClass: ${e}`);
        }
      }
      const r = renderText(await readText(o.file), o.file, classes);
      for (const n of r.notes) process.stderr.write(`${n}\n`);
      if (errors.length > 0 || r.errors.length > 0) {
        for (const e of [...errors, ...r.errors]) process.stderr.write(`${e}\n`);
        process.exitCode = 1;
        return;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: r.objects }, null, 2)}\n`);
        return;
      }
      process.stdout.write(toYaml(r.objects));
    });
}
