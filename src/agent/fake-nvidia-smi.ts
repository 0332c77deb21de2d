/**
 * A fake nvidia-smi for trying the agent without GPUs: `node fake-nvidia-smi.js --preset <name>
 * <nvidia-smi args>` prints what the real tool prints for that preset's machine (`topo -m`,
 * `nvlink -s`, `--query-gpu`, `--query-remapped-rows`), in the real formats, and fails the way
 * the real tool does for a field it does not know (exit 2). `linkpack agent --fake <preset>` runs it.
 * Faults for trying the health rules, by environment:
 *   FAKE_NVIDIA_SMI_LOST_GPU=<i>        GPU i has fallen off the bus (exit 15, the real message)
 *   FAKE_NVIDIA_SMI_DOWN_LINKS=<i>:<l>,… those NVLinks are <inactive>
 *   FAKE_NVIDIA_SMI_ECC_GPU=<i>         GPU i reports 2 uncorrected ECC errors
 *   FAKE_NVIDIA_SMI_OLD_DRIVER=1        pre-535 driver: no clocks_event_reasons.* fields
 * And for several fake machines side by side (the playground):
 *   FAKE_NVIDIA_SMI_UUID_SEED=<node>    mixes the node into the UUIDs, so two machines never share one
 * `--preset` also takes the path of a recorded `nvidia-smi topo -m` file instead of a preset name.
 */
import { existsSync } from 'node:fs';
import { getPreset, listPresets } from '../topology/presets.js';
import { loadTopology } from '../topology/load.js';
import { parseLinkLegend } from '../topology/link.js';
import type { Topology } from '../topology/types.js';

export function fakeUuid(preset: string, index: number): string {
  let h = 2166136261;
  for (const ch of `${preset}/${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const hex = (h.toString(16).padStart(8, '0') + index.toString(16).padStart(4, '0')).repeat(3);
  return `GPU-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export const fakeBusId = (index: number): string => `00000000:${(0x07 + index * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`;

const nvCount = (t: Topology, i: number) => Math.max(0, ...t.links[i].map((c, j) => (j === i ? 0 : (parseLinkLegend(c)?.nvlinks ?? 0))));

export function fakeTopo(t: Topology): string {
  const head = ['', ...t.gpus.map((_, i) => `GPU${i}`), 'CPU Affinity', 'NUMA Affinity', 'GPU NUMA ID'].join('\t');
  const rows = t.gpus.map((g, i) => {
    const numa = g.numaNode ?? 0;
    const cpus = g.cpuAffinity ?? `${numa * 16}-${numa * 16 + 15}`;
    return [`GPU${i}`, ...t.links[i].map((c) => (c === 'X' ? ' X ' : c)), cpus, String(numa), '', 'N/A'].join('\t');
  });
  return `${head}\n${rows.join('\n')}\n\nLegend:\n\n  X    = Self\n  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)\n  NV#  = Connection traversing a bonded set of # NVLinks\n`;
}

export function fakeNvlink(t: Topology, preset: string, down: ReadonlySet<string>): string {
  const speed = t.nvlinkGBpsPerLink ?? (/H100|H200/.test(t.gpus[0]?.model ?? '') ? 26.562 : 25);
  const out: string[] = [];
  t.gpus.forEach((g, i) => {
    out.push(`GPU ${i}: ${g.model ?? 'NVIDIA GPU'} (UUID: ${g.uuid ?? fakeUuid(preset, i)})`);
    const links = nvCount(t, i);
    if (links === 0) out.push('NVML: Unable to retrieve NVLink information as all links are inActive');
    for (let l = 0; l < links; l++) out.push(`\t Link ${l}: ${down.has(`${i}:${l}`) ? '<inactive>' : `${speed.toFixed(3).replace(/0+$/, '').replace(/\.$/, '')} GB/s`}`);
  });
  return `${out.join('\n')}\n`;
}

/** Field → value for GPU i at time tSec. */
function fieldValue(field: string, t: Topology, preset: string, i: number, tSec: number, env: NodeJS.ProcessEnv): string | undefined {
  const g = t.gpus[i];
  const total = g.memoryMiB ?? 40960;
  const util = Math.round((50 + 45 * Math.sin(tSec / 30 + i)) % 101);
  const used = Math.round((total * util) / 100);
  const ecc = env.FAKE_NVIDIA_SMI_ECC_GPU === String(i) ? 2 : 0;
  const reason = (r: string) => (r === 'hw_slowdown' || r === 'hw_thermal_slowdown' || r === 'hw_power_brake_slowdown' || r === 'sw_power_cap' ? 'Not Active' : undefined);
  const m = /^clocks_(event|throttle)_reasons\.(.+)$/.exec(field);
  if (m) return m[1] === 'event' && env.FAKE_NVIDIA_SMI_OLD_DRIVER === '1' ? undefined : reason(m[2]);
  const values: Record<string, string> = {
    index: String(i),
    uuid: g.uuid ?? fakeUuid(preset, i),
    gpu_uuid: g.uuid ?? fakeUuid(preset, i),
    name: g.model ?? 'NVIDIA GPU',
    'pci.bus_id': fakeBusId(i),
    gpu_bus_id: fakeBusId(i),
    driver_version: env.FAKE_NVIDIA_SMI_OLD_DRIVER === '1' ? '470.256.02' : '535.183.06',
    'memory.total': String(total),
    'memory.used': String(used),
    'memory.free': String(total - used),
    'utilization.gpu': String(util),
    'utilization.memory': String(Math.round(util / 2)),
    'temperature.gpu': String(35 + Math.round(util / 3)),
    'temperature.memory': String(40 + Math.round(util / 3)),
    'power.draw': (60 + util * 3.1).toFixed(2),
    'clocks.current.sm': String(1000 + util * 4),
    'clocks.sm': String(1000 + util * 4),
    'clocks.current.memory': '1593',
    'clocks.mem': '1593',
    'ecc.errors.uncorrected.volatile.total': String(ecc),
    'retired_pages.pending': '[N/A]',
    'remapped_rows.pending': 'No',
    'remapped_rows.failure': 'No',
  };
  return values[field];
}

export interface FakeAnswer {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** What the fake prints for these arguments (pure but for `nowMs`). */
export function fakeAnswer(presetName: string, args: readonly string[], env: NodeJS.ProcessEnv, nowMs: number, recorded?: Topology): FakeAnswer {
  const t = recorded ?? getPreset(presetName);
  const uuidKey = env.FAKE_NVIDIA_SMI_UUID_SEED ? `${env.FAKE_NVIDIA_SMI_UUID_SEED}/${presetName}` : presetName;
  if (!t) return { stdout: '', stderr: `fake nvidia-smi: unknown preset "${presetName}" (one of ${listPresets().map((p) => p.name).join(', ')})\n`, exitCode: 2 };
  const joined = args.join(' ');
  const down = new Set((env.FAKE_NVIDIA_SMI_DOWN_LINKS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
  if (joined === 'topo -m' || joined === 'topo --matrix') return { stdout: fakeTopo(t), stderr: '', exitCode: 0 };
  if (joined === 'nvlink -s' || joined === 'nvlink --status') return { stdout: fakeNvlink(t, uuidKey, down), stderr: '', exitCode: 0 };
  const q = /^--(query-gpu|query-remapped-rows)=(\S+)$/.exec(args[0] ?? '');
  if (q && args[1] === '--format=csv,noheader,nounits') {
    const fields = q[2].split(',');
    const lost = env.FAKE_NVIDIA_SMI_LOST_GPU !== undefined ? Number(env.FAKE_NVIDIA_SMI_LOST_GPU) : -1;
    const lines: string[] = [];
    for (let i = 0; i < t.gpus.length; i++) {
      if (i === lost) continue;
      const vals: string[] = [];
      for (const f of fields) {
        const v = fieldValue(f, t, uuidKey, i, nowMs / 1000, env);
        if (v === undefined) return { stdout: `Field "${f}" is not a valid field to query.\n\n`, stderr: '', exitCode: 2 };
        vals.push(v);
      }
      lines.push(vals.join(', '));
    }
    if (lost >= 0 && lost < t.gpus.length) {
      return { stdout: `${lines.join('\n')}\n`, stderr: `Unable to determine the device handle for GPU ${fakeBusId(lost).slice(4)}: GPU is lost. Reboot the system to recover this GPU\n`, exitCode: 15 };
    }
    return { stdout: `${lines.join('\n')}\n`, stderr: '', exitCode: 0 };
  }
  return { stdout: '', stderr: `Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n`, exitCode: 2 };
}

// Run as a script: node fake-nvidia-smi.js --preset <name> <nvidia-smi args…>
if (process.argv[1] && /fake-nvidia-smi\.(js|ts)$/.test(process.argv[1])) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--preset');
  const preset = at >= 0 ? argv[at + 1] : process.env.FAKE_NVIDIA_SMI_PRESET;
  const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  const recorded = preset && !getPreset(preset) && existsSync(preset) ? loadTopology({ topo: preset }) : undefined;
  const a = fakeAnswer(preset ?? '', rest, process.env, Date.now(), recorded);
  process.stdout.write(a.stdout);
  process.stderr.write(a.stderr);
  process.exitCode = a.exitCode;
}
