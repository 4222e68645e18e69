// Loading the client configuration, and the one adjustment the library's Watch needs: a deadline
// for the response headers of a watch request, and a handle on its socket so stop() can end it.
import type { Agent } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

/** kubeconfig '' = KubeConfig.loadFromDefault() ($KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig === '') kc.loadFromDefault();
    else kc.loadFromFile(kubeconfig);
  } catch (e) {
    throw new Error(`kubernetes: cannot load ${kubeconfig === '' ? 'the default kubeconfig' : `kubeconfig ${kubeconfig}`}: ${(e as Error).message}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubernetes: ${kubeconfig === '' ? 'the default kubeconfig' : `kubeconfig ${kubeconfig}`} has no current cluster`);
  return kc;
}

type FetchOptionsIn = Parameters<KubeConfig['applyToFetchOptions']>[0];
type FetchOptionsOut = Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;

/**
 * A copy of a KubeConfig for one resource's Watch. The library's Watch awaits the response headers
 * with no deadline and hands out its AbortController only after they arrived (its own 30 s timeout
 * signal is built and then overwritten), so a server that accepts the connection and never answers
 * would hang it forever. node-fetch's `timeout` bounds the wait for headers (the body, a stream that
 * may last timeoutSeconds, is not bounded by it), and the agent kept here lets stop() destroy a
 * request that is still waiting.
 */
export class WatchKubeConfig extends KubeConfig {
  private agent: Agent | undefined;
  private closed = false;

  constructor(
    base: KubeConfig,
    private readonly headersTimeoutMs: number,
  ) {
    super();
    this.loadFromOptions({ clusters: base.clusters, contexts: base.contexts, users: base.users, currentContext: base.currentContext });
  }

  override async applyToFetchOptions(opts: FetchOptionsIn): Promise<FetchOptionsOut> {
    const init = await super.applyToFetchOptions({ ...opts, timeout: this.headersTimeoutMs });
    // A request that was being prepared when close() ran must not go out.
    if (this.closed) throw new Error('kubernetes watch stopped');
    this.agent = typeof init.agent === 'object' && init.agent !== null ? (init.agent as Agent) : undefined;
    return init;
  }

  /** Destroys the sockets of the last watch request, answered or not. */
  destroyConnections(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** Ends the last request and refuses any later one. */
  close(): void {
    this.closed = true;
    this.destroyConnections();
  }
}
