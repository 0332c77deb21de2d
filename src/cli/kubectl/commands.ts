/**
 * The work of `kubectl linkpack`: the user's kubeconfig, the API server's service proxy to the
 * extender (GET /api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/<path>), and a pod
 * list. Loaded only when a command runs (client-node takes most of a second to import).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Explanation } from '../../extender/explain.js';
import type { UiState } from '../../extender/ui.js';
import { kubeJson } from '../../kube/request.js';
import { missingKubeconfig, noClusterReason } from '../../kube/no-cluster.js';
import { UsageError } from '../errors.js';
import { asExplanation, formatExplanation } from '../explain.js';
import { age, formatNodes, formatPending, type PendingRow } from './format.js';
import { podRef, type GlobalOptions } from './program.js';

const WITHOUT_CLUSTER = 'linkpack explain <namespace>/<pod> --server http://127.0.0.1:8888 against a local extender';

/** The user's kubeconfig as kubectl reads it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config (or in-cluster). */
export function loadKubeConfig(o: Pick<GlobalOptions, 'kubeconfig' | 'context'>): KubeConfig {
  const missing = o.kubeconfig !== undefined ? missingKubeconfig(o.kubeconfig, WITHOUT_CLUSTER) : noClusterReason(process.env, homedir(), existsSync, WITHOUT_CLUSTER);
  if (missing) throw new UsageError(missing);
  const kc = new KubeConfig();
  if (o.kubeconfig !== undefined) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context !== undefined) {
    if (!kc.getContextObject(o.context)) throw new UsageError(`--context ${o.context}: no such context in the kubeconfig (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(o.context);
  }
  return kc;
}

const contextNamespace = (kc: KubeConfig) => () => kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';

interface ApiError {
  statusCode?: number;
  message: string;
}

/** The server's own words from sendJson's "METHOD path: code message" (the proxy path is long and says nothing new). */
function serverMessage(err: ApiError): string {
  const m = /^[A-Z]+ \S+: \d+ (.*)$/s.exec(err.message);
  return (m ? m[1]! : err.message).trim();
}

/** GET `path` of the extender through the API server; errors say what a user can do about them. */
export async function proxyGet(kc: KubeConfig, o: GlobalOptions, path: string): Promise<unknown> {
  const svc = `${o.service.scheme}:${o.service.name}:${o.service.port}`;
  const where = `service ${o.namespaceOfLinkpack}/${o.service.name}`;
  try {
    return await kubeJson(kc, 'GET', `/api/v1/namespaces/${o.namespaceOfLinkpack}/services/${svc}/proxy${path}`, undefined, undefined, 15_000);
  } catch (e) {
    const err = e as ApiError;
    const said = serverMessage(err);
    // A Status from the API server itself, not an answer of the extender.
    if (err.statusCode === 403) throw new Error(`not allowed to reach the extender (${said}); ask for ClusterRole linkpack-viewer (get services/proxy on ${where}, aggregated to view)`);
    if (err.statusCode === 404 && /services? "[^"]*" not found/.test(said)) throw new Error(`no ${where}: is linkpack installed there? (--namespace-of-linkpack, --service)`);
    if (err.statusCode === 503) throw new Error(`${where} answers nothing (${said}); is the linkpack scheduler pod running?`);
    if (err.statusCode === undefined) throw new Error(`cannot reach the API server ${kc.getCurrentCluster()?.server ?? ''} (${err.message})`);
    throw new Error(said);
  }
}

async function explanationOf(kc: KubeConfig, o: GlobalOptions, pod: string): Promise<Explanation> {
  const path = `/explain?pod=${encodeURIComponent(pod)}`;
  return asExplanation(await proxyGet(kc, o, path), path, `${o.namespaceOfLinkpack}/${o.service.name}`);
}

export async function explainCommand(o: GlobalOptions, pod: string, c: { namespace?: string; json?: boolean }): Promise<string> {
  // A malformed pod is a usage error before any kubeconfig is read.
  podRef(pod, c.namespace, () => 'default');
  const kc = loadKubeConfig(o);
  const ref = podRef(pod, c.namespace, contextNamespace(kc));
  const e = await explanationOf(kc, o, `${ref.namespace}/${ref.name}`);
  return c.json ? JSON.stringify(e, null, 2) : formatExplanation(e);
}

export async function nodesCommand(o: GlobalOptions, c: { json?: boolean }): Promise<string> {
  const kc = loadKubeConfig(o);
  const state = (await proxyGet(kc, o, '/ui/state')) as UiState | undefined;
  if (!state || !Array.isArray(state.nodes)) throw new Error(`${o.namespaceOfLinkpack}/${o.service.name} /ui/state did not answer with nodes (is it a linkpack extender?)`);
  return c.json ? JSON.stringify(state, null, 2) : formatNodes(state);
}

interface PodItem {
  metadata: { namespace: string; name: string; creationTimestamp?: string };
  spec?: { schedulerName?: string; nodeName?: string };
}

export async function whyPendingCommand(o: GlobalOptions, c: { namespace?: string; allNamespaces?: boolean; schedulerName: string }): Promise<string> {
  const kc = loadKubeConfig(o);
  const ns = c.allNamespaces ? undefined : (c.namespace ?? contextNamespace(kc)());
  const path = `/api/v1${ns ? `/namespaces/${ns}` : ''}/pods?fieldSelector=${encodeURIComponent('status.phase=Pending')}`;
  let items: PodItem[];
  try {
    items = ((await kubeJson(kc, 'GET', path)) as { items?: PodItem[] }).items ?? [];
  } catch (e) {
    throw new Error(`cannot list pods ${ns ? `in ${ns}` : 'in all namespaces'}: ${serverMessage(e as ApiError)}`);
  }
  const pending = items.filter((p) => p.spec?.schedulerName === c.schedulerName && !p.spec?.nodeName);
  const rows: PendingRow[] = [];
  const now = Date.now();
  for (const p of pending) {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    // One pod the extender cannot explain does not hide the others.
    const reason = await explanationOf(kc, o, key).then(
      (e) => e.summary,
      (err: Error) => `(no explanation: ${err.message})`,
    );
    rows.push({ pod: key, age: age(p.metadata.creationTimestamp, now), reason });
  }
  return formatPending(rows, ns ? `in namespace ${ns}` : 'in any namespace', c.schedulerName);
}
