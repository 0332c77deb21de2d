/**
 * Least privilege, checked by the real kube-apiserver: the RBAC that the chart (rendered by the
 * real helm) and kustomize ship, applied with their ServiceAccounts, then each component acting
 * with its own account's token (TokenRequest; the agent's bound to its Node, as a pod's is).
 *
 * For each install:
 * - every request a component's code makes (test/rbac/needs.ts) is allowed to its account, and a
 *   few it has no business with are refused (SelfSubjectAccessReview with the account's token);
 * - every verb of every shipped Role/ClusterRole is needed: with that verb removed, some request
 *   of the components bound to the role is denied (a probe user bound to that role alone, so
 *   another role granting the same thing hides nothing); every shipped binding likewise;
 * - the agent writes its own GPUNode with the real publisher (a Node-bound and a Pod-bound
 *   token), and the shipped ValidatingAdmissionPolicy refuses it another node's.
 * And real components under their accounts with their shipped args: the extender alone
 * (default-scheduler mode) becomes ready and binds; kube-scheduler with the shipped configuration
 * (leader election on) plus the extender schedule a GPU pod, and kube-scheduler logs no
 * "forbidden"; the MLTask controller holds its Lease and creates a task's Job and Service.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { controlPlaneSkip, freePort, kubeBinary, schedulerConfigFor, startControlPlane, type ControlPlane, type KObj } from '../support/control-plane.js';
import { tokenKubeconfig, writeServiceAccountKubeconfig } from '../../src/playground/service-account.js';
import { presetGpuNodeJson } from '../../src/playground/preset-gpunode.js';
import { kubeJson } from '../../src/kube/request.js';
import { GpuNodePublisher } from '../../src/agent/publisher.js';
import { resourceSliceObject } from '../../src/agent/resourceslice.js';
import { SlicePublisher } from '../../src/agent/slice-publisher.js';
import { getPreset } from '../../src/topology/index.js';
import { kubeconfigTarget, kubeRest } from '../../src/agent/kube-rest.js';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';
import { controllerOptions, registerControllerCommand, type ControllerCommandOptions } from '../../src/mltask/controller-command.js';
import { MLTaskController } from '../../src/mltask/controller.js';
import { extenderOptions, keepGpuNodeHeartbeats, shippedExtenderArgs } from '../support/scheduling.js';
import { CHART, helmBin, kustomizeBin, kustomizeBuild } from '../ux/install-tools.js';
import { accessText, needs, refusals, viewerNeeds, viewerRefusals, WORK_NS, type Access, type Component, type InstallNames } from './needs.js';

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
/** Which component each shipped container is. */
const CONTAINER_COMPONENT: Record<string, Component> = {
  extender: 'extender',
  'kube-scheduler': 'kube-scheduler',
  agent: 'agent',
  'device-plugin': 'device-plugin',
  controller: 'controller',
};

interface InstallSpec {
  label: string;
  render(): KObj[];
}

interface Install {
  label: string;
  names: InstallNames;
  objects: KObj[];
  /** Component → its ServiceAccount (from the shipped workloads' serviceAccountName). */
  accounts: Partial<Record<Component, string>>;
  /** Component → a kubeconfig acting as its account. */
  kubeconfigs: Partial<Record<Component, string>>;
  /** The shipped extender container's args; the scheduler's KubeSchedulerConfiguration (second profile). */
  extenderArgs: string[];
  controllerArgs: string[];
  schedulerConfig?: string;
}

function helmTemplate(release: string, namespace: string, set: string[]): KObj[] {
  // Found by test/ux/install-tools.ts (built by test/kube/build.mjs with the control plane): missing is a failure here.
  if (!helmBin) throw new Error('helm is not built: run `node test/kube/build.mjs` (it builds helm with the Kubernetes binaries)');
  const r = spawnSync(helmBin, ['template', release, CHART, '--namespace', namespace, ...set.flatMap((s) => ['--set', s])], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`helm template ${release}: ${r.stderr}`);
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, ...parseAllDocuments(r.stdout).map((d) => d.toJS() as KObj).filter((o) => o?.kind)];
}

const SPECS: InstallSpec[] = [
  // Release names other than "linkpack" keep the three installs' cluster-scoped names apart.
  { label: 'chart', render: () => helmTemplate('lp', 'lp-system', []) },
  // DRA on here (the agent's --dra and its ResourceSlice rules), off in the default chart install.
  { label: 'chart-default-scheduler', render: () => helmTemplate('lpd', 'lpd-system', ['scheduler.mode=default-scheduler', 'dra.enabled=true']) },
  {
    label: 'kustomize',
    render: () => {
      if (!kustomizeBin) throw new Error('kustomize is not built: run `node test/kube/build.mjs` (it builds kustomize with the Kubernetes binaries)');
      // deploy/dra is daemonset/ with the agent's --dra, its ResourceSlice rules and the DeviceClass.
      return ['deploy/scheduler', 'deploy/dra', 'deploy/controller'].flatMap((d) => kustomizeBuild(d));
    },
  },
];

function prepare(label: string, all: KObj[]): Omit<Install, 'kubeconfigs'> {
  const accounts: Partial<Record<Component, string>> = {};
  let extenderArgs: string[] = [];
  let controllerArgs: string[] = [];
  let dra = false;
  let controllerLease = 'linkpack-controller'; // the controller's --lease-name default (src/mltask/controller-command.ts)
  for (const w of all.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')) {
    for (const c of w.spec.template.spec.containers as KObj[]) {
      const comp = CONTAINER_COMPONENT[c.name];
      if (!comp) continue;
      accounts[comp] = w.spec.template.spec.serviceAccountName;
      if (comp === 'extender') extenderArgs = (c.args as string[]).filter((a) => a !== 'extender');
      if (comp === 'controller') controllerArgs = (c.args as string[]).filter((a) => a !== 'controller');
      if (comp === 'agent') dra = ((c.args ?? []) as string[]).includes('--dra');
      const lease = ((c.args ?? []) as string[]).find((a) => a.startsWith('--lease-name='));
      if (comp === 'controller' && lease) controllerLease = lease.split('=')[1]!;
    }
  }
  const cm = all.find((o) => o.kind === 'ConfigMap' && typeof o.data?.['config.yaml'] === 'string' && o.data['config.yaml'].includes('KubeSchedulerConfiguration'));
  const schedulerConfig: string | undefined = accounts['kube-scheduler'] ? cm?.data['config.yaml'] : undefined;
  const namespace = all.find((o) => o.kind === 'ServiceAccount')!.metadata.namespace as string;
  const schedulerLease = schedulerConfig ? (parseYaml(schedulerConfig).leaderElection.resourceName as string) : '';
  const svc = all.find((o) => o.kind === 'Service' && String(o.metadata.name).endsWith('-extender'))!;
  const extenderProxy = `http:${svc.metadata.name}:${svc.spec.ports[0].port}`;
  return {
    label,
    names: { namespace, schedulerLease, controllerLease, node: `${label}-a`, dra, extenderProxy },
    objects: all.filter((o) => RBAC_KINDS.has(o.kind)),
    accounts,
    extenderArgs,
    controllerArgs,
    ...(schedulerConfig ? { schedulerConfig } : {}),
  };
}

let cp: ControlPlane;
let dir: string;
const installs = new Map<string, Install>();
const procs: ChildProcess[] = [];
const extenders: RunningExtender[] = [];
let stopHeartbeats = () => {};

const kubeconfigOf = (file: string) => {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
};
const attrs = (a: Access) => ({ verb: a.verb, group: a.group, resource: a.resource, ...(a.subresource ? { subresource: a.subresource } : {}), ...(a.namespace ? { namespace: a.namespace } : {}), ...(a.name ? { name: a.name } : {}) });

/** Whether the account behind a kubeconfig may do `a` (SelfSubjectAccessReview with its own token). */
async function selfAllowed(kubeconfig: string, a: Access): Promise<boolean> {
  const r = (await kubeJson(kubeconfigOf(kubeconfig), 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: attrs(a) },
  })) as KObj;
  return r.status?.allowed === true;
}

/** Whether `user` (with `groups`) may do `a` (SubjectAccessReview, asked by the admin). */
async function allowed(user: string, groups: string[], a: Access): Promise<boolean> {
  const r = await cp.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user, groups, resourceAttributes: attrs(a) },
  });
  return r.status?.allowed === true;
}

const saUser = (ns: string, sa: string) => `system:serviceaccount:${ns}:${sa}`;
const saGroups = (ns: string) => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];

/** Polls until `done()` (RBAC changes reach the authorizer through its informers, within ms here). */
async function until(done: () => Promise<boolean>, timeoutMs = 8000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Components whose account a binding's subjects are. */
function componentsOf(inst: Install, subjects: KObj[]): Component[] {
  const out: Component[] = [];
  for (const s of subjects ?? []) {
    if (s.kind !== 'ServiceAccount' || s.namespace !== inst.names.namespace) continue;
    for (const [c, sa] of Object.entries(inst.accounts)) if (sa === s.name) out.push(c as Component);
  }
  return out;
}

/** The shipped role for people running kubectl linkpack (aggregated to the built-in view). */
const isViewerRole = (o: KObj) => o.kind === 'ClusterRole' && o.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view'] === 'true';

const bindingsOf = (inst: Install, role: KObj) =>
  inst.objects.filter((b) => (b.kind === 'ClusterRoleBinding' || b.kind === 'RoleBinding') && b.roleRef.kind === role.kind && b.roleRef.name === role.metadata.name && (role.kind === 'ClusterRole' || b.metadata.namespace === role.metadata.namespace));

describe.skipIf(controlPlaneSkip !== undefined)('shipped RBAC on the real kube-apiserver', () => {
  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-rbac-'));
    await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: WORK_NS } });
    for (const spec of SPECS) {
      const p = prepare(spec.label, spec.render());
      await cp.apply(p.objects);
      await cp.createFakeNode(`${spec.label}-a`, { gpus: 8 });
      await cp.createGpuNode(`${spec.label}-b`, 'dgx1-v100');
      const kubeconfigs: Partial<Record<Component, string>> = {};
      for (const [c, sa] of Object.entries(p.accounts) as [Component, string][]) {
        // The DaemonSet's containers get a token bound to their pod, which names its node; a Node-bound token carries the same.
        const node = c === 'agent' || c === 'device-plugin' ? p.names.node : undefined;
        kubeconfigs[c] = await writeServiceAccountKubeconfig(cp, path.join(dir, `${spec.label}-${c}.kubeconfig`), p.names.namespace, sa, node ? { node } : {});
      }
      installs.set(spec.label, { ...p, kubeconfigs });
    }
    // The extenders below run with the shipped --heartbeat-timeout; these nodes have no agent.
    stopHeartbeats = keepGpuNodeHeartbeats(cp);
  });
  afterAll(async () => {
    stopHeartbeats();
    for (const e of extenders) await e.close().catch(() => {});
    for (const p of procs) p.kill('SIGKILL');
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each install ships an account for every component it runs', () => {
    expect(Object.keys(installs.get('chart')!.accounts).sort()).toEqual(['agent', 'controller', 'device-plugin', 'extender', 'kube-scheduler']);
    expect(Object.keys(installs.get('chart-default-scheduler')!.accounts).sort()).toEqual(['agent', 'controller', 'device-plugin', 'extender']);
    expect(Object.keys(installs.get('kustomize')!.accounts).sort()).toEqual(['agent', 'controller', 'device-plugin', 'extender', 'kube-scheduler']);
  });

  it('the chart and kustomize run the extender with the same options, those the e2e suites run (test/support/scheduling.ts)', () => {
    const opts = (label: string) => extenderOptions(installs.get(label)!.extenderArgs);
    expect(opts('chart')).toEqual(opts('kustomize'));
    expect(extenderOptions(shippedExtenderArgs())).toEqual(opts('kustomize'));
    // Default-scheduler mode differs only in accepting verbs from the network.
    expect(opts('chart-default-scheduler')).toEqual({ ...opts('chart'), remoteVerbs: true });
  });

  for (const { label } of SPECS) {
    describe(label, () => {
      const inst = () => installs.get(label)!;

      it("every component's account may make each request its code makes, and is refused the others", async () => {
        const wrong: string[] = [];
        for (const [c, file] of Object.entries(inst().kubeconfigs) as [Component, string][]) {
          for (const n of needs(c, inst().names)) if (!(await selfAllowed(file, n))) wrong.push(`${c} (${inst().accounts[c]}) may not ${accessText(n)}: needed by ${n.why}`);
          // Containers of one pod share its account: the extender sidecar may do what kube-scheduler beside it must (delete preemption victims).
          const mates = (Object.keys(inst().accounts) as Component[]).filter((o) => o !== c && inst().accounts[o] === inst().accounts[c]);
          const neededByMate = (r: Access) => mates.some((m) => needs(m, inst().names).some((n) => n.verb === r.verb && n.group === r.group && n.resource === r.resource && n.subresource === r.subresource));
          for (const r of refusals(c, inst().names)) if (!neededByMate(r) && (await selfAllowed(file, r))) wrong.push(`${c} (${inst().accounts[c]}) may ${accessText(r)}, which it must not`);
        }
        expect(wrong).toEqual([]);
      });

      it('removing any verb of any shipped Role/ClusterRole, or any binding, denies a request a component needs', async () => {
        const unneeded: string[] = [];
        const roles = inst().objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
        expect(roles.length).toBeGreaterThan(2);
        for (const role of roles) {
          // A role for people (aggregated to view) is bound to no component: its needs are kubectl linkpack's.
          const forPeople = isViewerRole(role);
          const comps = bindingsOf(inst(), role).flatMap((b) => componentsOf(inst(), b.subjects));
          const where = `${role.kind} ${role.metadata.name}`;
          if (!comps.length && !forPeople) {
            unneeded.push(`${where}: bound to no linkpack component`);
            continue;
          }
          // A probe user bound to this role alone: what the role itself grants.
          const probe = `linkpack-probe:${label}:${role.metadata.name}`;
          const bindingKind = role.kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding';
          const probeBinding = {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: bindingKind,
            metadata: { name: `probe-${role.metadata.name}`, ...(role.kind === 'Role' ? { namespace: role.metadata.namespace } : {}) },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: role.kind, name: role.metadata.name },
            subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: probe }],
          };
          await cp.apply(probeBinding);
          const candidates = forPeople ? viewerNeeds(inst().names) : comps.flatMap((c) => needs(c, inst().names));
          const who = forPeople ? 'kubectl linkpack' : comps.join(', ');
          let granted: Access[] = [];
          await until(async () => {
            granted = [];
            for (const n of candidates) if (await allowed(probe, [], n)) granted.push(n);
            return granted.length > 0;
          });
          if (!granted.length) unneeded.push(`${where}: grants nothing ${who} needs`);
          for (const [i, rule] of (role.rules as KObj[]).entries()) {
            for (const verb of rule.verbs as string[]) {
              const cut = structuredClone(role);
              cut.rules[i].verbs = rule.verbs.filter((v: string) => v !== verb);
              if (!cut.rules[i].verbs.length) cut.rules.splice(i, 1);
              await cp.apply(cut);
              const denied = await until(async () => (await Promise.all(granted.map((n) => allowed(probe, [], n)))).some((ok) => !ok));
              if (!denied) unneeded.push(`${where} rule ${JSON.stringify({ apiGroups: rule.apiGroups, resources: rule.resources, resourceNames: rule.resourceNames })} verb ${verb}: no request of ${who} needs it (test/rbac/needs.ts)`);
              await cp.apply(role);
              const back = await until(async () => (await Promise.all(granted.map((n) => allowed(probe, [], n)))).every(Boolean));
              if (!back) throw new Error(`${where} restored, but the probe is still denied after 8 s`);
            }
          }
          await cp.request('DELETE', `${await cp.collectionPath('rbac.authorization.k8s.io/v1', bindingKind, role.metadata.namespace)}/${probeBinding.metadata.name}`);
        }
        // Every binding (to our roles and to the built-in system:kube-scheduler, system:volume-scheduler, authentication reader).
        for (const b of inst().objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
          const comps = componentsOf(inst(), b.subjects);
          if (!comps.length) {
            unneeded.push(`${b.kind} ${b.metadata.name}: binds no linkpack component's account`);
            continue;
          }
          const sa = inst().accounts[comps[0]!]!;
          const who = [saUser(inst().names.namespace, sa), saGroups(inst().names.namespace)] as const;
          const need = comps.flatMap((c) => needs(c, inst().names));
          const item = `${await cp.collectionPath('rbac.authorization.k8s.io/v1', b.kind, b.metadata.namespace)}/${b.metadata.name}`;
          await cp.request('DELETE', item);
          const denied = await until(async () => (await Promise.all(need.map((n) => allowed(...who, n)))).some((ok) => !ok));
          if (!denied) unneeded.push(`${b.kind} ${b.metadata.name} (→ ${b.roleRef.name}): nothing ${comps.join(', ')} needs depends on it`);
          await cp.apply(b);
          if (!(await until(async () => (await Promise.all(need.map((n) => allowed(...who, n)))).every(Boolean)))) throw new Error(`${b.metadata.name} restored, but ${sa} is still denied`);
        }
        expect(unneeded).toEqual([]);
      }, 300_000);

      it('a person with the viewer role alone may GET the extender through the service proxy, and nothing else', async () => {
        const roles = inst().objects.filter(isViewerRole);
        expect(roles.map((r) => r.metadata.labels['rbac.authorization.k8s.io/aggregate-to-view'])).toEqual(['true']);
        const person = `linkpack-person:${label}`;
        await cp.apply({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: `person-${label}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roles[0]!.metadata.name },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: person }],
        });
        const wrong: string[] = [];
        expect(await until(async () => allowed(person, [], viewerNeeds(inst().names)[0]!))).toBe(true);
        for (const n of viewerNeeds(inst().names)) if (!(await allowed(person, [], n))) wrong.push(`may not ${accessText(n)}: needed by ${n.why}`);
        for (const r of viewerRefusals(inst().names)) if (await allowed(person, [], r)) wrong.push(`may ${accessText(r)}, which it must not`);
        expect(wrong).toEqual([]);
      });

      it("the agent (its pod's token, or one bound to its Node) writes its own node's GPUNode; the admission policy refuses it another node's", async () => {
        const kubeconfig = inst().kubeconfigs.agent!;
        const own = inst().names.node;
        const other = `${label}-b`;
        const publisher = (nodeName: string, file = kubeconfig) => new GpuNodePublisher({ api: kubeRest(kubeconfigTarget(file)), nodeName });
        const mine = publisher(own);
        mine.update(presetGpuNodeJson(own, 'dgx1-v100').status);
        expect(await mine.syncOnce()).toBe('written');
        expect((await cp.get('linkpack.io/v1alpha1', 'GPUNode', own))?.status?.gpus).toHaveLength(8);
        // Another node's GPUNode: its status (it exists), and creating one (it does not).
        const theirs = publisher(other);
        theirs.update(presetGpuNodeJson(other, 'hgx-h100').status);
        await expect(theirs.syncOnce()).rejects.toThrow(new RegExp(`agent-own-gpunode.*the linkpack agent on node ${own} may write only GPUNode ${own}, not ${other}`));
        const fresh = `${label}-c`;
        await cp.createFakeNode(fresh);
        const creator = publisher(fresh);
        creator.update(presetGpuNodeJson(fresh, 'dgx1-v100').status);
        await expect(creator.syncOnce()).rejects.toThrow(new RegExp(`not ${fresh}`));
        expect(await cp.get('linkpack.io/v1alpha1', 'GPUNode', fresh)).toBeUndefined();
        // The DaemonSet pod's own token (bound to a Pod on that node) names the node as well.
        const sa = inst().accounts.agent!;
        const [pod] = await cp.apply({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `agent-on-${own}`, namespace: inst().names.namespace },
          spec: { nodeName: own, serviceAccountName: sa, containers: [{ name: 'agent', image: 'linkpack' }] },
        });
        const tr = await cp.request('POST', `/api/v1/namespaces/${inst().names.namespace}/serviceaccounts/${sa}/token`, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod!.metadata.name, uid: pod!.metadata.uid } },
        });
        const podFile = path.join(dir, `${label}-agent-pod.kubeconfig`);
        writeFileSync(podFile, tokenKubeconfig(cp.server, cp.caPem, saUser(inst().names.namespace, sa), tr.status.token));
        const fromPod = publisher(own, podFile);
        fromPod.update(presetGpuNodeJson(own, 'hgx-h100').status);
        expect(await fromPod.syncOnce()).toBe('written');
        const podTheirs = publisher(other, podFile);
        podTheirs.update(presetGpuNodeJson(other, 'hgx-h100').status);
        await expect(podTheirs.syncOnce()).rejects.toThrow(new RegExp(`on node ${own} may write only GPUNode ${own}, not ${other}`));
        // A token that names no node (not a pod's) writes nothing, not even "its own".
        const unbound = await writeServiceAccountKubeconfig(cp, path.join(dir, `${label}-agent-unbound.kubeconfig`), inst().names.namespace, inst().accounts.agent!);
        const anon = publisher(own, unbound);
        anon.update(presetGpuNodeJson(own, 'dgx1-v100').status);
        await expect(anon.syncOnce()).rejects.toThrow(/its token names no node/);
        // The admin (and every other account) is not the agent: the policy leaves it alone.
        await cp.writeStatus((await cp.get('linkpack.io/v1alpha1', 'GPUNode', other))!, presetGpuNodeJson(other, 'dgx1-v100').status);
      });

      it("with DRA on, the agent writes its own node's ResourceSlice and the admission policy refuses it any other; with DRA off, RBAC refuses it any", async () => {
        const own = inst().names.node;
        const other = `${label}-b`;
        const slices = (nodeName: string, file = inst().kubeconfigs.agent!) => new SlicePublisher({ api: kubeRest(kubeconfigTarget(file)), nodeName });
        const ownSlice = resourceSliceObject(own, getPreset('dgx1-v100')!);
        if (!inst().names.dra) {
          await expect(slices(own).publish(ownSlice)).rejects.toThrow(/forbidden/i);
          return;
        }
        expect(await slices(own).publish(ownSlice)).toBe('created');
        expect((await cp.get('resource.k8s.io/v1', 'ResourceSlice', ownSlice.metadata.name))?.spec.nodeName).toBe(own);
        const refused = new RegExp(`agent-own-resourceslice.*on node ${own} may write only gpu.linkpack.io ResourceSlices of node ${own}`);
        await expect(slices(other).publish(resourceSliceObject(other, getPreset('hgx-h100')!))).rejects.toThrow(refused);
        // Another driver's slice on its own node: refused as well (spec.nodeName is immutable, so a slice cannot be moved).
        const foreign = resourceSliceObject(own, getPreset('hgx-h100')!);
        foreign.metadata.name = `${own}-example.com`;
        foreign.spec.driver = 'example.com';
        await expect(slices(own).publish(foreign)).rejects.toThrow(refused);
        const unbound = await writeServiceAccountKubeconfig(cp, path.join(dir, `${label}-agent-unbound-dra.kubeconfig`), inst().names.namespace, inst().accounts.agent!);
        await expect(slices(own, unbound).publish(resourceSliceObject(own, getPreset('hgx-h100')!))).rejects.toThrow(/its token names no node/);
      });
    });
  }

  it('chart, default-scheduler mode: the extender alone under its account (shipped args) becomes ready and binds a pod', async () => {
    const inst = installs.get('chart-default-scheduler')!;
    const ext = await shippedExtender(inst);
    const pod = await gpuPod('lone', 'linkpack-scheduler');
    // As kube-scheduler calls it; retried until the extender's pod feed has seen the new pod.
    let answer: KObj = {};
    await cp.eventually(async () => {
      const res = await fetch(`${ext.address}/bind`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ PodName: pod.metadata.name, PodNamespace: WORK_NS, PodUID: pod.metadata.uid, Node: `${inst.label}-b` }),
      });
      answer = (await res.json()) as KObj;
      return !answer.Error;
    }, 'the extender binds the pod', 20_000).catch((err: Error) => {
      throw new Error(`${err.message}; last answer ${JSON.stringify(answer)}`);
    });
    const bound = (await cp.get('v1', 'Pod', pod.metadata.name, WORK_NS))!;
    expect(bound.spec.nodeName).toBe(`${inst.label}-b`);
    expect(bound.metadata.annotations['linkpack.io/assigned-gpus']).toBeTruthy();
    const events = await cp.list('v1', 'Event', WORK_NS);
    expect(events.some((e) => e.involvedObject.name === pod.metadata.name && e.reason === 'LinkpackPlaced')).toBe(true);
  });

  it('chart: kube-scheduler (shipped configuration, leader election on) and the extender, each under the shipped account, schedule a GPU pod', async () => {
    const inst = installs.get('chart')!;
    const ext = await shippedExtender(inst);
    const shipped = parseYaml(inst.schedulerConfig!) as KObj;
    const cfg = JSON.parse(schedulerConfigFor(inst.schedulerConfig!, inst.kubeconfigs['kube-scheduler']!, ext.address)) as KObj;
    cfg.leaderElection = shipped.leaderElection; // as shipped: the Lease is part of what its RBAC must allow
    const cfgFile = path.join(dir, 'scheduler-config.json');
    writeFileSync(cfgFile, JSON.stringify(cfg));
    const log = path.join(dir, 'kube-scheduler.log');
    const fd = openSync(log, 'a');
    const sa = inst.kubeconfigs['kube-scheduler']!;
    procs.push(
      spawn(kubeBinary('kube-scheduler'), [`--config=${cfgFile}`, `--authentication-kubeconfig=${sa}`, `--authorization-kubeconfig=${sa}`, `--secure-port=${await freePort()}`, '--bind-address=127.0.0.1', '--v=2'], { stdio: ['ignore', fd, fd] }),
    );
    closeSync(fd);
    const lease = shipped.leaderElection;
    await cp.eventually(async () => !!(await cp.get('coordination.k8s.io/v1', 'Lease', lease.resourceName, lease.resourceNamespace))?.spec?.holderIdentity, `kube-scheduler holds Lease ${lease.resourceNamespace}/${lease.resourceName}`);
    const pod = await gpuPod('trainer', shipped.profiles[0].schedulerName);
    await cp.eventually(async () => !!(await cp.get('v1', 'Pod', pod.metadata.name, WORK_NS))?.spec?.nodeName, 'the GPU pod bound', 60_000);
    const bound = (await cp.get('v1', 'Pod', pod.metadata.name, WORK_NS))!;
    expect(bound.metadata.annotations['linkpack.io/assigned-gpus']).toBeTruthy();
    const forbidden = readFileSync(log, 'utf8').split('\n').filter((l) => /forbidden/i.test(l));
    expect(forbidden).toEqual([]);
  });

  it('kustomize: the MLTask controller under its account (shipped args, leader election on) creates a task\'s Job and Service and writes its status', async () => {
    const inst = installs.get('kustomize')!;
    const warnings: string[] = [];
    const opts = controllerOptions({ ...controllerCommandOptions(inst.controllerArgs), identity: 'rbac-e2e' }, kubeconfigOf(inst.kubeconfigs.controller!));
    expect(opts.leaderElection).toMatchObject({ namespace: inst.names.namespace, name: inst.names.controllerLease });
    const controller = new MLTaskController({ ...opts, log: (level, m) => void (level === 'warn' && warnings.push(m)) });
    await controller.start();
    try {
      await cp.apply({
        apiVersion: 'linkpack.io/v1alpha1',
        kind: 'MLTask',
        metadata: { name: 'train', namespace: WORK_NS },
        spec: { image: 'trainer', trainingData: { uri: 's3://data/x' }, modelOutput: { uri: 's3://models/x' }, parallelism: 1, resources: { gpus: 1 } },
      });
      await cp.eventually(async () => (await cp.get('coordination.k8s.io/v1', 'Lease', inst.names.controllerLease, inst.names.namespace))?.spec?.holderIdentity === 'rbac-e2e', 'the controller holds its Lease');
      await cp.eventually(async () => (await cp.list('batch/v1', 'Job', WORK_NS)).some((j) => j.metadata.labels?.['linkpack.io/mltask'] === 'train'), "the task's Job");
      await cp.eventually(async () => !!(await cp.get('v1', 'Service', 'train', WORK_NS)), "the task's headless Service");
      await cp.eventually(async () => !!(await cp.get('linkpack.io/v1alpha1', 'MLTask', 'train', WORK_NS))?.status?.phase, "the task's status");
    } finally {
      await controller.stop();
    }
    expect(warnings.filter((w) => /forbidden/i.test(w))).toEqual([]);
  });
});

/** `linkpack controller <args>` as the real command definition parses them, without starting it. */
function controllerCommandOptions(args: string[]): ControllerCommandOptions {
  let seen: ControllerCommandOptions | undefined;
  const program = new Command().exitOverride();
  registerControllerCommand(program);
  program.commands.find((c) => c.name() === 'controller')!.action((o: ControllerCommandOptions) => void (seen = o));
  program.parse(['node', 'linkpack', 'controller', ...args]);
  return seen!;
}

/** The extender as its shipped container runs it (its args through the real command definition), on a free loopback port with its account's kubeconfig. */
async function shippedExtender(inst: Install): Promise<RunningExtender> {
  // TLS off: these runs talk plain HTTP on loopback; the TLS args are the overlays' business (test/ux).
  const args = inst.extenderArgs.filter((a) => !a.startsWith('--tls-'));
  const ext = await runExtender(extenderOptions([...args, '--host=127.0.0.1', `--port=${await freePort()}`, `--kubeconfig=${inst.kubeconfigs.extender}`, '--log-level=silent']));
  extenders.push(ext);
  await cp.eventually(async () => (await fetch(`${ext.address}/readyz`)).status === 200, `extender (${inst.label}, account ${inst.accounts.extender}) ready: its feeds listed pods, nodes and GPUNodes`, 30_000);
  return ext;
}

async function gpuPod(name: string, schedulerName: string): Promise<KObj> {
  const [pod] = await cp.apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: WORK_NS },
    spec: {
      schedulerName,
      // The fake nodes have no kubelet: they keep the not-ready taint.
      tolerations: [{ operator: 'Exists' }],
      containers: [{ name: 'main', image: 'trainer', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
    },
  });
  return pod!;
}
