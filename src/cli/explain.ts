/**
 * `linkpack explain <namespace>/<pod> [--server URL]`: asks a running extender's /explain and
 * prints the answer for a person — the decision in words, why the runner-up lost, then every
 * evaluated node with its set or the reason it does not fit.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Explanation } from '../extender/explain.js';
import { table } from './table.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8888';

/** A namespace (DNS label) and a pod name (DNS subdomain), as the API server accepts them. */
export const NAMESPACE_PATTERN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const POD_PATTERN = '[a-z0-9]([-.a-z0-9]*[a-z0-9])?';

function podArg(v: string): string {
  if (!new RegExp(`^${NAMESPACE_PATTERN}/${POD_PATTERN}$`).test(v)) {
    throw new InvalidArgumentError(`"${v}" is not <namespace>/<pod> (e.g. ml/trainer-0)`);
  }
  return v;
}

/** `--server`: an http(s) URL; anything else is a usage error, not an unreachable extender. */
function serverArg(v: string): string {
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new InvalidArgumentError(`expected the extender's http:// or https:// URL (e.g. ${DEFAULT_SERVER}), got "${v}"`);
  }
  return v;
}

export function formatExplanation(e: Explanation): string {
  const out = [e.summary];
  if (e.nodes.length > 0 && !e.passThrough) {
    const rows = [['node', 'fits', 'score', 'GPUs', 'why']];
    for (const n of e.nodes) rows.push([n.node, n.fits ? 'yes' : 'no', n.score === undefined ? '-' : String(n.score), n.gpus?.join(',') ?? '-', n.fits ? (n.why ?? '') : (n.reason ?? '')]);
    out.push('', table(rows));
    out.push('', `Nodes: ${e.nodesFrom === 'last-scheduler-call' ? "those of kube-scheduler's last call for this pod" : 'every node in the cache'}; evaluated ${e.evaluatedAtIso}.`);
  }
  return out.join('\n');
}

export async function fetchExplanation(server: string, pod: string): Promise<Explanation> {
  const url = `${server.replace(/\/+$/, '')}/explain?pod=${encodeURIComponent(pod)}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    // undici wraps the socket error; with several addresses it is an AggregateError of them.
    const c = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
    throw new Error(`cannot reach the extender at ${server} (${cause}); start one with 'linkpack extender' or give --server <url>`);
  }
  const body = (await res.json().catch(() => null)) as (Explanation & { message?: string }) | null;
  if (!res.ok) throw new Error(body?.message ?? `${url} answered HTTP ${res.status}`);
  return asExplanation(body, url, server);
}

/** The extender's answer, or an error saying that `where` is no linkpack extender. */
export function asExplanation(body: unknown, url: string, where: string): Explanation {
  if (!body || typeof (body as Explanation).summary !== 'string') throw new Error(`${url} did not answer with an explanation (is ${where} a linkpack extender?)`);
  return body as Explanation;
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('why a pod was (or would be) placed where it is: the decision in words, the runner-up, every node')
    .argument('<namespace/pod>', 'the pod, e.g. ml/trainer-0', podArg)
    .option('--server <url>', "the extender's address (kubectl port-forward svc/linkpack-extender 8888 for a cluster)", serverArg, DEFAULT_SERVER)
    .option('--json', 'print the extender\'s JSON answer')
    .action(async (pod: string, o: { server: string; json?: boolean }) => {
      const e = await fetchExplanation(o.server, pod);
      console.log(o.json ? JSON.stringify(e, null, 2) : formatExplanation(e));
    });
}
