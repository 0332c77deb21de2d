/**
 * The local playground cluster: the real control plane (etcd, kube-apiserver with the Node
 * authorizer, kube-controller-manager, kube-scheduler), real kubelets on the recording fake CRI
 * runtime, and linkpack installed as a user installs it: CRDs, the chart rendered by helm and
 * applied, and each component run with its shipped flags under its own ServiceAccount's token.
 * Used by `linkpack playground up|down|status` and by the playground e2e suites.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freePort, kubeBinary, repoRoot, ControlPlane, type KObj } from './control-plane.js';
import { stateFile, stopProcesses, type PlaygroundState } from './state.js';
import { fakeGpuCdiSpec, startRealNode, type PlaygroundRuntime, type RealNode } from './node.js';
import { writeServiceAccountKubeconfig } from './service-account.js';
import { linkpackContainers, overrideFlags, schedulerServiceAccount, shippedSchedulerConfig, type ContainerCommand } from './workloads.js';

export const RELEASE = 'linkpack';
export const RELEASE_NAMESPACE = 'linkpack-system';

export interface PlaygroundNodeSpec {
  name: string;
  /** A topology preset name, or the path of a recorded `nvidia-smi topo -m` file. */
  topology: string;
}

export interface PlaygroundOptions {
  nodes: PlaygroundNodeSpec[];
  /** Where everything lives (certificates, logs, node folders, the state file). */
  dir: string;
  /** Processes outlive the caller (the CLI's `up`); tests keep them attached. */
  detached?: boolean;
  /** The nodes' CRI runtime (default fake). */
  runtime?: PlaygroundRuntime;
  /** Extra `helm template --set` values, e.g. `node.devicePlugin.shareSlots=2`. */
  helmSet?: string[];
  /** Progress lines. */
  log?: (line: string) => void;
}

export class Playground {
  private constructor(
    readonly cp: ControlPlane,
    readonly nodes: Map<string, RealNode>,
    readonly extenderUrl: string,
    readonly objects: KObj[],
    readonly state: PlaygroundState,
    private readonly launchers: Map<string, (extraEnv?: NodeJS.ProcessEnv) => void>,
  ) {}

  /** SIGKILLs a process at once (a crash, no clean shutdown); the playground forgets it. */
  async kill(name: string): Promise<void> {
    await this.cp.stopProcess(name, 'SIGKILL');
  }

  /**
   * Stops a linkpack process (e.g. `device-plugin-<node>`, `agent-<node>`, `extender`) and starts it
   * again as before, with `extraEnv` added (e.g. a test's LINKPACK_CRASH_AT).
   */
  async restart(name: string, extraEnv?: NodeJS.ProcessEnv): Promise<void> {
    const launch = this.launchers.get(name);
    if (!launch) throw new Error(`no linkpack process ${name} (one of ${[...this.launchers.keys()].join(', ')})`);
    await this.cp.stopProcess(name);
    launch(extraEnv);
  }

  static async up(o: PlaygroundOptions): Promise<Playground> {
    const t0 = Date.now();
    const log = o.log ?? (() => {});
    if (o.nodes.length === 0) throw new Error('a playground needs at least one node');
    const names = new Set<string>();
    for (const n of o.nodes) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n.name)) throw new Error(`node name "${n.name}": expected a DNS label (lower-case letters, digits, '-')`);
      if (names.has(n.name)) throw new Error(`node name "${n.name}" is given twice`);
      names.add(n.name);
    }
    mkdirSync(o.dir, { recursive: true });
    log(`control plane in ${o.dir}`);
    const cp = await ControlPlane.start({ dir: o.dir, detached: o.detached, realNodes: true, controllerManager: true, crds: true });
    try {
      return await Playground.install(cp, o, log, t0);
    } catch (err) {
      if (!o.detached) await cp.stop();
      else await stopProcesses(cp.processes());
      throw err;
    }
  }

  private static async install(cp: ControlPlane, o: PlaygroundOptions, log: (l: string) => void, t0: number): Promise<Playground> {
    log('rendering the chart (helm template) and applying it');
    const objects = renderChart(o.helmSet ?? []);
    await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NAMESPACE } });
    for (const obj of objects) {
      if (obj.kind === 'Deployment' || obj.kind === 'DaemonSet') continue; // run below as processes
      try {
        await cp.apply(obj);
      } catch (err) {
        if (/serves no kind/.test(String(err))) log(`  skipped ${obj.kind}/${obj.metadata?.name}: ${String((err as Error).message)}`);
        else throw err;
      }
    }
    const kubeconfigs = path.join(o.dir, 'kubeconfigs');
    mkdirSync(kubeconfigs, { recursive: true });
    const saKubeconfig = (ns: string, sa: string, node?: string) => writeServiceAccountKubeconfig(cp, path.join(kubeconfigs, `${sa}${node ? `-${node}` : ''}.yaml`), ns, sa, { node });

    const deployments = objects.filter((x) => x.kind === 'Deployment');
    const daemonSets = objects.filter((x) => x.kind === 'DaemonSet');
    const launchers = new Map<string, (extraEnv?: NodeJS.ProcessEnv) => void>();
    const run = (name: string, c: ContainerCommand, overrides: Record<string, string | false>, env: NodeJS.ProcessEnv = {}) => {
      // restart: a component that exits on its own (e.g. a controller that lost its Lease) comes back, as in its pod.
      const launch = (extraEnv: NodeJS.ProcessEnv = {}) => void cp.spawn(name, process.execPath, [...c.nodeArgs, c.script, ...overrideFlags(c.args, overrides)], { ...process.env, ...c.env, ...env, ...extraEnv }, undefined, true);
      launchers.set(name, launch);
      launch();
    };

    // The extender first: kube-scheduler must find it.
    const extender = deployments.flatMap((d) => linkpackContainers(d, repoRoot, podEnv(d))).find((c) => c.args[0] === 'extender');
    if (!extender) throw new Error('the rendered chart runs no extender');
    const extenderPort = await freePort();
    const extenderUrl = `http://127.0.0.1:${extenderPort}`;
    run('extender', extender, { '--host': '127.0.0.1', '--port': String(extenderPort), '--kubeconfig': await saKubeconfig(extender.namespace, extender.serviceAccount) });
    log(`extender (${extender.source}) as ${extender.namespace}/${extender.serviceAccount} on ${extenderUrl}`);

    const schedSa = schedulerServiceAccount(objects);
    await cp.startScheduler({ config: shippedSchedulerConfig(objects), extenderUrl, kubeconfigPath: await saKubeconfig(schedSa.namespace, schedSa.name) });
    log(`kube-scheduler with the shipped KubeSchedulerConfiguration as ${schedSa.namespace}/${schedSa.name}`);

    for (const d of deployments) {
      for (const c of linkpackContainers(d, repoRoot, podEnv(d))) {
        if (c.args[0] !== 'controller') continue;
        // As many replicas as the chart asks (with more than one it renders --leader-elect).
        const replicas = Number(d.spec?.replicas ?? 1);
        const kubeconfig = await saKubeconfig(c.namespace, c.serviceAccount);
        for (let r = 0; r < replicas; r++) {
          const name = r === 0 ? 'controller' : `controller-${r}`;
          run(name, c, { '--kubeconfig': kubeconfig }, { ...podEnv(d), POD_NAME: `${d.metadata.name}-${r}` });
        }
        log(`MLTask controller (${c.source}) ×${replicas} as ${c.namespace}/${c.serviceAccount}`);
      }
    }
    await cp.waitReady('extender', `${extenderUrl}/healthz`);

    const nodes = new Map<string, RealNode>();
    const nodeStates: PlaygroundState['nodes'] = [];
    for (const spec of o.nodes) {
      const t = Date.now();
      const cdiSpec = o.runtime === 'containerd2' ? fakeGpuCdiSpec(smiGpus(spec.name, spec.topology)) : undefined;
      const node = await startRealNode(cp, o.dir, spec.name, { freePort, runtime: o.runtime, cdiSpec, labels: { 'nvidia.com/gpu.present': 'true', 'linkpack.io/node': 'true' } });
      nodes.set(spec.name, node);
      await cp.eventually(async () => (await cp.get('v1', 'Node', spec.name)) !== undefined, `Node ${spec.name} registered by its kubelet`);
      const smi = fakeNvidiaSmi(node.paths.dir, spec.name, spec.topology);
      const env = { NODE_NAME: spec.name, POD_NAME: `${spec.name}-daemon`, POD_NAMESPACE: RELEASE_NAMESPACE };
      const metricsPort = await freePort();
      for (const ds of daemonSets) {
        for (const c of linkpackContainers(ds, repoRoot, env)) {
          const kubeconfig = await saKubeconfig(c.namespace, c.serviceAccount, spec.name);
          if (c.args[0] === 'agent') {
            run(`agent-${spec.name}`, c, { '--nvidia-smi': smi, '--host': '127.0.0.1', '--port': String(metricsPort), '--pod-resources-socket': node.paths.podResourcesSocket, '--kubeconfig': kubeconfig }, env);
          } else if (c.args[0] === 'device-plugin') {
            run(`device-plugin-${spec.name}`, c, { '--nvidia-smi': smi, '--plugin-dir': node.paths.devicePluginDir, '--kubeconfig': kubeconfig }, env);
          }
        }
      }
      await cp.eventually(async () => Number((await cp.get('v1', 'Node', spec.name))?.status?.allocatable?.['nvidia.com/gpu'] ?? 0) > 0, `nvidia.com/gpu in Node ${spec.name}'s allocatable (device plugin registered)`);
      await cp.eventually(async () => ((await cp.get('linkpack.io/v1alpha1', 'GPUNode', spec.name))?.status?.gpus?.length ?? 0) > 0, `GPUNode ${spec.name} written by its agent`);
      nodeStates.push({ name: spec.name, topology: spec.topology, criRecords: node.paths.criRecords, podResourcesSocket: node.paths.podResourcesSocket, devicePluginDir: node.paths.devicePluginDir, agentMetrics: `http://127.0.0.1:${metricsPort}/metrics` });
      log(`node ${spec.name} (${spec.topology}): kubelet, device plugin and agent up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    const kubeconfig = path.join(o.dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(cp.kubeconfigPath));
    const state: PlaygroundState = {
      dir: o.dir,
      kubeconfig,
      server: cp.server,
      extenderUrl,
      nodes: nodeStates,
      processes: cp.processes(),
      mountNamespaces: [...nodes.values()].flatMap((n) => (n.mountNamespace ? [n.mountNamespace] : [])),
      startedAt: new Date(t0).toISOString(),
      startSeconds: (Date.now() - t0) / 1000,
    };
    writeFileSync(stateFile(o.dir), JSON.stringify(state, null, 2));
    return new Playground(cp, nodes, extenderUrl, objects, state, launchers);
  }

  /** Stops every process and removes the folder. */
  async down(): Promise<void> {
    await this.cp.stop();
    rmSync(this.state.dir, { recursive: true, force: true });
  }
}

/** `helm template` of the shipped chart, as objects. */
export function renderChart(set: readonly string[]): KObj[] {
  const args = ['template', RELEASE, path.join(repoRoot, 'charts/linkpack'), '--namespace', RELEASE_NAMESPACE, ...set.flatMap((s) => ['--set', s])];
  const text = execFileSync(kubeBinary('helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text).map((d) => d.toJS() as KObj).filter((x) => x && x.kind);
}

/** The downward-API env a workload's pod would get (what its args may reference as $(VAR)). */
function podEnv(workload: KObj): Record<string, string> {
  return { POD_NAME: `${workload.metadata.name}-0`, POD_NAMESPACE: workload.metadata.namespace ?? RELEASE_NAMESPACE };
}

/** The GPUs (index, UUID) the node's fake nvidia-smi reports, for its CDI spec. */
function smiGpus(node: string, topology: string): { index: number; uuid: string }[] {
  const fake = path.join(repoRoot, 'dist/src/agent/fake-nvidia-smi.js');
  const out = execFileSync(process.execPath, [fake, '--preset', existsSync(topology) ? path.resolve(topology) : topology, '--query-gpu=index,uuid', '--format=csv,noheader,nounits'], { encoding: 'utf8', env: { ...process.env, FAKE_NVIDIA_SMI_UUID_SEED: node } });
  return out.trim().split('\n').map((l) => {
    const [index, uuid] = l.split(',').map((x) => x.trim());
    return { index: Number(index), uuid: uuid! };
  });
}

/** A per-node nvidia-smi: the agent's fake for the node's topology, with UUIDs unique to the node. */
function fakeNvidiaSmi(nodeDir: string, node: string, topology: string): string {
  const fake = path.join(repoRoot, 'dist/src/agent/fake-nvidia-smi.js');
  if (!existsSync(fake)) throw new Error(`${fake} is missing: run \`npm run build\` first`);
  const topo = existsSync(topology) ? path.resolve(topology) : topology;
  const file = path.join(nodeDir, 'nvidia-smi');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(file, `#!/bin/sh\nFAKE_NVIDIA_SMI_UUID_SEED=${q(node)} exec ${q(process.execPath)} ${q(fake)} --preset ${q(topo)} "$@"\n`, { mode: 0o755 });
  return file;
}
