// Whether a Kubernetes API is configured here, for NETMATRIX_KUBERNETES=auto: the same places
// KubeConfig.loadFromDefault() looks, checked without loading anything.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface AvailabilityEnv {
  readonly env: NodeJS.ProcessEnv;
  readonly serviceAccountTokenPath: string;
  readonly homeDir: string;
}

/**
 * kubeconfig '' means the defaults, in KubeConfig.loadFromDefault()'s order: the files named in
 * $KUBECONFIG (it loads the first and fails if that one is missing), ~/.kube/config, then in-cluster
 * (KUBERNETES_SERVICE_HOST and the service account token). A named kubeconfig must exist.
 */
export function kubernetesAvailable(kubeconfig: string, where: Partial<AvailabilityEnv> = {}): boolean {
  if (kubeconfig !== '') return existsSync(kubeconfig);
  const env = where.env ?? process.env;
  const fromEnv = (env['KUBECONFIG'] ?? '').split(delimiter).filter((p) => p !== '');
  if (fromEnv[0] !== undefined) return existsSync(fromEnv[0]);
  if (existsSync(join(where.homeDir ?? homedir(), '.kube', 'config'))) return true;
  return Boolean(env['KUBERNETES_SERVICE_HOST']) && existsSync(where.serviceAccountTokenPath ?? SERVICE_ACCOUNT_TOKEN_PATH);
}
