// What the aggregator does with what the Kubernetes API says (docs/kubernetes.md):
// Nodes join the matrix before their agent connects (so a node without an
// agent becomes AgentMissing after --agent-grace, and its node IP is probed),
// a deleted Node leaves it, Ready and the pod CIDRs are kept for the findings;
// the DNS Service and its EndpointSlices become the DNS servers of the plan;
// NetworkPolicies are kept and matched against the agent pods' labels.
import { MAX_DNS_SERVERS, type DnsServerSpec } from '../dns/servers.js';
import type { KubeNodeInfo, NodeRegistry } from '../nodes/registry.js';
import type { KubeDns, KubeNetworkPolicy, KubeNode } from './objects.js';

/** What a Node object adds to a node's record. */
/** The agent's responder port when the agent has not said (the DaemonSet's default). */
export const DEFAULT_RESPONDER_PORT = 9402;

/**
 * Brings the registry in line with the API's Node list. Returns the names of
 * the nodes removed (the caller drops their cells). A node whose agent is
 * connected stays even if the API does not list it (a NODE_NAME that does not
 * match is worth seeing, not hiding); it simply has no Kubernetes info.
 */
export function applyKubeNodes(registry: NodeRegistry, kube: readonly KubeNode[], now: number): string[] {
  const listed = new Set(kube.map((k) => k.name));
  for (const k of kube) {
    const existing = registry.get(k.name);
    const rec =
      existing ??
      registry.upsert({ name: k.name, zone: k.zone, podIPs: [], nodeIPs: [...k.internalIPs], responderPort: DEFAULT_RESPONDER_PORT }, now);
    // The agent's own identity wins where it has one; the API fills what it lacks.
    if (existing && ((existing.zone === '' && k.zone !== '') || (existing.nodeIPs.length === 0 && k.internalIPs.length > 0))) {
      registry.upsert(
        {
          name: existing.name,
          zone: existing.zone || k.zone,
          podIPs: existing.podIPs,
          nodeIPs: existing.nodeIPs.length > 0 ? existing.nodeIPs : [...k.internalIPs],
          responderPort: existing.responderPort,
        },
        now,
      );
    }
    rec.kube = { ready: k.ready, unschedulable: k.unschedulable, podCidrs: [...k.podCidrs], internalIPs: [...k.internalIPs], zone: k.zone };
  }
  const removed: string[] = [];
  for (const rec of registry.list()) {
    if (listed.has(rec.name)) continue;
    if (rec.kube && !rec.agent.connected) removed.push(rec.name);
    else rec.kube = null;
  }
  return removed;
}

/**
 * --dns-servers names no service address and no replica (the default
 * service=auto, with or without NodeLocal entries): the EndpointSlices may then
 * name the service and the replicas, and the NodeLocal entries stay.
 */
export function kubeNamesDnsServers(s: readonly DnsServerSpec[]): boolean {
  const service = s.filter((x) => x.role === 'service');
  return service.length === 1 && service[0]!.address === '' && service[0]!.name === 'service' && !s.some((x) => x.role === 'replica');
}

/**
 * The DNS servers the plan carries when the API is on and --dns-servers was
 * left at its default: the Service's cluster IP(s) and every ready endpoint
 * (named by its pod), NodeLocal DNSCache entries of the configuration kept.
 * A Service that is missing (or has no cluster IP) leaves the configured
 * service=auto in place: agents then ask their resolv.conf's nameserver,
 * rather than the plan losing its service column.
 */
export function dnsServersFromKube(dns: KubeDns, configured: readonly DnsServerSpec[]): { servers: DnsServerSpec[]; dropped: number } {
  const out: DnsServerSpec[] = configured.filter((s) => s.role === 'nodelocal');
  if (dns.clusterIPs.length === 0) out.push(...configured.filter((s) => s.role === 'service'));
  dns.clusterIPs.forEach((ip, i) => out.push({ name: i === 0 ? 'service' : `service-${i}`, role: 'service', address: ip, port: dns.port }));
  const names = new Set(out.map((s) => s.name));
  for (const e of dns.endpoints) {
    if (!e.ready) continue;
    let name = e.name;
    if (names.has(name)) name = `${e.name}-${e.address}`;
    names.add(name);
    out.push({ name, role: 'replica', address: e.address, port: dns.port });
  }
  // Every agent asks every server every round: a Service with hundreds of endpoints is capped, and said.
  return { servers: out.slice(0, MAX_DNS_SERVERS), dropped: Math.max(0, out.length - MAX_DNS_SERVERS) };
}

/** The agent pods, for deciding which NetworkPolicies apply to them. */
export interface AgentPods {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The agent pods as --agent-namespace and --agent-labels (key=value each) describe them. */
export function agentPodsOf(o: { readonly agentNamespace: string; readonly agentLabels: readonly string[] }): AgentPods {
  return { namespace: o.agentNamespace, labels: Object.fromEntries(o.agentLabels.map((l) => l.split('=', 2) as [string, string])) };
}

export interface PolicyView {
  readonly namespace: string;
  readonly name: string;
  readonly policyTypes: readonly string[];
  /** The policy's podSelector matches the agent pods (same namespace): it restricts their traffic. */
  readonly selectsAgents: boolean;
  readonly spec: unknown;
}

export function policyViews(policies: readonly KubeNetworkPolicy[], agents: AgentPods): PolicyView[] {
  return policies
    .map((p) => ({
      namespace: p.namespace,
      name: p.name,
      policyTypes: [...p.policyTypes],
      selectsAgents: p.namespace === agents.namespace && selectorMatches(p.podSelector, agents.labels),
      spec: p.spec,
    }))
    .sort((a, b) => Number(b.selectsAgents) - Number(a.selectsAgents) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

interface Selector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

/** A LabelSelector against labels (an empty selector matches everything, as in Kubernetes). */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (selector === null || typeof selector !== 'object') return true;
  const s = selector as Selector;
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of s.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false; // an operator we do not know: do not claim a match
    }
  }
  return true;
}
