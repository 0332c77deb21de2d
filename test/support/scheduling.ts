/**
 * The scheduling stack of the e2e suites on a real control plane: the linkpack extender in this
 * process (as `linkpack extender --kubeconfig` starts it) and the real kube-scheduler calling it
 * with the shipped KubeSchedulerConfiguration. One way to start it, for every suite that schedules.
 */
import path from 'node:path';
import { pino } from 'pino';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';
import { freePort, type ControlPlane, type KObj } from './control-plane.js';

export interface SchedulingStack {
  /** Fixed for the file: a restarted extender comes back where kube-scheduler calls it. */
  extenderPort: number;
  extender(): RunningExtender;
  /** Close the extender and start a new one on the same port (a crash and a restart). */
  restartExtender(): Promise<RunningExtender>;
  close(): Promise<void>;
}

export async function startExtenderOn(cp: ControlPlane, port: number, profile = 'none'): Promise<RunningExtender> {
  const r = await runExtender(
    { kubeconfig: cp.kubeconfigPath, port: String(port), host: '127.0.0.1', heartbeatTimeout: '600', bodyLimitMib: '16', logLevel: 'silent', profile },
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

export async function startSchedulingStack(cp: ControlPlane, o: { profile?: string } = {}): Promise<SchedulingStack> {
  const extenderPort = await freePort();
  let ext = await startExtenderOn(cp, extenderPort, o.profile);
  await cp.startScheduler({ extenderUrl: `http://127.0.0.1:${extenderPort}` });
  return {
    extenderPort,
    extender: () => ext,
    restartExtender: async () => {
      await ext.close();
      ext = await startExtenderOn(cp, extenderPort, o.profile);
      return ext;
    },
    close: () => ext.close(),
  };
}
