/** `linkpack mltask render` through the built CLI (dist), on the example and on bad input. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cliPath, repoRoot, requireBuilt } from '../support/paths.js';
import { renderText, toYaml } from '../../src/mltask/command.js';

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
  it('names the document, its line and the field', () => {
    const r = renderText('metadata: {name: a}\nspec: {image: x, parallelism: 0, trainingData: {uri: "s3://a/b"}, modelOutput: {uri: "s3://c/d"}}\n---\nnot: [valid', 'f.yaml');
    expect(r.errors[0]).toBe('f.yaml:2 (document 1): spec.parallelism: must be ≥ 1 (got 0)');
    expect(r.errors[1]).toMatch(/^f\.yaml:4 \(document 2\): not valid YAML/);
    expect(renderText('', 'e.yaml').errors).toEqual(['e.yaml: no MLTask in the file']);
  });

  it('a YAML error and a bad field point at their own lines', () => {
    const text = ['apiVersion: linkpack.io/v1alpha1', 'kind: MLTask', 'metadata: {name: t}', 'spec:', '  image: x', '  trainingData: {uri: "s3://a/b"}', '  modelOutput: {uri: "s3://a/c"}', '  env:', '    - name: A', '      valueFrom: {secretKeyRef: {name: s}}', '  gpu: {topology: nvlink}'].join('\n');
    expect(renderText(text, 't.yaml').errors).toEqual(['t.yaml:10: spec.env[0].valueFrom.secretKeyRef.key: required', 't.yaml:11: spec.gpu.topology: must be one of require-nvlink, prefer-nvlink, any (got "nvlink")']);
    expect(renderText('a: 1\nb: [1,\nc: 2\n', 'y.yaml').errors[0]).toMatch(/^y\.yaml:3: not valid YAML/);
  });

  it('an alias without its anchor, or too many aliases, is a YAML error of its document, not a thrown ReferenceError (found by npm run fuzz)', () => {
    expect(renderText('metadata: {name: a}\n---\nkind: MLTask\nspec: *nowhere\n', 'a.yaml').errors).toContainEqual(expect.stringMatching(/^a\.yaml:3 \(document 2\): not valid YAML: Unresolved alias.*nowhere/));
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcde'[i]}`).join(', ')}]`)].join('\n');
    expect(renderText(bomb, 'b.yaml').errors).toEqual([expect.stringMatching(/^b\.yaml(:\d+)?: not valid YAML: /)]);
  });

  it('a non-MLTask document is named and skipped; the tasks still render; an MLTaskClass in the file is merged', () => {
    const task = readFileSync(example, 'utf8');
    const r = renderText(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\n${task}---\napiVersion: linkpack.io/v1alpha1\nkind: MLTaskClass\nmetadata: {name: h100, annotations: {linkpack.io/default-class: "true"}}\nspec: {shmSize: 64Gi, tolerations: [{key: gpu, operator: Exists}]}\n`, 'm.yaml');
    expect(r.errors).toEqual([]);
    expect(r.notes).toEqual(['m.yaml:1 (document 1): skipped ConfigMap settings: not an MLTask']);
    expect(r.objects.map((o) => o.kind)).toEqual(['Service', 'Job']);
    expect(r.objects[1]!.spec.template.spec.tolerations).toEqual([{ key: 'gpu', operator: 'Exists' }]);
    expect(r.objects[1]!.spec.template.spec.volumes).toContainEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '64Gi' } });
  });

  it('YAML output quotes what YAML 1.1 (kubectl) would read as a boolean or number', () => {
    const text = toYaml([{ env: ['yes', 'on', 'NO', 'y', '1_000', '0x1F', '1:20', 'plain', '80Gi'] }]);
    for (const v of ['yes', 'on', 'NO', 'y', '1_000', '0x1F', '1:20']) expect(text).toContain(`"${v}"`);
    expect(text).toContain('- plain');
    expect(text).toContain('- 80Gi');
    // A shared object is written out each time, not as a YAML alias.
    const shared = { a: 1 };
    expect(toYaml([{ p: shared, q: shared }])).toBe('p:\n  a: 1\nq:\n  a: 1\n');
    expect(parse(text, { version: '1.1' })).toEqual({ env: ['yes', 'on', 'NO', 'y', '1_000', '0x1F', '1:20', 'plain', '80Gi'] });
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

  it('--class-file merges the default class; a secret stays a reference', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlt-'));
    const c = path.join(dir, 'class.yaml');
    writeFileSync(c, 'apiVersion: linkpack.io/v1alpha1\nkind: MLTaskClass\nmetadata: {name: h100}\nspec: {default: true, priorityClassName: training, shmSize: 32Gi, resources: {rdma/hca: "1"}}\n');
    const r = await cli(['mltask', 'render', '-f', example, '--class-file', c, '--json']);
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout).items[1];
    expect(job.spec.template.spec.priorityClassName).toBe('training');
    expect(job.spec.template.spec.containers[0].resources.limits['rdma/hca']).toBe('1');
    expect(job.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'WANDB_API_KEY')).toEqual({ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'apiKey' } } });
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
      `${f}:7: spec.trainingData: must set exactly one of uri or pvc (both are set)`,
      `${f}:6: spec.parallelism: must be ≥ 1 (got 0)`,
      `${f}:9: spec.gpu.topology: must be one of require-nvlink, prefer-nvlink, any (got "nvlink")`,
    ]);
    const missing = await cli(['mltask', 'render', '-f', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml/);
  });
});
