// What netmatrix keeps from the Kubernetes objects it watches, and the pure functions that derive it
// from the objects in their wire (JSON) form. Pure, so the aggregator's view of the cluster can be
// tested without a server.

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

export function nodesFromObjects(objects: Iterable<WireObject>, zoneLabel = ZONE_LABEL): KubeNode[] {
  return [...objects].map((o) => nodeFromObject(o, zoneLabel)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The DNS service as clients see it: the Service's cluster IPs, and its backends from the
 * EndpointSlices labelled with the service name. An address in two slices (which happens while the
 * EndpointSlice controller moves endpoints between slices) is listed once, ready if either says so.
 */
export function dnsFromObjects(service: WireObject | undefined, slices: Iterable<WireObject>): KubeDns {
  const svcSpec = record(service?.['spec']);
  let clusterIPs = strings(svcSpec['clusterIPs']);
  if (clusterIPs.length === 0) clusterIPs = strings([svcSpec['clusterIP']]);
  clusterIPs = clusterIPs.filter((ip) => ip !== 'None');

  let port: number | undefined;
  const byAddress = new Map<string, KubeDnsEndpoint>();
  const sorted = [...slices].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1));
  for (const slice of sorted) {
    if (slice['addressType'] === 'FQDN') continue;
    for (const p of array(slice['ports']).map(record)) {
      if (port === undefined && p['name'] === 'dns' && p['protocol'] === 'UDP' && typeof p['port'] === 'number') port = p['port'];
    }
    for (const ep of array(slice['endpoints']).map(record)) {
      const conditions = record(ep['conditions']);
      // The API says an unset `ready` means unknown, to be read as ready.
      const ready = conditions['ready'] !== false;
      const targetName = record(ep['targetRef'])['name'];
      const node = typeof ep['nodeName'] === 'string' && ep['nodeName'] !== '' ? ep['nodeName'] : null;
      for (const address of strings(ep['addresses'])) {
        const seen = byAddress.get(address);
        if (seen && (seen.ready || !ready)) continue;
        byAddress.set(address, { name: typeof targetName === 'string' && targetName !== '' ? targetName : address, address, ready, node });
      }
    }
  }
  const endpoints = [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { clusterIPs, port: port ?? DEFAULT_DNS_PORT, endpoints };
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

export function networkPoliciesFromObjects(objects: Iterable<WireObject>): KubeNetworkPolicy[] {
  return [...objects].map(networkPolicyFromObject).sort((a, b) => {
    const ka = `${a.namespace}/${a.name}`;
    const kb = `${b.namespace}/${b.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
