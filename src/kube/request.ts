/**
 * One raw request to the API server with a kubeconfig's credentials (client certificates, tokens,
 * exec plugins: whatever client-node applies). Node's global fetch ignores client-node's https
 * agent, so this goes through node:https with the options client-node fills in.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeResponse {
  status: number;
  text: string;
}

export async function kubeRequest(kc: KubeConfig, method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const opts: RequestOptions = { method, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  if (payload !== undefined) opts.headers = { ...opts.headers, 'content-type': contentType, 'content-length': Buffer.byteLength(payload) };
  return new Promise<KubeResponse>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { ...opts, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** kubeRequest that parses JSON and throws `{statusCode, body}` with the server's message on non-2xx. */
export async function kubeJson(kc: KubeConfig, method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
  const res = await kubeRequest(kc, method, path, body, contentType);
  let json: unknown;
  try {
    json = res.text ? JSON.parse(res.text) : {};
  } catch {
    json = undefined;
  }
  if (res.status < 200 || res.status >= 300) {
    const message = (json as { message?: string } | undefined)?.message ?? res.text.slice(0, 300);
    throw Object.assign(new Error(`${method} ${path}: ${res.status} ${message}`), { statusCode: res.status, code: res.status, body: json });
  }
  return json;
}
