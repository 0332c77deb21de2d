/**
 * `linkpack extender`: serve the extender API, fed either by informers against the cluster
 * (default) or by a static multi-document YAML file (`--cluster-file`, binds kept in memory).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { KubeConfig } from '@kubernetes/client-node';
import { kubePodsGone, type PodsGone } from '../cluster/k8s-pods-gone.js';
import { pino, type Logger } from 'pino';
import { ClusterCache, ClusterInformers, KubePodBinder, loadClusterFile, StaticPodBinder } from '../cluster/index.js';
import type { PodBinder } from '../cluster/types.js';
import { availableGpusByModel } from '../core/index.js';
import { checkReadableFile } from '../cli/checks.js';
import { reportError, UsageError } from '../cli/errors.js';
import { missingKubeconfig, noClusterReason } from '../kube/no-cluster.js';
import { observedProfile } from './observed-profile.js';
import { buildExtenderServer } from './server.js';

export interface ExtenderCommandOptions {
  clusterFile?: string;
  port: string;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  kubeconfig?: string;
  heartbeatTimeout: string;
  /** Seconds a gang's GPU reservation lives without progress (default 60). */
  gangReservation?: string;
  bodyLimitMib: string;
  remoteVerbs?: boolean;
  logLevel: string;
  /** 'observed' (default) or 'none'. */
  profile?: string;
  /** 'true' (default) or 'false': as kube-scheduler's nodeCacheCapable for this extender. */
  nodeCacheCapable?: string;
  /** --heartbeat-timeout was given (with --cluster-file, heartbeats are checked only then). */
  heartbeatTimeoutExplicit?: boolean;
}

export { UsageError } from '../cli/errors.js';

export { EXTENDER_WITHOUT_CLUSTER, missingKubeconfig, noClusterReason, SERVICE_ACCOUNT_TOKEN } from '../kube/no-cluster.js';

/** `120`, `120s`, `2m` → milliseconds. */
export function parseSeconds(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new UsageError(`${flag} "${text}": expected a positive duration in seconds ("120", "120s" or "2m")`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000);
}

function parsePort(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new UsageError(`--port "${text}": expected an integer 0–65535`);
  return n;
}

export interface RunningExtender {
  app: FastifyInstance;
  address: string;
  close(): Promise<void>;
}

/** Start the extender as the command would (exported for tests). */
export async function runExtender(opts: ExtenderCommandOptions, logger: Logger = pino({ level: opts.logLevel })): Promise<RunningExtender> {
  const port = parsePort(opts.port);
  const heartbeatTimeoutMs = parseSeconds(opts.heartbeatTimeout, '--heartbeat-timeout');
  const bodyLimitMib = Number(opts.bodyLimitMib);
  if (!(bodyLimitMib > 0)) throw new UsageError(`--body-limit-mib "${opts.bodyLimitMib}": expected a positive number`);
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together: give both or neither');
  // Files named on the command line: a missing one is the user's to fix (exit 2), said before anything starts.
  if (opts.tlsCert) checkReadableFile(opts.tlsCert, '--tls-cert');
  if (opts.tlsKey) checkReadableFile(opts.tlsKey, '--tls-key');
  if (opts.clusterFile) checkReadableFile(opts.clusterFile, '--cluster-file');
  const https = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : undefined;

  const nccText = opts.nodeCacheCapable ?? 'true';
  if (nccText !== 'true' && nccText !== 'false') throw new UsageError(`--node-cache-capable "${opts.nodeCacheCapable}": expected true or false`);
  const nodeCacheCapable = nccText === 'true';
  const profileSource = opts.profile ?? 'observed';
  if (profileSource !== 'observed' && profileSource !== 'none') throw new UsageError(`--profile "${opts.profile}": expected observed or none`);
  let cluster: ClusterCache;
  let binder: PodBinder;
  let podsGone: PodsGone | undefined;
  let stop = async (): Promise<void> => {};
  if (opts.clusterFile) {
    // A file is a snapshot: heartbeats are only checked when --heartbeat-timeout is given explicitly.
    const { cache, contents } = await loadClusterFile(opts.clusterFile, opts.heartbeatTimeoutExplicit ? { heartbeatTimeoutMs } : {});
    cluster = cache;
    binder = new StaticPodBinder(cache);
    logger.info(
      { file: opts.clusterFile, nodes: contents.nodes.length, gpuNodes: contents.gpuNodes.length, pods: contents.pods.length },
      'standalone mode: serving a static cluster file, binds are kept in memory',
    );
  } else {
    const kubeConfig = new KubeConfig();
    if (opts.kubeconfig) {
      const missing = missingKubeconfig(opts.kubeconfig);
      if (missing) throw new UsageError(missing);
      kubeConfig.loadFromFile(opts.kubeconfig);
    } else {
      const missing = noClusterReason(process.env, homedir(), existsSync);
      if (missing) throw new UsageError(missing);
      kubeConfig.loadFromDefault();
    }
    const cache = new ClusterCache({ heartbeatTimeoutMs, onNotice: (m) => logger.warn(m) });
    const informers = new ClusterInformers({ kubeConfig, cache, log: (level, m) => logger[level](m) });
    cluster = cache;
    binder = new KubePodBinder({ kubeConfig, log: (level, m) => logger[level](m) });
    podsGone = kubePodsGone(kubeConfig, undefined, (m) => logger.warn(m));
    // Serve at once; /readyz stays 503 until both feeds have listed.
    let stopping = false;
    informers.start().then(
      // start() also resolves when stopped before the first list: that is no sync.
      () => (stopping ? logger.info('stopped before the caches synced') : logger.info('caches synced')),
      (err: unknown) => logger.error({ err }, 'informers failed to start'),
    );
    stop = () => {
      stopping = true;
      return informers.stop();
    };
  }

  const app = buildExtenderServer({
    cluster,
    binder,
    ...(podsGone ? { podsGone } : {}),
    logger,
    bodyLimitBytes: Math.round(bodyLimitMib * 1024 * 1024),
    https,
    processMetrics: true,
    verbsLoopbackOnly: !opts.remoteVerbs,
    nodeCacheCapable,
    gangReservationMs: parseSeconds(opts.gangReservation ?? '60', '--gang-reservation'),
    ...(profileSource === 'observed'
      ? {
          profile: observedProfile(() => cluster.podObjects(), undefined, undefined, {
            isGpuNode: (n) => cluster.gpuNode(n) !== undefined,
            podCount: () => cluster.podCount(),
            gpusByModel: () => cluster.gpusByModel(),
            freeGpusByModel: () => availableGpusByModel(cluster.gpusByModel(), cluster.freeGpusByModel(), cluster.churn()),
          }),
        }
      : {}),
  });
  const address = await app.listen({ port, host: opts.host });
  return {
    app,
    address,
    close: async () => {
      await stop();
      await app.close();
    },
  };
}

/**
 * Adds `linkpack extender` to the program. `onStarted` (tests) receives the running server
 * instead of the process-level SIGTERM/SIGINT handlers.
 */
export function registerExtenderCommand(program: Command, hooks: { onStarted?: (r: RunningExtender) => void } = {}): Command {
  return program
    .command('extender')
    .description('Serve the kube-scheduler extender API (filter, prioritize, bind, preempt, explain, metrics)')
    .option('--cluster-file <file>', 'standalone: serve a static multi-document YAML of Node, GPUNode and Pod objects; binds stay in memory')
    .option('--port <port>', 'port to listen on', '8888')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then $KUBECONFIG / ~/.kube/config)')
    .option('--heartbeat-timeout <seconds>', 'ignore a GPUNode whose agent heartbeat is older than this', '120')
    .option('--gang-reservation <seconds>', 'how long GPU sets planned for an MLTask gang stay reserved without progress', '60')
    .option('--body-limit-mib <MiB>', 'largest request body accepted', '64')
    .option('--node-cache-capable <bool>', 'as nodeCacheCapable in the scheduler config: true caps filter/prioritize bodies (names only) at 8 MiB; false (whole Node objects) at --body-limit-mib', 'true')
    .option('--remote-verbs', 'accept filter/prioritize/bind/preempt from non-loopback callers (extender added to the default scheduler)')
    .option('--profile <source>', 'fragmentation look-ahead: "observed" learns typical GPU pod shapes from the cluster (as the simulator does); "none" scores NVLink first', 'observed')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (opts: ExtenderCommandOptions, cmd: Command) => {
      let running: RunningExtender;
      try {
        running = await runExtender({ ...opts, heartbeatTimeoutExplicit: cmd.getOptionValueSource('heartbeatTimeout') === 'cli' });
      } catch (err) {
        reportError('extender', err);
        return;
      }
      if (hooks.onStarted) return hooks.onStarted(running);
      const shutdown = () => {
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
