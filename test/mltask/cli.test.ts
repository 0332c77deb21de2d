/** `linkpack mltask render` through the built CLI (dist), on the example and on bad input. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';
import { renderText } from '../../src/mltask/command.js';

const run = promisify(execFile);
const example = path.join(repoRoot, 'deploy/examples/mltask.yaml');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [cliPath, ...args]);
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('renderText', () => {
  it('names the document and the field', () => {
    const r = renderText('metadata: {name: a}\nspec: {image: x, parallelism: 0, trainingData: {uri: "s3://a/b"}, modelOutput: {uri: "s3://c/d"}}\n---\nnot: [valid', 'f.yaml');
    expect(r.errors[0]).toBe('f.yaml (document 1): spec.parallelism: must be ≥ 1 (got 0)');
    expect(r.errors[1]).toMatch(/^f\.yaml \(document 2\): not valid YAML/);
    expect(renderText('', 'e.yaml').errors).toEqual(['e.yaml: no MLTask in the file']);
  });
});

describe('linkpack mltask render (built CLI)', () => {
  requireBuilt();
  it('prints the Service and Job of the example as YAML and JSON', async () => {
    const y = await cli(['mltask', 'render', '-f', example]);
    expect(y.code).toBe(0);
    const docs = parseAllDocuments(y.stdout).map((d) => (Array.isArray(d) ? d : d.toJS()));
    expect(docs.map((d) => d.kind)).toEqual(['Service', 'Job']);
    const j = await cli(['mltask', 'render', '-f', example, '--json']);
    expect(j.code).toBe(0);
    const list = JSON.parse(j.stdout);
    expect(list.items.map((o: { kind: string }) => o.kind)).toEqual(['Service', 'Job']);
    expect(list.items[1]).toEqual(docs[1]);
  });

  it('exits non-zero naming each bad field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlt-'));
    const f = path.join(dir, 'bad.yaml');
    writeFileSync(f, 'apiVersion: linkpack.io/v1alpha1\nkind: MLTask\nmetadata: {name: t}\nspec:\n  image: x\n  parallelism: 0\n  trainingData: {uri: "s3://a/b", pvc: {claimName: d}}\n  modelOutput: {uri: "s3://a/c"}\n  gpu: {topology: nvlink}\n');
    const r = await cli(['mltask', 'render', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${f}: spec.trainingData: must set exactly one of uri or pvc (both are set)`,
      `${f}: spec.parallelism: must be ≥ 1 (got 0)`,
      `${f}: spec.gpu.topology: must be one of require-nvlink, prefer-nvlink, any (got "nvlink")`,
    ]);
    const missing = await cli(['mltask', 'render', '-f', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml/);
  });
});
