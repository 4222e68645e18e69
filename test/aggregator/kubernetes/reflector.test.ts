// Lists at scale, through KubeWatcher and the real @kubernetes/client-node against the fake API
// server: 5,000 Nodes in pages (limit/continue) from the watch cache (resourceVersion=0), or whole
// from a cache that cannot page; a continue token that expires mid-list; relists that never go back
// in time; the deadline that grows with the cluster; what is kept of each object; and 10,000
// EndpointSlice updates applied in order. Nothing here asserts a duration.
import t from 'tap';
import { nodeFromObject, type KubeNode, type WireObject } from '../../../aggregator/kubernetes/objects.js';
import { KubeWatcher, type KubeDns, type KubeWatchOptions } from '../../../aggregator/kubernetes/watcher.js';
import { makeEndpointSlice, makeNetworkPolicy, makeNode, makeService, startFakeKubeApi, type FakeKubeApi, type KubeObject, type RequestRecord } from '../../helpers/fake-kube-api.js';
import { logSink, type LogSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

type Tap = { teardown(fn: () => unknown): void };

const NS = 'kube-system';
const NODES = 5_000;
const NODE_KEYS = ['name', 'internalIPs', 'zone', 'podCidrs', 'ready', 'unschedulable'];

interface Harness {
  readonly fake: FakeKubeApi;
  readonly watcher: KubeWatcher;
  readonly sink: LogSink;
  readonly nodes: (readonly KubeNode[])[];
  readonly dns: KubeDns[];
}

/** Node i: zone, addresses and pod CIDR derived from i (documentation and 10/8 ranges). */
function bigNode(i: number, o: { ready?: boolean; heartbeat?: string } = {}): KubeObject {
  return makeNode(`node-${String(i).padStart(5, '0')}`, { ips: [`198.18.${i >> 8}.${i & 255}`], zone: `zone-${i % 3}`, podCIDRs: [`10.${i >> 8}.${i & 255}.0/24`], images: 40, ...o });
}

async function harness(t: Tap, opts: Partial<KubeWatchOptions> = {}, seed?: (fake: FakeKubeApi) => void): Promise<Harness> {
  const fake = await startFakeKubeApi();
  fake.add('services', makeService(NS, 'kube-dns', ['198.51.100.10']));
  fake.add('endpointslices', makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [{ ip: '203.0.113.2', pod: 'coredns-0', ready: true }]));
  fake.add('networkpolicies', makeNetworkPolicy('default', 'deny', { podSelector: {} }));
  seed?.(fake);
  const sink = logSink('debug');
  const h: Harness = { fake, sink, nodes: [], dns: [], watcher: undefined as unknown as KubeWatcher };
  const watcher = new KubeWatcher({
    kubeconfig: fake.kubeconfigPath,
    dnsService: `${NS}/kube-dns`,
    log: sink.log,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    debounceMs: 10,
    startTimeoutMs: 60_000,
    random: () => 0.5,
    onNodes: (n) => h.nodes.push(n),
    onDns: (d) => h.dns.push(d),
    onNetworkPolicies: () => {},
    ...opts,
  });
  (h as { watcher: KubeWatcher }).watcher = watcher;
  t.teardown(async () => {
    await watcher.stop();
    await fake.close();
  });
  return h;
}

const nodeLists = (h: Harness): RequestRecord[] => h.fake.requests.filter((r) => r.kind === 'nodes' && r.verb === 'list');
/** What the API server holds now, as netmatrix reads it. */
const expectedNodes = (fake: FakeKubeApi): KubeNode[] =>
  fake
    .objects('nodes')
    .map((o) => nodeFromObject(o as WireObject))
    .sort((a, b) => (a.name < b.name ? -1 : 1));

function seedNodes(fake: FakeKubeApi): void {
  for (let i = 0; i < NODES; i++) fake.add('nodes', bigNode(i));
}

t.test('5,000 Nodes listed in pages of 500 from the watch cache; only the reduced form is kept', async (t) => {
  const h = await harness(t, {}, seedNodes);
  await h.watcher.start();
  await waitFor('5,000 nodes', () => h.nodes.at(-1)?.length === NODES, 30_000);

  const lists = nodeLists(h);
  t.equal(lists.length, NODES / 500, 'ten requests');
  t.same(lists[0]?.query, { limit: '500', resourceVersion: '0' }, 'the first page from the watch cache');
  for (const [i, r] of lists.entries()) {
    t.equal(r.query['limit'], '500', `page ${i + 1} asks for 500`);
    t.equal(r.items, 500, `page ${i + 1} holds 500`);
    t.equal(r.continued, i < lists.length - 1, `page ${i + 1} ${i < lists.length - 1 ? 'has' : 'has no'} continue token`);
    if (i > 0) {
      t.ok(r.query['continue'], `page ${i + 1} follows the token`);
      t.equal(r.query['resourceVersion'], undefined, `page ${i + 1} carries no resourceVersion (the token has it)`);
    }
  }
  t.same(h.nodes.at(-1), expectedNodes(h.fake), 'the view is the API server\'s node set');
  t.match(h.watcher.stats.byResource['nodes'], { lists: 1, pages: 10, continueExpired: 0, errors: 0 });

  // What stays per object is what netmatrix reads, never the whole Node.
  const stored = h.watcher.stored('nodes');
  t.equal(stored.size, NODES);
  let storedBytes = 0;
  let bad = 0;
  for (const v of stored.values()) {
    if (Object.keys(v as object).join() !== NODE_KEYS.join()) bad++;
    storedBytes += JSON.stringify(v).length;
  }
  t.equal(bad, 0, `every stored Node has exactly ${NODE_KEYS.join(', ')}`);
  const wireBytes = h.fake.objects('nodes').reduce((n, o) => n + JSON.stringify(o).length, 0);
  t.ok(storedBytes * 20 < wireBytes, `kept ${Math.round(storedBytes / NODES)} bytes of JSON per Node of the ${Math.round(wireBytes / NODES)} sent`);
  t.same(stored.get('node-00042'), nodeFromObject(bigNode(42) as WireObject));
});

t.test('a watch cache that cannot page answers resourceVersion=0 whole: one request, the same view', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.cacheIgnoresLimit = true;
    seedNodes(fake);
  });
  await h.watcher.start();
  await waitFor('5,000 nodes', () => h.nodes.at(-1)?.length === NODES, 30_000);
  const lists = nodeLists(h);
  t.equal(lists.length, 1);
  t.same(lists[0]?.query, { limit: '500', resourceVersion: '0' });
  t.equal(lists[0]?.items, NODES, 'the limit was ignored');
  t.same(h.nodes.at(-1), expectedNodes(h.fake));
  t.equal(h.watcher.stored('nodes').size, NODES);
});

t.test('a continue token that expires mid-list: 410, then the list starts over and sees the change', async (t) => {
  const h = await harness(t, {}, seedNodes);
  let pages = 0;
  h.fake.onList((r) => {
    if (r.kind !== 'nodes' || ++pages !== 3) return;
    // After the third page: the tokens expire, and the cluster changes meanwhile.
    h.fake.expireContinues();
    h.fake.remove('nodes', 'node-00000');
    h.fake.add('nodes', bigNode(NODES));
  });
  await h.watcher.start();
  await waitFor('the changed node set', () => h.nodes.at(-1)?.length === NODES && h.nodes.at(-1)?.at(-1)?.name === `node-0${NODES}`, 30_000);
  const lists = nodeLists(h);
  t.same(
    lists.map((r) => [r.query['continue'] === undefined ? 'first' : 'next', r.status]),
    [['first', 200], ['next', 200], ['next', 200], ['next', 410], ['first', 200], ...Array.from({ length: 9 }, () => ['next', 200])],
    'three pages, a 410 on the fourth, then ten pages from the first',
  );
  t.same(h.nodes.at(-1), expectedNodes(h.fake));
  t.match(h.watcher.stats.byResource['nodes'], { lists: 1, continueExpired: 1, errors: 0, gone: 0 });
  t.ok(h.sink.find('kubernetes list continue token expired (410 Gone), listing again from the first page'));
});

t.test('a relist after the watch expired is never older than what was seen; churn by watch ends right', async (t) => {
  const h = await harness(t, {}, seedNodes);
  await h.watcher.start();
  await waitFor('5,000 nodes', () => h.nodes.at(-1)?.length === NODES, 30_000);
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);

  // Churn through the watch: 1,000 NotReady, 500 deleted, 300 added, and 1,000 heartbeats that change nothing netmatrix reads.
  for (let i = 0; i < 1000; i++) h.fake.modify('nodes', bigNode(i, { ready: false }));
  for (let i = 1000; i < 1500; i++) h.fake.remove('nodes', bigNode(i).metadata.name);
  for (let i = NODES; i < NODES + 300; i++) h.fake.add('nodes', bigNode(i));
  const emitsBefore = h.nodes.length;
  await waitFor('churn seen', () => h.watcher.stats.byResource['nodes']?.events === 1800, 30_000);
  await waitFor('view after churn', () => JSON.stringify(h.nodes.at(-1)) === JSON.stringify(expectedNodes(h.fake)), 10_000);
  const emitsAfterChurn = h.nodes.length;
  for (let i = 2000; i < 3000; i++) h.fake.modify('nodes', bigNode(i, { heartbeat: '2026-01-01T00:05:00Z' }));
  await waitFor('heartbeats seen', () => h.watcher.stats.byResource['nodes']?.events === 2800, 30_000);
  t.ok(emitsAfterChurn > emitsBefore);
  t.equal(h.nodes.length, emitsAfterChurn, 'heartbeats alone change no view');

  // The watch expires: the relist asks for a state not older than the last one seen, in pages.
  const seen = h.watcher.resourceVersions()['nodes'];
  h.fake.freeze('nodes', true);
  h.fake.remove('nodes', 'node-04999');
  h.fake.compact();
  h.fake.freeze('nodes', false);
  h.fake.disconnectWatches('nodes');
  await waitFor('relisted', () => h.watcher.stats.byResource['nodes']?.lists === 2, 30_000);
  const relist = nodeLists(h).filter((r) => r.query['continue'] === undefined)[1];
  t.same(relist?.query, { limit: '500', resourceVersion: seen, resourceVersionMatch: 'NotOlderThan' });
  await waitFor('view after the relist', () => JSON.stringify(h.nodes.at(-1)) === JSON.stringify(expectedNodes(h.fake)), 10_000);
  t.equal(h.nodes.at(-1)?.length, NODES - 500 + 300 - 1);
  t.match(h.watcher.stats.byResource['nodes'], { gone: 1, errors: 0 });
});

t.test('an API server that ignores resourceVersionMatch: 410 on the relist, then the most recent state', async (t) => {
  const h = await harness(t, {}, (fake) => {
    fake.ignoreResourceVersionMatch = true;
    for (let i = 0; i < 1200; i++) fake.add('nodes', bigNode(i));
  });
  await h.watcher.start();
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
  h.fake.freeze('nodes', true);
  h.fake.remove('nodes', 'node-00007');
  h.fake.compact();
  h.fake.freeze('nodes', false);
  h.fake.disconnectWatches('nodes');
  await waitFor('relisted', () => h.watcher.stats.byResource['nodes']?.lists === 2, 10_000);
  const firsts = nodeLists(h).filter((r) => r.query['continue'] === undefined);
  t.same(
    firsts.map((r) => [r.query['resourceVersion'] ?? 'unset', r.query['resourceVersionMatch'] ?? 'unset', r.status]),
    [['0', 'unset', 200], [firsts[1]?.query['resourceVersion'], 'NotOlderThan', 410], ['unset', 'unset', 200]],
  );
  t.equal(nodeLists(h).filter((r) => r.status === 200).length, 6, 'both lists paged (3 pages each)');
  await waitFor('view after the relist', () => h.nodes.at(-1)?.length === 1199);
  t.match(h.watcher.stats.byResource['nodes'], { gone: 2, errors: 0 });
  t.ok(h.sink.find('kubernetes list resourceVersion expired (410 Gone), listing the most recent state'));
});

t.test('the list deadline grows with the cluster, and doubles after a list that ran out of time', async (t) => {
  const h = await harness(t, { listTimeoutMs: 100, listTimeoutPerObjectMs: 0.1, listTimeoutMaxMs: 1_000 }, seedNodes);
  await h.watcher.start();
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
  // The next list never gets an answer: its deadlines say what they were computed from. (The first
  // list, with nothing known yet, had 100 ms a page; a loaded machine may have needed a retry.)
  const from = h.sink.lines.length;
  h.fake.hang('nodes', ['list']);
  h.fake.freeze('nodes', true);
  h.fake.add('nodes', bigNode(NODES));
  h.fake.compact();
  h.fake.freeze('nodes', false);
  h.fake.disconnectWatches('nodes');
  const outOfTime = () => h.sink.lines.slice(from).filter((l) => l['resource'] === 'nodes' && /no answer within/.test(String(l['reason'])));
  await waitFor('three lists out of time', () => outOfTime().length >= 3, 10_000);
  const reasons = outOfTime().map((l) => l['reason']);
  // 100 ms + 0.1 ms per Node known (5,000) = 600 ms, then doubled each time, capped at 1 s.
  t.same(reasons.slice(0, 3), ['no answer within 600 ms', 'no answer within 1000 ms', 'no answer within 1000 ms']);
  h.fake.hang('nodes', null);
  await waitFor('relisted', () => h.watcher.stats.byResource['nodes']?.lists === 2, 10_000);
  t.ok((h.watcher.stats.byResource['nodes']?.errors ?? 0) >= 3, 'each one counted as an error, retried after a backoff');
});

t.test('watches that keep expiring: the relists after them back off (bounded), and stop once a watch delivers', async (t) => {
  const h = await harness(t, {}, (fake) => {
    for (let i = 0; i < 10; i++) fake.add('nodes', bigNode(i));
  });
  await h.watcher.start();
  await waitFor('nodes watch open', () => h.fake.openWatches('nodes') === 1);
  h.fake.goneAlways('nodes', true);
  h.fake.sendGone('nodes');
  const gone = () => h.sink.lines.filter((l) => l.msg === 'kubernetes watch expired (410 Gone), relisting' && l['resource'] === 'nodes');
  await waitFor('six 410s', () => gone().length >= 6, 10_000);
  // Jitter fixed at the middle: 0 (the first relist is at once), then 15, 30, 60, 75, 75 ms (max 100).
  t.same(gone().slice(0, 6).map((l) => l['retryInMs']), [0, 15, 30, 60, 75, 75]);
  t.ok((h.watcher.stats.byResource['nodes']?.lists ?? 0) >= 6, 'each 410 relisted');
  t.equal(h.watcher.stats.byResource['nodes']?.errors, 0, '410s are counted as gone, not as errors');
  h.fake.goneAlways('nodes', false);
  await waitFor('a watch open again', () => h.fake.openWatches('nodes') === 1, 5_000);
  h.fake.add('nodes', bigNode(10));
  await waitFor('the new node', () => h.nodes.at(-1)?.length === 11);
  const before = gone().length;
  h.fake.sendGone('nodes');
  await waitFor('one more 410', () => gone().length === before + 1, 5_000);
  t.equal(gone().at(-1)?.['retryInMs'], 0, 'after a watch that delivered, the next relist is at once again');
});

t.test('10,000 EndpointSlice updates are applied in order; the DNS view ends on the last', async (t) => {
  const h = await harness(t);
  await h.watcher.start();
  await waitFor('dns view', () => h.dns.length === 1);
  await waitFor('slices watch open', () => h.fake.openWatches('endpointslices') === 1);
  const UPDATES = 10_000;
  for (let i = 1; i <= UPDATES; i++) {
    // Update i names replica coredns-i; every tenth changes only what netmatrix does not read.
    const pod = i % 10 === 0 ? `coredns-${i - 1}` : `coredns-${i}`;
    const slice = makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [{ ip: `203.0.113.${(i % 200) + 2}`, pod, node: `node-${i % 7}`, ready: true }]);
    if (i % 10 === 0) {
      const prev = makeEndpointSlice(NS, 'kube-dns-abcde', 'kube-dns', [{ ip: `203.0.113.${((i - 1) % 200) + 2}`, pod, node: `node-${(i - 1) % 7}`, ready: true }]);
      prev.metadata.labels = { ...prev.metadata.labels, 'update': String(i) };
      h.fake.modify('endpointslices', prev);
    } else h.fake.modify('endpointslices', slice);
  }
  await waitFor('every update seen', () => h.watcher.stats.byResource['endpointslices']?.events === UPDATES, 60_000);
  await waitFor('the last update in the view', () => h.dns.at(-1)?.endpoints[0]?.name === `coredns-${UPDATES - 1}`, 10_000);
  const seq = h.dns.slice(1).map((d) => Number(d.endpoints[0]?.name.replace('coredns-', '')));
  t.ok(seq.length >= 1);
  t.ok(seq.every((n, i) => i === 0 || n > seq[i - 1]!), `views in update order (${seq.length} views for ${UPDATES} updates)`);
  t.same(h.dns.at(-1)?.endpoints, [{ name: `coredns-${UPDATES - 1}`, address: `203.0.113.${((UPDATES - 1) % 200) + 2}`, ready: true, node: `node-${(UPDATES - 1) % 7}` }]);
  t.equal(h.watcher.resourceVersions()['endpointslices'], String(h.fake.resourceVersion()), 'resumes after the last update');
  // What is kept of a slice: its key, DNS port and endpoints, not the labels or conditions it came with.
  t.same(h.watcher.stored('endpointslices').get(`${NS}/kube-dns-abcde`), {
    key: `${NS}/kube-dns-abcde`,
    dnsPort: 53,
    endpoints: [{ name: `coredns-${UPDATES - 1}`, address: `203.0.113.${((UPDATES - 1) % 200) + 2}`, ready: true, node: `node-${(UPDATES - 1) % 7}` }],
  });
  t.same(h.watcher.stored('services').get(`${NS}/kube-dns`), { clusterIPs: ['198.51.100.10'] });
  t.equal(h.watcher.stats.byResource['endpointslices']?.errors, 0);
});
