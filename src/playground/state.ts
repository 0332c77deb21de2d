/** The playground's state file and stopping its processes: what `down` and `status` need, with no heavy imports. */
import path from 'node:path';

/** What `playground down` needs to stop a process it did not start. */
export interface ProcessRecord {
  name: string;
  pid: number;
  log: string;
}

/** What `status` and `down` read back. */
export interface PlaygroundState {
  dir: string;
  kubeconfig: string;
  server: string;
  extenderUrl: string;
  nodes: { name: string; topology: string; criRecords: string; podResourcesSocket: string; devicePluginDir: string; agentMetrics: string }[];
  processes: ProcessRecord[];
  startedAt: string;
  startSeconds: number;
}

export const stateFile = (dir: string) => path.join(dir, 'playground.json');

/**
 * Stops every recorded process: all but the API server and etcd at once (SIGTERM, SIGKILL after
 * 5 s), then kube-apiserver, then etcd, so nothing spends its last seconds retrying a dead server.
 * Returns those still alive.
 */
export async function stopProcesses(procs: readonly ProcessRecord[]): Promise<string[]> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stopAll = async (group: readonly ProcessRecord[]) => {
    for (const p of group) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 5000;
    while (group.some((p) => alive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const p of group.filter((x) => alive(x.pid))) process.kill(p.pid, 'SIGKILL');
  };
  const last = ['kube-apiserver', 'etcd'];
  await stopAll(procs.filter((p) => !last.includes(p.name)));
  for (const name of last) await stopAll(procs.filter((p) => p.name === name));
  await new Promise((r) => setTimeout(r, 200));
  return procs.filter((p) => alive(p.pid)).map((p) => `${p.name} (pid ${p.pid})`);
}
