import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { TOPOLOGY_MODES, PACKING_POLICIES, type GpuRequest, type PackingPolicy, type TopologyMode } from '../core/index.js';
import { validateRequest } from '../core/index.js';
import { listPresets } from '../topology/index.js';
import { loadTopology } from '../topology/load.js';
import { formatInspect, inspectTopology } from './report.js';

function intArg(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

function gpuList(v: string): number[] {
  if (v.trim() === '') return [];
  return v.split(',').map((s) => {
    if (!/^\s*\d+\s*$/.test(s)) throw new InvalidArgumentError(`--free takes GPU indices like 0,2,5; "${s}" is not one`);
    return Number(s);
  });
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('show a topology (nvidia-smi topo -m file or preset), its NVLink islands and bandwidths, and what linkpack would choose')
    .option('--topo <file|preset>', 'a `nvidia-smi topo -m` output file or a preset name (see --list-presets)')
    .option('--gpus <csv>', 'optional `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv` output')
    .option('--nvlink <file>', 'optional `nvidia-smi nvlink -s` output (measured per-link speed)')
    .option('--request <k>', 'number of GPUs to place', intArg('--request'))
    .option('--milli <m>', 'share of each GPU in milli-GPU (1..1000)', intArg('--milli'), 1000)
    .option('--free <list>', 'free GPU indices, e.g. 0,2,5 (default: all)', gpuList)
    .addOption(new Option('--topology <mode>', 'NVLink requirement').choices([...TOPOLOGY_MODES]).default('prefer-nvlink'))
    .addOption(new Option('--policy <policy>', 'packing policy').choices([...PACKING_POLICIES]).default('binpack'))
    .option('--as-gpunode <node-name>', 'print a GPUNode object (YAML) for this node instead')
    .option('--json', 'print JSON')
    .option('--list-presets', 'list the built-in topologies')
    .action(async (o) => {
      if (o.listPresets) {
        const ps = listPresets();
        console.log(o.json ? JSON.stringify({ presets: ps }, null, 2) : ps.map((p) => `${p.name.padEnd(22)} ${p.description}`).join('\n'));
        return;
      }
      if (!o.topo) throw new InvalidArgumentError('--topo <file|preset> is required (or --list-presets)');
      const topology = loadTopology({ topo: o.topo, gpusCsv: o.gpus, nvlinkStatus: o.nvlink });
      if (o.asGpunode) {
        const { gpuNodeObject } = await import('../cluster/gpunode.js');
        const obj = gpuNodeObject(o.asGpunode, topology, {});
        console.log(o.json ? JSON.stringify(obj, null, 2) : toYaml(obj));
        return;
      }
      let request: GpuRequest | undefined;
      if (o.request !== undefined) {
        request = { gpuCount: o.request, milliPerGpu: o.milli, topology: o.topology as TopologyMode, policy: o.policy as PackingPolicy };
        const err = validateRequest(request);
        if (err) throw new InvalidArgumentError(err);
      }
      const report = inspectTopology(topology, request, o.free);
      console.log(o.json ? JSON.stringify(report, null, 2) : formatInspect(report));
    });
}
