import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ANN_IMMUTABLE_HASH, ANN_SPEC_HASH, renderTask } from '../../src/mltask/render.js';
import { parseMLTask } from '../../src/mltask/validate.js';
import { exampleRaw, task } from './fixtures.js';
import type { KubeObject } from '../../src/mltask/render.js';

const instance = (spec: KubeObject = {}) => task({ mode: 'Instance', ...spec });
const envOf = (sts: KubeObject): Record<string, KubeObject> => Object.fromEntries(sts.spec.template.spec.containers[0].env.map((e: KubeObject) => [e.name, e]));

describe('renderTask', () => {
  const ex = parseMLTask(exampleRaw());
  if (!ex.ok) throw new Error(ex.errors.join('\n'));
  const t = { ...ex.task, spec: { ...ex.task.spec, mode: 'Instance' as const }, metadata: { ...ex.task.metadata, uid: 'u-42' } };
  const { service, workload: sts } = renderTask(t);

  it('a headless Service that publishes not-ready workers, owned by the task', () => {
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'linkpack.io/mltask': 'llama-finetune' } });
    expect(service.spec.ports[0].port).toBe(29500);
    expect(service.metadata.ownerReferences).toEqual([{ apiVersion: 'linkpack.io/v1alpha1', kind: 'MLTask', name: 'llama-finetune', uid: 'u-42', controller: true, blockOwnerDeletion: true }]);
  });

  it('a Parallel StatefulSet for linkpack-scheduler with GPU requests and the preferences as annotations', () => {
    expect(sts.spec).toMatchObject({ replicas: 4, serviceName: 'llama-finetune', podManagementPolicy: 'Parallel' });
    const pod = sts.spec.template;
    expect(pod.spec.schedulerName).toBe('linkpack-scheduler');
    expect(pod.spec.restartPolicy).toBe('Always');
    const res = pod.spec.containers[0].resources;
    expect(res.requests).toEqual({ cpu: '64', memory: '512Gi', 'nvidia.com/gpu': '8' });
    expect(res.limits).toEqual({ memory: '512Gi', 'nvidia.com/gpu': '8' });
    expect(pod.metadata.annotations).toEqual({
      'linkpack.io/topology': 'require-nvlink',
      'linkpack.io/policy': 'binpack',
      'linkpack.io/gpu-model': 'H100',
      'linkpack.io/gpu-memory-min': '79Gi',
      'linkpack.io/gang': 'u-42/4',
    });
    expect(pod.metadata.labels['linkpack.io/mltask']).toBe('llama-finetune');
    expect(sts.spec.selector.matchLabels).toEqual({ 'linkpack.io/mltask': 'llama-finetune' });
    expect(sts.metadata.ownerReferences[0].uid).toBe('u-42');
  });

  it('the torchrun rendezvous environment, rank from the pod-index label', () => {
    const env = envOf(sts);
    expect(env.MASTER_ADDR!.value).toBe('llama-finetune-0.llama-finetune');
    expect(env.PET_MASTER_ADDR!.value).toBe('llama-finetune-0.llama-finetune');
    expect(env.MASTER_PORT!.value).toBe('29500');
    expect(env.WORLD_SIZE!.value).toBe('32');
    expect(env.NNODES!.value).toBe('4');
    expect(env.PET_NNODES!.value).toBe('4');
    expect(env.NPROC_PER_NODE!.value).toBe('8');
    for (const k of ['NODE_RANK', 'PET_NODE_RANK']) expect(env[k]!.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } });
    expect(env.PYTHONUNBUFFERED!.value).toBe('1');
    expect(env.LINKPACK_MODEL_OUTPUT!.value).toBe('s3://models/llama-finetune/');
    expect(env.LINKPACK_TRAINING_DATA!.value).toBe('/data/training');
  });

  it('training data read-only, output writable, scratch as emptyDir or a per-worker claim', () => {
    const c = sts.spec.template.spec.containers[0];
    expect(c.volumeMounts).toEqual([
      { name: 'training-data', mountPath: '/data/training', readOnly: true, subPath: 'llama/tokenized' },
      { name: 'scratch', mountPath: '/scratch' },
    ]);
    expect(sts.spec.template.spec.volumes).toEqual([
      { name: 'training-data', persistentVolumeClaim: { claimName: 'datasets', readOnly: true } },
      { name: 'scratch', emptyDir: { sizeLimit: '200Gi' } },
    ]);
    const mem = renderTask(instance({ scratch: { size: '8Gi', medium: 'Memory' } })).workload;
    expect(mem.spec.template.spec.volumes.find((v: KubeObject) => v.name === 'scratch')).toEqual({ name: 'scratch', emptyDir: { sizeLimit: '8Gi', medium: 'Memory' } });
    const out = mem.spec.template.spec.volumes.find((v: KubeObject) => v.name === 'model-output');
    expect(out).toEqual({ name: 'model-output', persistentVolumeClaim: { claimName: 'out' } });
    const pvc = renderTask(instance({ scratch: { size: '100Gi', storageClassName: 'nvme' } })).workload;
    expect(pvc.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'nvme', resources: { requests: { storage: '100Gi' } } });
    expect(pvc.spec.template.spec.volumes.some((v: KubeObject) => v.name === 'scratch')).toBe(false);
  });

  it('no GPU, no GPU annotations or requests', () => {
    const s = renderTask(instance({ resources: { gpus: 0 } })).workload;
    expect(s.spec.template.metadata.annotations).toEqual({});
    expect(s.spec.template.spec.containers[0].resources).toEqual({});
    expect(envOf(s).NPROC_PER_NODE!.value).toBe('1');
  });

  it('hashes: replicas is no change, image is a change, a claim template is an immutable change', () => {
    const base = instance();
    const a = renderTask(base).workload;
    const scaled = renderTask(base, 0).workload;
    expect(scaled.spec.replicas).toBe(0);
    expect(scaled.metadata.annotations).toEqual(a.metadata.annotations);
    const img = renderTask(instance({ image: 'trainer:2' })).workload;
    expect(img.metadata.annotations[ANN_SPEC_HASH]).not.toBe(a.metadata.annotations[ANN_SPEC_HASH]);
    expect(img.metadata.annotations[ANN_IMMUTABLE_HASH]).toBe(a.metadata.annotations[ANN_IMMUTABLE_HASH]);
    const vct = renderTask(instance({ scratch: { size: '1Gi', storageClassName: 'x' } })).workload;
    expect(vct.metadata.annotations[ANN_IMMUTABLE_HASH]).not.toBe(a.metadata.annotations[ANN_IMMUTABLE_HASH]);
  });

  it('is deterministic and every worker count renders consistently (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 0, max: 16 }), (n, g) => {
        const t1 = instance({ parallelism: n, resources: { gpus: g } });
        const r1 = renderTask(t1);
        expect(JSON.stringify(renderTask(t1))).toBe(JSON.stringify(r1));
        const env = envOf(r1.workload);
        expect(Number(env.WORLD_SIZE!.value)).toBe(n * Math.max(1, g));
        expect(r1.workload.spec.replicas).toBe(n);
        expect(r1.workload.spec.template.metadata.annotations['linkpack.io/gang']).toBe(g > 0 && n > 1 ? `uid-1/${n}` : undefined);
      }),
      { numRuns: 50 },
    );
  });
});
