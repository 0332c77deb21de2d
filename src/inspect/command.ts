import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { TOPOLOGY_MODES, PACKING_POLICIES, type GpuRequest, type PackingPolicy, type TopologyMode } from '../core/index.js';
import { validateRequest } from '../core/index.js';
import { didYouMean } from '../api/nearest.js';
import { checkReadableFile } from '../cli/checks.js';
import { getPreset, listPresets } from '../topology/index.js';
import { GPUS_COMMAND, loadTopology } from '../topology/load.js';
import { formatInspect, inspectTopology } from './report.js';

/** Exit status when the request does not fit: scripts can test for it (`inspect … && deploy`). */
export const EXIT_DOES_NOT_FIT = 3;

function gpuCountArg(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`--request takes a number of GPUs (1 or more), got "${v}"`);
  const n = Number(v);
  if (n < 1) throw new InvalidArgumentError(`--request ${v}: ask for at least 1 GPU`);
  return n;
}

function milliArg(v: string): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!(n >= 1 && n <= 1000)) throw new InvalidArgumentError(`--milli takes a share of one GPU in thousandths, 1–1000, got "${v}"`);
  return n;
}

function gpuList(v: string): number[] {
  const out: number[] = [];
  if (v.trim() === '') return out;
  for (const s of v.split(',')) {
    if (!/^\s*\d+\s*$/.test(s)) throw new InvalidArgumentError(`--free takes GPU indices like 0,2,5; "${s}" is not one`);
    const g = Number(s);
    if (out.includes(g)) throw new InvalidArgumentError(`--free lists GPU ${g} twice ("${v}")`);
    out.push(g);
  }
  return out;
}

/** A Kubernetes node name is a DNS-1123 subdomain. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
function nodeNameArg(v: string): string {
  if (v.length > 253 || !NODE_NAME.test(v)) {
    throw new InvalidArgumentError(`"${v}" is not a Kubernetes node name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
  return v;
}

/** A --topo that is neither a preset nor an existing file: suggest the preset it nearly names. */
function topoProblem(topo: string): string | undefined {
  if (getPreset(topo) || existsSync(topo)) return undefined;
  const hint = didYouMean(topo, listPresets().map((p) => p.name));
  return `--topo "${topo}" is neither a preset nor a file${hint || ' (linkpack inspect --list-presets lists the presets)'}`;
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('show a topology (nvidia-smi topo -m file or preset), its NVLink islands and bandwidths, and what linkpack would choose')
    .option('--topo <file|preset>', 'a `nvidia-smi topo -m` output file or a preset name (see --list-presets)')
    .option('--gpus <csv>', `optional \`${GPUS_COMMAND}\` output (one sample, with its header)`)
    .option('--nvlink <file>', 'optional `nvidia-smi nvlink -s` output of the same machine (measured per-link speed)')
    .option('--request <k>', 'number of GPUs to place', gpuCountArg)
    .option('--milli <m>', 'share of each GPU in milli-GPU (1..1000)', milliArg, 1000)
    .option('--free <list>', 'with --request: free GPU indices, e.g. 0,2,5 (default: all)', gpuList)
    .addOption(new Option('--topology <mode>', 'NVLink requirement').choices([...TOPOLOGY_MODES]).default('prefer-nvlink'))
    .addOption(new Option('--policy <policy>', 'packing policy').choices([...PACKING_POLICIES]).default('binpack'))
    .option('--as-gpunode <node-name>', 'print a GPUNode object (YAML) for this node instead', nodeNameArg)
    .option('--as-resourceslice <node-name>', 'print, as JSON, the DRA ResourceSlice (resource.k8s.io/v1) the agent would publish for this node', nodeNameArg)
    .option('--json', 'print JSON')
    .option('--list-presets', 'list the built-in topologies')
    .action(async (o) => {
      if (o.listPresets) {
        const ps = listPresets();
        console.log(o.json ? JSON.stringify({ presets: ps }, null, 2) : ps.map((p) => `${p.name.padEnd(22)} ${p.description}`).join('\n'));
        return;
      }
      if (!o.topo) throw new InvalidArgumentError('--topo <file|preset> is required (or --list-presets)');
      const problem = topoProblem(o.topo);
      if (problem) throw new InvalidArgumentError(problem);
      if (o.free !== undefined && o.request === undefined) throw new InvalidArgumentError('--free says which GPUs are free for --request; give --request <k> too');
      if (o.gpus !== undefined) checkReadableFile(o.gpus, '--gpus');
      if (o.nvlink !== undefined) checkReadableFile(o.nvlink, '--nvlink');
      const topology = loadTopology({ topo: o.topo, gpusCsv: o.gpus, nvlinkStatus: o.nvlink });
      if (o.asGpunode && o.asResourceslice) throw new InvalidArgumentError('--as-gpunode and --as-resourceslice each print one object: give one of them');
      if (o.asResourceslice) {
        const { resourceSliceObject } = await import('../agent/resourceslice.js');
        console.log(JSON.stringify(resourceSliceObject(o.asResourceslice, topology), null, 2));
        return;
      }
      if (o.asGpunode) {
        const { gpuNodeObject } = await import('../cluster/gpunode.js');
        const obj = gpuNodeObject(o.asGpunode, topology, {});
        console.log(o.json ? JSON.stringify(obj, null, 2) : toYaml(obj));
        return;
      }
      let request: GpuRequest | undefined;
      if (o.request !== undefined) {
        const n = topology.gpus.length;
        if (o.request > n) throw new InvalidArgumentError(`--request ${o.request}: the topology has ${n} GPU${n === 1 ? '' : 's'}`);
        request = { gpuCount: o.request, milliPerGpu: o.milli, topology: o.topology as TopologyMode, policy: o.policy as PackingPolicy };
        const err = validateRequest(request);
        if (err) throw new InvalidArgumentError(err);
      }
      const report = inspectTopology(topology, request, o.free);
      console.log(o.json ? JSON.stringify(report, null, 2) : formatInspect(report));
      if (report.best && !report.best.fits) process.exitCode = EXIT_DOES_NOT_FIT;
    });
}
