/**
 * Fuzz target `mltask`: random MLTask manifests into validation and render, as the controller and
 * `linkpack mltask render` take them: generated specs (good and odd values for every field),
 * edits of the shipped examples (a subtree replaced, deleted or given an extra key), MLTaskClasses
 * the same way, and the YAML texts of both, mutated, through `renderText`. The documented answer
 * to a bad manifest is `{ok:false, errors}` (each `<field path>: <problem>`); a valid one renders
 * (class chosen, GPU preferences merged, memory advice, Service + Job or StatefulSet).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { memoryAdvice } from '../src/mltask/advice.js';
import { chooseClass, parseMLTaskClass, withClassGpu, type MLTaskClass } from '../src/mltask/class.js';
import { renderText, toYaml } from '../src/mltask/command.js';
import { renderJob, renderStatefulSet, renderTask } from '../src/mltask/render.js';
import { parseMLTask } from '../src/mltask/validate.js';
import { repoRoot } from '../test/support/paths.js';
import { checkMessage, FuzzCrash, jsonOps, mutateJson, mutateText, ODD_VALUES, textOps, type FuzzTarget, type JsonOp, type TextOp } from './fuzz-kit.js';

type Obj = Record<string, unknown>;

const examples = (): Obj[] =>
  ['deploy/examples/mltask.yaml', 'deploy/examples/mltask-playground.yaml'].flatMap((f) => {
    try {
      return [parse(readFileSync(path.join(repoRoot, f), 'utf8')) as Obj];
    } catch {
      return [];
    }
  });

const CLASS_BASE: Obj = {
  apiVersion: 'linkpack.io/v1alpha1',
  kind: 'MLTaskClass',
  metadata: { name: 'gpu-default', annotations: {} },
  spec: {
    default: true,
    gpu: { model: 'H100', memoryMin: '79Gi', topology: 'require-nvlink', policy: 'binpack' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    nodeSelector: { 'node.kubernetes.io/gpu': 'true' },
    priorityClassName: 'training',
    serviceAccountName: 'trainer',
    imagePullSecrets: [{ name: 'registry' }],
    ...{ securityContext: { runAsNonRoot: true }, shmSize: '16Gi', resources: { cpu: '8', 'rdma/hca': '1' } },
    ...{ volumes: [{ name: 'cache', emptyDir: {} }], volumeMounts: [{ name: 'cache', mountPath: '/cache' }] },
    ...{ env: [{ name: 'NCCL_DEBUG', value: 'INFO' }], envFrom: [{ secretRef: { name: 'hf' } }] },
  },
};

const pickOr = <T>(good: readonly T[]) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(...ODD_VALUES, null, -1, 0, 1.5, 1e9, [], {}) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

/** A spec from the vocabulary, each field good most of the time. */
const specGen: fc.Arbitrary<Obj> = fc
  .record({
    mode: opt(pickOr(['Job', 'Instance'])),
    className: opt(pickOr(['gpu-default', 'cpu', 'Bad_Name'])),
    image: pickOr(['trainer:1', 'ghcr.io/x/y@sha256:abc', 'a b']),
    command: opt(pickOr([['torchrun'], ['python', '-m', 'train'], []])),
    args: opt(pickOr([['--epochs=3'], Array<string>(70).fill('x')])),
    env: opt(pickOr([[{ name: 'A', value: '1' }], [{ name: 'MASTER_ADDR', value: 'x' }], [{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], [{ name: 'LINKPACK_X', value: '' }]])),
    envFrom: opt(pickOr([[{ secretRef: { name: 's' } }], [{ configMapRef: { name: 'c' }, prefix: 'P_' }]])),
    trainingData: pickOr([{ uri: 's3://data/x' }, { pvc: { claimName: 'd', subPath: 'a/b' } }, { pvc: { claimName: 'd', subPath: '../x' } }, { uri: 's3://a', pvc: { claimName: 'd' } }]),
    modelOutput: pickOr([{ pvc: { claimName: 'out' } }, { uri: 'gs://m/', credentialsSecret: 'c' }]),
    scratch: opt(pickOr([{ size: '200Gi' }, { size: '0' }, { size: '1e3' }, { size: '200Gi', storageClassName: 'fast' }])),
    parallelism: opt(pickOr([1, 2, 4, 64, 0, 65, 1000])),
    resources: opt(pickOr([{ gpus: 8 }, { gpus: 0 }, { gpus: 2, cpu: '8', memory: '64Gi' }, { gpus: 9 }, { gpus: 1, milliGpu: 500 }])),
    gpu: opt(pickOr([{ topology: 'require-nvlink' }, { model: 'H100', memoryMin: '80Gi' }, { memoryMin: '99999999999999999999Ti' }, { policy: 'spread', topology: 'any' }, { model: 'x'.repeat(200) }])),
    backoffLimit: opt(pickOr([0, 3, 100, -1])),
    suspend: opt(pickOr([true, false])),
    activeDeadlineSeconds: opt(pickOr([1, 86400, 0, 2 ** 40])),
    ttlSecondsAfterFinished: opt(pickOr([0, 600, -5])),
  })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));

const metaGen = fc.record({
  name: pickOr(['train', 'llama-finetune', 'a'.repeat(50), 'A', '-x']),
  namespace: opt(pickOr(['ml', 'default'])),
  uid: opt(pickOr(['uid-1'])),
  labels: opt(pickOr([{ team: 'a' }, { 'kueue.x-k8s.io/queue-name': 'q' }])),
  annotations: opt(pickOr([{ 'linkpack.io/topology': 'require-nvlink' }, { 'linkpack.io/topolgy': 'x' }, { 'kubectl.kubernetes.io/last-applied-configuration': '{}' }])),
});

export interface MLTaskInput {
  task: { base: number | Obj; ops: JsonOp[] };
  cls?: { ops: JsonOp[] };
  /** Also as YAML text, mutated, through renderText. */
  text?: TextOp[];
  replicas?: number;
  elapsed?: number;
}

function catchAll<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof FuzzCrash ? e : Object.assign(e as Error, { message: `${where}: ${(e as Error).message}` });
  }
}

export function mltaskTarget(): FuzzTarget<MLTaskInput> {
  const bases = examples();
  const generated = fc.record({ apiVersion: fc.constant('linkpack.io/v1alpha1'), kind: fc.constant('MLTask'), metadata: metaGen, spec: specGen }) as fc.Arbitrary<Obj>;
  const gen: fc.Arbitrary<MLTaskInput> = fc.record(
    {
      task: fc.record({
        base: fc.oneof({ weight: 2, arbitrary: fc.nat(Math.max(0, bases.length - 1)) }, { weight: 3, arbitrary: generated }),
        ops: fc.oneof({ weight: 1, arbitrary: fc.constant<JsonOp[]>([]) }, { weight: 2, arbitrary: jsonOps }),
      }),
      cls: fc.option(fc.record({ ops: jsonOps }), { nil: undefined, freq: 2 }),
      text: fc.option(textOps, { nil: undefined, freq: 4 }),
      replicas: fc.option(fc.integer({ min: 0, max: 70 }), { nil: undefined }),
      elapsed: fc.option(fc.oneof(fc.nat(1e7), fc.double({ min: 0, max: 1e9, noNaN: true })), { nil: undefined }),
    },
    { requiredKeys: ['task'] },
  );
  const taskOf = (i: MLTaskInput): unknown => mutateJson(typeof i.task.base === 'number' ? (bases[i.task.base] ?? {}) : i.task.base, i.task.ops);
  const classOf = (i: MLTaskInput): unknown => (i.cls ? mutateJson(CLASS_BASE, i.cls.ops) : undefined);
  const yamlOf = (i: MLTaskInput): string | undefined => {
    if (!i.text) return undefined;
    const docs = [taskOf(i), classOf(i)].filter((d) => d !== undefined);
    try {
      return mutateText(docs.map((d) => stringify(d)).join('---\n'), i.text);
    } catch {
      return mutateText(JSON.stringify(docs[0]) ?? '', i.text);
    }
  };
  return {
    name: 'mltask',
    gen,
    show: (i) => JSON.stringify({ task: taskOf(i), cls: classOf(i), yaml: yamlOf(i), replicas: i.replicas, elapsed: i.elapsed }),
    run(i) {
      const raw = taskOf(i);
      const classes: MLTaskClass[] = [];
      const rawClass = classOf(i);
      if (rawClass !== undefined) {
        const c = catchAll('parseMLTaskClass', () => parseMLTaskClass(rawClass));
        if (c.ok) classes.push(c.value);
        else for (const e of c.errors) checkMessage('parseMLTaskClass', e);
      }
      const parsed = catchAll('parseMLTask', () => parseMLTask(raw));
      if (!parsed.ok) {
        if (parsed.errors.length === 0) throw new FuzzCrash('parseMLTask: ok:false without an error');
        for (const e of parsed.errors) checkMessage('parseMLTask', e);
      } else {
        const t = parsed.task;
        const choice = catchAll('chooseClass', () => chooseClass(t, classes));
        const cls = choice.ok ? choice.cls : undefined;
        catchAll('memoryAdvice', () => memoryAdvice(withClassGpu(t, cls).spec));
        const r = catchAll('renderTask', () => renderTask(t, i.replicas, cls));
        catchAll('renderJob', () => renderJob(t, { ...(cls ? { cls } : {}), ...(i.elapsed !== undefined ? { elapsedSeconds: i.elapsed } : {}) }));
        catchAll('renderStatefulSet', () => renderStatefulSet(t, i.replicas ?? t.spec.parallelism, cls));
        catchAll('toYaml', () => toYaml([r.service, r.workload]));
        // What is rendered must be plain JSON (the API server gets it as such).
        const json = JSON.stringify([r.service, r.workload]);
        const nullCount = /"(replicas|completions|parallelism|activeDeadlineSeconds|ttlSecondsAfterFinished)":null/.exec(json);
        if (nullCount) throw new FuzzCrash(`render wrote ${nullCount[0]} (NaN or Infinity in the workload)`);
      }
      const text = yamlOf(i);
      if (text !== undefined) {
        const out = catchAll('renderText', () => renderText(text, 'fuzz.yaml'));
        for (const e of out.errors) checkMessage('renderText', e);
      }
    },
  };
}
