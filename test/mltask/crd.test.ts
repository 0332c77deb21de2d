/** The CRD states the rules of validate.ts: the same patterns, ranges, enums and defaults. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { PATTERNS } from '../../src/mltask/validate.js';
import { CLASS_KEYS } from '../../src/mltask/class.js';
import * as T from '../../src/mltask/types.js';
import { PACKING_POLICIES, TOPOLOGY_MODES } from '../../src/core/types.js';
import type { KubeObject } from '../../src/mltask/render.js';

const crd = parse(readFileSync(path.join(repoRoot, 'deploy/crds/mltasks.linkpack.io.yaml'), 'utf8')) as KubeObject;
const version = crd.spec.versions[0];
const spec = version.schema.openAPIV3Schema.properties.spec.properties;

describe('mltasks.linkpack.io CRD', () => {
  it('is namespaced, short name mlt, with a status subresource and the printer columns', () => {
    expect(crd.metadata.name).toBe('mltasks.linkpack.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.shortNames).toEqual(['mlt']);
    expect(version.name).toBe('v1alpha1');
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c: KubeObject) => c.name)).toEqual(['Mode', 'Phase', 'Workers', 'Restarts', 'GPUs', 'Topology', 'Age']);
  });

  it('ranges and defaults are the validator constants', () => {
    expect(spec.parallelism).toMatchObject({ minimum: 1, maximum: T.MAX_PARALLELISM, default: T.DEFAULT_PARALLELISM });
    expect(spec.resources.properties.gpus).toMatchObject({ minimum: 0, maximum: T.MAX_GPUS_PER_WORKER, default: T.DEFAULT_GPUS });
    expect(spec.backoffLimit).toMatchObject({ minimum: 0, maximum: T.MAX_BACKOFF_LIMIT, default: T.DEFAULT_BACKOFF_LIMIT });
    expect(spec.suspend.default).toBe(false);
    expect(spec.mode).toMatchObject({ enum: [...T.MLTASK_MODES], default: T.DEFAULT_MODE });
    expect(spec.activeDeadlineSeconds).toMatchObject({ minimum: 1, maximum: T.MAX_DURATION_SECONDS });
    expect(spec.ttlSecondsAfterFinished).toMatchObject({ minimum: 0, maximum: T.MAX_DURATION_SECONDS });
    expect(version.schema.openAPIV3Schema.properties.status.properties.phase.enum).toEqual([...T.MLTASK_PHASES]);
    expect(spec.gpu.properties.topology).toMatchObject({ enum: [...TOPOLOGY_MODES], default: T.DEFAULT_TOPOLOGY });
    expect(spec.gpu.properties.policy).toMatchObject({ enum: [...PACKING_POLICIES], default: T.DEFAULT_POLICY });
  });

  it('patterns are the validator patterns', () => {
    expect(spec.image.pattern).toBe(PATTERNS.image);
    expect(spec.env.items.properties.name.pattern).toBe(PATTERNS.envName);
    for (const k of ['trainingData', 'modelOutput']) {
      expect(spec[k].properties.uri.pattern).toBe(PATTERNS.uri);
      expect(spec[k].properties.pvc.properties.claimName.pattern).toBe(PATTERNS.subdomain);
      expect(spec[k].properties.pvc.properties.subPath.pattern).toBe(PATTERNS.subPath);
      expect(spec[k]['x-kubernetes-validations'][0].rule).toBe('has(self.uri) != has(self.pvc)');
    }
    expect(spec.scratch.properties.size.pattern).toBe(PATTERNS.quantity);
    expect(spec.scratch.properties.storageClassName.pattern).toBe(PATTERNS.subdomain);
    expect(spec.resources.properties.cpu.pattern).toBe(PATTERNS.quantity);
    expect(spec.resources.properties.memory.pattern).toBe(PATTERNS.quantity);
    expect(spec.gpu.properties.memoryMin.pattern).toBe(PATTERNS.memoryMin);
    expect(spec.className.pattern).toBe(PATTERNS.subdomain);
    const envItem = spec.env.items.properties;
    for (const k of ['secretKeyRef', 'configMapKeyRef']) {
      expect(envItem.valueFrom.properties[k].properties.name.pattern).toBe(PATTERNS.subdomain);
      expect(envItem.valueFrom.properties[k].properties.key.pattern).toBe(PATTERNS.configKey);
    }
    for (const k of ['secretRef', 'configMapRef']) expect(spec.envFrom.items.properties[k].properties.name.pattern).toBe(PATTERNS.subdomain);
    expect(spec.envFrom.items.properties.prefix.pattern).toBe(PATTERNS.envName);
    for (const k of ['trainingData', 'modelOutput']) expect(spec[k].properties.credentialsSecret.pattern).toBe(PATTERNS.subdomain);
    const rootRule = version.schema.openAPIV3Schema['x-kubernetes-validations'][0].rule as string;
    expect(rootRule).toContain(PATTERNS.name);
    expect(rootRule).toContain(`<= ${T.MAX_NAME_LENGTH}`);
  });

  it('reserves the same environment names', () => {
    const rule = spec.env.items['x-kubernetes-validations'][0].rule as string;
    for (const n of T.RESERVED_ENV) expect(rule).toContain(`'${n}'`);
    expect(rule).toContain(`startsWith('${T.RESERVED_ENV_PREFIX}')`);
    expect((rule.match(/'[A-Z_]+'/g) ?? []).length).toBe(T.RESERVED_ENV.length + 1);
  });

  it('declares every status field the controller writes', () => {
    const status = version.schema.openAPIV3Schema.properties.status.properties;
    const keys: Array<keyof T.MLTaskStatus> = [
      'phase',
      'mode',
      'observedGeneration',
      'readyWorkers',
      'ready',
      'totalWorkers',
      'failures',
      'gpus',
      'topology',
      'workers',
      'conditions',
      'restarts',
      'uncountedRestarts',
      'jobUID',
      'endedJobUID',
      'className',
      'startTime',
      'completionTime',
    ];
    expect(Object.keys(status).sort()).toEqual([...keys].sort());
    const w: Array<keyof T.WorkerStatus> = ['index', 'pod', 'podUID', 'node', 'gpus', 'nvlink', 'ready', 'succeeded', 'failures', 'podFailures'];
    expect(Object.keys(status.workers.items.properties).sort()).toEqual([...w].sort());
  });
});

describe('mltaskclasses.linkpack.io CRD', () => {
  const cls = parse(readFileSync(path.join(repoRoot, 'deploy/crds/mltaskclasses.linkpack.io.yaml'), 'utf8')) as KubeObject;
  const props = cls.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;

  it('is cluster-scoped and declares every field the parser knows, with the same patterns', () => {
    expect(cls.metadata.name).toBe('mltaskclasses.linkpack.io');
    expect(cls.spec.scope).toBe('Cluster');
    expect(Object.keys(props).sort()).toEqual([...CLASS_KEYS].sort());
    expect(props.shmSize.pattern).toBe(PATTERNS.quantity);
    expect(props.resources.additionalProperties.pattern).toBe(PATTERNS.quantity);
    expect(props.gpu.properties.memoryMin.pattern).toBe(PATTERNS.memoryMin);
  });
});
