/**
 * deploy/scheduler, deploy/rbac and deploy/examples are valid Kubernetes objects: every field is
 * checked against the real API types of @kubernetes/client-node (a typo is an unknown field),
 * references resolve (ServiceAccount, ConfigMap, volumes, selectors, named ports, roles), the
 * KubeSchedulerConfiguration uses exactly the v1 extender fields with verbs this server serves,
 * and RBAC grants what the extender calls.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { buildExtenderServer } from '../../src/extender/server.js';
import { parseClusterFile } from '../../src/cluster/static-file.js';
import { MemoryCluster, RecordingBinder } from './memory-cluster.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIRS = ['deploy/scheduler', 'deploy/scheduler-tls', 'deploy/rbac', 'deploy/examples'];

type Obj = Record<string, any>;
interface Doc {
  file: string;
  obj: Obj;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(f) ? [p] : [];
  });
}

const files = DIRS.flatMap((d) => yamlFiles(path.join(repoRoot, d)));
const docs: Doc[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return { file: path.relative(repoRoot, file), obj: d.toJS() as Obj };
    })
    .filter((d) => d.obj !== null),
);
/** Objects that go to the API server (kustomize patches are partial and are checked as patches). */
const isPatch = (d: Doc) => d.file.includes('scheduler-tls/') && d.obj.kind !== 'Kustomization';
const apiObjects = docs.filter((d) => !['Kustomization', 'KubeSchedulerConfiguration', 'GPUNode', 'MLTask'].includes(d.obj.kind) && !isPatch(d));

/** Field-by-field check against client-node's generated model types. */
function checkTyped(value: unknown, type: string, at: string, errs: string[]): void {
  if (value === null || value === undefined) return;
  const arr = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (arr) {
    if (!Array.isArray(value)) return void errs.push(`${at}: expected a list`);
    value.forEach((v, i) => checkTyped(v, arr[1]!, `${at}[${i}]`, errs));
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return void errs.push(`${at}: expected a map`);
    for (const [k, v] of Object.entries(value)) checkTyped(v, map[1]!, `${at}.${k}`, errs);
  } else if (type === 'string') {
    if (typeof value !== 'string') errs.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
  } else if (type === 'number') {
    if (typeof value !== 'number') errs.push(`${at}: expected a number, got ${JSON.stringify(value)}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') errs.push(`${at}: expected a boolean`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && typeof value !== 'number') errs.push(`${at}: expected an int or a string`);
  } else if (type === 'Date') {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) errs.push(`${at}: expected a date-time`);
  } else if (type === 'any' || type === 'object') {
    // free-form
  } else {
    const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; type: string }[] }>)[type];
    if (!model?.getAttributeTypeMap) return void errs.push(`${at}: no model ${type} in client-node`);
    if (typeof value !== 'object' || Array.isArray(value)) return void errs.push(`${at}: expected an object (${type})`);
    const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
      const t = attrs.get(k);
      if (!t) errs.push(`${at}.${k}: unknown field of ${type}`);
      else checkTyped(v, t, `${at}.${k}`, errs);
    }
  }
}

const find = (kind: string, name: string, namespace?: string) =>
  apiObjects.find((d) => d.obj.kind === kind && d.obj.metadata?.name === name && (namespace === undefined || d.obj.metadata?.namespace === namespace));

function schedulerConfigs(): { file: string; cfg: Obj }[] {
  const out: { file: string; cfg: Obj }[] = [];
  for (const d of docs) {
    if (d.obj.kind === 'KubeSchedulerConfiguration') out.push({ file: d.file, cfg: d.obj });
    if (d.obj.kind === 'ConfigMap' && typeof d.obj.data?.['config.yaml'] === 'string') out.push({ file: d.file, cfg: parseYaml(d.obj.data['config.yaml']) });
  }
  return out;
}

describe('deploy manifests', () => {
  it('found the manifests', () => {
    expect(apiObjects.length).toBeGreaterThan(10);
    expect(schedulerConfigs().length).toBe(3);
  });

  it.each(apiObjects.map((d) => [`${d.file} ${d.obj.kind}/${d.obj.metadata?.name}`, d] as const))('%s has only fields of its API type', (_n, d) => {
    const [group, version] = String(d.obj.apiVersion).includes('/') ? String(d.obj.apiVersion).split('/') : ['', String(d.obj.apiVersion)];
    expect(d.obj.metadata?.name, 'metadata.name').toBeTruthy();
    const model = `${version!.charAt(0).toUpperCase()}${version!.slice(1)}${d.obj.kind}`;
    expect(['', 'apps', 'rbac.authorization.k8s.io', 'resource.k8s.io']).toContain(group);
    const errs: string[] = [];
    checkTyped(d.obj, model, d.obj.kind, errs);
    expect(errs).toEqual([]);
  });

  it('references resolve: service accounts, config maps, volumes, selectors, named ports, roles', () => {
    const errs: string[] = [];
    for (const d of apiObjects.filter((x) => x.obj.kind === 'Deployment')) {
      const ns = d.obj.metadata.namespace;
      const tpl = d.obj.spec.template;
      for (const [k, v] of Object.entries(d.obj.spec.selector.matchLabels)) if (tpl.metadata.labels[k] !== v) errs.push(`${d.file}: selector ${k} does not match the template`);
      if (!find('ServiceAccount', tpl.spec.serviceAccountName, ns)) errs.push(`${d.file}: no ServiceAccount ${tpl.spec.serviceAccountName}`);
      const volumes = new Map((tpl.spec.volumes ?? []).map((v: Obj) => [v.name, v]));
      for (const v of volumes.values() as Iterable<Obj>) if (v.configMap && !find('ConfigMap', v.configMap.name, ns)) errs.push(`${d.file}: no ConfigMap ${v.configMap.name}`);
      for (const c of tpl.spec.containers) {
        if (!c.name || !c.image) errs.push(`${d.file}: container without name or image`);
        for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) errs.push(`${d.file}: ${c.name} mounts unknown volume ${m.name}`);
        const ports = new Set((c.ports ?? []).map((p: Obj) => p.name));
        for (const probe of [c.livenessProbe, c.readinessProbe]) {
          const port = probe?.httpGet?.port;
          if (typeof port === 'string' && !ports.has(port)) errs.push(`${d.file}: ${c.name} probe uses unknown port ${port}`);
        }
      }
    }
    for (const s of apiObjects.filter((x) => x.obj.kind === 'Service')) {
      const target = apiObjects.find(
        (d) => d.obj.kind === 'Deployment' && d.obj.metadata.namespace === s.obj.metadata.namespace && Object.entries(s.obj.spec.selector).every(([k, v]) => d.obj.spec.template.metadata.labels[k] === v),
      );
      if (!target) errs.push(`${s.file}: Service ${s.obj.metadata.name} selects no Deployment`);
      const named = new Set(target?.obj.spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => p.name)));
      for (const p of s.obj.spec.ports) if (typeof p.targetPort === 'string' && !named.has(p.targetPort)) errs.push(`${s.file}: targetPort ${p.targetPort} is not a container port`);
    }
    for (const b of apiObjects.filter((x) => x.obj.kind === 'ClusterRoleBinding' || x.obj.kind === 'RoleBinding')) {
      const ref = b.obj.roleRef;
      const builtIn = ref.name.startsWith('system:') || ref.name === 'extension-apiserver-authentication-reader';
      if (!builtIn && !find(ref.kind, ref.name)) errs.push(`${b.file}: ${b.obj.kind} ${b.obj.metadata.name} refers to missing ${ref.kind} ${ref.name}`);
      for (const s of b.obj.subjects) if (!find('ServiceAccount', s.name, s.namespace)) errs.push(`${b.file}: subject ServiceAccount ${s.namespace}/${s.name} is not defined`);
    }
    expect(errs).toEqual([]);
  });

  it('kustomizations only name files inside their root or bases with a kustomization', () => {
    for (const d of docs.filter((x) => x.obj.kind === 'Kustomization')) {
      const dir = path.dirname(path.join(repoRoot, d.file));
      const entries = [...(d.obj.resources ?? []), ...(d.obj.patches ?? []).map((p: Obj) => p.path)];
      for (const e of entries) {
        const p = path.resolve(dir, e);
        expect(existsSync(p), `${d.file}: ${e}`).toBe(true);
        if (statSync(p).isDirectory()) expect(existsSync(path.join(p, 'kustomization.yaml')), `${d.file}: ${e} is a base`).toBe(true);
        else expect(p.startsWith(dir + path.sep), `${d.file}: ${e} is outside the kustomization root`).toBe(true);
      }
    }
  });

  it('KubeSchedulerConfiguration: v1 extender fields only, verbs this server serves, port of the sidecar', async () => {
    const app = buildExtenderServer({ cluster: new MemoryCluster(), binder: new RecordingBinder() });
    await app.ready();
    const allowed = new Set(['urlPrefix', 'filterVerb', 'preemptVerb', 'prioritizeVerb', 'weight', 'bindVerb', 'enableHTTPS', 'tlsConfig', 'httpTimeout', 'nodeCacheCapable', 'managedResources', 'ignorable']);
    const tlsAllowed = new Set(['insecure', 'serverName', 'certFile', 'keyFile', 'caFile', 'certData', 'keyData', 'caData']);
    const sidecar = find('Deployment', 'linkpack-scheduler', 'linkpack-system')!.obj.spec.template.spec.containers.find((c: Obj) => c.name === 'extender');
    const sidecarPort = sidecar.args.find((a: string) => a.startsWith('--port=')).split('=')[1];
    for (const { file, cfg } of schedulerConfigs()) {
      expect(cfg.apiVersion, file).toBe('kubescheduler.config.k8s.io/v1');
      expect(cfg.extenders, file).toHaveLength(1);
      const e = cfg.extenders[0];
      for (const k of Object.keys(e)) expect(allowed.has(k), `${file}: extender field ${k}`).toBe(true);
      for (const k of Object.keys(e.tlsConfig ?? {})) expect(tlsAllowed.has(k), `${file}: tlsConfig.${k}`).toBe(true);
      for (const verb of [e.filterVerb, e.prioritizeVerb, e.bindVerb, e.preemptVerb]) expect(app.hasRoute({ method: 'POST', url: `/${verb}` }), `${file}: verb ${verb}`).toBe(true);
      expect(Number.isInteger(e.weight) && e.weight > 0).toBe(true);
      expect(e.nodeCacheCapable).toBe(true);
      // The default scheduler asks the extender only about GPU pods; linkpack-scheduler about all of its pods.
      if (file.includes('default-scheduler')) expect(e.managedResources).toEqual([{ name: 'nvidia.com/gpu', ignoredByScheduler: false }]);
      else expect(e.managedResources, file).toBeUndefined();
      expect(e.httpTimeout).toMatch(/^\d+(ms|s|m)$/);
      const url = new URL(e.urlPrefix);
      expect(url.protocol === 'https:', `${file}: https scheme iff enableHTTPS`).toBe(e.enableHTTPS === true);
      if (!file.includes('default-scheduler')) {
        expect(url.hostname).toBe('127.0.0.1');
        expect(url.port).toBe(sidecarPort);
        expect(cfg.profiles.map((p: Obj) => p.schedulerName)).toEqual(['linkpack-scheduler']);
        // The leader-election lease is one the Role lets it update.
        const role = find('Role', 'linkpack-scheduler-leader-election', cfg.leaderElection.resourceNamespace)!.obj;
        expect(role.rules.some((r: Obj) => r.resourceNames?.includes(cfg.leaderElection.resourceName) && r.verbs.includes('update'))).toBe(true);
      }
    }
    await app.close();
  });

  it('RBAC grants the extender exactly what it calls', () => {
    const role = find('ClusterRole', 'linkpack-extender')!.obj;
    const can = (group: string, resource: string, verb: string) =>
      role.rules.some((r: Obj) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const v of ['get', 'list', 'watch', 'patch']) expect(can('', 'pods', v), `pods ${v}`).toBe(true);
    expect(can('', 'pods/binding', 'create')).toBe(true);
    expect(can('', 'events', 'create')).toBe(true);
    for (const v of ['list', 'watch']) expect(can('linkpack.io', 'gpunodes', v), `gpunodes ${v}`).toBe(true);
    // The Node feed (CPU/memory view): without it the extender never becomes ready (test/rbac checks it on the real server).
    for (const v of ['list', 'watch']) expect(can('', 'nodes', v), `nodes ${v}`).toBe(true);
    // Least privilege: no wildcards, no writes beyond those.
    for (const r of role.rules) {
      expect(r.verbs).not.toContain('*');
      expect(r.resources).not.toContain('*');
      for (const v of r.verbs) expect(['get', 'list', 'watch', 'patch', 'create']).toContain(v);
    }
    expect(can('linkpack.io', 'gpunodes', 'patch')).toBe(false);
    expect(can('', 'pods', 'delete')).toBe(false);
  });

  it('the example cluster file loads', () => {
    const c = parseClusterFile(readFileSync(path.join(repoRoot, 'deploy/examples/cluster.yaml'), 'utf8'), 'cluster.yaml');
    expect(c.gpuNodes.length).toBe(4);
    expect(c.nodes.length).toBe(4);
    expect(c.pods.length).toBe(3);
  });
});
