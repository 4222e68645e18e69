// Watches the Kubernetes objects netmatrix needs (Nodes, the DNS Service and its EndpointSlices,
// NetworkPolicies) and hands the aggregator the full current view of each after every change.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import { jitteredBackoff } from './backoff.js';
import { WatchKubeConfig, loadKubeConfig } from './kubeconfig.js';
import {
  dnsView,
  networkPolicyFromObject,
  nodeFromObject,
  serviceFromObject,
  sliceFromObject,
  sortNodes,
  sortPolicies,
  ZONE_LABEL,
  type KubeDns,
  type KubeNetworkPolicy,
  type KubeNode,
  type KubeService,
  type KubeSlice,
} from './objects.js';
import { pageGetter, Reflector, type PageGetter, type ResourceSpec, type ResourceState, type ResourceStats } from './reflector.js';

export { kubernetesAvailable } from './available.js';
export type { KubeDns, KubeDnsEndpoint, KubeNetworkPolicy, KubeNode } from './objects.js';
export type { ResourceState, ResourceStats } from './reflector.js';

export interface KubeWatchOptions {
  /** '' = KubeConfig.loadFromDefault() (in-cluster, $KUBECONFIG, ~/.kube/config). */
  readonly kubeconfig: string;
  /** namespace/name of the cluster DNS Service, e.g. 'kube-system/kube-dns'. */
  readonly dnsService: string;
  /** Node label holding the zone (default topology.kubernetes.io/zone; the legacy failure-domain label is read too). */
  readonly zoneLabel?: string;
  readonly log: Logger;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Full current set after every change, debounced; not called again while the set is unchanged. */
  readonly onNodes: (nodes: readonly KubeNode[]) => void;
  readonly onDns: (dns: KubeDns) => void;
  readonly onNetworkPolicies: (p: readonly KubeNetworkPolicy[]) => void;
  readonly onState?: (s: ResourceState) => void;
  /** How long start() waits for the first list of every resource. */
  readonly startTimeoutMs?: number;
  /** Items asked per list request (`limit`); the API server may send more (see docs/kubernetes.md). */
  readonly listPageSize?: number;
  /** Deadline of a list request (plus listTimeoutPerObjectMs per object expected), and of the response headers of a watch request. */
  readonly listTimeoutMs?: number;
  /** Added to a list request's deadline per object expected in it. */
  readonly listTimeoutPerObjectMs?: number;
  /** The most a list request's deadline grows to. */
  readonly listTimeoutMaxMs?: number;
  /** timeoutSeconds asked of the server for each watch. */
  readonly watchTimeoutSeconds?: number;
  /** Extra time a watch may stay silent past watchTimeoutSeconds before it is restarted. */
  readonly watchSlackMs?: number;
  readonly debounceMs?: number;
  /** For tests: the jitter source. */
  readonly random?: () => number;
  /** For tests: wraps the list requests (to watch what they ask). */
  readonly wrapGetPage?: (get: PageGetter) => PageGetter;
}

export const KUBE_WATCH_DEFAULTS = {
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  startTimeoutMs: 30_000,
  listPageSize: 500,
  listTimeoutMs: 15_000,
  listTimeoutPerObjectMs: 2,
  listTimeoutMaxMs: 300_000,
  watchTimeoutSeconds: 300,
  watchSlackMs: 30_000,
  debounceMs: 100,
} as const;

export type KubeWatchStats = ResourceStats & { readonly byResource: Readonly<Record<string, Readonly<ResourceStats>>> };

type View = 'nodes' | 'dns' | 'networkpolicies';

export function parseDnsService(s: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(s);
  if (!m) throw new Error(`kubernetes: DNS service "${s}" is not namespace/name (e.g. kube-system/kube-dns)`);
  return { namespace: m[1] as string, name: m[3] as string };
}

type AnySpec = ResourceSpec<KubeNode> | ResourceSpec<KubeService> | ResourceSpec<KubeSlice> | ResourceSpec<KubeNetworkPolicy>;

function resourceSpecs(dns: { namespace: string; name: string }, zoneLabel: string): AnySpec[] {
  const sliceSelector = `kubernetes.io/service-name=${dns.name}`;
  const serviceSelector = `metadata.name=${dns.name}`;
  return [
    { resource: 'nodes', group: '', namespace: null, path: '/api/v1/nodes', reduce: (o) => nodeFromObject(o, zoneLabel) },
    { resource: 'services', group: '', namespace: dns.namespace, path: `/api/v1/namespaces/${dns.namespace}/services`, fieldSelector: serviceSelector, reduce: serviceFromObject },
    {
      resource: 'endpointslices',
      group: 'discovery.k8s.io',
      namespace: dns.namespace,
      path: `/apis/discovery.k8s.io/v1/namespaces/${dns.namespace}/endpointslices`,
      labelSelector: sliceSelector,
      reduce: sliceFromObject,
    },
    { resource: 'networkpolicies', group: 'networking.k8s.io', namespace: null, path: '/apis/networking.k8s.io/v1/networkpolicies', reduce: networkPolicyFromObject },
  ];
}

const VIEW_RESOURCES: Record<View, readonly string[]> = {
  nodes: ['nodes'],
  dns: ['services', 'endpointslices'],
  networkpolicies: ['networkpolicies'],
};

export class KubeWatcher {
  private readonly o: KubeWatchOptions & typeof KUBE_WATCH_DEFAULTS;
  private readonly dns: { namespace: string; name: string };
  private readonly reflectors = new Map<string, Reflector<unknown>>();
  private readonly debounce = new Map<View, NodeJS.Timeout>();
  private readonly lastEmitted = new Map<View, string>();
  private startWait: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private started = false;
  private stopped = false;

  constructor(o: KubeWatchOptions) {
    this.o = { ...KUBE_WATCH_DEFAULTS, ...stripUndefined(o) } as KubeWatchOptions & typeof KUBE_WATCH_DEFAULTS;
    this.dns = parseDnsService(o.dnsService);
  }

  /**
   * Resolves once every resource has been listed. Rejects if the kubeconfig cannot be loaded, or
   * after startTimeoutMs naming what is not synced and why; the watcher then keeps retrying until
   * stop(), so a caller may carry on without Kubernetes data or give up.
   */
  start(): Promise<void> {
    if (this.started || this.stopped) return Promise.reject(new Error('kubernetes: KubeWatcher.start() called twice or after stop()'));
    this.started = true;
    let kc: KubeConfig;
    try {
      kc = loadKubeConfig(this.o.kubeconfig);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.startWait = undefined;
        reject(new Error(`kubernetes: not synced within ${this.o.startTimeoutMs} ms: ${this.unsyncedSummary()}`));
      }, this.o.startTimeoutMs);
      this.startWait = { resolve, reject, timer };
    });
    const getPage = this.o.wrapGetPage ? this.o.wrapGetPage(pageGetter(kc)) : pageGetter(kc);
    for (const spec of resourceSpecs(this.dns, this.o.zoneLabel ?? ZONE_LABEL)) {
      const watchConfig = new WatchKubeConfig(kc, this.o.listTimeoutMs);
      const reflector = new Reflector<unknown>(spec as ResourceSpec<unknown>, {
        watch: new Watch(watchConfig),
        watchConfig,
        getPage,
        log: this.o.log,
        backoff: jitteredBackoff(this.o.backoffInitialMs, this.o.backoffMaxMs, this.o.random),
        listPageSize: this.o.listPageSize,
        listTimeoutMs: this.o.listTimeoutMs,
        listTimeoutPerObjectMs: this.o.listTimeoutPerObjectMs,
        listTimeoutMaxMs: this.o.listTimeoutMaxMs,
        watchTimeoutSeconds: this.o.watchTimeoutSeconds,
        watchSlackMs: this.o.watchSlackMs,
        minWatchMs: 1000,
        onChange: () => this.changed(spec.resource),
        onState: (s) => this.stateChanged(s),
      });
      this.reflectors.set(spec.resource, reflector);
    }
    this.o.log.info({ dnsService: this.o.dnsService, resources: [...this.reflectors.keys()] }, 'kubernetes watch starting');
    for (const r of this.reflectors.values()) r.start();
    return promise;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.startWait) {
      clearTimeout(this.startWait.timer);
      this.startWait.reject(new Error('kubernetes: stopped before the first list completed'));
      this.startWait = undefined;
    }
    for (const t of this.debounce.values()) clearTimeout(t);
    this.debounce.clear();
    await Promise.all([...this.reflectors.values()].map((r) => r.stop()));
  }

  get stats(): KubeWatchStats {
    const total: ResourceStats = { lists: 0, pages: 0, continueExpired: 0, watches: 0, reconnects: 0, gone: 0, errors: 0, events: 0, bookmarks: 0, silentWatches: 0 };
    const byResource: Record<string, ResourceStats> = {};
    for (const [name, r] of this.reflectors) {
      byResource[name] = { ...r.stats };
      for (const k of Object.keys(total) as (keyof ResourceStats)[]) total[k] += r.stats[k];
    }
    return { ...total, byResource };
  }

  /** The resourceVersion each resource would resume its watch from ('' = it will relist). */
  resourceVersions(): Record<string, string> {
    return Object.fromEntries([...this.reflectors].map(([name, r]) => [name, r.resourceVersion]));
  }

  /** What is kept of each object of a resource, by namespace/name (the reduced form; for tests and diagnosis). */
  stored(resource: string): ReadonlyMap<string, unknown> {
    return this.reflectors.get(resource)?.objects ?? new Map();
  }

  private unsyncedSummary(): string {
    const parts = [...this.reflectors.values()].filter((r) => !r.synced).map((r) => `${r.spec.resource} (${r.lastError ?? 'no answer yet'})`);
    return parts.join(', ');
  }

  private stateChanged(s: ResourceState): void {
    try {
      this.o.onState?.(s);
    } catch (e) {
      this.o.log.error({ err: e, resource: s.resource }, 'kubernetes onState callback threw');
    }
    if (this.startWait && [...this.reflectors.values()].every((r) => r.synced)) {
      clearTimeout(this.startWait.timer);
      this.o.log.info({ resourceVersions: this.resourceVersions() }, 'kubernetes watch synced');
      this.startWait.resolve();
      this.startWait = undefined;
    }
  }

  private changed(resource: string): void {
    if (this.stopped) return;
    for (const view of Object.keys(VIEW_RESOURCES) as View[]) {
      if (!VIEW_RESOURCES[view].includes(resource) || this.debounce.has(view)) continue;
      this.debounce.set(
        view,
        setTimeout(() => {
          this.debounce.delete(view);
          this.emit(view);
        }, this.o.debounceMs),
      );
    }
  }

  private emit(view: View): void {
    const rs = VIEW_RESOURCES[view].map((name) => this.reflectors.get(name));
    if (rs.some((r) => !r?.synced)) return; // a partial view would look like deletions
    const objects = <T>(name: string): T[] => [...((this.reflectors.get(name)?.objects.values() ?? []) as Iterable<T>)];
    let value: readonly KubeNode[] | KubeDns | readonly KubeNetworkPolicy[];
    if (view === 'nodes') value = sortNodes(objects<KubeNode>('nodes'));
    else if (view === 'dns') value = dnsView(objects<KubeService>('services')[0], objects<KubeSlice>('endpointslices'));
    else value = sortPolicies(objects<KubeNetworkPolicy>('networkpolicies'));
    const json = JSON.stringify(value);
    if (this.lastEmitted.get(view) === json) return;
    this.lastEmitted.set(view, json);
    try {
      if (view === 'nodes') this.o.onNodes(value as readonly KubeNode[]);
      else if (view === 'dns') this.o.onDns(value as KubeDns);
      else this.o.onNetworkPolicies(value as readonly KubeNetworkPolicy[]);
    } catch (e) {
      this.o.log.error({ err: e, view }, 'kubernetes callback threw');
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
