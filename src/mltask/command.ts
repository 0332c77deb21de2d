/**
 * `linkpack mltask render -f <task.yaml> [--json]`: the Service and StatefulSet the controller
 * would create, offline, from the same validate + render code. An invalid task prints one line
 * per bad field and exits 1.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseAllDocuments, stringify } from 'yaml';
import { parseMLTask } from './validate.js';
import { renderTask, type KubeObject } from './render.js';

export interface RenderOutcome {
  objects: KubeObject[];
  errors: string[];
}

/** Every document of a YAML/JSON text → rendered objects, or `<where>: <field>: <problem>` lines. */
export function renderText(text: string, where: string): RenderOutcome {
  const out: RenderOutcome = { objects: [], errors: [] };
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  let n = 0;
  for (const [i, doc] of list.entries()) {
    const at = list.length > 1 ? `${where} (document ${i + 1})` : where;
    if (doc.errors.length > 0) {
      out.errors.push(`${at}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    n += 1;
    const parsed = parseMLTask(value);
    if (!parsed.ok) {
      for (const e of parsed.errors) out.errors.push(`${at}: ${e}`);
      continue;
    }
    const r = renderTask(parsed.task);
    out.objects.push(r.service, r.workload);
  }
  if (n === 0 && out.errors.length === 0) out.errors.push(`${where}: no MLTask in the file`);
  return out;
}

export function registerMLTaskCommand(program: Command): void {
  const mltask = program.command('mltask').description('MLTask tools (the training-job resource)');
  mltask
    .command('render')
    .description('print the headless Service and StatefulSet the controller would create for an MLTask')
    .requiredOption('-f, --file <task.yaml>', 'the MLTask (YAML or JSON; several documents allowed)')
    .option('--json', 'print a JSON List instead of YAML documents')
    .action(async (o: { file: string; json?: boolean }) => {
      let text: string;
      try {
        text = await readFile(o.file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read ${o.file}: ${(err as Error).message}`);
      }
      const r = renderText(text, o.file);
      if (r.errors.length > 0) {
        for (const e of r.errors) process.stderr.write(`${e}\n`);
        process.exitCode = 1;
        return;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: r.objects }, null, 2)}\n`);
        return;
      }
      process.stdout.write(r.objects.map((obj) => stringify(obj, { lineWidth: 0 })).join('---\n'));
    });
}
