/**
 * Parser for `nvidia-smi nvlink -s` (`--status`): per GPU, the speed of each NVLink, or
 * `<inactive>`, or NVML's "all links are inActive" line for GPUs without NVLink.
 */
import { ParseError } from './types.js';

export interface NvlinkLinkStatus {
  link: number;
  /** Per-link speed in GB/s (one direction), or null when the link is inactive. */
  speedGBps: number | null;
}

export interface NvlinkGpuStatus {
  index: number;
  name: string;
  uuid: string;
  links: NvlinkLinkStatus[];
  /** True when no link is active (including GPUs for which NVML reports none at all). */
  allInactive: boolean;
}

const GPU_LINE = /^GPU (\d+): (.+) \(UUID: ([^)\s]+)\)$/;
const LINK_LINE = /^Link (\d+): (.+)$/;
const SPEED = /^(\d+(?:\.\d+)?) GB\/s$/;
const NO_NVLINK = /^NVML: Unable to retrieve NVLink information as all links are inactive$/i;

/** Parse `nvidia-smi nvlink -s` output. `source` (e.g. a file name) prefixes error messages. */
export function parseNvlinkStatus(text: string, source?: string): NvlinkGpuStatus[] {
  const gpus: NvlinkGpuStatus[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') return;
    const gpu = GPU_LINE.exec(line);
    if (gpu) {
      const index = Number(gpu[1]);
      if (gpus.some((g) => g.index === index)) throw new ParseError(`GPU ${index} appears twice`, lineNo, source);
      gpus.push({ index, name: gpu[2].trim(), uuid: gpu[3], links: [], allInactive: true });
      return;
    }
    const current = gpus[gpus.length - 1];
    if (NO_NVLINK.test(line)) {
      if (!current) throw new ParseError('NVML message before any "GPU <i>: <name> (UUID: ...)" line', lineNo, source);
      return;
    }
    const link = LINK_LINE.exec(line);
    if (!link) {
      throw new ParseError(
        `unexpected line '${line.slice(0, 60)}'; expected "GPU <i>: <name> (UUID: <uuid>)", "Link <n>: <speed> GB/s" or "Link <n>: <inactive>"`,
        lineNo,
        source,
      );
    }
    if (!current) throw new ParseError(`link line before any "GPU <i>: ..." line`, lineNo, source);
    const n = Number(link[1]);
    if (current.links.some((l) => l.link === n)) {
      throw new ParseError(`GPU ${current.index} lists link ${n} twice`, lineNo, source);
    }
    const value = link[2].trim();
    let speedGBps: number | null;
    if (value === '<inactive>') {
      speedGBps = null;
    } else {
      const speed = SPEED.exec(value);
      if (!speed) throw new ParseError(`link ${n} of GPU ${current.index} is '${value}'; expected '<speed> GB/s' or '<inactive>'`, lineNo, source);
      speedGBps = Number(speed[1]);
      current.allInactive = false;
    }
    current.links.push({ link: n, speedGBps });
  });
  if (gpus.length === 0) {
    throw new ParseError('no "GPU <i>: <name> (UUID: ...)" line; expected the output of `nvidia-smi nvlink -s`', undefined, source);
  }
  return gpus;
}

/**
 * The per-link speed of the active NVLinks (GB/s, e.g. 26.562 on H100), or null when none is
 * active. Should links report different speeds, the slowest is returned: it bounds a bonded set.
 */
export function activeLinkSpeedGBps(status: readonly NvlinkGpuStatus[]): number | null {
  let min: number | null = null;
  for (const gpu of status) {
    for (const { speedGBps } of gpu.links) {
      if (speedGBps !== null && (min === null || speedGBps < min)) min = speedGBps;
    }
  }
  return min;
}
