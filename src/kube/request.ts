/**
 * The one raw request to the API server. Node's global fetch ignores client-node's https agent,
 * so requests go through node:https: `sendJson` does the exchange and turns a non-2xx answer into
 * an error carrying the server's Status; `kubeJson` fills in a KubeConfig's credentials (client
 * certificates, tokens, exec plugins: whatever client-node applies). Only a type is imported from
 * client-node, so the agent (which avoids loading it) shares `sendJson`.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * One request with a JSON body (or none); resolves to the parsed answer (undefined when empty),
 * rejects on non-2xx with `{statusCode, code}` and a message "METHOD path: code <server message>".
 */
export function sendJson(url: URL, opts: RequestOptions, method: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<unknown> {
  const label = `${method} ${url.pathname}${url.search}`;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | number> = { accept: 'application/json', ...(opts.headers as Record<string, string>) };
  if (payload !== undefined) Object.assign(headers, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { ...opts, method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        if (status >= 200 && status < 300) return resolve(json ?? (text ? undefined : {}));
        const message = (json as { message?: string } | undefined)?.message ?? text.slice(0, 300);
        reject(Object.assign(new Error(`${label}: ${status} ${message}`), { statusCode: status, code: status }));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${label}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e.message.startsWith(method) ? e : new Error(`${label}: ${e.message}`)));
    req.end(payload);
  });
}

/** sendJson with a kubeconfig's cluster and credentials. */
export async function kubeJson(kc: KubeConfig, method: string, path: string, body?: unknown, contentType?: string, timeoutMs?: number): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return sendJson(new URL(path, cluster.server), opts, method, body, contentType, timeoutMs);
}
