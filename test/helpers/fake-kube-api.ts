// A fake Kubernetes API server on 127.0.0.1:0 speaking enough of the API for the kinds netmatrix
// watches (Nodes, Services, EndpointSlices, NetworkPolicies): lists with a resourceVersion, paged
// with limit/continue over a snapshot (410 Expired for a continue token it no longer has), watches
// streaming newline-delimited JSON events from a resourceVersion, BOOKMARKs, 410 Gone after a
// compaction (as an HTTP answer or as an ERROR event), disconnects, slow or missing answers, and
// 403s. Tests mutate objects through its API; each mutation bumps the one resourceVersion counter
// (as etcd does) and reaches the open watches. Every request is recorded (query, status, items).
//
// Lists follow the API concepts page's table: resourceVersion=0 is "any" (the watch cache; with
// cacheIgnoresLimit, as API servers whose watch cache cannot page, the whole list in one answer
// whatever the limit); resourceVersionMatch=NotOlderThan is served at the current version (with
// ignoreResourceVersionMatch, as servers older than 1.19, it is read as an exact version: 410 when
// compacted); no resourceVersion is the most recent state.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type FakeKind = 'nodes' | 'services' | 'endpointslices' | 'networkpolicies';

interface KindInfo {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Path prefix before (optional) namespaces/NS/. */
  readonly base: string;
}

const KINDS: Record<FakeKind, KindInfo> = {
  nodes: { apiVersion: 'v1', kind: 'Node', namespaced: false, base: '/api/v1' },
  services: { apiVersion: 'v1', kind: 'Service', namespaced: true, base: '/api/v1' },
  endpointslices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespaced: true, base: '/apis/discovery.k8s.io/v1' },
  networkpolicies: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespaced: true, base: '/apis/networking.k8s.io/v1' },
};

/**
 * One RBAC rule as the API server's authorizer applies it: from a ClusterRole
 * (namespace null: every namespace and the cluster scope) or a Role (its
 * namespace only). '*' matches anything, as in RBAC.
 */
export interface FakeRbacRule {
  readonly namespace: string | null;
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

/**
 * The name a list or watch request is about, as kube-apiserver's RequestInfo
 * finds it: only from a fieldSelector that requires metadata.name to equal a
 * value. A rule with resourceNames allows list/watch only with that selector.
 */
export function requestName(query: Readonly<Record<string, string>>): string | undefined {
  for (const term of (query['fieldSelector'] ?? '').split(',')) {
    const m = /^metadata\.name==?(.+)$/.exec(term.trim());
    if (m) return m[1];
  }
  return undefined;
}

export function rbacAllows(rules: readonly FakeRbacRule[], a: { verb: string; group: string; resource: string; namespace: string | null; name: string | undefined }): boolean {
  const has = (list: readonly string[], v: string) => list.includes('*') || list.includes(v);
  return rules.some(
    (r) =>
      (r.namespace === null || r.namespace === a.namespace) &&
      has(r.apiGroups, a.group) &&
      has(r.resources, a.resource) &&
      has(r.verbs, a.verb) &&
      (!r.resourceNames || r.resourceNames.length === 0 || (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

export type KubeObject = { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

interface HistoryEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

export interface RequestRecord {
  readonly kind: FakeKind;
  readonly verb: 'list' | 'watch';
  readonly namespace: string | null;
  readonly query: Readonly<Record<string, string>>;
  /** The status answered (a watch answered 200 that later sends ERROR is recorded as 200). */
  status: number;
  /** A list answered 200: the items in it, and whether it ended with a continue token. */
  items?: number;
  continued?: boolean;
}

/** A list's items at its resourceVersion, kept for its continue tokens. */
interface ListSnapshot {
  readonly rv: number;
  readonly items: readonly KubeObject[];
}

interface OpenWatch {
  readonly kind: FakeKind;
  readonly namespace: string | null;
  readonly query: Readonly<Record<string, string>>;
  readonly res: ServerResponse;
  readonly timer: NodeJS.Timeout | undefined;
}

export interface FakeKubeApi {
  readonly url: string;
  /** A kubeconfig file pointing at the server with a bearer token. */
  readonly kubeconfigPath: string;
  readonly token: string;
  readonly requests: RequestRecord[];
  resourceVersion(): number;
  add(kind: FakeKind, obj: KubeObject): KubeObject;
  modify(kind: FakeKind, obj: KubeObject): KubeObject;
  remove(kind: FakeKind, name: string, namespace?: string): void;
  /** Forget history up to now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /** How 410 Gone is answered to a watch from a compacted resourceVersion. */
  goneAs: 'http' | 'event';
  /** false: keep watches open past the timeoutSeconds they asked for (a stuck server or proxy). */
  honourTimeoutSeconds: boolean;
  /** Send an ERROR 410 Status event on the open watches of a kind, and end them. */
  sendGone(kind: FakeKind): void;
  /** Answer every new watch of a kind with 410 Gone (a server whose history is always too short); false: normal again. */
  goneAlways(kind: FakeKind, on: boolean): void;
  /** Send a BOOKMARK at the current resourceVersion on the open watches that asked for bookmarks. */
  bookmark(kind: FakeKind): void;
  /** End open watch streams: 'end' closes the chunked response cleanly, 'destroy' resets the socket. */
  disconnectWatches(kind: FakeKind, how?: 'end' | 'destroy'): void;
  /** While frozen, open and new watches of a kind get no events (a stalled stream). */
  freeze(kind: FakeKind, frozen: boolean): void;
  /** Answer list and/or watch of a kind with 403 Forbidden (null = allow again). */
  forbid(kind: FakeKind, verbs: readonly ('list' | 'watch')[] | null): void;
  /** Authorize every request against these RBAC rules, as the API server would (null: allow all). */
  rbac(rules: readonly FakeRbacRule[] | null): void;
  /** Accept the request but never answer it (until close()). */
  hang(kind: FakeKind | 'all', verbs: readonly ('list' | 'watch')[] | null): void;
  /** Delay list answers by this many ms. */
  delayLists(ms: number): void;
  /** As API servers whose watch cache cannot page: resourceVersion=0 lists come whole, whatever the limit. */
  cacheIgnoresLimit: boolean;
  /** As API servers older than 1.19: resourceVersionMatch is ignored (NotOlderThan with a limit reads as exact). */
  ignoreResourceVersionMatch: boolean;
  /** Forget every continue token handed out: the next page asked with one gets 410 Expired. */
  expireContinues(): void;
  /** Called after each list answer (a test can change the state between pages). */
  onList(fn: ((r: RequestRecord) => void) | null): void;
  /** Requests of a kind and verb received so far. */
  count(kind: FakeKind, verb: 'list' | 'watch'): number;
  /** The objects of a kind as stored now (wire form, with their resourceVersion). */
  objects(kind: FakeKind): KubeObject[];
  openWatches(kind?: FakeKind): number;
  /** TCP connections the server has open right now. */
  openConnections(): number;
  close(): Promise<void>;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function parsePath(pathname: string): { kind: FakeKind; namespace: string | null } | undefined {
  for (const [kind, info] of Object.entries(KINDS) as [FakeKind, KindInfo][]) {
    if (pathname === `${info.base}/${kind}`) return { kind, namespace: null };
    if (info.namespaced) {
      const m = new RegExp(`^${info.base.replace(/[./]/g, (c) => `\\${c}`)}/namespaces/([^/]+)/${kind}$`).exec(pathname);
      if (m) return { kind, namespace: decodeURIComponent(m[1] as string) };
    }
  }
  return undefined;
}

/** Equality-based selectors only (k=v,k2=v2), which is all netmatrix sends. */
function matches(obj: KubeObject, namespace: string | null, query: Readonly<Record<string, string>>): boolean {
  if (namespace !== null && obj.metadata.namespace !== namespace) return false;
  for (const term of (query['labelSelector'] ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    if ((obj.metadata.labels ?? {})[k as string] !== v) return false;
  }
  for (const term of (query['fieldSelector'] ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    if (k === 'metadata.name' && obj.metadata.name !== v) return false;
    if (k === 'metadata.namespace' && obj.metadata.namespace !== v) return false;
  }
  return true;
}

function key(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  let rv = 1000;
  let compactedRV = 0;
  let listDelayMs = 0;
  let goneAs: 'http' | 'event' = 'http';
  let honourTimeoutSeconds = true;
  let cacheIgnoresLimit = false;
  let ignoreResourceVersionMatch = false;
  const continues = new Map<string, { snapshot: ListSnapshot; offset: number }>();
  let continueSeq = 0;
  let listHook: ((r: RequestRecord) => void) | null = null;
  const token = 'fake-token-for-tests';
  const store = new Map<FakeKind, Map<string, KubeObject>>();
  const history = new Map<FakeKind, HistoryEvent[]>();
  for (const k of Object.keys(KINDS) as FakeKind[]) {
    store.set(k, new Map());
    history.set(k, []);
  }
  const watches = new Set<OpenWatch>();
  const frozen = new Set<FakeKind>();
  const alwaysGone = new Set<FakeKind>();
  const forbidden = new Map<FakeKind, readonly string[]>();
  let rbac: readonly FakeRbacRule[] | null = null;
  const hung = new Map<FakeKind | 'all', readonly string[]>();
  const sockets = new Set<Socket>();
  const requests: RequestRecord[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));

  const write = (w: OpenWatch, type: string, object: unknown): void => {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const endWatch = (w: OpenWatch, how: 'end' | 'destroy' = 'end'): void => {
    watches.delete(w);
    clearTimeout(w.timer);
    if (how === 'destroy') w.res.socket?.destroy();
    else w.res.end();
  };
  const broadcast = (kind: FakeKind, e: HistoryEvent): void => {
    if (frozen.has(kind)) return;
    for (const w of watches) if (w.kind === kind && matches(e.object, w.namespace, w.query)) write(w, e.type, e.object);
  };
  const mutate = (kind: FakeKind, type: HistoryEvent['type'], obj: KubeObject): KubeObject => {
    rv++;
    const object = structuredClone(obj);
    object.metadata.resourceVersion = String(rv);
    object['apiVersion'] = KINDS[kind].apiVersion;
    object['kind'] = KINDS[kind].kind;
    if (type === 'DELETED') store.get(kind)?.delete(key(object));
    else store.get(kind)?.set(key(object), object);
    const e: HistoryEvent = { rv, type, object };
    history.get(kind)?.push(e);
    broadcast(kind, e);
    return object;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = parsePath(url.pathname);
    const json = (code: number, body: object): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, status(401, 'Unauthorized', 'Unauthorized'));
    if (!route || req.method !== 'GET') return json(404, status(404, 'NotFound', `no route for ${req.method} ${url.pathname}`));
    const query = Object.fromEntries(url.searchParams) as Record<string, string>;
    const verb = query['watch'] === 'true' || query['watch'] === '1' ? 'watch' : 'list';
    const record: RequestRecord = { kind: route.kind, verb, namespace: route.namespace, query, status: 200 };
    requests.push(record);
    const answer = (code: number, body: object): void => {
      record.status = code;
      json(code, body);
    };
    if ((hung.get(route.kind) ?? hung.get('all') ?? []).includes(verb)) return; // never answered
    if ((forbidden.get(route.kind) ?? []).includes(verb)) {
      const scope = route.namespace === null ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
      const group = KINDS[route.kind].apiVersion.includes('/') ? KINDS[route.kind].apiVersion.split('/')[0] : '';
      return answer(403, status(403, 'Forbidden', `${route.kind} is forbidden: User "system:serviceaccount:netmatrix:aggregator" cannot ${verb} resource "${route.kind}" in API group "${group}" ${scope}`));
    }
    if (rbac) {
      const group = KINDS[route.kind].apiVersion.includes('/') ? (KINDS[route.kind].apiVersion.split('/')[0] as string) : '';
      const name = requestName(query);
      if (!rbacAllows(rbac, { verb, group, resource: route.kind, namespace: route.namespace, name })) {
        const scope = route.namespace === null ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
        return answer(403, status(403, 'Forbidden', `${route.kind}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:netmatrix:aggregator" cannot ${verb} resource "${route.kind}" in API group "${group}" ${scope}`));
      }
    }
    const info = KINDS[route.kind];
    const items = [...(store.get(route.kind)?.values() ?? [])].filter((o) => matches(o, route.namespace, query));

    if (verb === 'list') {
      const limit = Number(query['limit'] ?? 0);
      const token = query['continue'] ?? '';
      const from = query['resourceVersion'] ?? '';
      const match = ignoreResourceVersionMatch ? '' : (query['resourceVersionMatch'] ?? '');
      let snapshot: ListSnapshot;
      let offset = 0;
      if (token !== '') {
        if (from !== '' && from !== '0') return answer(400, status(400, 'BadRequest', 'specifying resource version is not allowed when using continue'));
        const c = continues.get(token);
        if (!c) {
          return answer(410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'));
        }
        ({ snapshot, offset } = c);
      } else {
        // Exact: the state at an older version, which the fake keeps only until a compaction.
        const exact = match === 'Exact' || (match === '' && from !== '' && from !== '0' && limit > 0);
        if (exact && Number(from) !== rv) {
          if (Number(from) < compactedRV) return answer(410, status(410, 'Expired', `The resourceVersion for the provided list is too old.`));
          return answer(400, status(400, 'BadRequest', `fake-kube-api: an exact list at ${from} (now ${rv}) is not served`));
        }
        snapshot = { rv, items: items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)) };
      }
      const whole = limit <= 0 || (from === '0' && token === '' && cacheIgnoresLimit);
      const page = whole ? snapshot.items.slice(offset) : snapshot.items.slice(offset, offset + limit);
      const rest = snapshot.items.length - offset - page.length;
      const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
      if (rest > 0) {
        const next = `c${++continueSeq}`;
        continues.set(next, { snapshot, offset: offset + page.length });
        metadata['continue'] = next;
        // As the API server: no estimate with selectors.
        if (!query['labelSelector'] && !query['fieldSelector']) metadata['remainingItemCount'] = rest;
      }
      const send = (): void => {
        answer(200, { kind: `${info.kind}List`, apiVersion: info.apiVersion, metadata, items: page });
        record.items = page.length;
        record.continued = rest > 0;
        listHook?.(record);
      };
      if (listDelayMs > 0) {
        const t = setTimeout(send, listDelayMs);
        res.on('close', () => clearTimeout(t));
      } else send();
      return;
    }

    const from = query['resourceVersion'] ?? '';
    const fromRV = Number(from);
    const expired = (from !== '' && from !== '0' && fromRV < compactedRV) || alwaysGone.has(route.kind);
    const goneStatus = status(410, 'Expired', `too old resource version: ${from} (${compactedRV})`);
    if (expired && goneAs === 'http') return answer(410, goneStatus);

    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const timeoutSeconds = Number(query['timeoutSeconds'] ?? 0);
    const w: OpenWatch = {
      kind: route.kind,
      namespace: route.namespace,
      query,
      res,
      timer: timeoutSeconds > 0 && honourTimeoutSeconds ? setTimeout(() => endWatch(w), timeoutSeconds * 1000) : undefined,
    };
    watches.add(w);
    res.on('close', () => {
      watches.delete(w);
      clearTimeout(w.timer);
    });
    if (expired) {
      write(w, 'ERROR', goneStatus);
      return endWatch(w);
    }
    if (frozen.has(route.kind)) return;
    if (from === '' || from === '0') {
      for (const o of items) write(w, 'ADDED', o);
    } else {
      for (const e of history.get(route.kind) ?? []) if (e.rv > fromRV && matches(e.object, route.namespace, query)) write(w, e.type, e.object);
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;

  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${url}`,
      // The library refuses plain http unless TLS verification is explicitly off.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: fake',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: fake',
      '  context: {cluster: fake, user: fake}',
      'current-context: fake',
      '',
    ].join('\n'),
  );

  const api: FakeKubeApi = {
    url,
    kubeconfigPath,
    token,
    requests,
    get goneAs() {
      return goneAs;
    },
    set goneAs(v) {
      goneAs = v;
    },
    get honourTimeoutSeconds() {
      return honourTimeoutSeconds;
    },
    set honourTimeoutSeconds(v) {
      honourTimeoutSeconds = v;
    },
    get cacheIgnoresLimit() {
      return cacheIgnoresLimit;
    },
    set cacheIgnoresLimit(v) {
      cacheIgnoresLimit = v;
    },
    get ignoreResourceVersionMatch() {
      return ignoreResourceVersionMatch;
    },
    set ignoreResourceVersionMatch(v) {
      ignoreResourceVersionMatch = v;
    },
    expireContinues: () => continues.clear(),
    onList: (fn) => {
      listHook = fn;
    },
    count: (kind, verb) => requests.filter((r) => r.kind === kind && r.verb === verb).length,
    objects: (kind) => [...(store.get(kind)?.values() ?? [])],
    resourceVersion: () => rv,
    add: (kind, obj) => mutate(kind, 'ADDED', obj),
    modify: (kind, obj) => {
      if (!store.get(kind)?.has(key(obj))) throw new Error(`fake-kube-api: no ${kind} ${key(obj)} to modify`);
      return mutate(kind, 'MODIFIED', obj);
    },
    remove: (kind, name, namespace) => {
      const obj = store.get(kind)?.get(`${namespace ?? ''}/${name}`);
      if (!obj) throw new Error(`fake-kube-api: no ${kind} ${namespace ?? ''}/${name} to delete`);
      mutate(kind, 'DELETED', obj);
    },
    compact: () => {
      compactedRV = rv;
      for (const h of history.values()) h.length = 0;
      continues.clear();
    },
    sendGone: (kind) => {
      for (const w of [...watches]) {
        if (w.kind !== kind) continue;
        write(w, 'ERROR', status(410, 'Expired', 'The resourceVersion for the provided watch is too old.'));
        endWatch(w);
      }
    },
    goneAlways: (kind, on) => void (on ? alwaysGone.add(kind) : alwaysGone.delete(kind)),
    bookmark: (kind) => {
      const info = KINDS[kind];
      for (const w of watches) {
        if (w.kind === kind && w.query['allowWatchBookmarks'] === 'true') write(w, 'BOOKMARK', { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(rv) } });
      }
    },
    disconnectWatches: (kind, how = 'end') => {
      for (const w of [...watches]) if (w.kind === kind) endWatch(w, how);
    },
    freeze: (kind, f) => void (f ? frozen.add(kind) : frozen.delete(kind)),
    forbid: (kind, verbs) => void (verbs === null ? forbidden.delete(kind) : forbidden.set(kind, verbs)),
    rbac: (rules) => {
      rbac = rules;
    },
    hang: (kind, verbs) => void (verbs === null ? hung.delete(kind) : hung.set(kind, verbs)),
    delayLists: (ms) => {
      listDelayMs = ms;
    },
    openWatches: (kind) => [...watches].filter((w) => kind === undefined || w.kind === kind).length,
    openConnections: () => sockets.size,
    close: async () => {
      for (const w of [...watches]) endWatch(w);
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return api;
}

// Builders for the objects, in wire form, with documentation addresses (RFC 5737).

/**
 * A Node in wire form. `images` adds that many container images to status.images (with
 * status.nodeInfo and the other conditions), as a real kubelet reports them: a real Node is some
 * 5-20 KiB of JSON, of which netmatrix reads a few hundred bytes.
 */
export function makeNode(name: string, o: { ips?: string[]; zone?: string; legacyZone?: string; podCIDRs?: string[]; podCIDR?: string; ready?: boolean; unschedulable?: boolean; images?: number; heartbeat?: string } = {}): KubeObject {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name };
  if (o.zone !== undefined) labels['topology.kubernetes.io/zone'] = o.zone;
  if (o.legacyZone !== undefined) labels['failure-domain.beta.kubernetes.io/zone'] = o.legacyZone;
  const spec: Record<string, unknown> = {};
  if (o.podCIDRs) spec['podCIDRs'] = o.podCIDRs;
  if (o.podCIDR) spec['podCIDR'] = o.podCIDR;
  if (o.unschedulable) spec['unschedulable'] = true;
  const heartbeat = o.heartbeat ?? '2026-01-01T00:00:00Z';
  const status: Record<string, unknown> = {
    addresses: [...(o.ips ?? []).map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: name }],
    conditions: [
      { type: 'MemoryPressure', status: 'False' },
      { type: 'Ready', status: o.ready === false ? 'False' : 'True', lastHeartbeatTime: heartbeat },
    ],
  };
  if (o.images !== undefined) {
    for (const type of ['DiskPressure', 'PIDPressure', 'NetworkUnavailable']) {
      (status['conditions'] as object[]).push({ type, status: 'False', lastHeartbeatTime: heartbeat, lastTransitionTime: '2026-01-01T00:00:00Z', reason: `Kubelet${type}`, message: `kubelet reports no ${type}` });
    }
    status['capacity'] = { cpu: '16', memory: '65842896Ki', pods: '110', 'ephemeral-storage': '203070420Ki' };
    status['allocatable'] = { cpu: '15800m', memory: '64740560Ki', pods: '110', 'ephemeral-storage': '187149698101' };
    status['nodeInfo'] = { machineID: 'f'.repeat(32), systemUUID: 'ec2f0000-0000-0000-0000-000000000000', bootID: '00000000-0000-0000-0000-000000000000', kernelVersion: '6.1.0-18-cloud-amd64', osImage: 'Debian GNU/Linux 12 (bookworm)', containerRuntimeVersion: 'containerd://1.7.13', kubeletVersion: 'v1.30.2', kubeProxyVersion: 'v1.30.2', operatingSystem: 'linux', architecture: 'amd64' };
    status['images'] = Array.from({ length: o.images }, (_, i) => ({
      names: [`registry.example/team-${i % 17}/service-${i}@sha256:${'0123456789abcdef'.repeat(4)}`, `registry.example/team-${i % 17}/service-${i}:v1.${i}.0`],
      sizeBytes: 50_000_000 + i * 1_000_003,
    }));
  }
  return { metadata: { name, labels, creationTimestamp: '2026-01-01T00:00:00Z' }, spec, status };
}

export function makeService(namespace: string, name: string, clusterIPs: string[]): KubeObject {
  return {
    metadata: { namespace, name, labels: { 'k8s-app': name } },
    spec: { clusterIP: clusterIPs[0], clusterIPs, ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 }] },
  };
}

export interface SliceEndpoint {
  readonly ip: string;
  readonly pod?: string;
  readonly node?: string;
  readonly ready?: boolean;
}

export function makeEndpointSlice(namespace: string, name: string, service: string, endpoints: readonly SliceEndpoint[], port = 53): KubeObject {
  return {
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready, serving: e.ready, terminating: false },
      ...(e.pod ? { targetRef: { kind: 'Pod', namespace, name: e.pod } } : {}),
      ...(e.node ? { nodeName: e.node } : {}),
    })),
    ports: [{ name: 'dns-tcp', protocol: 'TCP', port }, { name: 'dns', protocol: 'UDP', port }],
  };
}

export function makeNetworkPolicy(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { metadata: { namespace, name }, spec };
}
