/**
 * The scheduling stack of the e2e suites on a real control plane: the linkpack extender in this
 * process (as `linkpack extender --kubeconfig` starts it) and the real kube-scheduler calling it
 * with the shipped KubeSchedulerConfiguration. One way to start it, for every suite that schedules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { parseSeconds, registerExtenderCommand, runExtender, type ExtenderCommandOptions, type RunningExtender } from '../../src/extender/command.js';
import { freePort, repoRoot, type ControlPlane, type KObj } from './control-plane.js';

export interface SchedulingStack {
  /** Fixed for the file: a restarted extender comes back where kube-scheduler calls it. */
  extenderPort: number;
  extender(): RunningExtender;
  /** Close the extender and start a new one on the same port (a crash and a restart). */
  restartExtender(): Promise<RunningExtender>;
  close(): Promise<void>;
}

/** The extender container's args as kustomize ships them (the chart renders the same options: test/rbac). */
export function shippedExtenderArgs(file = path.join(repoRoot, 'deploy/scheduler/deployment.yaml')): string[] {
  for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const c = ((d.toJS() as KObj | null)?.spec?.template?.spec?.containers ?? []).find((x: KObj) => x.name === 'extender');
    if (c) return (c.args as string[]).filter((a) => a !== 'extender');
  }
  throw new Error(`no extender container in ${file}`);
}

/** `linkpack extender <args>` as the real command definition parses them (its defaults included), without starting it. */
export function extenderOptions(args: string[]): ExtenderCommandOptions {
  let seen: ExtenderCommandOptions | undefined;
  const program = new Command().exitOverride();
  registerExtenderCommand(program).action((o: ExtenderCommandOptions) => void (seen = o));
  program.parse(['node', 'linkpack', 'extender', ...args]);
  return seen!;
}

/**
 * The extender with the shipped flags; only where it listens, the cluster and the log level are
 * local. `profile` overrides the shipped one where a suite asserts a placement that only
 * `--profile none` (NVLink first, no learned shapes) makes deterministic; say why at the call.
 */
export async function startExtenderOn(cp: ControlPlane, port: number, profile?: string, host = '127.0.0.1'): Promise<RunningExtender> {
  const shipped = extenderOptions([...shippedExtenderArgs(), `--host=${host}`, `--port=${port}`, `--kubeconfig=${cp.kubeconfigPath}`, '--log-level=silent']);
  const r = await runExtender(
    { ...shipped, ...(profile ? { profile } : {}) },
    // With LINKPACK_KEEP_CP the extender's log is kept beside the control plane's.
    process.env.LINKPACK_KEEP_CP ? pino({ level: 'info' }, pino.destination({ dest: path.join(cp.dir, 'extender.log'), sync: true })) : pino({ level: 'silent' }),
  );
  await cp.eventually(async () => (await fetch(`${r.address}/readyz`)).status === 200, 'extender ready');
  return r;
}

/** Waits for `count` Ready nodes KWOK runs, without taints (the controller manager lifts not-ready). */
export async function waitForReadyNodes(cp: ControlPlane, count: number, opts: { untainted?: boolean } = {}): Promise<void> {
  await cp.eventually(async () => {
    const nodes = await cp.list('v1', 'Node');
    return (
      nodes.length === count &&
      nodes.every((n) => (n.status?.conditions ?? []).some((c: KObj) => c.type === 'Ready' && c.status === 'True') && (!opts.untainted || !(n.spec?.taints ?? []).length))
    );
  }, `${count} Ready${opts.untainted ? ', untainted' : ''} fake nodes`);
}

/**
 * What each node's agent does and KWOK cannot: a fresh GPUNode heartbeat every third of the shipped
 * --heartbeat-timeout, so a suite longer than the timeout keeps its nodes (the extender runs with
 * the shipped timeout, not a longer one). A 409 means someone wrote it meanwhile: skipped this round.
 */
export function keepGpuNodeHeartbeats(cp: ControlPlane, everyMs = Math.floor(parseHeartbeatMs(extenderOptions(shippedExtenderArgs()).heartbeatTimeout) / 3)): () => void {
  let busy = false;
  const t = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const g of await cp.list('linkpack.io/v1alpha1', 'GPUNode').catch(() => [] as KObj[])) {
        if (!g.status) continue;
        await cp.writeStatus(g, { ...g.status, heartbeatTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }).catch(() => {});
      }
    })().finally(() => (busy = false));
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}

const parseHeartbeatMs = (text: string) => parseSeconds(text, '--heartbeat-timeout');

/**
 * `host`: where the extender listens; kube-scheduler calls it on loopback all the same (the shipped
 * flags take verbs from loopback only). 0.0.0.0 lets the API server's service proxy reach it too.
 */
export async function startSchedulingStack(cp: ControlPlane, o: { profile?: string; host?: string } = {}): Promise<SchedulingStack> {
  const extenderPort = await freePort();
  let ext = await startExtenderOn(cp, extenderPort, o.profile, o.host);
  await cp.startScheduler({ extenderUrl: `http://127.0.0.1:${extenderPort}` });
  const stopHeartbeats = keepGpuNodeHeartbeats(cp);
  return {
    extenderPort,
    extender: () => ext,
    restartExtender: async () => {
      await ext.close();
      ext = await startExtenderOn(cp, extenderPort, o.profile, o.host);
      return ext;
    },
    close: () => {
      stopHeartbeats();
      return ext.close();
    },
  };
}
