/**
 * The CRDs of deploy/crds/ on the real kube-apiserver: applied and Established; valid GPUNodes are
 * accepted (and the extender's parser reads back what the server stored), invalid ones are refused
 * by the server's own OpenAPI validation with a message naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGpuNode } from '../../src/cluster/gpunode.js';
import { gpuNodeJson } from '../support/cluster-fixtures.js';
import { controlPlaneSkip, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';

let cp: ControlPlane;

beforeAll(async () => {
  if (!controlPlaneSkip) cp = await startControlPlane({ crds: true });
});
afterAll(async () => {
  await cp?.stop();
});

async function refusal(obj: KObj): Promise<string> {
  try {
    await cp.request('POST', '/apis/linkpack.io/v1alpha1/gpunodes', obj);
  } catch (err) {
    expect((err as { code?: number }).code).toBe(422);
    return (err as Error).message;
  }
  throw new Error('the server accepted an invalid GPUNode');
}

describe.skipIf(controlPlaneSkip)('CRDs on the real kube-apiserver', () => {
  it('serves the linkpack.io CRDs', async () => {
    const crds = (await cp.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).map((c) => c.metadata.name);
    expect(crds).toContain('gpunodes.linkpack.io');
  });

  it('stores the schema as written: enums and defaults survive the trip (a typed client dropped them)', async () => {
    const crd = await cp.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'gpunodes.linkpack.io');
    const text = JSON.stringify(crd?.spec.versions[0].schema);
    expect(text).toContain('"enum"');
    expect(text).not.toContain('"_enum"');
  });

  it('accepts a GPUNode the builder makes, and the parser reads back what the server stored', async () => {
    const { gpuNode } = await cp.createGpuNode('gn-valid', 'dgx1-v100');
    const stored = await cp.get('linkpack.io/v1alpha1', 'GPUNode', 'gn-valid');
    expect(stored?.status?.gpus).toHaveLength(8);
    expect(stored?.metadata.ownerReferences?.[0]?.kind).toBe('Node');
    const parsed = parseGpuNode(stored);
    expect(parsed.ok).toBe(true);
    expect(gpuNode.status.links).toEqual(stored?.status.links);
  });

  it('keeps status out of main-resource writes (status subresource)', async () => {
    const obj = gpuNodeJson('gn-nostatus', 'pcie-4x');
    const created = await cp.request('POST', '/apis/linkpack.io/v1alpha1/gpunodes', obj);
    expect(created.status).toBeUndefined();
  });

  it('refuses a GPU with a negative index, naming the field', async () => {
    const obj = gpuNodeJson('gn-bad-index', 'pcie-4x');
    obj.status.gpus[1].index = -1;
    // Status is dropped on create; invalid status is refused on the /status write.
    const created = await cp.request('POST', '/apis/linkpack.io/v1alpha1/gpunodes', { ...obj, status: undefined });
    const msg = await cp.writeStatus(created, obj.status).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(msg).toMatch(/status\.gpus\[1\]\.index/);
  });

  it('refuses a health value outside the enum, naming the field', async () => {
    const obj = gpuNodeJson('gn-bad-health', 'pcie-4x');
    const created = await cp.request('POST', '/apis/linkpack.io/v1alpha1/gpunodes', { ...obj, status: undefined });
    obj.status.gpus[0].health = 'Sick';
    const msg = await cp.writeStatus(created, obj.status).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(msg).toMatch(/status\.gpus\[0\]\.health/);
    expect(msg).toMatch(/Sick/);
  });

  it('refuses an unknown field type on the main resource', async () => {
    const msg = await refusal({ apiVersion: 'linkpack.io/v1alpha1', kind: 'GPUNode', metadata: { name: 'gn-bad-spec' }, spec: 'not-an-object' });
    expect(msg).toMatch(/spec/);
  });
});
