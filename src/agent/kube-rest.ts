/**
 * The agent's few API calls (GET, POST, PUT of one object) over node:https. Why not client-node:
 * importing it costs ~77 MB of resident memory, more than the agent's whole budget on every GPU
 * node (docs/agent.md). Credentials: in-cluster service account, or a kubeconfig with a token or
 * client certificate (exec/auth-provider plugins are not supported here). Errors carry statusCode,
 * so src/kube/errors (errorText, statusCodeOf) read them as they read client-node's.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parse as parseYaml } from 'yaml';
import { sendJson } from '../kube/request.js';

export interface KubeTarget {
  server: string;
  token?: string;
  /** PEM texts. */
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
  /** Re-read per request (a projected service-account token rotates). */
  tokenFile?: string;
}

export interface KubeRest {
  /** JSON in, JSON out; throws an Error with statusCode on a non-2xx answer, naming method, path and the Status message. */
  request(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's service account, when running in a cluster. */
export function inClusterTarget(env: NodeJS.ProcessEnv = process.env): KubeTarget | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) return undefined;
  const h = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${h}:${port}`, tokenFile: `${SA_DIR}/token`, ca: readFileSync(`${SA_DIR}/ca.crt`, 'utf8') };
}

type Obj = Record<string, unknown>;
const b64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined);
const file = (p: unknown, base: string) => (typeof p === 'string' ? readFileSync(p.startsWith('/') ? p : `${base}/${p}`, 'utf8') : undefined);

/** The current context of a kubeconfig file; one clear line when it lacks what the agent needs. */
export function kubeconfigTarget(path: string): KubeTarget {
  let doc: Obj;
  try {
    doc = parseYaml(readFileSync(path, 'utf8')) as Obj;
  } catch (e) {
    throw new Error(`kubeconfig ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const base = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
  const named = (list: unknown, name: unknown, what: string): Obj => {
    const hit = (Array.isArray(list) ? (list as Obj[]) : []).find((x) => x.name === name);
    if (!hit) throw new Error(`kubeconfig ${path}: ${what} "${String(name)}" not found`);
    return (hit[what] as Obj) ?? {};
  };
  const ctx = named(doc.contexts, doc['current-context'], 'context');
  const cluster = named(doc.clusters, ctx.cluster, 'cluster');
  const user = ctx.user !== undefined ? named(doc.users, ctx.user, 'user') : {};
  if (user.exec || user['auth-provider']) throw new Error(`kubeconfig ${path}: user "${String(ctx.user)}" uses an exec/auth-provider plugin, which the agent does not run; use a token or client certificate`);
  if (typeof cluster.server !== 'string') throw new Error(`kubeconfig ${path}: cluster "${String(ctx.cluster)}" has no server`);
  const t: KubeTarget = { server: cluster.server.replace(/\/$/, '') };
  const ca = b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority'], base);
  if (ca) t.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) t.insecureSkipTlsVerify = true;
  if (typeof user.token === 'string') t.token = user.token;
  if (typeof user.tokenFile === 'string') t.tokenFile = user.tokenFile;
  const cert = b64(user['client-certificate-data']) ?? file(user['client-certificate'], base);
  const key = b64(user['client-key-data']) ?? file(user['client-key'], base);
  if (cert) t.cert = cert;
  if (key) t.key = key;
  return t;
}

/** A target from client-node's KubeConfig (tests and callers that already hold one); only its plain data is read. */
export function targetOfKubeConfig(kc: { getCurrentCluster(): { server: string; caData?: string; skipTLSVerify?: boolean } | null; getCurrentUser(): { token?: string; certData?: string; keyData?: string } | null }): KubeTarget {
  const c = kc.getCurrentCluster();
  if (!c) throw new Error('kubeconfig has no current cluster');
  const u = kc.getCurrentUser();
  const t: KubeTarget = { server: c.server.replace(/\/$/, '') };
  if (c.caData) t.ca = b64(c.caData);
  if (c.skipTLSVerify) t.insecureSkipTlsVerify = true;
  if (u?.token) t.token = u.token;
  if (u?.certData) t.cert = b64(u.certData);
  if (u?.keyData) t.key = b64(u.keyData);
  return t;
}

export function kubeRest(target: KubeTarget, opts: { timeoutMs?: number } = {}): KubeRest {
  const url = new URL(target.server);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: 2, ca: target.ca, cert: target.cert, key: target.key, rejectUnauthorized: !target.insecureSkipTlsVerify })
    : new http.Agent({ keepAlive: true, maxSockets: 2 });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    request(method, path, body) {
      const token = target.tokenFile ? readFileSync(target.tokenFile, 'utf8').trim() : target.token;
      const headers: Record<string, string> = { 'user-agent': 'linkpack-agent' };
      if (token) headers.authorization = `Bearer ${token}`;
      return sendJson(new URL(`${url.pathname.replace(/\/$/, '')}${path}`, url), { agent, headers }, method, body, 'application/json', timeoutMs);
    },
  };
}
