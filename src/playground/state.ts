/** The playground's state file and stopping its processes: what `down` and `status` need, with no heavy imports. */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import path from 'node:path';

/** Whether a process of this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process's resident memory in MiB (VmRSS), or undefined when it is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

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
  /** Mount namespaces of containerd nodes (`mnt:[inode]`): swept after the processes stop. */
  mountNamespaces: string[];
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

/**
 * SIGKILLs every process in a mount namespace (a containerd node's: its shims and containers
 * outlive containerd). Refuses the caller's own namespace. Returns how many were killed.
 */
export function sweepMountNamespace(nsLink: string): number {
  if (!/^mnt:\[\d+\]$/.test(nsLink)) throw new Error(`not a mount namespace: ${nsLink}`);
  if (readlinkSync('/proc/self/ns/mnt') === nsLink) throw new Error(`refusing to sweep this process's own mount namespace ${nsLink}`);
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${entry}/ns/mnt`);
    } catch {
      continue; // gone, or a kernel thread
    }
    if (ns !== nsLink) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

/** Removes the (empty) cgroup folders runc made for a containerd node under every v1 hierarchy; returns those left. */
export async function removeRuntimeCgroups(name = 'k8s.io', root = '/sys/fs/cgroup'): Promise<string[]> {
  const left: string[] = [];
  const rmTree = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(path.join(dir, e.name));
    rmdirSync(dir);
  };
  if (!existsSync(root)) return left;
  for (const h of readdirSync(root)) {
    const dir = path.join(root, h, name);
    if (!existsSync(dir)) continue;
    // Killed processes leave their cgroups a moment later: retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        rmTree(dir);
        break;
      } catch (e) {
        if (attempt >= 20) {
          left.push(`${dir} (${(e as NodeJS.ErrnoException).code})`);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  return left;
}
