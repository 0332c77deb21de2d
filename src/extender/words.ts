/**
 * Decisions in words, for people: the `linkpack.io/decision` annotation, the bind Event, /explain,
 * `linkpack explain` and the web view all use these sentences. The comparison follows the core's
 * own order of terms (place.ts): with a workload profile (binpack) FGD points, then the NVLink
 * tier; without, the tier, then an exact fit; then the free NVLink bandwidth a placement takes
 * out of the pool; then packing.
 */
import { fragPoints, SHARE_CPU_PER_FREE_GPU_MILLI } from '../core/index.js';
import { GPU_MILLI, type GpuRequest, type ScoreBreakdown } from '../core/types.js';

const gbps = (x: number) => `${Math.round(x)} GB/s`;
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** What a pod asks, as far as the words need it: a number is a count of whole GPUs. */
export type AskedGpus = number | Pick<GpuRequest, 'gpuCount' | 'milliPerGpu'>;

function linkWords(b: ScoreBreakdown, asked: AskedGpus): string {
  const gpuCount = typeof asked === 'number' ? asked : asked.gpuCount;
  const milli = typeof asked === 'number' ? GPU_MILLI : asked.milliPerGpu;
  if (gpuCount === 1 && milli < GPU_MILLI) return `a share of one GPU (${milli} milli-GPU, ${pct(milli / GPU_MILLI)})`;
  if (gpuCount < 2) return 'one whole GPU';
  if (b.nvlinkAllPairs) return `NVLink all pairs (bottleneck ${gbps(b.bottleneckGBps)})`;
  if (b.nvlinkConnected) return `NVLink connected, not every pair direct (bottleneck ${gbps(b.bottleneckGBps)})`;
  return `no NVLink path between them (bottleneck ${gbps(b.bottleneckGBps)} over PCIe/system)`;
}

/** One line: how good the set is, what it leaves behind. Starts with the link class. */
export function placementInWords(b: ScoreBreakdown, asked: AskedGpus = 2): string {
  const parts = [linkWords(b, asked)];
  if (b.freeGpusAfter === 0) parts.push('fills the node exactly');
  else {
    parts.push(`leaves ${b.freeGpusAfter} GPU${b.freeGpusAfter === 1 ? '' : 's'} free (largest NVLink set ${b.largestNvlinkSetAfter})`);
    parts.push(b.leftoverQuality >= 0.9995 ? "keeps the free GPUs' NVLink links whole" : `keeps ${pct(b.leftoverQuality)} of the free GPUs' NVLink bandwidth`);
  }
  if (b.fragDeltaMilli !== undefined) {
    parts.push(b.fragDeltaMilli <= 0 ? 'adds no expected fragmentation' : `adds ${Math.round(b.fragDeltaMilli)} milli-GPU of expected fragmentation`);
  }
  return parts.join('; ');
}

function tier(b: ScoreBreakdown, req: Pick<GpuRequest, 'gpuCount' | 'topology'>): number {
  if (req.gpuCount < 2 || req.topology === 'any') return 0;
  return b.nvlinkAllPairs ? 2 : b.nvlinkConnected ? 1 : 0;
}

export interface Candidate {
  node: string;
  breakdown: ScoreBreakdown;
  /** Free NVLink bandwidth the set takes out of the node's pool (GB/s), when known. */
  nvlinkTakenGBps?: number;
}

/**
 * Why `other` scored below `best`: the first term of the core's order where they differ.
 * `fragAware`: a workload profile was used with binpack (FGD points lead).
 */
export function whyLost(best: Candidate, other: Candidate, req: Pick<GpuRequest, 'gpuCount' | 'topology' | 'policy'>, fragAware: boolean): string {
  const a = best.breakdown;
  const b = other.breakdown;
  const reasons: (() => string | undefined)[] = [];
  const tierReason = () => {
    const ta = tier(a, req);
    const tb = tier(b, req);
    if (tb >= ta) return undefined;
    return tb === 1 ? `its best set is NVLink-connected but not every pair is direct (${best.node}'s is)` : `its best set has no NVLink path (${best.node}'s is NVLink-connected)`;
  };
  const fragReason = () => {
    if (!fragAware || a.fragDeltaMilli === undefined || b.fragDeltaMilli === undefined) return undefined;
    // The core's points count model scarcity with the fragmentation (place.ts).
    const fa = a.fragDeltaMilli + (a.scarcityMilli ?? 0);
    const fb = b.fragDeltaMilli + (b.scarcityMilli ?? 0);
    if (fragPoints(fb) >= fragPoints(fa)) return undefined;
    return `it would add more expected fragmentation (${Math.round(fb)} vs ${Math.round(fa)} milli-GPU), stranding GPU share typical pods could use`;
  };
  // With a profile, a share: one that leaves the free whole GPUs their CPU wins (place.ts W_SHARE_STARVES_GPUS).
  const cpuReason = () => {
    if (!fragAware || !b.leavesGpusShortOfCpu || a.leavesGpusShortOfCpu) return undefined;
    return `it would leave ${other.node}'s ${b.freeGpusAfter} free whole GPU${b.freeGpusAfter === 1 ? '' : 's'} less than ${SHARE_CPU_PER_FREE_GPU_MILLI / 1000} CPU cores each`;
  };
  // Without a profile, binpack: a job that takes a node's last free capacity wins (place.ts W_EXACT).
  const exactReason = () => {
    if (fragAware || req.policy !== 'binpack') return undefined;
    const exact = (x: ScoreBreakdown) => x.gpuUsedAfter >= 1 - 1e-9;
    if (!exact(a) || exact(b)) return undefined;
    return `${best.node} is filled exactly (nothing left over), ${other.node} would keep ${b.freeGpusAfter} GPU${b.freeGpusAfter === 1 ? '' : 's'} free`;
  };
  const preserveReason = () => {
    const ta = best.nvlinkTakenGBps;
    const tb = other.nvlinkTakenGBps;
    if (ta !== undefined && tb !== undefined) {
      // The core weighs the NVLink bandwidth taken from the free GPUs (1 GB/s outweighs any
      // packing difference); said as what stays usable for the next multi-GPU job.
      if (tb <= ta + 1e-6) return undefined;
      const sets = `largest free NVLink set left: ${b.largestNvlinkSetAfter} there, ${a.largestNvlinkSetAfter} on ${best.node}`;
      return ta <= 1e-6
        ? `on ${other.node} it would take GPUs that other free GPUs reach over NVLink, on ${best.node} none (${sets})`
        : `on ${other.node} it would use up more of the NVLink links between free GPUs (${sets})`;
    }
    if (b.leftoverQuality + 1e-9 >= a.leftoverQuality) return undefined;
    return `it would break up a free NVLink group: ${other.node} would keep ${pct(b.leftoverQuality)} of its free NVLink bandwidth (largest free NVLink set ${b.largestNvlinkSetAfter}), ${best.node} keeps ${pct(a.leftoverQuality)}`;
  };
  const packReason = () => {
    if (Math.abs(a.gpuUsedAfter - b.gpuUsedAfter) < 1e-9) return undefined;
    return req.policy === 'spread'
      ? `spread prefers the emptier node: ${best.node} ends ${pct(a.gpuUsedAfter)} used, ${other.node} would end ${pct(b.gpuUsedAfter)}`
      : `binpack fills the fuller node first: ${best.node} ends ${pct(a.gpuUsedAfter)} used${a.freeGpusAfter === 0 ? ' (exactly full)' : ''}, ${other.node} would end ${pct(b.gpuUsedAfter)}`;
  };
  if (fragAware) reasons.push(fragReason, tierReason, cpuReason);
  else reasons.push(tierReason, exactReason);
  reasons.push(preserveReason, packReason);
  for (const r of reasons) {
    const text = r();
    if (text) return text;
  }
  return 'it scores the same; the tie went to the node kube-scheduler listed first';
}
