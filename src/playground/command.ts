/**
 * `linkpack playground up|down|status`: the local cluster with real kubelets (playground.ts).
 * `up` returns once every node's kubelet, device plugin and agent are up, leaving the processes
 * running; its last line is `KUBECONFIG=<path>`. `down` stops them all from the state file.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../agent/command.js';
import { getPreset, listPresets } from '../topology/presets.js';
import type { PlaygroundNodeSpec } from './playground.js';
import type { PlaygroundRuntime } from './node.js';
import { alive, removeRuntimeCgroups, rssMiB, stateFile, stopProcesses, sweepMountNamespace, type PlaygroundState } from './state.js';

export const DEFAULT_PLAYGROUND_DIR = path.join(tmpdir(), 'linkpack-playground');

/** A mix the chain test and a first look both want: NVLink mesh, NVSwitch, PCIe with NVLink pairs. */
export const DEFAULT_NODES: PlaygroundNodeSpec[] = [
  { name: 'dgx1', topology: 'dgx1-v100' },
  { name: 'h100', topology: 'hgx-h100' },
  { name: 'pcie', topology: 'pcie-8x-nvlink-pairs' },
];

/** `--node name=preset|topo-file`. */
export function parseNodeSpec(text: string): PlaygroundNodeSpec {
  const m = /^([^=]+)=(.+)$/.exec(text);
  if (!m) throw new UsageError(`--node "${text}": expected name=preset or name=path/to/topo-m.txt`);
  const [, name, topology] = m as unknown as [string, string, string];
  if (!getPreset(topology) && !existsSync(topology)) {
    throw new UsageError(`--node "${text}": "${topology}" is neither a preset (${listPresets().map((p) => p.name).join(', ')}) nor a file`);
  }
  return { name, topology };
}

function readState(dir: string): PlaygroundState | undefined {
  const f = stateFile(dir);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as PlaygroundState;
}


export function registerPlaygroundCommand(program: Command): void {
  const pg = program.command('playground').description('a local cluster with real kubelets and linkpack installed from its chart (up, down, status)');
  pg.command('up')
    .description('start the control plane, real kubelets on a recording CRI runtime, and linkpack under its own ServiceAccounts')
    .option('--node <name=topology>', 'a GPU node: a preset or a recorded `nvidia-smi topo -m` file (repeat; default dgx1=dgx1-v100, h100=hgx-h100, pcie=pcie-8x-nvlink-pairs)', (v: string, acc: PlaygroundNodeSpec[] = []) => [...acc, parseNodeSpec(v)])
    .option('--dir <dir>', 'where the cluster keeps its files', DEFAULT_PLAYGROUND_DIR)
    .option('--runtime <runtime>', 'the CRI runtime: fake (records every container it is asked to create), containerd (real containers: Debian containerd 1.6 + runc) or containerd2 (containerd v2 built from its module, injects CDI)', 'fake')
    .option('--cdi', 'the device plugin gives containers CDI device names instead of NVIDIA_VISIBLE_DEVICES')
    .option('--share-slots <n>', "the device plugin's share slots per GPU", '1')
    .action(async (o: { node?: PlaygroundNodeSpec[]; dir: string; runtime: string; cdi?: boolean; shareSlots: string }) => {
      if (!['fake', 'containerd', 'containerd2'].includes(o.runtime)) throw new UsageError(`--runtime "${o.runtime}": expected fake, containerd or containerd2`);
      const dir = path.resolve(o.dir);
      const prior = readState(dir);
      if (prior && prior.processes.some((p) => alive(p.pid))) throw new Error(`a playground already runs in ${dir}: run \`linkpack playground down --dir ${dir}\` first`);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      const helmSet = [`node.devicePlugin.shareSlots=${o.shareSlots}`, ...(o.cdi ? ['node.devicePlugin.cdi=true'] : [])];
      // Loaded here: resolving the Kubernetes binaries runs Go, which other commands must not pay for.
      const { Playground } = await import('./playground.js');
      const { kubeBinary } = await import('./control-plane.js');
      const p = await Playground.up({ nodes: o.node ?? DEFAULT_NODES, dir, detached: true, helmSet, runtime: o.runtime as PlaygroundRuntime, log: (l) => console.log(l) });
      const s = p.state;
      console.log(`\nplayground up in ${s.startSeconds.toFixed(1)} s: ${s.nodes.map((n) => `${n.name} (${n.topology})`).join(', ')}`);
      console.log(`extender ${s.extenderUrl} (web view ${s.extenderUrl}/ui); logs in ${dir}/*.log; containers the kubelets created: ${dir}/nodes/<node>/cri-records.jsonl`);
      console.log(`kubectl: ${kubeBinary('kubectl')}`);
      console.log(`try: kubectl apply -f deploy/examples/mltask.yaml && kubectl get mltask,pods -o wide`);
      console.log(`stop: linkpack playground down${dir === DEFAULT_PLAYGROUND_DIR ? '' : ` --dir ${dir}`}`);
      console.log(`KUBECONFIG=${s.kubeconfig}`);
    });
  pg.command('down')
    .description('stop every process of the playground and remove its folder')
    .option('--dir <dir>', 'the playground folder', DEFAULT_PLAYGROUND_DIR)
    .action(async (o: { dir: string }) => {
      const dir = path.resolve(o.dir);
      const s = readState(dir);
      if (!s) {
        console.log(`no playground in ${dir}`);
        return;
      }
      const left = await stopProcesses(s.processes);
      for (const ns of s.mountNamespaces ?? []) sweepMountNamespace(ns);
      const cgroups = (s.mountNamespaces ?? []).length > 0 ? await removeRuntimeCgroups() : [];
      if (left.length > 0) throw new Error(`still running after SIGKILL: ${left.join(', ')}`);
      if (cgroups.length > 0) throw new Error(`cgroup folders left: ${cgroups.join(', ')}`);
      rmSync(dir, { recursive: true, force: true });
      console.log(`playground stopped (${s.processes.length} processes) and ${dir} removed`);
    });
  pg.command('status')
    .description('which playground processes run')
    .option('--dir <dir>', 'the playground folder', DEFAULT_PLAYGROUND_DIR)
    .action((o: { dir: string }) => {
      const dir = path.resolve(o.dir);
      const s = readState(dir);
      if (!s) {
        console.log(`no playground in ${dir}`);
        process.exitCode = 1;
        return;
      }
      const down = s.processes.filter((p) => !alive(p.pid));
      console.log(`playground in ${dir}, started ${s.startedAt}; nodes ${s.nodes.map((n) => `${n.name} (${n.topology})`).join(', ')}`);
      let totalMiB = 0;
      for (const p of s.processes) {
        const rss = rssMiB(p.pid);
        totalMiB += rss ?? 0;
        console.log(`  ${rss !== undefined ? 'running' : 'STOPPED'}  ${p.name} (pid ${p.pid}, ${rss !== undefined ? `${rss.toFixed(0)} MiB` : '-'}, log ${p.log})`);
      }
      console.log(`memory: ${totalMiB.toFixed(0)} MiB resident in all`);
      console.log(`KUBECONFIG=${s.kubeconfig}`);
      if (down.length > 0) process.exitCode = 1;
    });
}

