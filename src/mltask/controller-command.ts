/** `linkpack controller`: run the MLTask controller against a cluster. */
import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import type { Command } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { noClusterReason, parseSeconds, UsageError } from '../extender/command.js';
import { DEFAULT_TIMINGS, validateTimings } from '../kube/leader-election.js';
import { MLTaskController, type ControllerOptions } from './controller.js';

export interface ControllerCommandOptions {
  kubeconfig?: string;
  namespace?: string;
  leaderElect?: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  identity?: string;
  workers: string;
  logLevel: string;
}

/** Flags → controller options; every bad flag is a UsageError naming it. */
export function controllerOptions(o: ControllerCommandOptions, kubeConfig: KubeConfig): ControllerOptions {
  const workers = /^\d+$/.test(o.workers) ? Number(o.workers) : NaN;
  if (!(workers >= 1 && workers <= 64)) throw new UsageError(`--workers "${o.workers}": expected a whole number 1–64`);
  const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const out: ControllerOptions = { kubeConfig, workers, identity, ...(o.namespace ? { namespace: o.namespace } : {}) };
  if (o.leaderElect) {
    const t = {
      leaseDurationMs: parseSeconds(o.leaseDuration, '--lease-duration'),
      renewDeadlineMs: parseSeconds(o.renewDeadline, '--renew-deadline'),
      retryPeriodMs: parseSeconds(o.retryPeriod, '--retry-period'),
    };
    const problem = validateTimings(t);
    if (problem) throw new UsageError(problem);
    out.leaderElection = { namespace: o.leaseNamespace, name: o.leaseName, identity, ...t };
  }
  return out;
}

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the MLTask controller: MLTask → headless Service + StatefulSet, status from the workers')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--namespace <ns>', 'watch only this namespace (default: all)')
    .option('--leader-elect', 'elect one active replica through a coordination.k8s.io Lease')
    .option('--lease-namespace <ns>', 'namespace of the Lease', process.env.POD_NAMESPACE ?? 'linkpack-system')
    .option('--lease-name <name>', 'name of the Lease', 'linkpack-controller')
    .option('--lease-duration <s>', 'seconds a Lease is valid without renewal', String(DEFAULT_TIMINGS.leaseDurationMs / 1000))
    .option('--renew-deadline <s>', 'seconds the leader keeps trying to renew before it stops', String(DEFAULT_TIMINGS.renewDeadlineMs / 1000))
    .option('--retry-period <s>', 'seconds between attempts', String(DEFAULT_TIMINGS.retryPeriodMs / 1000))
    .option('--identity <id>', 'this replica in the Lease (default: $POD_NAME or host-pid)')
    .option('--workers <n>', 'concurrent reconciles (one per task at a time)', '2')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (o: ControllerCommandOptions) => {
      const logger = pino({ level: o.logLevel });
      const kubeConfig = new KubeConfig();
      if (o.kubeconfig) {
        try {
          kubeConfig.loadFromFile(o.kubeconfig);
        } catch (err) {
          const why = err instanceof TypeError ? 'not a kubeconfig (no clusters, users or contexts)' : (err as Error).message.split('\n')[0];
          throw new UsageError(`--kubeconfig ${o.kubeconfig}: ${why}`);
        }
      }
      else {
        const missing = noClusterReason(process.env, homedir(), existsSync);
        if (missing) throw new UsageError(missing.replace('linkpack extender --cluster-file deploy/examples/cluster.yaml', 'linkpack mltask render -f <task.yaml> (offline)'));
        kubeConfig.loadFromDefault();
      }
      const opts = controllerOptions(o, kubeConfig);
      const controller = new MLTaskController({
        ...opts,
        log: (level, m) => logger[level](m),
        onLostLeadership: () => {
          logger.error('lost the Lease; exiting so that a fresh replica campaigns again');
          process.exit(1);
        },
      });
      const stop = async () => {
        logger.info('stopping');
        await controller.stop();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
      await controller.start();
      logger.info({ namespace: o.namespace ?? '(all)', leaderElect: Boolean(o.leaderElect), workers: opts.workers }, 'caches synced');
    });
}
