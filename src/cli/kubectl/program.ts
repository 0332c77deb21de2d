/**
 * `kubectl linkpack` (the executable kubectl-linkpack): explain, nodes and why-pending, asking the
 * extender through the API server's service proxy with the user's kubeconfig, so an operator needs
 * no port-forward, only `get services/proxy` on the extender's Service (ClusterRole linkpack-viewer).
 * Parsing only: the Kubernetes client and the formatting load when a command runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { NAMESPACE_PATTERN, POD_PATTERN } from '../explain.js';
import type { CliTool } from '../errors.js';
import { packageVersion } from '../usage.js';

export const KUBECTL_LINKPACK: CliTool = { name: 'kubectl linkpack', hint: "(add --help for the options, or run 'kubectl linkpack help <command>')" };

/** Where the chart and kustomize put the extender's Service (charts/linkpack/templates/extender-service.yaml). */
export const DEFAULT_LINKPACK_NAMESPACE = 'linkpack-system';
export const DEFAULT_SERVICE = 'http:linkpack-extender:8888';
export const DEFAULT_SCHEDULER_NAME = 'linkpack-scheduler';

/** The extender's Service as the proxy path names it: `<scheme>:<name>:<port>`. */
export interface ServiceRef {
  scheme: 'http' | 'https';
  name: string;
  /** A number or a port name. */
  port: string;
}

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespaceOfLinkpack: string;
  service: ServiceRef;
}

const namespaceRe = new RegExp(`^${NAMESPACE_PATTERN}$`);
const podRe = new RegExp(`^${POD_PATTERN}$`);
const portNameRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `--service [scheme:]name[:port]`, as `kubectl get --raw /api/v1/…/services/<this>/proxy` takes it. */
export function parseService(v: string): ServiceRef {
  const parts = v.split(':');
  const scheme = parts.length === 3 || (parts.length === 2 && (parts[0] === 'http' || parts[0] === 'https')) ? parts.shift()! : 'http';
  const [name = '', port = '8888'] = parts;
  const portOk = /^\d+$/.test(port) ? Number(port) >= 1 && Number(port) <= 65535 : portNameRe.test(port);
  if ((scheme !== 'http' && scheme !== 'https') || !namespaceRe.test(name) || !portOk || parts.length > 2) {
    throw new InvalidArgumentError(`expected [http:|https:]<service>[:<port>] (e.g. ${DEFAULT_SERVICE}), got "${v}"`);
  }
  return { scheme, name, port };
}

export function namespaceArg(v: string): string {
  if (!namespaceRe.test(v)) throw new InvalidArgumentError(`"${v}" is not a namespace name (lower-case letters, digits and '-')`);
  return v;
}

/** `<namespace>/<pod>`, or `<pod>` with `-n` (or the kubeconfig context's namespace when neither). */
export function podRef(arg: string, namespace: string | undefined, contextNamespace: () => string): { namespace: string; name: string } {
  const slash = arg.indexOf('/');
  const ns = slash >= 0 ? arg.slice(0, slash) : (namespace ?? contextNamespace());
  const name = slash >= 0 ? arg.slice(slash + 1) : arg;
  if (slash >= 0 && namespace !== undefined && namespace !== ns) throw new InvalidArgumentError(`"${arg}" names namespace ${ns}, but -n says ${namespace}`);
  if (!namespaceRe.test(ns) || !podRe.test(name)) throw new InvalidArgumentError(`"${arg}" is not <pod> or <namespace>/<pod> (e.g. ml/trainer-0)`);
  return { namespace: ns, name };
}

export function buildKubectlProgram(): Command {
  const program = new Command('kubectl linkpack')
    .description("linkpack's view of a cluster, through the API server (your kubeconfig; no port-forward)")
    .version(packageVersion(), '-V, --version', 'print the linkpack version')
    .showHelpAfterError(KUBECTL_LINKPACK.hint)
    .exitOverride()
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--namespace-of-linkpack <ns>', "namespace of linkpack's extender Service", namespaceArg, DEFAULT_LINKPACK_NAMESPACE)
    .addOption(new Option('--service <[scheme:]name[:port]>', "the extender's Service (https: where the extender serves TLS)").argParser(parseService).default(parseService(DEFAULT_SERVICE), DEFAULT_SERVICE));
  const globals = (c: Command) => c.optsWithGlobals() as GlobalOptions;

  program
    .command('explain')
    .description('why a pod went (or would go) where it does: the decision in words, the runner-up, every node')
    .argument('<pod>', '<pod> or <namespace>/<pod>')
    .option('-n, --namespace <ns>', "the pod's namespace (default: the context's)", namespaceArg)
    .option('--json', "print the extender's JSON answer")
    .action(async (pod: string, o: { namespace?: string; json?: boolean }, cmd: Command) => {
      const { explainCommand } = await import('./commands.js');
      console.log(await explainCommand(globals(cmd), pod, o));
    });

  program
    .command('nodes')
    .description('GPUs per node and per GPU model: total, free, in use, unhealthy, largest free NVLink set')
    .option('--json', "print the extender's /ui/state answer")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const { nodesCommand } = await import('./commands.js');
      console.log(await nodesCommand(globals(cmd), o));
    });

  program
    .command('why-pending')
    .description("pending pods of linkpack's scheduler, each with the extender's reason")
    .option('-n, --namespace <ns>', "only this namespace (default: the context's)", namespaceArg)
    .option('-A, --all-namespaces', 'every namespace')
    .option('--scheduler-name <name>', "pods with this spec.schedulerName (the shipped KubeSchedulerConfiguration's)", DEFAULT_SCHEDULER_NAME)
    .action(async (o: { namespace?: string; allNamespaces?: boolean; schedulerName: string }, cmd: Command) => {
      if (o.namespace && o.allNamespaces) throw new InvalidArgumentError('give -n <ns> or -A, not both');
      const { whyPendingCommand } = await import('./commands.js');
      console.log(await whyPendingCommand(globals(cmd), o));
    });
  return program;
}
