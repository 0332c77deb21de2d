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

/** SIGTERM every recorded process (newest first), SIGKILL what is left after 5 s; returns those still alive. */
export async function stopProcesses(procs: readonly ProcessRecord[]): Promise<string[]> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const p of [...procs].reverse()) {
    if (!alive(p.pid)) continue;
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      continue;
    }
    const deadline = Date.now() + 5000;
    while (alive(p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
  }
  await new Promise((r) => setTimeout(r, 200));
  return procs.filter((p) => alive(p.pid)).map((p) => `${p.name} (pid ${p.pid})`);
}
