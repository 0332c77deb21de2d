/**
 * Everything a user installs, applied to the real kube-apiserver with server-side dry-run
 * (`kubectl apply --server-side --dry-run=server`): the chart rendered with the default values
 * and with each option, and every kustomization. Catches what helm and kustomize cannot: unknown
 * fields, bad enums, invalid RBAC, objects the API refuses.
 * ServiceMonitor: prometheus-operator's CRD is not vendored here; a stand-in CRD for
 * monitoring.coreos.com/v1 ServiceMonitor (structural, preserve-unknown-fields) lets the API
 * accept the kind, so only the envelope of those two objects is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import { controlPlaneSkip, startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { CHART_OPTION_SETS, helmSkip, kustomizations, kustomizeBuild, kustomizeSkip, NAMESPACE, render } from './install-tools.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      },
    ],
  },
};

let cp: ControlPlane;
let api: KubernetesObjectApi;

/**
 * Server-side apply with dryRun=All and fieldValidation=Strict (as `kubectl apply --server-side
 * --dry-run=server` does; without Strict the API drops unknown fields with a warning).
 */
async function dryRun(objs: Obj[]): Promise<string[]> {
  const problems: string[] = [];
  // client-node resolves kind → resource path (discovery); the call itself is a plain PATCH.
  const uriOf = (o: Obj) => (api as unknown as { specUriPath(o: Obj, a: string): Promise<string> }).specUriPath(o, 'patch');
  for (const o of objs) {
    if (o.kind === 'CustomResourceDefinition') continue; // installed for real below (dry-run CRs need their CRD)
    try {
      const uri = (await uriOf(o)).replace(/^https?:\/\/[^/]+/, '');
      await cp.request('PATCH', `${uri}?dryRun=All&fieldManager=linkpack-install-test&force=true&fieldValidation=Strict`, o, 'application/apply-patch+yaml');
    } catch (err) {
      problems.push(`${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

describe.skipIf(controlPlaneSkip !== undefined)('install on the real kube-apiserver (server-side dry-run)', () => {
  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
    api = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
    await cp.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }, SERVICE_MONITOR_CRD]);
    await cp.eventually(async () => {
      const crd = await cp.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', SERVICE_MONITOR_CRD.metadata.name);
      return (crd?.status?.conditions ?? []).some((c: Obj) => c.type === 'Established' && c.status === 'True');
    }, 'ServiceMonitor stand-in CRD Established');
  });
  afterAll(() => cp?.stop());

  it.skipIf(helmSkip !== undefined)('helm template with the default values and with each option: every object accepted', async () => {
    const failures: string[] = [];
    for (const [name, opts] of Object.entries(CHART_OPTION_SETS)) {
      const objs = render(opts);
      expect(objs.length, name).toBeGreaterThan(5);
      for (const p of await dryRun(objs)) failures.push(`[${name}] ${p}`);
    }
    expect(failures).toEqual([]);
  });

  it.skipIf(kustomizeSkip !== undefined)('every kustomization: every object accepted', async () => {
    const failures: string[] = [];
    for (const dir of kustomizations()) for (const p of await dryRun(kustomizeBuild(dir))) failures.push(`[${dir}] ${p}`);
    expect(failures).toEqual([]);
  });

  it('a dry-run really validates: a misspelled field and a bad value are refused, and nothing is created', async () => {
    const typo = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: NAMESPACE }, spec: { ports: [{ port: 80 }], selctor: { a: 'b' } } };
    const badValue = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'y', namespace: NAMESPACE }, spec: { type: 'ClusterIPP', ports: [{ port: 80 }] } };
    const problems = await dryRun([typo, badValue]);
    expect(problems[0]).toMatch(/selctor/);
    expect(problems[1]).toMatch(/ClusterIPP/);
    expect(await cp.get('v1', 'Service', 'linkpack-extender', NAMESPACE)).toBeUndefined();
  });
});
