/**
 * cp.apply goes through client-node's typed serializer, which drops the JSONSchemaProps keys it
 * names differently (default, enum, x-kubernetes-validations…). This sends the MLTask CRD as plain
 * JSON and waits until the server enforces it (a dry-run of a bad task is refused).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';
import type { ControlPlane, KObj } from '../support/control-plane.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mltasks.linkpack.io';

export async function putMLTaskCrdVerbatim(cp: ControlPlane, namespace: string, crdFile = path.join(repoRoot, 'deploy/crds/mltasks.linkpack.io.yaml')): Promise<void> {
  const crd = parse(readFileSync(crdFile, 'utf8')) as KObj;
  const cur = await cp.request('GET', CRD_PATH).catch(() => undefined);
  if (cur) await cp.request('PUT', CRD_PATH, { ...crd, metadata: { ...crd.metadata, resourceVersion: cur.metadata.resourceVersion } });
  else await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  const probe = {
    apiVersion: 'linkpack.io/v1alpha1',
    kind: 'MLTask',
    metadata: { name: 'probe', namespace },
    spec: { image: 'x', trainingData: { uri: 's3://a/b' }, modelOutput: { uri: 's3://a/c' }, gpu: { topology: 'nvlink' } },
  };
  await cp.eventually(
    () => cp.request('POST', `/apis/linkpack.io/v1alpha1/namespaces/${namespace}/mltasks?dryRun=All`, probe).then(() => false, (e: { code?: number }) => e.code === 422),
    'the MLTask CRD schema enforced',
    30_000,
  );
}
