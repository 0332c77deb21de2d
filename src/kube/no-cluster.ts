/**
 * "Is there a cluster to talk to?", asked before a command starts its watches: the same sentence
 * for every command, each with its own way to run without one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** What the extender says to do without a cluster (other commands pass their own way out). */
export const EXTENDER_WITHOUT_CLUSTER = 'linkpack extender --cluster-file deploy/examples/cluster.yaml';

/**
 * Why no cluster can be reached, or undefined when client-node's default lookup will find one
 * ($KUBECONFIG, ~/.kube/config, in-cluster). Without this, client-node falls back to
 * http://localhost:8080 and the informers repeat connection errors forever; a $KUBECONFIG naming
 * a missing file would stop with a bare ENOENT.
 */
export function noClusterReason(env: NodeJS.ProcessEnv, home: string, exists: (p: string) => boolean, withoutCluster = EXTENDER_WITHOUT_CLUSTER): string | undefined {
  const wayOut = `Give --kubeconfig <file>, or run without a cluster: ${withoutCluster}`;
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(':').filter((f) => f.length > 0);
    if (files.some(exists)) return undefined;
    return `no cluster found: $KUBECONFIG names ${files.join(', ') || '""'}, which does not exist. ${wayOut}`;
  }
  if (home && exists(join(home, '.kube', 'config'))) return undefined;
  if (exists(SERVICE_ACCOUNT_TOKEN) && env.KUBERNETES_SERVICE_HOST) return undefined;
  return `no cluster found: no --kubeconfig, $KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod with a service account. ${wayOut}`;
}

/** `--kubeconfig <file>` that is not there, in the same words. */
export function missingKubeconfig(file: string, withoutCluster = EXTENDER_WITHOUT_CLUSTER): string | undefined {
  return existsSync(file) ? undefined : `--kubeconfig ${file}: no such file. Give an existing kubeconfig, or run without a cluster: ${withoutCluster}`;
}
