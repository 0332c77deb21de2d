/**
 * A kubeconfig that acts as one ServiceAccount, as a pod of that account would: a token from the
 * TokenRequest API (short-lived, audience of the API server). Bound to a Node when `node` is given,
 * so the token carries `authentication.kubernetes.io/node-name` in the user's extra fields (what
 * the chart's ValidatingAdmissionPolicy compares with the GPUNode an agent writes), exactly as a
 * token projected into a DaemonSet pod on that node does.
 */
import { writeFileSync } from 'node:fs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KObj = Record<string, any>;

/** What a caller needs: an admin request function and the cluster's address and CA. */
export interface TokenIssuer {
  request(method: string, path: string, body?: unknown): Promise<KObj>;
  readonly server: string;
  readonly caPem: string;
}

export interface ServiceAccountTokenOptions {
  /** Bind the token to this Node (its uid is looked up): the token names the node it runs on. */
  node?: string;
  /** Lifetime; the API server may shorten it. Default one day (a playground session). */
  expirationSeconds?: number;
}

export async function serviceAccountToken(issuer: TokenIssuer, namespace: string, name: string, o: ServiceAccountTokenOptions = {}): Promise<string> {
  const spec: KObj = { expirationSeconds: o.expirationSeconds ?? 86_400 };
  if (o.node) {
    const node = await issuer.request('GET', `/api/v1/nodes/${encodeURIComponent(o.node)}`);
    spec.boundObjectRef = { apiVersion: 'v1', kind: 'Node', name: o.node, uid: node.metadata.uid };
  }
  const tr = await issuer.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec,
  });
  const token = tr.status?.token;
  if (typeof token !== 'string' || token === '') throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** The kubeconfig text for a token. */
export function tokenKubeconfig(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters:\n- name: linkpack\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${ca}`,
    `users:\n- name: ${JSON.stringify(user)}\n  user:\n    token: ${token}`,
    `contexts:\n- name: linkpack\n  context:\n    cluster: linkpack\n    user: ${JSON.stringify(user)}`,
    'current-context: linkpack',
    '',
  ].join('\n');
}

/** Writes a kubeconfig acting as system:serviceaccount:<namespace>:<name> to `file`. */
export async function writeServiceAccountKubeconfig(issuer: TokenIssuer, file: string, namespace: string, name: string, o: ServiceAccountTokenOptions = {}): Promise<string> {
  const token = await serviceAccountToken(issuer, namespace, name, o);
  writeFileSync(file, tokenKubeconfig(issuer.server, issuer.caPem, `system:serviceaccount:${namespace}:${name}`, token), { mode: 0o600 });
  return file;
}
