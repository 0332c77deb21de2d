import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseMLTask } from '../../src/mltask/validate.js';
import { exampleRaw, rawTask } from './fixtures.js';

const errorsOf = (raw: unknown): string[] => {
  const r = parseMLTask(raw);
  return r.ok ? [] : r.errors;
};

describe('parseMLTask', () => {
  it('accepts the example and applies nothing it does not need', () => {
    const r = parseMLTask(exampleRaw());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.task.spec.parallelism).toBe(4);
    expect(r.task.spec.gpu).toEqual({ model: 'H100', memoryMin: '79Gi', topology: 'require-nvlink', policy: 'binpack' });
    expect(r.task.metadata.namespace).toBe('ml');
  });

  it('fills the CRD defaults', () => {
    const raw = rawTask();
    delete raw.spec.parallelism;
    delete raw.spec.resources;
    const r = parseMLTask(raw);
    expect(r.ok && r.task.spec).toMatchObject({ parallelism: 1, resources: { gpus: 1 }, gpu: { topology: 'prefer-nvlink', policy: 'binpack' }, backoffLimit: 3, suspend: false });
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['parallelism 0', { parallelism: 0 }, 'spec.parallelism: must be ≥ 1'],
    ['parallelism too big', { parallelism: 513 }, 'spec.parallelism: must be ≤ 512'],
    ['parallelism not whole', { parallelism: 1.5 }, 'spec.parallelism: must be a whole number'],
    ['gpus too many', { resources: { gpus: 17 } }, 'spec.resources.gpus: must be ≤ 16'],
    ['negative backoff', { backoffLimit: -1 }, 'spec.backoffLimit: must be ≥ 0'],
    ['both uri and pvc', { trainingData: { uri: 's3://a/b', pvc: { claimName: 'x' } } }, 'spec.trainingData: must set exactly one of uri or pvc (both are set)'],
    ['neither', { modelOutput: {} }, 'spec.modelOutput: must set exactly one of uri or pvc (neither is set)'],
    ['bad uri', { trainingData: { uri: 'not a uri' } }, 'spec.trainingData.uri:'],
    ['bad claim', { trainingData: { pvc: { claimName: 'Bad_Name' } } }, 'spec.trainingData.pvc.claimName:'],
    ['subPath ..', { trainingData: { pvc: { claimName: 'd', subPath: 'a/../b' } } }, "spec.trainingData.pvc.subPath: \"a/../b\" must not contain '..'"],
    ['absolute subPath', { trainingData: { pvc: { claimName: 'd', subPath: '/etc' } } }, 'spec.trainingData.pvc.subPath:'],
    ['bad topology', { gpu: { topology: 'nvlink' } }, 'spec.gpu.topology: must be one of require-nvlink, prefer-nvlink, any (got "nvlink")'],
    ['bad policy', { gpu: { policy: 'pack' } }, 'spec.gpu.policy: must be one of binpack, spread'],
    ['bad memoryMin', { gpu: { memoryMin: '80GB' } }, 'spec.gpu.memoryMin:'],
    ['scratch without size', { scratch: { medium: 'Memory' } }, 'spec.scratch.size: required'],
    ['scratch zero', { scratch: { size: '0Gi' } }, 'spec.scratch.size:'],
    ['scratch medium+class', { scratch: { size: '1Gi', medium: 'Memory', storageClassName: 'fast' } }, 'spec.scratch: medium: Memory and storageClassName exclude each other'],
    ['bad medium', { scratch: { size: '1Gi', medium: 'Disk' } }, 'spec.scratch.medium: must be one of Memory'],
    ['reserved env', { env: [{ name: 'MASTER_ADDR', value: 'x' }] }, 'spec.env[0].name: MASTER_ADDR is set by the controller'],
    ['PET_ env', { env: [{ name: 'PET_NNODES', value: '2' }] }, 'spec.env[0].name: PET_NNODES is set by the controller'],
    ['duplicate env', { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }, 'spec.env[1].name: A is listed twice'],
    ['typo field', { paralelism: 2 }, 'spec.paralelism: unknown field'],
    ['image with space', { image: 'a b' }, 'spec.image:'],
    ['suspend string', { suspend: 'yes' }, 'spec.suspend: must be true or false'],
    ['cpu quantity', { resources: { gpus: 1, cpu: 'lots' } }, 'spec.resources.cpu:'],
    ['command not list', { command: 'python' }, 'spec.command: must be a list of strings'],
  ];
  it.each(bad)('refuses %s, naming the field', (_what, patch, expected) => {
    const errs = errorsOf(rawTask(patch));
    expect(errs.some((e) => e.startsWith(expected)), `${errs.join('\n')}`).toBe(true);
  });

  it('reports every bad field at once', () => {
    const errs = errorsOf(rawTask({ parallelism: 0, backoffLimit: -2, gpu: { topology: 'x' } }));
    expect(errs.map((e) => e.split(':')[0])).toEqual(['spec.parallelism', 'spec.gpu.topology', 'spec.backoffLimit']);
  });

  it('refuses a bad name and a missing spec', () => {
    expect(errorsOf({ metadata: { name: 'Train_1' }, spec: rawTask().spec })[0]).toMatch(/^metadata\.name: "Train_1" is not a DNS-1035 label/);
    expect(errorsOf({ metadata: { name: 'x'.repeat(53) }, spec: rawTask().spec })[0]).toMatch(/^metadata\.name: must be at most 52/);
    expect(errorsOf({ metadata: { name: 'ok' } })).toEqual(['spec: required']);
    expect(errorsOf('text')[0]).toMatch(/must be an object/);
    expect(errorsOf({ ...rawTask(), kind: 'Job' })[0]).toMatch(/^kind: must be MLTask/);
  });

  it('accepts parallelism exactly on 1..512 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        const ok = parseMLTask(rawTask({ parallelism: n })).ok;
        return ok === (n >= 1 && n <= 512);
      }),
    );
  });

  it('is idempotent: a parsed spec parses to itself (property)', () => {
    const source = fc.oneof(fc.record({ uri: fc.constantFrom('s3://a/b', 'gs://x/y/z', 'https://h/p') }), fc.record({ pvc: fc.record({ claimName: fc.constantFrom('data', 'a.b-c') }, { requiredKeys: ['claimName'] }) }));
    const spec = fc.record(
      {
        image: fc.constantFrom('img:1', 'reg.io/a/b@sha256:abc'),
        trainingData: source,
        modelOutput: source,
        parallelism: fc.integer({ min: 1, max: 512 }),
        resources: fc.record({ gpus: fc.integer({ min: 0, max: 16 }), cpu: fc.constantFrom('500m', '8'), memory: fc.constantFrom('64Gi', '1.5Ti') }, { requiredKeys: ['gpus'] }),
        gpu: fc.record({ model: fc.constantFrom('H100', 'A100'), memoryMin: fc.constantFrom('80Gi', '40960'), topology: fc.constantFrom('require-nvlink', 'prefer-nvlink', 'any'), policy: fc.constantFrom('binpack', 'spread') }, { requiredKeys: [] }),
        scratch: fc.oneof(fc.record({ size: fc.constantFrom('1Gi', '0.5Ti') }), fc.record({ size: fc.constant('10Gi'), medium: fc.constant('Memory') }), fc.record({ size: fc.constant('10Gi'), storageClassName: fc.constant('fast-ssd') })),
        backoffLimit: fc.integer({ min: 0, max: 1000 }),
        suspend: fc.boolean(),
        env: fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/).filter((n) => !n.startsWith('PET_') && !['MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'NNODES', 'NPROC_PER_NODE', 'NODE_RANK'].includes(n)), value: fc.string() }), { selector: (e) => e.name, maxLength: 5 }),
      },
      { requiredKeys: ['image', 'trainingData', 'modelOutput'] },
    );
    fc.assert(
      fc.property(spec, (s) => {
        const first = parseMLTask({ metadata: { name: 't', namespace: 'ns' }, spec: s });
        if (!first.ok) throw new Error(first.errors.join('; '));
        const again = parseMLTask({ metadata: first.task.metadata, spec: first.task.spec });
        expect(again).toEqual(first);
      }),
    );
  });
});
