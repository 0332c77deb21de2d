/**
 * What each linkpack component asks of the API server, read from its code, and what it must be
 * refused. test/rbac/rbac.e2e.test.ts checks both as each ServiceAccount on the real server, and
 * that every verb of every shipped Role/ClusterRole is needed by one of these requests: a rule
 * added to a role needs a line here (with the code that makes the request), a line here needs a rule.
 */
export type Component = 'extender' | 'kube-scheduler' | 'agent' | 'device-plugin' | 'controller';

/** One request as RBAC sees it (a SubjectAccessReview's resourceAttributes). */
export interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Omitted: cluster-scoped, or all namespaces. */
  namespace?: string;
  name?: string;
}

export interface Need extends Access {
  /** Where the code makes this request. */
  why: string;
}

/** Where an install put things: the names its roles and the code use. */
export interface InstallNames {
  namespace: string;
  /** The kube-scheduler's Lease (KubeSchedulerConfiguration leaderElection.resourceName). */
  schedulerLease: string;
  /** The controller's Lease (--lease-name). */
  controllerLease: string;
  /** The node the agent and device plugin run on (their token is bound to it). */
  node: string;
  /** The extender's Service as `kubectl linkpack` names it in the proxy path: `http:<service>:<port>`. */
  extenderProxy: string;
  /** The agent runs with --dra (it publishes its node's ResourceSlice). */
  dra: boolean;
}

/** A namespace user pods and MLTasks live in. */
export const WORK_NS = 'ml';

export function needs(c: Component, n: InstallNames): Need[] {
  const core = (verb: string, resource: string, why: string, more: Partial<Access> = {}): Need => ({ verb, group: '', resource, why, ...more });
  switch (c) {
    case 'extender':
      return [
        core('list', 'pods', 'src/cluster/informers.ts: pod feed (all namespaces)'),
        core('watch', 'pods', 'src/cluster/informers.ts: pod feed'),
        core('list', 'nodes', 'src/cluster/informers.ts: node feed (CPU/memory view); /readyz waits for it'),
        core('watch', 'nodes', 'src/cluster/informers.ts: node feed'),
        { verb: 'list', group: 'linkpack.io', resource: 'gpunodes', why: 'src/cluster/informers.ts: GPUNode feed' },
        { verb: 'watch', group: 'linkpack.io', resource: 'gpunodes', why: 'src/cluster/informers.ts: GPUNode feed' },
        core('get', 'pods', "src/cluster/k8s-pods-gone.ts: are a preemption's victims gone", { namespace: WORK_NS, name: 'victim' }),
        core('patch', 'pods', 'src/cluster/k8s-binder.ts: decision annotations', { namespace: WORK_NS, name: 'trainer' }),
        core('create', 'pods', 'src/cluster/k8s-binder.ts: the Binding', { subresource: 'binding', namespace: WORK_NS, name: 'trainer' }),
        core('create', 'events', 'src/cluster/k8s-binder.ts: LinkpackPlaced Event', { namespace: WORK_NS }),
      ];
    case 'kube-scheduler':
      return [
        // The shipped KubeSchedulerConfiguration's leaderElection (system:kube-scheduler grants
        // get/update only on the Lease named kube-scheduler).
        { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: n.namespace, name: n.schedulerLease, why: 'kube-scheduler leader election' },
        { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: n.namespace, name: n.schedulerLease, why: 'kube-scheduler leader election' },
        { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: n.namespace, why: 'kube-scheduler leader election (first start)' },
        core('get', 'configmaps', "kube-scheduler's delegated authentication of its secure port", { namespace: 'kube-system', name: 'extension-apiserver-authentication' }),
        { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews', why: 'kube-scheduler delegated authentication' },
        { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews', why: 'kube-scheduler delegated authorization' },
        core('create', 'pods', 'kube-scheduler binds pods the extender does not', { subresource: 'binding', namespace: WORK_NS, name: 'trainer' }),
        core('patch', 'pods', 'kube-scheduler: PodScheduled condition', { subresource: 'status', namespace: WORK_NS, name: 'trainer' }),
        core('delete', 'pods', 'kube-scheduler DefaultPreemption: evicts the victims', { namespace: WORK_NS, name: 'victim' }),
        { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: WORK_NS, why: 'kube-scheduler: Scheduled / FailedScheduling Events' },
        core('update', 'persistentvolumes', 'kube-scheduler VolumeBinding (system:volume-scheduler)', { name: 'pv-1' }),
      ];
    case 'agent':
      return [
        core('get', 'nodes', 'src/agent/publisher.ts: its Node (owner of the GPUNode)', { name: n.node }),
        { verb: 'get', group: 'linkpack.io', resource: 'gpunodes', name: n.node, why: 'src/agent/publisher.ts readOrCreate' },
        { verb: 'create', group: 'linkpack.io', resource: 'gpunodes', why: 'src/agent/publisher.ts readOrCreate' },
        { verb: 'update', group: 'linkpack.io', resource: 'gpunodes', subresource: 'status', name: n.node, why: 'src/agent/publisher.ts syncOnce (PUT …/status)' },
        ...(n.dra
          ? [
              { verb: 'get', group: 'resource.k8s.io', resource: 'resourceslices', name: `${n.node}-gpu.linkpack.io`, why: 'src/agent/slice-publisher.ts read (--dra)' },
              { verb: 'create', group: 'resource.k8s.io', resource: 'resourceslices', why: 'src/agent/slice-publisher.ts create (--dra)' },
              { verb: 'update', group: 'resource.k8s.io', resource: 'resourceslices', name: `${n.node}-gpu.linkpack.io`, why: 'src/agent/slice-publisher.ts replace on change (--dra)' },
            ]
          : []),
      ];
    case 'device-plugin':
      return [
        core('list', 'pods', 'src/deviceplugin/pods.ts: pods on its node (fieldSelector spec.nodeName)'),
        core('watch', 'pods', 'src/deviceplugin/pods.ts'),
        core('create', 'events', 'src/deviceplugin/events.ts: allocation mismatch Events', { namespace: WORK_NS }),
        core('get', 'nodes', "src/deviceplugin/command.ts: with --cdi, its Node's runtime version (containerd 1.x drops CDI devices)", { name: n.node }),
      ];
    case 'controller': {
      const lease = { group: 'coordination.k8s.io', resource: 'leases', namespace: n.namespace };
      return [
        { verb: 'list', group: 'linkpack.io', resource: 'mltasks', why: 'src/mltask/controller.ts: MLTask feed' },
        { verb: 'watch', group: 'linkpack.io', resource: 'mltasks', why: 'src/mltask/controller.ts: MLTask feed' },
        { verb: 'update', group: 'linkpack.io', resource: 'mltasks', subresource: 'status', namespace: WORK_NS, name: 'train', why: 'src/mltask/client.ts updateTaskStatus' },
        // OwnerReferencesPermissionEnforcement (where a cluster enables it) asks this of an
        // ownerReference with blockOwnerDeletion, which render.ts sets on the workers' objects.
        { verb: 'update', group: 'linkpack.io', resource: 'mltasks', subresource: 'finalizers', namespace: WORK_NS, name: 'train', why: 'src/mltask/render.ts ownerReferences blockOwnerDeletion' },
        { verb: 'list', group: 'apps', resource: 'statefulsets', why: 'src/mltask/controller.ts: StatefulSet feed' },
        { verb: 'watch', group: 'apps', resource: 'statefulsets', why: 'src/mltask/controller.ts: StatefulSet feed' },
        { verb: 'create', group: 'apps', resource: 'statefulsets', namespace: WORK_NS, why: 'src/mltask/client.ts create' },
        { verb: 'update', group: 'apps', resource: 'statefulsets', namespace: WORK_NS, name: 'train', why: 'src/mltask/client.ts update' },
        { verb: 'delete', group: 'apps', resource: 'statefulsets', namespace: WORK_NS, name: 'train', why: 'src/mltask/reconciler.ts removeChild (recreate, mode change)' },
        { verb: 'list', group: 'batch', resource: 'jobs', why: 'src/mltask/controller.ts: Job feed' },
        { verb: 'watch', group: 'batch', resource: 'jobs', why: 'src/mltask/controller.ts: Job feed' },
        { verb: 'create', group: 'batch', resource: 'jobs', namespace: WORK_NS, why: 'src/mltask/reconciler.ts: the Indexed Job of a gang attempt' },
        { verb: 'update', group: 'batch', resource: 'jobs', namespace: WORK_NS, name: 'train-0', why: 'src/mltask/reconciler.ts: suspend/resume' },
        { verb: 'delete', group: 'batch', resource: 'jobs', namespace: WORK_NS, name: 'train-0', why: 'src/mltask/reconciler.ts removeChild: gang restart' },
        { verb: 'list', group: 'linkpack.io', resource: 'mltaskclasses', why: 'src/mltask/controller.ts: MLTaskClass feed' },
        { verb: 'watch', group: 'linkpack.io', resource: 'mltaskclasses', why: 'src/mltask/controller.ts: MLTaskClass feed' },
        core('list', 'services', 'src/mltask/controller.ts: Service feed'),
        core('watch', 'services', 'src/mltask/controller.ts: Service feed'),
        core('create', 'services', 'src/mltask/client.ts create', { namespace: WORK_NS }),
        core('update', 'services', 'src/mltask/client.ts update', { namespace: WORK_NS, name: 'train' }),
        core('list', 'pods', 'src/mltask/controller.ts: pod feed'),
        core('watch', 'pods', 'src/mltask/controller.ts: pod feed'),
        core('create', 'events', 'src/mltask/client.ts createEvent', { namespace: WORK_NS }),
        { verb: 'get', ...lease, name: n.controllerLease, why: 'src/kube/leader-election.ts' },
        { verb: 'update', ...lease, name: n.controllerLease, why: 'src/kube/leader-election.ts' },
        { verb: 'create', ...lease, why: 'src/kube/leader-election.ts (first start)' },
      ];
    }
  }
}

/**
 * What a person running `kubectl linkpack` needs beyond the built-in `view` (which lists pods):
 * the extender's /explain and /ui/state through the API server's service proxy. Granted by the
 * shipped ClusterRole linkpack-viewer, a role for people (aggregated to view), bound to no component.
 */
export function viewerNeeds(n: InstallNames): Need[] {
  return [{ verb: 'get', group: '', resource: 'services', subresource: 'proxy', namespace: n.namespace, name: n.extenderProxy, why: 'src/cli/kubectl/commands.ts proxyGet (kubectl linkpack)' }];
}

/** What such a person must be refused: the verbs (POST /filter, /bind) and any other Service. */
export function viewerRefusals(n: InstallNames): Access[] {
  const proxy = { group: '', resource: 'services', subresource: 'proxy', namespace: n.namespace };
  return [
    { verb: 'create', ...proxy, name: n.extenderProxy },
    { verb: 'get', ...proxy, name: 'http:other:80' },
    { verb: 'get', group: '', resource: 'secrets', namespace: n.namespace, name: 'anything' },
  ];
}

/** What each component must be refused (a few writes and reads it has no business with). */
export function refusals(c: Component, n: InstallNames): Access[] {
  const secrets: Access[] = [
    { verb: 'get', group: '', resource: 'secrets', namespace: n.namespace, name: 'anything' },
    { verb: 'list', group: '', resource: 'secrets' },
  ];
  switch (c) {
    case 'extender':
      return [
        ...secrets,
        { verb: 'create', group: 'linkpack.io', resource: 'gpunodes' },
        { verb: 'update', group: 'linkpack.io', resource: 'gpunodes', subresource: 'status', name: n.node },
        { verb: 'patch', group: 'linkpack.io', resource: 'gpunodes', name: n.node },
        { verb: 'delete', group: '', resource: 'pods', namespace: WORK_NS, name: 'trainer' },
        { verb: 'create', group: '', resource: 'pods', namespace: WORK_NS },
        { verb: 'update', group: 'linkpack.io', resource: 'mltasks', namespace: WORK_NS, name: 'train' },
      ];
    case 'kube-scheduler':
      return [
        ...secrets,
        { verb: 'create', group: 'linkpack.io', resource: 'gpunodes' },
        { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: n.namespace, name: n.controllerLease },
      ];
    case 'agent':
      return [
        ...secrets,
        { verb: 'delete', group: '', resource: 'pods', namespace: WORK_NS, name: 'trainer' },
        { verb: 'update', group: 'linkpack.io', resource: 'gpunodes', name: n.node },
        { verb: 'delete', group: 'linkpack.io', resource: 'gpunodes', name: n.node },
        { verb: 'list', group: 'linkpack.io', resource: 'gpunodes' },
        { verb: 'delete', group: 'resource.k8s.io', resource: 'resourceslices', name: `${n.node}-gpu.linkpack.io` },
        { verb: 'create', group: 'resource.k8s.io', resource: 'resourceclaims', namespace: WORK_NS },
        { verb: 'patch', group: '', resource: 'nodes', name: n.node },
        { verb: 'create', group: '', resource: 'pods', subresource: 'binding', namespace: WORK_NS, name: 'trainer' },
      ];
    case 'device-plugin':
      return [
        { verb: 'patch', group: '', resource: 'pods', namespace: WORK_NS, name: 'trainer' },
        { verb: 'update', group: '', resource: 'pods', subresource: 'status', namespace: WORK_NS, name: 'trainer' },
      ];
    case 'controller':
      return [
        ...secrets,
        { verb: 'create', group: '', resource: 'pods', namespace: WORK_NS },
        { verb: 'delete', group: '', resource: 'pods', namespace: WORK_NS, name: 'train-0' },
        { verb: 'create', group: '', resource: 'pods', subresource: 'binding', namespace: WORK_NS, name: 'train-0' },
        { verb: 'delete', group: 'linkpack.io', resource: 'mltasks', namespace: WORK_NS, name: 'train' },
        { verb: 'update', group: 'linkpack.io', resource: 'gpunodes', subresource: 'status', name: n.node },
        { verb: 'delete', group: '', resource: 'services', namespace: WORK_NS, name: 'train' },
      ];
  }
}

/** `verb group/resource[/sub] ns/name` for messages. */
export function accessText(a: Access): string {
  const res = `${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  const where = a.namespace || a.name ? ` ${a.namespace ? `${a.namespace}/` : ''}${a.name ?? '*'}` : '';
  return `${a.verb} ${res}${where}`;
}
