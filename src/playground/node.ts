/**
 * One real node of the playground: the recording fake CRI runtime (test/kube/fakecri) and a real
 * kubelet on it, isolated from the host as ../shared/reference/real-kubelet.md describes:
 * - a private mount namespace where /var/lib is the node's own folder, so the kubelet's constant
 *   paths (/var/lib/kubelet/device-plugins, /var/lib/kubelet/pod-resources) are per node and the
 *   host's /var/lib is never touched;
 * - the six sysctls the kubelet rewrites at start-up shadowed by plain files holding the host's
 *   values, so the host never changes;
 * - cgroup v1 with no QoS cgroups, no node-allocatable enforcement.
 * The device plugin and the agent reach the kubelet through the node's folder on the host side.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kubeBinary, type ControlPlane } from './control-plane.js';
import { readCriRecords, type CriRecord } from './cri-records.js';
import { buildImages } from './oci-image.js';
import { removeRuntimeCgroups, sweepMountNamespace } from './state.js';

/** The sysctls kubelet 1.37 writes at start-up (pkg/kubelet/cm: setupKernelTunables). */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];

export interface NodePaths {
  /** The node's folder on the host. */
  dir: string;
  /** What the kubelet sees as /var/lib. */
  varLib: string;
  /** The kubelet's device-plugins folder as the host sees it (the device plugin's --plugin-dir). */
  devicePluginDir: string;
  /** The kubelet's PodResources socket as the host sees it (the agent's --pod-resources-socket). */
  podResourcesSocket: string;
  /** The CRI socket. */
  criSocket: string;
  /** One JSON line per CreateContainer request the runtime received. */
  criRecords: string;
  /** Where the kubelet writes container logs. */
  podLogs: string;
}

export function nodePaths(root: string, node: string): NodePaths {
  const dir = path.join(root, 'nodes', node);
  const varLib = path.join(dir, 'varlib');
  return {
    dir,
    varLib,
    devicePluginDir: path.join(varLib, 'kubelet/device-plugins'),
    podResourcesSocket: path.join(varLib, 'kubelet/pod-resources/kubelet.sock'),
    criSocket: path.join(dir, 'cri.sock'),
    criRecords: path.join(dir, 'cri-records.jsonl'),
    podLogs: path.join(dir, 'pod-logs'),
  };
}

/** The KubeletConfiguration that runs on a cgroup-v1 VM without touching the host. */
export function kubeletConfig(p: NodePaths, caFile: string, ports: { kubelet: number; healthz: number }, maxPods = 32): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupsPerQOS: false,
      enforceNodeAllocatable: [],
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${p.criSocket}`,
      imageServiceEndpoint: `unix://${p.criSocket}`,
      address: '127.0.0.1',
      port: ports.kubelet,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: ports.healthz,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
      authorization: { mode: 'AlwaysAllow' },
      podLogsDir: p.podLogs,
      resolvConf: '',
      clusterDNS: ['10.96.0.10'],
      clusterDomain: 'cluster.local',
      // The default 10 s would delay the device plugin's resources in allocatable after registration.
      nodeStatusUpdateFrequency: '2s',
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      maxPods,
    },
    null,
    2,
  );
}

/** The shell script run inside `unshare --mount`: shadow /var/lib and the sysctls, then exec the kubelet. */
export function kubeletLaunchScript(p: NodePaths, sysctlCopies: string, kubelet: string, args: readonly string[]): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ['set -e', `mount --bind ${q(p.varLib)} /var/lib`];
  for (const s of KUBELET_SYSCTLS) lines.push(`mount --bind ${q(path.join(sysctlCopies, s.replace(/\//g, '.')))} /proc/sys/${s}`);
  lines.push(`exec ${q(kubelet)} ${args.map(q).join(' ')}`);
  return lines.join('\n');
}

export interface RealNode {
  name: string;
  paths: NodePaths;
  /** Restarts the kubelet (same flags, same folder): what a kubelet upgrade or crash does. */
  restartKubelet(): Promise<void>;
  /** Every CreateContainer request the runtime received so far (fake runtime only). */
  criRecords(): CriRecord[];
  /** containerd nodes: the mount namespace its shims and containers live in (`mnt:[inode]`). */
  mountNamespace?: string;
}

export type PlaygroundRuntime = 'fake' | 'containerd' | 'containerd2';

export interface StartNodeOptions {
  labels?: Record<string, string>;
  freePort(): Promise<number>;
  /**
   * fake: the recording fake CRI (default); containerd: Debian's containerd 1.6 + runc, real
   * containers; containerd2: containerd v2 built from its module (injects CDI devices) + runc.
   */
  runtime?: PlaygroundRuntime;
  /** containerd2: the CDI spec of the node's GPUs (written into the node's CDI folder). */
  cdiSpec?: string;
}

/** Starts the runtime and the kubelet of one node and waits until the kubelet's healthz answers. */
export async function startRealNode(cp: ControlPlane, root: string, name: string, o: StartNodeOptions): Promise<RealNode> {
  const p = nodePaths(root, name);
  for (const d of [p.dir, p.varLib, p.podLogs, path.join(p.varLib, 'kubelet')]) mkdirSync(d, { recursive: true });
  const sysctlCopies = path.join(p.dir, 'sysctl');
  mkdirSync(sysctlCopies, { recursive: true });
  for (const s of KUBELET_SYSCTLS) writeFileSync(path.join(sysctlCopies, s.replace(/\//g, '.')), readFileSync(`/proc/sys/${s}`));

  let containerdPid: number | undefined;
  let mountNamespace: string | undefined;
  if (o.runtime === 'containerd' || o.runtime === 'containerd2') {
    containerdPid = await startContainerd(cp, p, name, sysctlCopies, o.runtime === 'containerd2', o.cdiSpec);
    const ns = readlinkSync(`/proc/${containerdPid}/ns/mnt`);
    mountNamespace = ns;
    // Shims and containers outlive containerd: after the kubelet, everything in its namespace goes.
    cp.addStopHook(async () => {
      await cp.stopProcess(`kubelet-${name}`);
      sweepMountNamespace(ns);
      const left = await removeRuntimeCgroups();
      if (left.length > 0) console.warn(`[playground] cgroups left: ${left.join(', ')}`);
    });
  } else {
    cp.spawn(`fakecri-${name}`, 'fakecri', [`--listen=${p.criSocket}`, `--records=${p.criRecords}`]);
    await waitForFile(p.criSocket, `the fake CRI runtime of ${name}`);
  }

  const kubeconfig = cp.clientCertKubeconfig(path.join(p.dir, 'kubelet.kubeconfig'), `system:node:${name}`, 'system:nodes');
  const ports = { kubelet: await o.freePort(), healthz: await o.freePort() };
  const caFile = path.join(cp.dir, 'ca.crt');
  writeFileSync(path.join(p.dir, 'kubelet-config.json'), kubeletConfig(p, caFile, ports));
  const labels = Object.entries({ 'linkpack.io/playground': 'true', ...o.labels }).map(([k, v]) => `${k}=${v}`).join(',');
  const args = [
    `--config=${path.join(p.dir, 'kubelet-config.json')}`,
    `--kubeconfig=${kubeconfig}`,
    '--root-dir=/var/lib/kubelet',
    `--cert-dir=${path.join(p.dir, 'pki')}`,
    `--hostname-override=${name}`,
    `--node-labels=${labels}`,
    '--v=1',
  ];
  const script = path.join(p.dir, 'kubelet.sh');
  // With containerd the kubelet joins containerd's namespace (already shadowed); else its own.
  writeFileSync(script, containerdPid ? `exec ${shellQuote(kubeBinary('kubelet'))} ${args.map(shellQuote).join(' ')}\n` : kubeletLaunchScript(p, sysctlCopies, kubeBinary('kubelet'), args), { mode: 0o755 });
  // Its own empty working directory: a relative path in the kubelet (a runtime's empty log path)
  // must never reach the control plane's files.
  const cwd = path.join(p.dir, 'kubelet-cwd');
  mkdirSync(cwd, { recursive: true });
  const launch = async () => {
    if (containerdPid) cp.spawn(`kubelet-${name}`, '/usr/bin/nsenter', [`--mount=/proc/${containerdPid}/ns/mnt`, '--', '/bin/sh', script], undefined, cwd);
    else cp.spawn(`kubelet-${name}`, '/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', script], undefined, cwd);
    await cp.waitReady(`kubelet-${name}`, `http://127.0.0.1:${ports.healthz}/healthz`);
  };
  await launch();
  return {
    name,
    paths: p,
    restartKubelet: async () => {
      await cp.stopProcess(`kubelet-${name}`);
      await launch();
    },
    criRecords: () => readCriRecords(p.criRecords),
    ...(mountNamespace ? { mountNamespace } : {}),
  };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A CDI spec for a node's GPUs as the NVIDIA container toolkit would name them (`nvidia.com/gpu=<uuid>`):
 * each gives the container a device node `/dev/nvidia<index>` (here backed by /dev/null) and
 * `LINKPACK_CDI_GPU_<index>=<uuid>`, so a container can show what CDI injected.
 */
export function fakeGpuCdiSpec(gpus: readonly { index: number; uuid: string }[]): string {
  return JSON.stringify({
    cdiVersion: '0.6.0',
    kind: 'nvidia.com/gpu',
    devices: gpus.map((g) => ({ name: g.uuid, containerEdits: { env: [`LINKPACK_CDI_GPU_${g.index}=${g.uuid}`], deviceNodes: [{ path: `/dev/nvidia${g.index}`, hostPath: '/dev/null', type: 'c', major: 1, minor: 3 }] } })),
  });
}

/** The busybox image pods run and the pause image, imported into each containerd node. */
export const PLAYGROUND_IMAGE = 'docker.io/linkpack/busybox:1';
export const PAUSE_IMAGE = 'docker.io/linkpack/pause:1';

/** containerd 2's configuration (format 3): as containerd 1.6's, plus the node's CDI spec folder. */
export function containerd2Config(p: NodePaths): string {
  return [
    'version = 3',
    `root = ${JSON.stringify(path.join(p.dir, 'containerd-root'))}`,
    'state = "/run/containerd"',
    '[grpc]',
    `  address = ${JSON.stringify(p.criSocket)}`,
    "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
    `  sandbox = ${JSON.stringify(PAUSE_IMAGE)}`,
    "[plugins.'io.containerd.cri.v1.runtime']",
    '  restrict_oom_score_adj = true',
    `  cdi_spec_dirs = [${JSON.stringify(path.join(p.dir, 'cdi'))}]`,
    "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
    '    bin_dirs = ["/usr/lib/cni"]',
    `    conf_dir = ${JSON.stringify(path.join(p.dir, 'cni'))}`,
    '',
  ].join('\n');
}

/** containerd 1.6's configuration: its own root, shims and runc state on a private /run, loopback-only CNI. */
export function containerdConfig(p: NodePaths): string {
  return [
    'version = 2',
    `root = ${JSON.stringify(path.join(p.dir, 'containerd-root'))}`,
    'state = "/run/containerd"',
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]',
    '[grpc]',
    `  address = ${JSON.stringify(p.criSocket)}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${JSON.stringify(PAUSE_IMAGE)}`,
    // Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc.
    '  restrict_oom_score_adj = true',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = ${JSON.stringify(path.join(p.dir, 'cni'))}`,
    '',
  ].join('\n');
}

/**
 * containerd in a private mount namespace (its own /run, /var/lib shadowed by the node's folder,
 * the sysctls shadowed), with the images imported; returns its pid (the namespace's owner).
 */
async function startContainerd(cp: ControlPlane, p: NodePaths, name: string, sysctlCopies: string, v2: boolean, cdiSpec?: string): Promise<number> {
  for (const bin of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/sbin/runc', '/usr/lib/cni/loopback']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: --runtime containerd needs Debian's containerd, runc and containernetworking-plugins`);
  }
  mkdirSync(path.join(p.dir, 'cni'), { recursive: true });
  mkdirSync(path.join(p.dir, 'cdi'), { recursive: true });
  if (cdiSpec) writeFileSync(path.join(p.dir, 'cdi/linkpack-gpus.json'), cdiSpec);
  writeFileSync(path.join(p.dir, 'cni/10-loopback.conflist'), JSON.stringify({ cniVersion: '0.4.0', name: 'loopback', plugins: [{ type: 'loopback' }] }));
  writeFileSync(path.join(p.dir, 'containerd.toml'), v2 ? containerd2Config(p) : containerdConfig(p));
  // containerd 2 finds its own shim first on PATH (Debian's is containerd 1.6's).
  const containerd = v2 ? kubeBinary('containerd2') : '/usr/bin/containerd';
  const pathEnv = v2 ? `PATH=${shellQuote(`${path.dirname(kubeBinary('containerd2'))}:${process.env.PATH ?? '/usr/bin:/bin'}`)} ` : '';
  const lines = ['set -e', 'mount -t tmpfs tmpfs /run', `mount --bind ${shellQuote(p.varLib)} /var/lib`];
  for (const s of KUBELET_SYSCTLS) lines.push(`mount --bind ${shellQuote(path.join(sysctlCopies, s.replace(/\//g, '.')))} /proc/sys/${s}`);
  lines.push(`${pathEnv}exec ${shellQuote(containerd)} --config ${shellQuote(path.join(p.dir, 'containerd.toml'))}`);
  const script = path.join(p.dir, 'containerd.sh');
  writeFileSync(script, lines.join('\n'), { mode: 0o755 });
  const proc = cp.spawn(`containerd-${name}`, '/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', script]);
  await waitForFile(p.criSocket, `containerd of ${name}`);
  const images = buildImages(path.join(p.dir, 'images'), [
    { ref: PLAYGROUND_IMAGE, cmd: ['sh'] },
    { ref: PAUSE_IMAGE, cmd: ['sleep', '2147483647'] },
  ]);
  for (const tar of images) execFileSync('/usr/bin/ctr', ['--address', p.criSocket, '-n', 'k8s.io', 'images', 'import', tar], { stdio: ['ignore', 'ignore', 'pipe'] });
  return proc.pid;
}

async function waitForFile(file: string, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${what} did not create ${file} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
