// The aggregator's Kubernetes side, wired: decides whether to watch
// (--kubernetes auto|on|off), starts the watcher and applies what it says to
// the node registry, the DNS servers of the plan and the NetworkPolicy list.
// Without the API everything works as before from the agents' Hellos and
// --dns-servers.
import type { Logger } from '../../common/logger.js';
import type { DnsServerSpec } from '../dns/servers.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { applyKubeNodes, dnsServersFromKube, policyViews, type AgentPods, type PolicyView } from './apply.js';
import type { KubeNetworkPolicy } from './objects.js';
import { kubernetesAvailable, KubeWatcher, type KubeWatchStats } from './watcher.js';

export interface KubernetesOptions {
  readonly mode: 'auto' | 'on' | 'off';
  readonly kubeconfig: string;
  readonly dnsService: string;
  readonly zoneLabel: string;
  /** --dns-servers as configured, and whether the EndpointSlices name the service and replicas (it names neither). */
  readonly dnsServers: readonly DnsServerSpec[];
  readonly dnsServersFromApi: boolean;
  readonly agentPods: AgentPods;
}

export interface KubernetesDeps {
  readonly nodes: NodeRegistry;
  readonly now: () => number;
  readonly log: Logger;
  /** A node the API no longer lists (and whose agent is gone): drop it and its cells. */
  readonly removeNode: (name: string) => void;
  /** New DNS servers for the plan (from the EndpointSlices). */
  readonly setDnsServers: (servers: readonly DnsServerSpec[]) => void;
}

export interface RunningKubernetes {
  readonly active: boolean;
  policies(): { kubernetes: boolean; agentPods: AgentPods; policies: readonly PolicyView[] };
  readonly stats: () => KubeWatchStats | undefined;
  /** DNS endpoints over the plan's cap, not probed. */
  readonly dnsServersDropped: () => number;
  stop(): Promise<void>;
}

/** Starts watching when the mode says so; with `on`, a cluster that cannot be reached fails the start. */
export async function startKubernetes(o: KubernetesOptions, d: KubernetesDeps): Promise<RunningKubernetes> {
  const wanted = o.mode === 'on' || (o.mode === 'auto' && kubernetesAvailable(o.kubeconfig));
  let policies: readonly KubeNetworkPolicy[] = [];
  let dnsDropped = 0;
  const view = () => ({ kubernetes: wanted, agentPods: o.agentPods, policies: policyViews(policies, o.agentPods) });
  if (!wanted) {
    d.log.info({ mode: o.mode }, 'Kubernetes API not used: nodes come from agents, DNS servers from --dns-servers');
    return { active: false, policies: view, stats: () => undefined, dnsServersDropped: () => 0, stop: async () => {} };
  }
  const log = d.log.child({ component: 'kubernetes' });
  const watcher = new KubeWatcher({
    kubeconfig: o.kubeconfig,
    dnsService: o.dnsService,
    zoneLabel: o.zoneLabel,
    log,
    onNodes: (kube) => {
      for (const name of applyKubeNodes(d.nodes, kube, d.now())) {
        log.info({ node: name }, 'node deleted in Kubernetes: it leaves the matrix');
        d.removeNode(name);
      }
    },
    onDns: (dns) => {
      if (!o.dnsServersFromApi) return; // --dns-servers set by hand wins
      const { servers, dropped } = dnsServersFromKube(dns, o.dnsServers);
      dnsDropped = dropped;
      if (dns.clusterIPs.length === 0) {
        log.warn({ dnsService: o.dnsService }, 'the DNS Service has no cluster IP or does not exist (check --dns-service): agents ask the first nameserver of their resolv.conf as "service"');
      }
      if (dropped > 0) log.warn({ dropped, max: servers.length }, 'the DNS Service has more endpoints than one plan carries: the rest are not probed (netmatrix_dns_servers_dropped)');
      log.info({ servers: servers.map((s) => `${s.name}=${s.address}`) }, 'DNS servers from the EndpointSlices');
      d.setDnsServers(servers);
    },
    onNetworkPolicies: (p) => {
      policies = p;
    },
    onState: (s) => {
      if ('error' in s && s.error) log.warn(s, 'Kubernetes watch trouble (retrying with backoff)');
    },
  });
  try {
    await watcher.start();
    log.info({ dnsService: o.dnsService }, 'watching Nodes, the DNS EndpointSlices and NetworkPolicies');
  } catch (e) {
    if (o.mode === 'on') {
      await watcher.stop();
      throw new Error(`--kubernetes on: ${(e as Error).message}`);
    }
    log.warn({ err: (e as Error).message }, 'Kubernetes API not ready at start; continuing and retrying in the background');
  }
  return { active: true, policies: view, stats: () => watcher.stats as KubeWatchStats, dnsServersDropped: () => dnsDropped, stop: () => watcher.stop() };
}
