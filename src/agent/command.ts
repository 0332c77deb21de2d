/**
 * `linkpack agent`: the node agent. Imports stay light on purpose (no client-node, fastify or
 * pino): it runs on every GPU node, within ~60 MB. `src/agent/main.ts` is the same command
 * without the rest of the CLI, which is what the DaemonSet runs.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { DEFAULT_POD_RESOURCES_SOCKET, podResourcesClient } from '../kubelet/pod-resources-client.js';
import { getPreset, listPresets } from '../topology/presets.js';
import { Agent } from './agent.js';
import { inClusterTarget, kubeconfigTarget, kubeRest } from './kube-rest.js';
import { AgentMetrics, metricsServer } from './metrics.js';
import { nvidiaSmiRunner } from './nvidia-smi.js';
import { GpuNodePublisher } from './publisher.js';
import { SlicePublisher } from './slice-publisher.js';
import { UsageError } from '../cli/errors.js';
import { missingKubeconfig, noClusterReason } from '../kube/no-cluster.js';

/** The agent's way to run without a cluster. */
const AGENT_WITHOUT_CLUSTER = 'linkpack agent --dry-run (read nvidia-smi and serve /metrics only)';

// The one CLI kit's UsageError, re-exported for the modules that take it from here.
export { UsageError };

/** `10`, `10s`, `500ms`, `5m` → milliseconds. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m || !(Number(m[1]) > 0)) throw new UsageError(`${flag} "${text}": expected a positive duration like 10s, 500ms or 5m`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

function parseIntIn(text: string, flag: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag} "${text}": expected a whole number ${min}–${max}`);
  return n;
}

/** The shipped fake nvidia-smi script (dist/src/agent/fake-nvidia-smi.js), from src/ or dist/. */
export function fakeSmiScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'fake-nvidia-smi.js'), path.resolve(here, '../../dist/src/agent/fake-nvidia-smi.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the fake nvidia-smi is not built (looked for ${candidates.join(', ')}); run npm run build`);
  return found;
}

export interface AgentCommandOptions {
  nodeName?: string;
  nvidiaSmi?: string;
  fake?: string;
  interval: string;
  topologyInterval: string;
  nvlinkInterval: string;
  smiTimeout: string;
  flipAfter: string;
  port: string;
  host: string;
  kubeconfig?: string;
  podResourcesSocket: string;
  heartbeatTimeout: string;
  hostnameLabel: 'Hostname' | 'hostname';
  dryRun?: boolean;
  once?: boolean;
  dra?: boolean;
  logLevel: 'info' | 'warn';
}

/** Flags of `linkpack agent` (the DaemonSet test checks its args against these). */
export const AGENT_FLAGS = [
  '--node-name',
  '--nvidia-smi',
  '--fake',
  '--interval',
  '--topology-interval',
  '--nvlink-interval',
  '--smi-timeout',
  '--flip-after',
  '--port',
  '--host',
  '--kubeconfig',
  '--pod-resources-socket',
  '--heartbeat-timeout',
  '--hostname-label',
  '--dry-run',
  '--once',
  '--dra',
  '--log-level',
] as const;

const logger = (min: 'info' | 'warn') => (level: 'info' | 'warn', message: string) => {
  if (min === 'warn' && level === 'info') return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, component: 'agent', msg: message })}\n`);
};

export async function runAgentCommand(o: AgentCommandOptions): Promise<void> {
  const nodeName = o.nodeName ?? process.env.NODE_NAME;
  if (!nodeName) throw new UsageError('--node-name is required (or set NODE_NAME, e.g. from the downward API spec.nodeName)');
  if (o.fake && o.nvidiaSmi) throw new UsageError('--fake and --nvidia-smi exclude each other: --fake runs the built-in fake nvidia-smi');
  if (o.fake && !getPreset(o.fake)) throw new UsageError(`--fake "${o.fake}": not a preset (one of ${listPresets().map((p) => p.name).join(', ')})`);
  const intervalMs = parseDurationMs(o.interval, '--interval');
  const topologyIntervalMs = parseDurationMs(o.topologyInterval, '--topology-interval');
  const nvlinkIntervalMs = parseDurationMs(o.nvlinkInterval, '--nvlink-interval');
  const timeoutMs = parseDurationMs(o.smiTimeout, '--smi-timeout');
  const heartbeatTimeoutMs = parseDurationMs(o.heartbeatTimeout, '--heartbeat-timeout');
  const flipAfter = parseIntIn(o.flipAfter, '--flip-after', 1, 100);
  const port = parseIntIn(o.port, '--port', 0, 65535);
  const log = logger(o.logLevel);

  const metrics = new AgentMetrics({ hostname: nodeName ?? hostname(), hostnameLabel: o.hostnameLabel });
  const runner = nvidiaSmiRunner(o.fake ? { path: process.execPath, argsPrefix: [fakeSmiScript(), '--preset', o.fake], timeoutMs } : { path: o.nvidiaSmi ?? 'nvidia-smi', timeoutMs });
  // Like dcgm-exporter: without the socket there are no pod labels, and nothing fails.
  const podResources = existsSync(o.podResourcesSocket) ? podResourcesClient(o.podResourcesSocket) : undefined;
  if (!podResources) log('info', `kubelet PodResources socket ${o.podResourcesSocket} not found: no pod assignments or pod labels`);

  let publisher: GpuNodePublisher | undefined;
  let slicePublisher: SlicePublisher | undefined;
  if (!o.dryRun) {
    // A kubeconfig that is not there is said the way every command says it, with the agent's way out.
    const missing = o.kubeconfig
      ? missingKubeconfig(o.kubeconfig, AGENT_WITHOUT_CLUSTER)
      : !inClusterTarget() && process.env.KUBECONFIG
        ? noClusterReason(process.env, '', existsSync, AGENT_WITHOUT_CLUSTER)
        : undefined;
    if (missing) throw new UsageError(missing);
    const target = o.kubeconfig ? kubeconfigTarget(o.kubeconfig) : (inClusterTarget() ?? (process.env.KUBECONFIG ? kubeconfigTarget(process.env.KUBECONFIG) : undefined));
    if (!target) throw new UsageError('no cluster to write to: not in a pod and no --kubeconfig or KUBECONFIG (use --dry-run to only read and serve /metrics)');
    const api = kubeRest(target);
    publisher = new GpuNodePublisher({ api, nodeName, heartbeatTimeoutMs, log });
    if (o.dra) slicePublisher = new SlicePublisher({ api, nodeName, log });
    metrics.watchPublisher(() => publisher!.stats);
  }
  const agent = new Agent({ nodeName, runner, intervalMs, topologyIntervalMs, nvlinkIntervalMs, flipAfter, podResources, publisher: o.once ? undefined : publisher, slicePublisher: o.once ? undefined : slicePublisher, metrics, log });

  if (o.once) {
    const r = await agent.cycle();
    podResources?.close();
    const obj = agent.gpuNode();
    const slice = o.dra ? agent.resourceSlice() : undefined;
    if (o.dryRun) {
      // With --dra both objects, as one List, so the output stays one JSON document.
      const out = slice && obj ? { apiVersion: 'v1', kind: 'List', items: [obj, slice] } : obj;
      if (out) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else if (obj?.status) {
      publisher!.update(obj.status);
      publisher!.stop();
      await publisher!.idle();
      await publisher!.syncOnce(); // one attempt, its error is the command's
      if (slice) await slicePublisher!.publish(slice);
    }
    if (!r.complete) {
      for (const p of r.problems) process.stderr.write(`linkpack agent: ${p}\n`);
      process.exitCode = 1;
    }
    return;
  }

  const server = metricsServer(metrics, () => {
    const c = agent.lastCycle;
    if (!c) return { ok: true, detail: 'starting' };
    return { ok: true, detail: c.complete ? `ok: ${agent.cycles} cycles` : `degraded: ${c.problems.join('; ')}` };
  });
  await new Promise<void>((resolve, reject) => {
    // The error itself (code, port): the CLI kit says EADDRINUSE in one sentence.
    server.once('error', (e) => reject(e));
    server.listen(port, o.host, resolve);
  });
  const addr = server.address();
  log('warn', `agent for node ${nodeName}: /metrics on ${typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : port}${o.dryRun ? ' (dry run: nothing is written to the API)' : ''}`);
  agent.start();
  const stop = () => {
    agent.stop();
    publisher?.stop();
    podResources?.close();
    server.close();
    server.closeAllConnections?.();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('node agent: read the GPUs through nvidia-smi, publish the GPUNode, serve dcgm-exporter-compatible /metrics')
    .option('--node-name <name>', 'this node (default: $NODE_NAME)')
    .option('--nvidia-smi <path>', 'nvidia-smi executable (any program printing its formats; default: nvidia-smi on PATH)')
    .option('--fake <preset>', 'use the built-in fake nvidia-smi for a preset machine (try it without GPUs)')
    .option('--interval <duration>', 'GPU reading interval', '10s')
    .option('--topology-interval <duration>', 'topo -m re-read interval', '5m')
    .option('--nvlink-interval <duration>', 'nvlink -s (link health) interval', '60s')
    .option('--smi-timeout <duration>', 'per nvidia-smi call, then SIGKILL', '10s')
    .option('--flip-after <n>', 'consecutive readings needed to change a GPU or link health', '3')
    .option('--port <port>', '/metrics and /healthz port (dcgm-exporter uses 9400)', '9400')
    .option('--host <address>', 'listen address', '0.0.0.0')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster service account, then $KUBECONFIG)')
    .option('--pod-resources-socket <path>', 'kubelet PodResources socket', DEFAULT_POD_RESOURCES_SOCKET)
    .option('--heartbeat-timeout <duration>', "the extender's GPUNode heartbeat timeout; a heartbeat is written every third of it", '120s')
    .addOption(new Option('--hostname-label <name>', 'host label of GPU series (dcgm-exporter releases: Hostname)').choices(['Hostname', 'hostname']).default('Hostname'))
    .option('--dry-run', 'never write to the API; still serve /metrics')
    .option('--once', 'one reading; with --dry-run print the GPUNode JSON; exit 1 unless every GPU was read')
    .option('--dra', 'also publish the node\'s DRA ResourceSlice (driver gpu.linkpack.io, resource.k8s.io/v1; docs/dra.md)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['info', 'warn']).default('info'))
    .action(async (o: AgentCommandOptions) => runAgentCommand(o));
}
