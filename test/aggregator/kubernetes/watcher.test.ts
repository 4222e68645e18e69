// KubeWatcher driven by the real @kubernetes/client-node against a fake API server on 127.0.0.1.
import t from 'tap';
import { KubeWatcher, type KubeDns, type KubeNetworkPolicy, type KubeNode, type KubeWatchOptions, type ResourceState } from '../../../aggregator/kubernetes/watcher.js';
import { makeEndpointSlice, makeNetworkPolicy, makeNode, makeService, startFakeKubeApi, type FakeKubeApi } from '../../helpers/fake-kube-api.js';
import { logSink, type LogSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

type Tap = { teardown(fn: () => unknown): void };

interface Harness {
  readonly fake: FakeKubeApi;
  readonly watcher: KubeWatcher;
  readonly sink: LogSink;
  readonly nodes: (readonly KubeNode[])[];
  readonly dns: KubeDns[];
  readonly policies: (readonly KubeNetworkPolicy[])[];
  readonly states: ResourceState[];
}

const NS = 'kube-system';

function seed(fake: FakeKubeApi): void {
  fake.add('nodes', makeNode('node-a', { ips: ['192.0.2.10', '2001:db8::10'], zone: 'zone-1', podCIDRs: ['10.244.0.0/24', 'fd00:10:244::/64'] }));
  fake.add('nodes', makeNode('node-b', { ips: ['192.0.2.11'], legacyZone: 'zone-2', podCIDR: '10.244.1.0/24' }));
  fake.add('services', makeService(NS, 'kube-dns', ['198.51.100.10']));
  fake.add('services', makeService(NS, 'other', ['198.51.100.99']));
  fake.add('endpointslices', makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [
    { ip: '203.0.113.2', pod: 'coredns-1', node: 'node-a', ready: true },
    { ip: '203.0.113.3', pod: 'coredns-2', node: 'node-b', ready: true },
  ]));
  fake.add('endpointslices', makeEndpointSlice(NS, 'other-xyz', 'other', [{ ip: '203.0.113.99', ready: true }]));
  fake.add('networkpolicies', makeNetworkPolicy('default', 'deny-egress', {
    podSelector: { matchLabels: { app: 'web' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } }] }],
  }));
}

async function harness(t: Tap, opts: Partial<KubeWatchOptions> = {}, before?: (fake: FakeKubeApi) => void): Promise<Harness> {
  const fake = await startFakeKubeApi();
  seed(fake);
  before?.(fake);
  const sink = logSink('debug');
  const h: Harness = { fake, sink, nodes: [], dns: [], policies: [], states: [], watcher: undefined as unknown as KubeWatcher };
  const watcher = new KubeWatcher({
    kubeconfig: fake.kubeconfigPath,
    dnsService: `${NS}/kube-dns`,
    log: sink.log,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    debounceMs: 10,
    listTimeoutMs: 3000,
    startTimeoutMs: 5000,
    random: () => 0.5,
    onNodes: (n) => h.nodes.push(n),
    onDns: (d) => h.dns.push(d),
    onNetworkPolicies: (p) => h.policies.push(p),
    onState: (s) => h.states.push(s),
    ...opts,
  });
  (h as { watcher: KubeWatcher }).watcher = watcher;
  t.teardown(async () => {
    await watcher.stop();
    await fake.close();
  });
  return h;
}

const nodeNames = (h: Harness): string[] => (h.nodes.at(-1) ?? []).map((n) => n.name);
const watchRequests = (h: Harness, kind: string): { resourceVersion: string; status: number }[] =>
  h.fake.requests.filter((r) => r.kind === kind && r.verb === 'watch').map((r) => ({ resourceVersion: r.query['resourceVersion'] ?? '', status: r.status }));

t.test('the first list of every resource gives nodes, DNS and network policies', async (t) => {
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('all three views', () => h.nodes.length > 0 && h.dns.length > 0 && h.policies.length > 0);
  t.same(h.nodes.at(-1), [
    { name: 'node-a', internalIPs: ['192.0.2.10', '2001:db8::10'], zone: 'zone-1', podCidrs: ['10.244.0.0/24', 'fd00:10:244::/64'], ready: true, unschedulable: false },
    { name: 'node-b', internalIPs: ['192.0.2.11'], zone: 'zone-2', podCidrs: ['10.244.1.0/24'], ready: true, unschedulable: false },
  ]);
  t.same(h.dns.at(-1), {
    clusterIPs: ['198.51.100.10'],
    port: 53,
    endpoints: [
      { name: 'coredns-1', address: '203.0.113.2', ready: true, node: 'node-a' },
      { name: 'coredns-2', address: '203.0.113.3', ready: true, node: 'node-b' },
    ],
  });
  const policies = h.policies.at(-1) ?? [];
  t.equal(policies.length, 1);
  t.match(policies[0], { namespace: 'default', name: 'deny-egress', podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'] });
  // Typed list items are turned back into the wire form: `except`, not the model's `_except`.
  t.same((policies[0]?.spec as { egress: { to: { ipBlock: unknown }[] }[] }).egress[0]?.to[0]?.ipBlock, { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] });

  const lists = h.fake.requests.filter((r) => r.verb === 'list');
  t.same(lists.map((r) => r.kind).sort(), ['endpointslices', 'networkpolicies', 'nodes', 'services']);
  // The first list of each: from the watch cache (resourceVersion=0), in pages of 500.
  t.same(lists.find((r) => r.kind === 'endpointslices')?.query, { labelSelector: 'kubernetes.io/service-name=kube-dns', limit: '500', resourceVersion: '0' });
  t.same(lists.find((r) => r.kind === 'services')?.query, { fieldSelector: 'metadata.name=kube-dns', limit: '500', resourceVersion: '0' });
  t.same(lists.find((r) => r.kind === 'nodes')?.query, { limit: '500', resourceVersion: '0' });
  t.same(lists.find((r) => r.kind === 'services')?.namespace, NS);
  await waitFor('four watches open', () => h.fake.openWatches() === 4);
  for (const kind of ['nodes', 'services', 'endpointslices', 'networkpolicies']) {
    const w = h.fake.requests.find((r) => r.kind === kind && r.verb === 'watch');
    t.equal(w?.query['allowWatchBookmarks'], 'true', `${kind} watch asks for bookmarks`);
    t.equal(w?.query['timeoutSeconds'], '300', `${kind} watch has a server-side timeout`);
    t.ok(Number(w?.query['resourceVersion']) > 1000, `${kind} watch starts from the list's resourceVersion`);
  }
  // The Role in deploy/ names the Service (resourceNames): list and watch must both carry the name selector.
  t.equal(h.fake.requests.find((r) => r.kind === 'services' && r.verb === 'watch')?.query['fieldSelector'], 'metadata.name=kube-dns', 'the Service watch is by name too');
  t.equal(h.fake.requests.find((r) => r.kind === 'endpointslices' && r.verb === 'watch')?.namespace, NS, 'EndpointSlices are watched in the DNS namespace only');
  t.same(h.states.filter((s) => s.synced).map((s) => s.resource).sort(), ['endpointslices', 'networkpolicies', 'nodes', 'services']);
  t.match(h.watcher.stats, { lists: 4, errors: 0, gone: 0 });
});

t.test('node added, turned NotReady, cordoned and deleted: onNodes follows', async (t) => {
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('initial nodes', () => h.nodes.length === 1);
  h.fake.add('nodes', makeNode('node-c', { ips: ['192.0.2.12'], zone: 'zone-1', podCIDRs: ['10.244.2.0/24'] }));
  await waitFor('node-c added', () => nodeNames(h).includes('node-c'));
  t.same(nodeNames(h), ['node-a', 'node-b', 'node-c']);

  h.fake.modify('nodes', makeNode('node-c', { ips: ['192.0.2.12'], zone: 'zone-1', podCIDRs: ['10.244.2.0/24'], ready: false }));
  await waitFor('node-c NotReady', () => h.nodes.at(-1)?.find((n) => n.name === 'node-c')?.ready === false);
  h.fake.modify('nodes', makeNode('node-c', { ips: ['192.0.2.12'], zone: 'zone-1', podCIDRs: ['10.244.2.0/24'], ready: false, unschedulable: true }));
  await waitFor('node-c cordoned', () => h.nodes.at(-1)?.find((n) => n.name === 'node-c')?.unschedulable === true);

  h.fake.remove('nodes', 'node-c');
  await waitFor('node-c deleted', () => !nodeNames(h).includes('node-c'));
  t.same(nodeNames(h), ['node-a', 'node-b']);

  // A change that netmatrix does not keep (a heartbeat) is not reported again.
  const before = h.nodes.length;
  const hb = makeNode('node-a', { ips: ['192.0.2.10', '2001:db8::10'], zone: 'zone-1', podCIDRs: ['10.244.0.0/24', 'fd00:10:244::/64'] });
  ((hb['status'] as { conditions: { lastHeartbeatTime?: string }[] }).conditions[1] as { lastHeartbeatTime: string }).lastHeartbeatTime = '2026-01-01T00:01:00Z';
  h.fake.modify('nodes', hb);
  await waitFor('heartbeat seen', () => h.watcher.stats.byResource['nodes']?.events === 5);
  h.fake.add('nodes', makeNode('node-d', { ips: ['192.0.2.13'] }));
  await waitFor('node-d added', () => nodeNames(h).includes('node-d'));
  t.equal(h.nodes.length, before + 1, 'the heartbeat alone produced no onNodes call');
});

t.test('EndpointSlice changes: a replica added, not ready, removed; other services ignored', async (t) => {
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('initial dns', () => h.dns.length === 1);
  const replicas = [
    { ip: '203.0.113.2', pod: 'coredns-1', node: 'node-a', ready: true },
    { ip: '203.0.113.3', pod: 'coredns-2', node: 'node-b', ready: true },
  ];
  h.fake.modify('endpointslices', makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [...replicas, { ip: '203.0.113.4', pod: 'coredns-3', node: 'node-b', ready: true }]));
  await waitFor('three replicas', () => h.dns.at(-1)?.endpoints.length === 3);
  h.fake.modify('endpointslices', makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [...replicas, { ip: '203.0.113.4', pod: 'coredns-3', node: 'node-b', ready: false }]));
  await waitFor('coredns-3 not ready', () => h.dns.at(-1)?.endpoints.find((e) => e.name === 'coredns-3')?.ready === false);
  h.fake.modify('endpointslices', makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [replicas[0] as (typeof replicas)[0]]));
  await waitFor('one replica', () => h.dns.at(-1)?.endpoints.length === 1);
  t.same(h.dns.at(-1)?.endpoints, [{ name: 'coredns-1', address: '203.0.113.2', ready: true, node: 'node-a' }]);

  // A second slice for the same service (the controller splits large services).
  h.fake.add('endpointslices', makeEndpointSlice(NS, 'kube-dns-fghij', 'kube-dns', [{ ip: '203.0.113.5' }], 5353));
  await waitFor('second slice', () => h.dns.at(-1)?.endpoints.length === 2);
  t.same(h.dns.at(-1)?.endpoints[1], { name: '203.0.113.5', address: '203.0.113.5', ready: true, node: null }, 'no targetRef: named by address; no ready condition: ready');

  const count = h.dns.length;
  h.fake.modify('endpointslices', makeEndpointSlice(NS, 'other-xyz', 'other', [{ ip: '203.0.113.98' }]));
  h.fake.modify('services', makeService(NS, 'kube-dns', ['198.51.100.10', '2001:db8:53::10']));
  await waitFor('service dual-stack', () => h.dns.at(-1)?.clusterIPs.length === 2);
  t.equal(h.dns.length, count + 1, 'the other service\'s slice was not seen');
  t.notOk(h.fake.requests.some((r) => r.kind === 'endpointslices' && r.query['labelSelector'] !== 'kubernetes.io/service-name=kube-dns'));
});

for (const how of ['end', 'destroy'] as const) {
  t.test(`watch disconnect (${how}): resumes from the last resourceVersion, nothing lost or repeated`, async (t) => {
    const h = await harness(t);
    await h.watcher.start();
    await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
    h.fake.add('nodes', makeNode('node-c', { ips: ['192.0.2.12'] }));
    await waitFor('node-c', () => nodeNames(h).includes('node-c'));
    const lastSeen = String(h.fake.resourceVersion());
    t.equal(h.watcher.resourceVersions()['nodes'], lastSeen);

    h.fake.disconnectWatches('nodes', how);
    // Changes while no watch is open reach the client through the next watch's replay.
    h.fake.remove('nodes', 'node-a');
    h.fake.add('nodes', makeNode('node-e', { ips: ['192.0.2.14'] }));
    await waitFor('node-e', () => nodeNames(h).includes('node-e'));
    t.same(nodeNames(h), ['node-b', 'node-c', 'node-e']);

    const watches = watchRequests(h, 'nodes');
    t.equal(watches.length, 2);
    t.equal(watches[1]?.resourceVersion, lastSeen, 'the second watch starts where the first stopped');
    const s = h.watcher.stats.byResource['nodes'];
    t.equal(s?.events, 3, 'each change was delivered exactly once');
    t.equal(s?.lists, 1, 'no relist');
    t.equal(s?.errors, how === 'destroy' ? 1 : 0, 'a reset connection counts as an error, a clean end does not');
    t.equal(s?.reconnects, how === 'end' ? 1 : 0);
  });
}

t.test('BOOKMARK advances the resourceVersion so a watch can resume after compaction', async (t) => {
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
  const listRV = h.watcher.resourceVersions()['nodes'];
  // Other kinds move the shared resourceVersion on; nodes see nothing of it but the bookmark.
  h.fake.add('networkpolicies', makeNetworkPolicy('default', 'p2', { podSelector: {} }));
  h.fake.add('networkpolicies', makeNetworkPolicy('default', 'p3', { podSelector: {} }));
  const now = String(h.fake.resourceVersion());
  t.not(listRV, now);
  h.fake.bookmark('nodes');
  await waitFor('bookmark applied', () => h.watcher.resourceVersions()['nodes'] === now);
  t.equal(h.watcher.stats.byResource['nodes']?.bookmarks, 1);

  h.fake.compact();
  h.fake.disconnectWatches('nodes');
  await waitFor('nodes watch reopened', () => h.fake.openWatches('nodes') === 1 && watchRequests(h, 'nodes').length === 2);
  t.same(watchRequests(h, 'nodes')[1], { resourceVersion: now, status: 200 }, 'resumed from the bookmark, no 410');
  t.equal(h.watcher.stats.byResource['nodes']?.gone, 0);
  t.equal(h.watcher.stats.byResource['nodes']?.lists, 1);
});

for (const goneAs of ['http', 'event'] as const) {
  t.test(`410 Gone on a resumed watch (${goneAs}): relist, and a deletion in the gap is seen`, async (t) => {
    const h = await harness(t);
    h.fake.goneAs = goneAs;
    await h.watcher.start();
    await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
    await waitFor('initial nodes', () => h.nodes.length === 1);
    h.fake.freeze('nodes', true); // the stream stalls: the client misses what follows
    h.fake.remove('nodes', 'node-b');
    h.fake.add('nodes', makeNode('node-f', { ips: ['192.0.2.15'] }));
    h.fake.compact();
    h.fake.freeze('nodes', false);
    h.fake.disconnectWatches('nodes');
    await waitFor('relisted state', () => nodeNames(h).join() === 'node-a,node-f');
    const s = h.watcher.stats.byResource['nodes'];
    t.equal(s?.gone, 1);
    t.equal(s?.lists, 2);
    t.equal(s?.errors, 0, '410 is not an error');
    t.equal(watchRequests(h, 'nodes')[1]?.status, goneAs === 'http' ? 410 : 200);
    t.ok(h.sink.find('kubernetes watch expired (410 Gone), relisting'));
    // The relist is never older than what the expired watch had seen.
    const relist = h.fake.requests.filter((r) => r.kind === 'nodes' && r.verb === 'list')[1];
    t.same(relist?.query, { limit: '500', resourceVersion: watchRequests(h, 'nodes')[1]?.resourceVersion, resourceVersionMatch: 'NotOlderThan' });
    await waitFor('watch from the new list', () => h.fake.openWatches('nodes') === 1);
    t.equal(watchRequests(h, 'nodes').at(-1)?.resourceVersion, String(h.fake.resourceVersion()));
  });
}

t.test('410 Gone as an ERROR event on an open watch: relist', async (t) => {
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
  h.fake.freeze('nodes', true);
  h.fake.remove('nodes', 'node-a');
  h.fake.compact();
  h.fake.freeze('nodes', false);
  h.fake.sendGone('nodes');
  await waitFor('node-a gone after relist', () => nodeNames(h).join() === 'node-b');
  t.equal(h.watcher.stats.byResource['nodes']?.gone, 1);
  t.equal(h.watcher.stats.byResource['nodes']?.lists, 2);
});

t.test('403 on a resource: logged with the missing RBAC verb, retried with backoff, then recovers', async (t) => {
  const h = await harness(t, { startTimeoutMs: 10_000 }, (fake) => fake.forbid('networkpolicies', ['list']));
  const started = h.watcher.start();
  await waitFor('four refusals logged', () => h.sink.lines.filter((l) => l['status'] === 403).length >= 4);
  const line = h.sink.find('kubernetes API forbidden: grant this verb on this resource to the aggregator');
  t.match(line, { level: 50, resource: 'networkpolicies', group: 'networking.k8s.io', namespace: null, verb: 'list', status: 403, reason: /cannot list resource "networkpolicies"/ });
  t.match(h.states.find((s) => s.error), { resource: 'networkpolicies', synced: false, error: 'forbidden: RBAC does not allow "list" on networkpolicies.networking.k8s.io cluster-wide' });
  // Backoff doubles from 20 ms (jitter fixed at the middle: 15, 30, 60 ms...), capped at 100.
  const retries = h.sink.lines.filter((l) => l['status'] === 403).map((l) => l['retryInMs']);
  t.same(retries.slice(0, 4), [15, 30, 60, 75]);
  t.equal(h.nodes.length, 1, 'the other resources are not held up');

  h.fake.forbid('networkpolicies', null);
  await started;
  await waitFor('policies after recovery', () => h.policies.length === 1);
  t.ok((h.watcher.stats.byResource['networkpolicies']?.errors ?? 0) >= 3);

  // A watch refused later is reported with the watch verb, and the list is not repeated for it.
  h.fake.forbid('nodes', ['watch']);
  h.fake.disconnectWatches('nodes');
  await waitFor('watch refused', () => h.sink.lines.some((l) => l['verb'] === 'watch' && l['status'] === 403));
  h.fake.forbid('nodes', null);
  await waitFor('nodes watch back', () => h.fake.openWatches('nodes') === 1);
  t.equal(h.watcher.stats.byResource['nodes']?.lists, 1);
  await waitFor('recovery reported', () => { const last = h.states.filter((s) => s.resource === 'nodes').at(-1); return last?.synced === true && last.error === undefined; });
  t.pass('nodes reported healthy again');
});

t.test('start() rejects after its deadline when the server never answers; stop() closes every connection', async (t) => {
  const h = await harness(t, { startTimeoutMs: 300, listTimeoutMs: 60_000 }, (fake) => fake.hang('all', ['list']));
  await t.rejects(h.watcher.start(), /kubernetes: not synced within 300 ms: nodes \(no answer yet\), services \(no answer yet\), endpointslices \(no answer yet\), networkpolicies \(no answer yet\)/);
  t.equal(h.fake.openConnections(), 4, 'four lists still waiting');
  await h.watcher.stop();
  await waitFor('client closed its connections', () => h.fake.openConnections() === 0, 2000);
  t.pass('closed');
});

t.test('a list that takes too long is abandoned at its deadline and retried', async (t) => {
  const h = await harness(t, { listTimeoutMs: 150, startTimeoutMs: 10_000 }, (fake) => fake.hang('nodes', ['list']));
  const started = h.watcher.start();
  await waitFor('two list attempts', () => h.fake.requests.filter((r) => r.kind === 'nodes' && r.verb === 'list').length >= 2);
  t.match(h.states.find((s) => s.resource === 'nodes' && s.error), { error: /list nodes cluster-wide failed: no answer within 150 ms/ });
  h.fake.hang('nodes', null);
  await started;
  await waitFor('nodes after the retry', () => h.nodes.length > 0);
  t.ok((h.watcher.stats.byResource['nodes']?.errors ?? 0) >= 1);
});

t.test('a watch whose headers never come is abandoned at the deadline and retried', async (t) => {
  const h = await harness(t, { listTimeoutMs: 150 }, (fake) => fake.hang('nodes', ['watch']));
  await h.watcher.start();
  await waitFor('watch attempt timed out', () => (h.watcher.stats.byResource['nodes']?.errors ?? 0) >= 1);
  t.match(h.sink.lines.find((l) => l['resource'] === 'nodes' && l['verb'] === 'watch'), { reason: /network timeout/ });
  h.fake.hang('nodes', null);
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
  h.fake.add('nodes', makeNode('node-g'));
  await waitFor('node-g', () => nodeNames(h).includes('node-g'));
  t.equal(h.watcher.stats.byResource['nodes']?.lists, 1, 'resumed, not relisted');
});

t.test('a watch silent past timeoutSeconds + slack is restarted from its resourceVersion', async (t) => {
  const h = await harness(t, { watchTimeoutSeconds: 1, watchSlackMs: 200 });
  h.fake.honourTimeoutSeconds = false;
  await h.watcher.start();
  await waitFor('silent watch restarted', () => watchRequests(h, 'nodes').length >= 2, 5000);
  const s = h.watcher.stats.byResource['nodes'];
  t.ok((s?.silentWatches ?? 0) >= 1);
  t.equal(s?.lists, 1);
  t.equal(watchRequests(h, 'nodes')[1]?.resourceVersion, watchRequests(h, 'nodes')[0]?.resourceVersion);
  t.ok(h.sink.find('kubernetes watch silent past its timeout, restarting it'));
});

t.test('a server closing watches at timeoutSeconds: reconnects without relisting', async (t) => {
  const h = await harness(t, { watchTimeoutSeconds: 1, watchSlackMs: 5000 });
  await h.watcher.start();
  h.fake.add('nodes', makeNode('node-h'));
  await waitFor('two server-side timeouts', () => watchRequests(h, 'nodes').length >= 3, 5000);
  t.equal(h.watcher.stats.byResource['nodes']?.lists, 1);
  t.equal(h.watcher.stats.byResource['nodes']?.silentWatches, 0);
  t.equal(h.watcher.stats.errors, 0);
});

t.test('stop() leaves no sockets or timers behind', async (t) => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('all watches open', () => h.fake.openWatches() === 4);
  h.fake.add('nodes', makeNode('node-i')); // a pending debounce timer
  await h.watcher.stop();
  await waitFor('server sees every connection closed', () => h.fake.openConnections() === 0, 2000);
  t.equal(h.fake.openWatches(), 0);
  // Sockets closing take a few ticks to release their own timers; a leaked silence (300 s + slack)
  // or backoff timer would never go.
  await waitFor('timers back to where they were', () => timers() <= before, 2000);
  const calls = h.nodes.length;
  h.fake.add('nodes', makeNode('node-j'));
  await new Promise((r) => setImmediate(r));
  t.equal(h.nodes.length, calls, 'no callback after stop');
  await h.watcher.stop(); // idempotent
});

t.test('stop() during start() rejects start and closes the pending requests', async (t) => {
  const h = await harness(t, { startTimeoutMs: 60_000 }, (fake) => fake.hang('nodes', ['list']));
  const started = h.watcher.start();
  await waitFor('nodes list pending', () => h.fake.requests.some((r) => r.kind === 'nodes'));
  await h.watcher.stop();
  await t.rejects(started, /stopped before the first list completed/);
  await waitFor('connections closed', () => h.fake.openConnections() === 0, 2000);
});

t.test('configuration errors are reported at once', async (t) => {
  t.throws(() => new KubeWatcher({ kubeconfig: '', dnsService: 'kube-dns', log: logSink().log, onNodes() {}, onDns() {}, onNetworkPolicies() {} }), /DNS service "kube-dns" is not namespace\/name/);
  const w = new KubeWatcher({ kubeconfig: '/nonexistent/kubeconfig', dnsService: 'kube-system/kube-dns', log: logSink().log, onNodes() {}, onDns() {}, onNetworkPolicies() {} });
  await t.rejects(w.start(), /kubernetes: cannot load kubeconfig \/nonexistent\/kubeconfig/);
  await w.stop();
  await t.rejects(w.start(), /called twice or after stop/);
});
