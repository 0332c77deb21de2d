/**
 * `linkpack device-plugin`: serve nvidia.com/gpu to the kubelet, honouring the extender's
 * assigned GPUs. GPUs and health from nvidia-smi (the agent's runner and rules); intents from a
 * watch of this node's pods, unless --no-api.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { fakeSmiScript } from '../agent/command.js';
import { checkDirectory } from '../cli/checks.js';
import { reportError, UsageError } from '../cli/errors.js';
import { missingKubeconfig, noClusterReason } from '../kube/no-cluster.js';
import { nvidiaSmiRunner } from '../agent/nvidia-smi.js';
import { getPreset, listPresets } from '../topology/presets.js';
import { DEVICE_PLUGIN_DIR } from '../kubelet/device-plugin-api.js';
import type { Feed } from '../kube/informer.js';
import { KubePodEventRecorder } from './events.js';
import { IntentStore } from './intents.js';
import { nodePodFeed } from './pods.js';
import { nodeGpus } from './preferred.js';
import { LinkpackDevicePlugin } from './server.js';
import { MAX_SHARE_SLOTS } from './slots.js';
import { SmiDeviceSource } from './smi-source.js';
import { cdiSupport } from './cdi-support.js';
import { kubeJson } from '../kube/request.js';

/** The Node's containerRuntimeVersion (one GET; the plugin starts without it after 5 s). */
async function nodeRuntimeVersion(kc: KubeConfig, nodeName: string): Promise<string | undefined> {
  const node = (await kubeJson(kc, 'GET', `/api/v1/nodes/${encodeURIComponent(nodeName)}`, undefined, undefined, 5_000)) as { status?: { nodeInfo?: { containerRuntimeVersion?: string } } };
  return node.status?.nodeInfo?.containerRuntimeVersion;
}

export interface DevicePluginCommandOptions {
  nodeName?: string;
  nvidiaSmi?: string;
  /** The agent's built-in fake nvidia-smi for a preset machine. */
  fake?: string;
  pluginDir: string;
  kubeconfig?: string;
  api: boolean;
  cdi?: boolean;
  healthInterval: string;
  /** Milliseconds GetPreferredAllocation waits for the pod watch when no intent fits yet. */
  intentWait?: string;
  /** Devices advertised per GPU (share slots `<uuid>::k`); 1 = one device per GPU, ID = UUID. */
  shareSlots?: string;
  logLevel: string;
}

export interface RunningDevicePlugin {
  plugin: LinkpackDevicePlugin;
  close(): Promise<void>;
}

/** The kubelet and the plugin watch the same pod; the kubelet may ask first. A few watch latencies. */
export const DEFAULT_INTENT_WAIT_MS = 250;

/** `--share-slots`: a whole number 1–100. */
export function parseShareSlots(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_SHARE_SLOTS)) throw new UsageError(`--share-slots "${text}": expected a whole number of devices per GPU, 1–${MAX_SHARE_SLOTS}`);
  return n;
}

/** The device plugin's way to run without a cluster. */
const NO_API = 'linkpack device-plugin --no-api (preferred allocations from the core alone)';

function positiveSeconds(text: string, flag: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new UsageError(`${flag} "${text}": expected a positive number of seconds`);
  return n * 1000;
}

export async function runDevicePlugin(opts: DevicePluginCommandOptions, logger: Logger = pino({ level: opts.logLevel })): Promise<RunningDevicePlugin> {
  const nodeName = opts.nodeName ?? process.env.NODE_NAME;
  if (!nodeName) throw new UsageError('--node-name is required (or $NODE_NAME, set from spec.nodeName in the DaemonSet)');
  const intervalMs = positiveSeconds(opts.healthInterval, '--health-interval');
  const intentWaitMs = Number(opts.intentWait ?? DEFAULT_INTENT_WAIT_MS);
  if (!(intentWaitMs >= 0 && intentWaitMs <= 10_000)) throw new UsageError(`--intent-wait "${opts.intentWait}": expected milliseconds 0–10000`);
  const shareSlots = parseShareSlots(opts.shareSlots ?? '1');
  checkDirectory(opts.pluginDir, '--plugin-dir', "the kubelet's device-plugins directory");
  if (opts.api) {
    // Without a cluster the pod watch would retry localhost:8080 forever while logging success.
    const missing = opts.kubeconfig ? missingKubeconfig(opts.kubeconfig, NO_API) : noClusterReason(process.env, homedir(), existsSync, NO_API);
    if (missing) throw new UsageError(missing);
  }
  const log = (level: 'info' | 'warn' | 'error', message: string) => logger[level](message);

  if (opts.fake && opts.nvidiaSmi) throw new UsageError('--fake and --nvidia-smi exclude each other: --fake runs the built-in fake nvidia-smi');
  if (opts.fake && !getPreset(opts.fake)) throw new UsageError(`--fake "${opts.fake}": not a preset (one of ${listPresets().map((p) => p.name).join(', ')})`);
  const runner = nvidiaSmiRunner(opts.fake ? { path: process.execPath, argsPrefix: [fakeSmiScript(), '--preset', opts.fake] } : { path: opts.nvidiaSmi ?? 'nvidia-smi' });
  const devices = await SmiDeviceSource.open(runner, { nodeName, intervalMs, log: (level, m) => log(level, m) });
  const node = nodeGpus(nodeName, devices.topology());

  let feed: Feed | undefined;
  let intents: IntentStore | undefined;
  let events: KubePodEventRecorder | undefined;
  let kc: KubeConfig | undefined;
  if (opts.api) {
    kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    intents = new IntentStore((i) => node.uuidOf[i], (u) => node.indexOf.has(u), log);
    events = new KubePodEventRecorder(kc, 'linkpack-device-plugin', nodeName, log);
    feed = nodePodFeed(kc, nodeName, intents, log);
  }

  let cdi = opts.cdi ?? false;
  if (cdi && kc) {
    const runtime = await nodeRuntimeVersion(kc, nodeName).catch((e: Error) => (log('warn', `--cdi: could not read Node ${nodeName}'s runtime version (${e.message}); keeping CDI`), undefined));
    const support = cdiSupport(runtime);
    if (!support.ok) {
      log('warn', support.reason);
      cdi = false;
    }
  }
  const plugin = new LinkpackDevicePlugin({ node, devices, pluginDir: opts.pluginDir, intents, events, cdi, log, intentWaitMs, shareSlots });
  await plugin.start();
  devices.start();
  if (!plugin.isRegistered) log('info', `waiting for the kubelet at ${plugin.kubeletSocketPath} (registers as soon as it appears)`);
  // Not awaited: the kubelet must get its devices even while the API server is unreachable
  // (preferences then come from the core until the first list arrives).
  void feed?.start().then(() => log('info', `watching pods on ${nodeName}: ${intents!.size} with a linkpack assignment`));
  log('info', `device plugin for ${nodeName}: ${node.uuidOf.length} GPUs, ${opts.api ? 'honouring linkpack assignments' : 'core only (--no-api)'}${cdi ? ', CDI device names' : ''}${shareSlots > 1 ? `, ${shareSlots} share slots per GPU` : ''}`);
  return {
    plugin,
    async close() {
      devices.stop();
      await feed?.stop();
      await plugin.stop();
    },
  };
}

export function registerDevicePluginCommand(program: Command, hooks: { onStarted?: (r: RunningDevicePlugin) => void } = {}): Command {
  return program
    .command('device-plugin')
    .description('Serve nvidia.com/gpu to the kubelet (device plugin v1beta1), giving each pod the GPUs linkpack assigned at bind')
    .option('--node-name <name>', 'this node (default $NODE_NAME)')
    .option('--nvidia-smi <path>', 'nvidia-smi executable (default: nvidia-smi on PATH)')
    .option('--fake <preset>', "the agent's built-in fake nvidia-smi for a preset machine (try it without GPUs)")
    .option('--plugin-dir <dir>', "the kubelet's device-plugins directory", DEVICE_PLUGIN_DIR)
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then $KUBECONFIG / ~/.kube/config)')
    .option('--no-api', 'make no API calls: preferred allocations from the core alone, mismatches only logged')
    .option('--cdi', 'give containers CDI device names (nvidia.com/gpu=<uuid>) instead of NVIDIA_VISIBLE_DEVICES')
    .option('--health-interval <seconds>', 'how often GPU health is re-read with nvidia-smi', '10')
    .option('--intent-wait <ms>', "when no pod's assignment fits a request yet, wait this long for the pod watch to catch up with the kubelet's", String(DEFAULT_INTENT_WAIT_MS))
    .option('--share-slots <n>', 'advertise each GPU as n devices <uuid>::0..n-1 so that pods with linkpack.io/gpu-milli can share it (1 = one device per GPU)', '1')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (opts: DevicePluginCommandOptions) => {
      let running: RunningDevicePlugin;
      try {
        running = await runDevicePlugin(opts);
      } catch (err) {
        reportError('device-plugin', err);
        return;
      }
      if (hooks.onStarted) return hooks.onStarted(running);
      const shutdown = () => void running.close().then(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
