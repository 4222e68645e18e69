// DNS localization on the core with a manual clock: nodes and a DNS store fed
// round by round, no transport. Each scenario is a fault a real cluster has,
// and each asserts the one finding it should raise and the ones it must not.
import t from 'tap';
import { assessDns, dnsCell, type DnsAssessment, type DnsAssessOptions } from '../../../aggregator/dns/assess.js';
import type { DnsServerSpec } from '../../../aggregator/dns/servers.js';
import { DnsStore } from '../../../aggregator/dns/store.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { ManualClock, wallOf } from '../../../common/clock.js';
import type { Outcome } from '../../../common/vocabulary.js';
import { prng } from '../../helpers/verdict-sim.js';

const INTERVAL = 5_000;
const LOSS_WINDOW = 300_000;
const SERVERS: DnsServerSpec[] = [
  { name: 'service', role: 'service', address: '10.96.0.10', port: 53 },
  { name: 'dns-a', role: 'replica', address: '10.244.1.5', port: 53 },
  { name: 'dns-b', role: 'replica', address: '10.244.2.7', port: 53 },
];
const NAME = 'kubernetes.default.svc.cluster.local';
const OPTIONS: DnsAssessOptions = { latencyThresholdMs: 20, degradedLoss: 0.05, windowMs: 60_000, clusterDomain: 'cluster.local', questions: [{ name: NAME, type: 'A' }] };

interface Reply {
  readonly outcome: Outcome;
  readonly ms?: number;
  readonly answers?: readonly string[];
}
type World = (node: string, server: string, round: number) => Reply;
const fine: World = () => ({ outcome: 'ok', ms: 0.5 });

class Fixture {
  readonly clock = new ManualClock(Date.parse('2026-11-25T10:00:00Z'));
  readonly nodes = new NodeRegistry();
  readonly store: DnsStore;
  private round = 0;

  constructor(n: number, servers: readonly DnsServerSpec[] = SERVERS) {
    // As the aggregator builds it: loss over the default --loss-window, times on the monotonic clock shown as wall-clock times.
    this.store = new DnsStore(
      servers,
      { windowMs: 60_000, intervalMs: INTERVAL, lossWindowMs: LOSS_WINDOW, toWall: wallOf(this.clock), questionsPerRound: 1, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 20, staleAfterMs: 3 * INTERVAL } },
      this.clock.monotonic(),
    );
    for (let i = 1; i <= n; i++) {
      const rec = this.nodes.upsert({ name: `node-${i}`, zone: 'z', podIPs: [`192.0.2.${i}`], nodeIPs: [], responderPort: 9402 }, this.clock.monotonic());
      rec.agent.connected = true;
      rec.agent.resolver = { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5, timeoutSeconds: 5, attempts: 2, warnings: [], error: null };
    }
  }

  /** `rounds` probe rounds: every node asks every server the name and the NX check. */
  run(rounds: number, world: World, nx: (node: string, server: string) => Outcome = () => 'nxdomain', tcp?: (node: string, server: string) => Outcome): this {
    for (let r = 0; r < rounds; r++) {
      this.clock.advance(INTERVAL);
      this.round++;
      for (const node of this.nodes.list()) {
        for (const s of this.store.servers) {
          const reply = world(node.name, s.name, this.round);
          const base = { server: s.name, type: 'A' as const, ip: s.address, family: 'ipv4' as const, at: this.clock.monotonic(), rcode: '' };
          this.store.record(node.index, { ...base, name: NAME, nxCheck: false, answers: reply.outcome === 'ok' ? (reply.answers ?? ['10.96.0.1']) : [], outcome: reply.outcome, rttUs: reply.outcome === 'ok' ? Math.round((reply.ms ?? 0.5) * 1000) : 0 });
          this.store.record(node.index, { ...base, name: 'netmatrix-nx-0.cluster.local', nxCheck: true, answers: [], outcome: nx(node.name, s.name), rttUs: 400 });
          if (tcp) {
            const outcome = tcp(node.name, s.name);
            this.store.record(node.index, { ...base, name: NAME, nxCheck: false, tcpCheck: true, answers: outcome === 'ok' ? ['10.96.0.1'] : [], outcome, rttUs: outcome === 'ok' ? 600 : 0 });
          }
        }
      }
    }
    return this;
  }

  assess(): DnsAssessment {
    return assessDns(this.nodes.list(), this.store, this.clock.monotonic(), OPTIONS);
  }

  /** "Kind label=value" for each condition, sorted. */
  brief(): string[] {
    return this.assess()
      .conditions.map((c) => `${c.kind} ${Object.entries(c.subject).map(([k, v]) => `${k}=${v}`).join(' ')}`)
      .sort();
  }
}

const col = (a: DnsAssessment, server: string) => a.cells.map((row) => row[a.servers.findIndex((s) => s.name === server)]!);

t.test('healthy: every cell ok, no condition, answers agree', async (t) => {
  const f = new Fixture(5).run(12, fine);
  const a = f.assess();
  t.same(a.nodes, ['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
  t.same(a.servers.map((s) => s.name), ['service', 'dns-a', 'dns-b']);
  for (const row of a.cells) for (const c of row) t.match(c, { status: 'ok', errorRatio: 0, lastOutcome: 'ok', latencyP50Ms: 0.5, samples: 12, nxCheck: { ok: true, lastOutcome: 'nxdomain' } });
  t.same(f.brief(), []);
  t.same(a.answers, [{ name: NAME, type: 'A', servers: { service: ['10.96.0.1'], 'dns-a': ['10.96.0.1'], 'dns-b': ['10.96.0.1'] }, consensus: ['10.96.0.1'], divergent: [] }]);
  t.same(a.tallies.map((x) => [x.server, x.ok, x.failing]), [['service', 5, 0], ['dns-a', 5, 0], ['dns-b', 5, 0]]);
});

t.test('no results yet: unknown cells, no condition', async (t) => {
  const f = new Fixture(3);
  const a = f.assess();
  for (const row of a.cells) for (const c of row) t.match(c, { status: 'unknown', samples: 0, nxCheck: null });
  t.same(f.brief(), []);
});

t.test('one slow replica: DnsReplicaUnhealthy names it; the service\'s slowness is explained by it', async (t) => {
  // kube-proxy sends about half the service's queries to the slow replica.
  const f = new Fixture(5).run(12, (_n, s, r) => ({ outcome: 'ok', ms: s === 'dns-b' || (s === 'service' && r % 2 === 0) ? 50.5 : 0.5 }));
  const a = f.assess();
  for (const c of col(a, 'dns-b')) t.match(c, { status: 'degraded', degradedBy: 'latency' });
  for (const c of col(a, 'dns-a')) t.match(c, { status: 'ok' });
  t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-b']);
  t.match(a.conditions[0]!.summary, /dns-b \(10\.244\.2\.7\) is slow from 5 of 5 nodes \(p50 50\.50 ms; healthy replicas 0\.50 ms\)/);
  // Even when the service's p50 itself is over the threshold, it is the replica's.
  const g = new Fixture(5).run(12, (_n, s) => ({ outcome: 'ok', ms: s === 'dns-a' ? 0.5 : 50.5 }));
  t.same(g.brief(), ['DnsReplicaUnhealthy server=dns-b'], 'service slow from every node: still only the replica');
});

t.test('one replica stopped: its endpoint fails from every node at once; the service degrades once half its queries lost are proven loss (8 rounds); one finding', async (t) => {
  const f = new Fixture(5).run(12, fine).run(8, (_n, s, r) => (s === 'dns-b' || (s === 'service' && r % 2 === 0) ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  const a = f.assess();
  for (const c of col(a, 'dns-b')) t.match(c, { status: 'failing', lastOutcome: 'timeout' });
  for (const c of col(a, 'service')) {
    t.not(c.status, 'ok', 'the service is not ok');
    t.ok(c.errorRatio! > 0 && c.errorRatio! < 1, `service error ratio ${c.errorRatio} is partial`);
    t.ok(c.errors.timeout! > 0, 'errors by outcome name timeout');
  }
  t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-b'], 'no DnsFailing: nodes still reach dns-a directly');
  t.match(a.conditions[0]!.summary, /fails from 5 of 5 nodes \(timeout from 5\)/);
});

t.test('one replica stopped, the service\'s queries spread at random over both (kube-proxy): half of them lost is loss, though half of those are in runs of 3 or more; the replica is named throughout', async (t) => {
  const random = prng(20261207);
  const toB = new Map<string, boolean>();
  const world: World = (n, s, r) => {
    if (s === 'dns-b') return { outcome: 'timeout' };
    if (s !== 'service') return { outcome: 'ok', ms: 0.5 };
    const key = `${n}/${r}`;
    if (!toB.has(key)) toB.set(key, random() < 0.5);
    return toB.get(key) ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 };
  };
  const f = new Fixture(5).run(12, fine);
  const rounds = 2 * (LOSS_WINDOW / INTERVAL);
  const filling = { ok: 0, all: 0 };
  const full = new Map<string, number>();
  for (let r = 1; r <= rounds; r++) {
    f.run(1, world);
    if (r >= 12) t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-b'], `round ${r}: the replica is named, not the service`);
    for (const c of col(f.assess(), 'service')) {
      if (r <= LOSS_WINDOW / INTERVAL) (filling.all += 1), (filling.ok += c.status === 'ok' ? 1 : 0);
      else full.set(c.status, (full.get(c.status) ?? 0) + 1);
    }
  }
  // At p = 0.5 a failure is in a run of 1 or 2 with probability (1-p)² + 2p(1-p)² = 1/2: the other half
  // are outages that ended, left out of the loss and of the status window's count. What is left is a
  // third of the results judged, and proven loss once the loss window holds the fault; while it fills
  // (with the answers from before) a service cell still reads ok now and then.
  t.comment(`while the loss window fills: ${filling.ok} of ${filling.all} service cell reads ok; once it is full: ${JSON.stringify(Object.fromEntries(full))}`);
  t.notOk(full.has('ok'), 'once the loss window holds the fault, never ok');
  t.ok((full.get('degraded') ?? 0) > (full.get('failing') ?? 0), 'mostly degraded by loss, failing when the newest queries failed');
  for (const c of col(f.assess(), 'service')) t.ok(c.errorRatio! > 0.2 && c.errorRatio! < 0.6, `error ratio ${c.errorRatio!.toFixed(2)}: about a third (the short runs among the answers), not all`);
});

t.test('one node\'s DNS dropped: DnsFailing for that node only', async (t) => {
  const f = new Fixture(5).run(12, fine).run(3, (n) => (n === 'node-2' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  t.same(f.brief(), ['DnsFailing node=node-2']);
  const c = f.assess().conditions[0]!;
  t.match(c.summary, /node-2 cannot resolve through service \(10\.96\.0\.10\): timeout/);
  t.match(c.description, /Replicas fail from this node too \(dns-a timeout, dns-b timeout\)/);
});

t.test('one node\'s service path broken, replicas fine from it: DnsFailing names the service path', async (t) => {
  const f = new Fixture(5).run(12, fine).run(3, (n, s) => (n === 'node-3' && s === 'service' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  t.same(f.brief(), ['DnsFailing node=node-3']);
  t.match(f.assess().conditions[0]!.description, /Replicas answer this node directly .*suspect the service path on the node/);
});

t.test('the service fails from most nodes, replicas too: one DnsFailing for the server', async (t) => {
  const f = new Fixture(5).run(12, fine).run(3, (n) => (n !== 'node-5' ? { outcome: 'servfail' } : { outcome: 'ok', ms: 0.5 }));
  t.same(f.brief(), ['DnsFailing server=service']);
  t.match(f.assess().conditions[0]!.summary, /fails from 4 of 5 nodes/);
});

t.test('every replica slow: DnsLatencyHigh for the service, no replica named', async (t) => {
  const f = new Fixture(5).run(12, () => ({ outcome: 'ok', ms: 45 }));
  t.same(f.brief(), ['DnsLatencyHigh server=service']);
});

t.test('one node slow to DNS: DnsLatencyHigh for that node', async (t) => {
  const f = new Fixture(5).run(12, (n) => ({ outcome: 'ok', ms: n === 'node-4' ? 45 : 0.5 }));
  t.same(f.brief(), ['DnsLatencyHigh node=node-4']);
});

t.test('a replica that answers differently is named, with both answers', async (t) => {
  const servers: DnsServerSpec[] = [...SERVERS, { name: 'dns-c', role: 'replica', address: '10.244.3.9', port: 53 }];
  const f = new Fixture(4, servers).run(6, (_n, s) => ({ outcome: 'ok', ms: 0.5, answers: s === 'dns-c' ? ['10.96.0.99'] : ['10.96.0.1'] }));
  const a = f.assess();
  t.same(a.answers[0]!.consensus, ['10.96.0.1']);
  t.same(a.answers[0]!.divergent, ['dns-c']);
  t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-c']);
  t.match(a.conditions[0]!.description, /answers kubernetes\.default\.svc\.cluster\.local A with 10\.96\.0\.99, other replicas with 10\.96\.0\.1/);
});

t.test('two replicas that disagree: both named, no consensus', async (t) => {
  const f = new Fixture(4).run(6, (_n, s) => ({ outcome: 'ok', ms: 0.5, answers: s === 'dns-b' ? ['10.96.0.99'] : ['10.96.0.1'] }));
  const a = f.assess();
  t.equal(a.answers[0]!.consensus, null);
  t.same([...a.answers[0]!.divergent].sort(), ['dns-a', 'dns-b']);
  t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-a', 'DnsReplicaUnhealthy server=dns-b']);
});

t.test('a replica that answers a name that must not exist', async (t) => {
  const f = new Fixture(4).run(6, fine, (_n, s) => (s === 'dns-a' ? 'ok' : 'nxdomain'));
  const a = f.assess();
  for (const c of col(a, 'dns-a')) t.match(c.nxCheck, { ok: false, lastOutcome: 'ok' });
  t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-a']);
  t.match(a.conditions[0]!.description, /NOERROR for a name that must not exist/);
});

t.test('one lost query is not a fault', async (t) => {
  const f = new Fixture(5).run(12, fine).run(1, (n) => (n === 'node-1' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  const c = col(f.assess(), 'service')[0]!;
  t.match(c, { status: 'ok', lastOutcome: 'timeout' });
  t.same(f.brief(), []);
  f.run(1, (n) => (n === 'node-1' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  t.match(col(f.assess(), 'service')[0]!, { status: 'failing' }, 'two in a row: an outage');
});

t.test('a healed fault (4 rounds lost): ok again at the first good answer, the outage left out of the loss', async (t) => {
  const f = new Fixture(5).run(60, fine).run(4, (n) => (n === 'node-2' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  t.same(f.brief(), ['DnsFailing node=node-2']);
  f.run(1, fine);
  t.same(f.brief(), []);
  t.match(col(f.assess(), 'service')[1]!, { status: 'ok', errorRatio: 0, errors: { timeout: 4 } });
});

t.test('a long outage that healed (12 rounds lost): failing while it lasts, ok at the first answer; its errors stay in view, not in the loss', async (t) => {
  const f = new Fixture(3).run(60, fine).run(12, (n) => (n === 'node-2' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  t.match(col(f.assess(), 'service')[1]!, { status: 'failing', lastOutcome: 'timeout', reason: /^last 12 probes failed \(timeout\)/ });
  t.same(f.brief(), ['DnsFailing node=node-2']);
  f.run(1, fine);
  t.match(col(f.assess(), 'service')[1]!, { status: 'ok', lastOutcome: 'ok', errorRatio: 0, errors: { timeout: 11 }, samples: 12 }, 'an outage that ended is left out of the loss: ok at the first answer, its timeouts still among the samples');
  t.same(f.brief(), []);
  f.run(LOSS_WINDOW / INTERVAL, fine);
  t.match(col(f.assess(), 'service')[1]!, { status: 'ok', errorRatio: 0, errors: {} });
});

t.test('stale cells are unknown and raise nothing', async (t) => {
  const f = new Fixture(3).run(6, fine);
  f.clock.advance(4 * INTERVAL);
  for (const row of f.assess().cells) for (const c of row) t.equal(c.status, 'unknown');
  t.same(f.brief(), []);
});

t.test('resolvers: ndots cost and a nameserver nobody else uses', async (t) => {
  const f = new Fixture(3).run(2, fine);
  f.nodes.get('node-3')!.agent.resolver = { nameservers: ['10.0.0.2'], search: [], ndots: 1, timeoutSeconds: 5, attempts: 2, warnings: [], error: null };
  f.nodes.get('node-2')!.agent.resolver = { nameservers: [], search: [], ndots: 1, timeoutSeconds: 5, attempts: 2, warnings: [], error: 'cannot read /etc/resolv.conf: ENOENT' };
  const r = f.assess().resolvers;
  t.match(r[0], { node: 'node-1', nameserverKnown: true, ndots: 5 });
  t.same(r[0]!.lookups.map((l) => [l.name, l.tried.length, l.queries]), [['kubernetes.default', 2, 4], ['example.com', 4, 8]], 'kubernetes.default is found at the second search domain; example.com tries all three first');
  t.match(r[1], { node: 'node-2', nameserverKnown: null, error: /ENOENT/, lookups: [] });
  t.match(r[2], { node: 'node-3', nameserverKnown: false });
  t.same(r[2]!.lookups.map((l) => [l.name, l.queries]), [['kubernetes.default', 2], ['example.com', 2]], 'ndots:1, no search list: each name as it is');
});

t.test('"auto" service: the nameserver most nodes have is the known one', async (t) => {
  const servers: DnsServerSpec[] = [{ name: 'service', role: 'service', address: '', port: 53 }];
  const f = new Fixture(3, servers).run(2, fine);
  f.nodes.get('node-2')!.agent.resolver = { ...f.nodes.get('node-2')!.agent.resolver!, nameservers: ['192.0.2.250'] };
  const a = f.assess();
  t.equal(a.servers[0]!.address, 'auto');
  t.same(a.resolvers.map((r) => r.nameserverKnown), [true, false, true]);
});

t.test('a node that leaves takes its DNS cells', async (t) => {
  const f = new Fixture(3).run(3, fine);
  const rec = f.nodes.get('node-2')!;
  f.store.removeNode(rec.index);
  f.nodes.remove('node-2');
  const a = f.assess();
  t.same(a.nodes, ['node-1', 'node-3']);
  t.equal(f.store.view(rec.index, 0, f.clock.monotonic()), undefined);
  t.equal(f.store.nxCheck(rec.index, 0), undefined);
});

t.test('results for servers not configured are rejected and counted', async (t) => {
  const f = new Fixture(1);
  const ok = f.store.record(0, { server: 'rogue', name: NAME, type: 'A', nxCheck: false, answers: [], rcode: '', ip: '10.0.0.1', family: 'ipv4', outcome: 'ok', rttUs: 1, at: f.clock.monotonic() });
  t.equal(ok, false);
  t.equal(f.store.stats.rejectedUnknownServer, 1);
});

t.test('a cell\'s status is the store\'s, by the matrix\'s cell rule; the DNS cell adds errors by outcome', async (t) => {
  // Every other query to the service lost from one node (a dead endpoint behind it): never two in a row, so never an outage.
  const g = new Fixture(5).run(12, fine).run(8, (n, s, r) => (n === 'node-1' && s === 'service' && r % 2 === 0 ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  const cell = col(g.assess(), 'service')[0]!;
  t.match(cell, { status: 'degraded', degradedBy: 'loss', lastOutcome: 'timeout', errors: { timeout: 4 }, reason: /^loss 20\.0% \(4 of 20\); at least [\d.]+% with 99 % confidence, ≥ 5\.0%; timeout 4\/12/, errorRatio: 0.2 }, 'the ratio judged over the loss window; errors by outcome over the status window');
  for (const node of g.nodes.list()) {
    for (const { slot } of g.store.columns()) {
      const view = g.store.view(node.index, slot, g.clock.monotonic())!;
      const c = dnsCell(g.store, node.index, slot, g.clock.monotonic());
      t.same([c.status, c.degradedBy, c.errorRatio], [view.status, view.degradedBy, view.lossRatio], `${node.name} → ${slot}: the store's status, degradedBy and loss`);
    }
  }
});

t.test('one outage that ended is history; an error that is an answer fails at once', async (t) => {
  const f = new Fixture(3).run(12, fine).run(2, (n, s) => (n === 'node-1' && s === 'dns-a' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }));
  t.match(col(f.assess(), 'dns-a')[0], { status: 'failing', reason: /^last 2 probes failed \(timeout\); timeout 2\/12/ });
  f.run(1, fine);
  t.match(col(f.assess(), 'dns-a')[0], { status: 'ok', errors: { timeout: 2 } }, 'two lost of 12 are under the minimum of three failures a loss verdict needs');
  f.run(1, (n, s) => (n === 'node-2' && s === 'dns-b' ? { outcome: 'servfail' } : { outcome: 'ok', ms: 0.5 }));
  t.match(col(f.assess(), 'dns-b')[1], { status: 'failing', lastOutcome: 'servfail', reason: /an answer from the path/ }, 'SERVFAIL is an answer, not a loss');
});

t.test('the service address answering a name that must not exist is named too (no replicas configured)', async (t) => {
  const servers: DnsServerSpec[] = [{ name: 'service', role: 'service', address: '', port: 53 }];
  const f = new Fixture(3, servers).run(4, fine, () => 'ok');
  t.same(f.brief(), ['DnsReplicaUnhealthy server=service']);
  t.match(f.assess().conditions[0]!.summary, /^DNS service address service \(each node's resolv.conf nameserver\) answers NOERROR for a name that must not exist/);
});

t.test('the server set changes (CoreDNS endpoints come and go): kept servers keep their history', async (t) => {
  const f = new Fixture(3).run(4, fine);
  const version = f.store.serverVersion;
  t.equal(f.store.setServers(SERVERS), false, 'the same set: no change');
  t.equal(f.store.serverVersion, version);
  // dns-b goes, dns-c comes, dns-a moves to a new address (a new pod).
  t.equal(f.store.setServers([SERVERS[0]!, { ...SERVERS[1]!, address: '10.244.1.99' }, { name: 'dns-c', role: 'replica', address: '10.244.3.9', port: 53 }]), true);
  t.equal(f.store.serverVersion, version + 1);
  const a = f.assess();
  t.same(a.servers.map((s) => s.name), ['service', 'dns-a', 'dns-c']);
  t.same(col(a, 'service').map((c) => c.samples), [4, 4, 4], 'the service kept its window');
  t.same(col(a, 'dns-a').map((c) => c.status), ['unknown', 'unknown', 'unknown'], 'a moved replica starts afresh');
  t.same(col(a, 'dns-c').map((c) => c.status), ['unknown', 'unknown', 'unknown']);
  t.same(a.answers[0]!.servers, { service: ['10.96.0.1'], 'dns-a': null, 'dns-c': null });
  t.equal(f.store.record(0, { server: 'dns-b', name: NAME, type: 'A', nxCheck: false, answers: [], rcode: '', ip: '10.244.2.7', family: 'ipv4', outcome: 'ok', rttUs: 1, at: f.clock.monotonic() }), false, 'results for a server that left are rejected');
});

t.test('TCP check: UDP answers, TCP does not', async (t) => {
  await t.test('healthy TCP: tcpCheck ok on every cell, nothing raised, UDP status untouched', async (t) => {
    const f = new Fixture(4).run(6, fine, undefined, () => 'ok');
    for (const row of f.assess().cells) for (const c of row) t.match(c, { status: 'ok', samples: 6, tcpCheck: { ok: true, lastOutcome: 'ok' } });
    t.same(f.brief(), []);
  });
  await t.test('one replica refuses TCP from every node: DnsReplicaUnhealthy names it, the service is explained', async (t) => {
    const f = new Fixture(5).run(6, fine, undefined, (_n, s) => (s === 'dns-b' ? 'timeout' : 'ok'));
    const a = f.assess();
    for (const c of col(a, 'dns-b')) t.match(c, { status: 'ok', tcpCheck: { ok: false, lastOutcome: 'timeout' } });
    t.same(f.brief(), ['DnsReplicaUnhealthy server=dns-b']);
    t.match(a.conditions[0]!.summary, /answers over UDP but not over TCP from 5 of 5 nodes \(timeout from 5\)/);
  });
  await t.test('TCP 53 dropped on every path: one DnsFailing for the service, no replica blamed', async (t) => {
    const f = new Fixture(5).run(6, fine, undefined, () => 'timeout');
    const a = f.assess();
    t.same(f.brief(), ['DnsFailing server=service']);
    t.match(a.conditions[0]!.summary, /DNS over TCP through service \(10\.96\.0\.10\) fails from 5 of 5 nodes; UDP answers/);
    t.match(a.conditions[0]!.description, /TCP 53/);
  });
  await t.test('one node drops TCP 53: DnsFailing for that node only', async (t) => {
    const f = new Fixture(5).run(6, fine, undefined, (n) => (n === 'node-3' ? 'timeout' : 'ok'));
    const a = f.assess();
    t.same(f.brief(), ['DnsFailing node=node-3']);
    t.match(a.conditions[0]!.summary, /node-3 cannot resolve over TCP through service \(10\.96\.0\.10\): timeout; UDP answers/);
  });
  await t.test('a node whose UDP fails too keeps the UDP finding first', async (t) => {
    const f = new Fixture(5).run(6, fine, undefined, () => 'ok').run(3, (n) => (n === 'node-2' ? { outcome: 'timeout' } : { outcome: 'ok', ms: 0.5 }), undefined, (n) => (n === 'node-2' ? 'timeout' : 'ok'));
    const c = f.assess().conditions.filter((c) => c.subject.node === 'node-2');
    t.ok(c.length >= 1);
    t.notMatch(c[0]!.summary, /over TCP/, 'the UDP failure is named first');
  });
  await t.test('a stale TCP check is dropped', async (t) => {
    const f = new Fixture(3).run(2, fine, undefined, () => 'timeout').run(14, fine);
    for (const row of f.assess().cells) for (const c of row) t.equal(c.tcpCheck, null);
    t.same(f.brief(), []);
  });
});

t.test('times an assessment shows are wall-clock times (GET /api/v1/dns prints them), though the store runs on the monotonic clock', async (t) => {
  const f = new Fixture(2);
  f.clock.stepWall(86_400_000); // the wall clock a day from the monotonic one, as performance.now() is from Date.now()
  const first = f.clock.now() + INTERVAL;
  f.run(3, fine, undefined, () => 'ok');
  const a = f.assess();
  t.equal(a.at, f.clock.now(), 'generated at');
  const c = col(a, 'service')[0]!;
  t.equal(c.since, first, 'the run of answers began at the first round');
  t.equal(c.nxCheck!.since, first, 'the NX check\'s since');
  t.equal(c.tcpCheck!.since, first, 'the TCP check\'s since');
});
