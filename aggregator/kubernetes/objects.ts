// What netmatrix keeps from the Kubernetes objects it watches, and the pure functions that derive it
// from the objects in their wire (JSON) form. Each object is reduced to these fields as it arrives (a
// list page, a watch event): the reflectors keep only the reduced form, never the whole object (a
// Node with its image list is some 10 KiB of JSON; what netmatrix reads of it, a few hundred bytes).
// Pure, so the aggregator's view of the cluster can be tested without a server.

export interface KubeNode {
  readonly name: string;
  readonly internalIPs: readonly string[];
  readonly zone: string;
  readonly podCidrs: readonly string[];
  readonly ready: boolean;
  readonly unschedulable: boolean;
}

export interface KubeDnsEndpoint {
  /** The pod name from targetRef, else the address. */
  readonly name: string;
  readonly address: string;
  readonly ready: boolean;
  readonly node: string | null;
}

export interface KubeDns {
  readonly clusterIPs: readonly string[];
  readonly port: number;
  readonly endpoints: readonly KubeDnsEndpoint[];
}

/** A Service as the DNS view reads it: its cluster IPs (`None` dropped). */
export interface KubeService {
  readonly clusterIPs: readonly string[];
}

/** An EndpointSlice as the DNS view reads it. FQDN slices keep no endpoints and no port. */
export interface KubeSlice {
  /** namespace/name: slices are merged in this order. */
  readonly key: string;
  /** The port named `dns` with protocol UDP, if the slice has one. */
  readonly dnsPort: number | null;
  /** Every address of every endpoint, in the slice's order (an endpoint with two addresses gives two). */
  readonly endpoints: readonly KubeDnsEndpoint[];
}

export interface KubeNetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: unknown;
  readonly policyTypes: readonly string[];
  readonly spec: unknown;
}

/** An object as the API server sends it (JSON field names), reduced to what is read here. */
export interface WireObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const LEGACY_ZONE_LABEL = 'failure-domain.beta.kubernetes.io/zone';
export const DEFAULT_DNS_PORT = 53;

export function objectKey(o: WireObject): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata?.name ?? ''}` : (o.metadata?.name ?? '');
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function array(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function strings(v: unknown): string[] {
  return array(v).filter((s): s is string => typeof s === 'string' && s !== '');
}

export function nodeFromObject(o: WireObject, zoneLabel = ZONE_LABEL): KubeNode {
  const spec = record(o['spec']);
  const status = record(o['status']);
  const labels = o.metadata?.labels ?? {};
  const internalIPs = array(status['addresses'])
    .map(record)
    .filter((a) => a['type'] === 'InternalIP' && typeof a['address'] === 'string')
    .map((a) => a['address'] as string);
  const podCidrs = strings(spec['podCIDRs']);
  if (podCidrs.length === 0 && typeof spec['podCIDR'] === 'string' && spec['podCIDR'] !== '') podCidrs.push(spec['podCIDR']);
  const readyCondition = array(status['conditions'])
    .map(record)
    .find((c) => c['type'] === 'Ready');
  return {
    name: o.metadata?.name ?? '',
    internalIPs,
    zone: labels[zoneLabel] ?? labels[LEGACY_ZONE_LABEL] ?? '',
    podCidrs,
    ready: readyCondition?.['status'] === 'True',
    unschedulable: spec['unschedulable'] === true,
  };
}

const byName = (a: { readonly name: string }, b: { readonly name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The Nodes view: every reduced Node, in name order. */
export function sortNodes(nodes: Iterable<KubeNode>): KubeNode[] {
  return [...nodes].sort(byName);
}

export function nodesFromObjects(objects: Iterable<WireObject>, zoneLabel = ZONE_LABEL): KubeNode[] {
  return sortNodes([...objects].map((o) => nodeFromObject(o, zoneLabel)));
}

export function serviceFromObject(o: WireObject): KubeService {
  const spec = record(o['spec']);
  let clusterIPs = strings(spec['clusterIPs']);
  if (clusterIPs.length === 0) clusterIPs = strings([spec['clusterIP']]);
  return { clusterIPs: clusterIPs.filter((ip) => ip !== 'None') };
}

export function sliceFromObject(o: WireObject): KubeSlice {
  const key = objectKey(o);
  if (o['addressType'] === 'FQDN') return { key, dnsPort: null, endpoints: [] };
  let dnsPort: number | null = null;
  for (const p of array(o['ports']).map(record)) {
    if (p['name'] === 'dns' && p['protocol'] === 'UDP' && typeof p['port'] === 'number') {
      dnsPort = p['port'];
      break;
    }
  }
  const endpoints: KubeDnsEndpoint[] = [];
  for (const ep of array(o['endpoints']).map(record)) {
    const conditions = record(ep['conditions']);
    // The API says an unset `ready` means unknown, to be read as ready.
    const ready = conditions['ready'] !== false;
    const targetName = record(ep['targetRef'])['name'];
    const node = typeof ep['nodeName'] === 'string' && ep['nodeName'] !== '' ? ep['nodeName'] : null;
    for (const address of strings(ep['addresses'])) {
      endpoints.push({ name: typeof targetName === 'string' && targetName !== '' ? targetName : address, address, ready, node });
    }
  }
  return { key, dnsPort, endpoints };
}

/**
 * The DNS service as clients see it: the Service's cluster IPs, and its backends from the
 * EndpointSlices labelled with the service name. An address in two slices (which happens while the
 * EndpointSlice controller moves endpoints between slices) is listed once, ready if either says so.
 */
export function dnsView(service: KubeService | undefined, slices: Iterable<KubeSlice>): KubeDns {
  let port: number | undefined;
  const byAddress = new Map<string, KubeDnsEndpoint>();
  const sorted = [...slices].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const slice of sorted) {
    if (port === undefined && slice.dnsPort !== null) port = slice.dnsPort;
    for (const ep of slice.endpoints) {
      const seen = byAddress.get(ep.address);
      if (seen && (seen.ready || !ep.ready)) continue;
      byAddress.set(ep.address, ep);
    }
  }
  const endpoints = [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { clusterIPs: [...(service?.clusterIPs ?? [])], port: port ?? DEFAULT_DNS_PORT, endpoints };
}

/** dnsView of objects in wire form. */
export function dnsFromObjects(service: WireObject | undefined, slices: Iterable<WireObject>): KubeDns {
  return dnsView(service === undefined ? undefined : serviceFromObject(service), [...slices].map(sliceFromObject));
}

export function networkPolicyFromObject(o: WireObject): KubeNetworkPolicy {
  const spec = record(o['spec']);
  let policyTypes = strings(spec['policyTypes']);
  if (policyTypes.length === 0) {
    // The API server's defaulting, for objects that come without it: Ingress always, Egress when
    // there are egress rules.
    policyTypes = spec['egress'] !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    podSelector: spec['podSelector'] ?? {},
    policyTypes,
    spec,
  };
}

/** The NetworkPolicies view: in namespace/name order. */
export function sortPolicies(policies: Iterable<KubeNetworkPolicy>): KubeNetworkPolicy[] {
  return [...policies].sort((a, b) => {
    const ka = `${a.namespace}/${a.name}`;
    const kb = `${b.namespace}/${b.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export function networkPoliciesFromObjects(objects: Iterable<WireObject>): KubeNetworkPolicy[] {
  return sortPolicies([...objects].map(networkPolicyFromObject));
}
