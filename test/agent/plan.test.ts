// The agent's side of a Plan: timing checked against what an aggregator can be
// configured with, and what is kept per address or server pruned to the plan,
// so that rollouts (new CoreDNS pod names, new node IPs) don't grow it.
import t from 'tap';
import { createAgentMetrics } from '../../agent/metrics.js';
import { checkPlanTiming, PLAN_TIMING, PlanFollower } from '../../agent/plan.js';
import type { ProbeSpec } from '../../agent/peers.js';
import type { ProbeOutcome } from '../../agent/probers/types.js';
import { parseAggregatorConfig } from '../../aggregator/config.js';
import { CidrSet, parseCidr } from '../../common/cidr.js';
import { ConfigError } from '../../common/settings.js';
import type { PairKind } from '../../common/vocabulary.js';
import type { Plan__Output } from '../../proto/load.js';
import { logSink } from '../helpers/log-sink.js';

interface PlanShape {
  epoch?: number;
  intervalMs?: number;
  timeoutMs?: number;
  /** Peer i is `${prefix}-i` on 192.0.2.(base + i), node IP 198.51.100.(base + i). */
  peers?: { prefix: string; base: number; n: number };
  /** Server names; each a replica on 203.0.113.(base + i). */
  servers?: { names: string[]; base: number };
  /** A NodeLocal DNSCache server (169.254.20.10). */
  nodelocal?: boolean;
  /** Peers with a pod IP outside the allowed CIDRs (10.1.0.x). */
  outside?: { prefix: string; base: number; n: number };
}

function plan(o: PlanShape = {}): Plan__Output {
  const peers = o.peers ?? { prefix: 'node', base: 1, n: 3 };
  const out = o.outside;
  return {
    epoch: o.epoch ?? 1,
    peers: [
      ...Array.from({ length: peers.n }, (_, i) => ({ nodeName: `${peers.prefix}-${i}`, podIps: [`192.0.2.${peers.base + i}`], nodeIps: [`198.51.100.${peers.base + i}`], zone: '', responderPort: 9402 })),
      ...(out ? Array.from({ length: out.n }, (_, i) => ({ nodeName: `${out.prefix}-${i}`, podIps: [`10.1.0.${out.base + i}`], nodeIps: [], zone: '', responderPort: 9402 })) : []),
    ],
    kinds: ['PROBE_KIND_TCP', 'PROBE_KIND_ICMP'],
    intervalMs: o.intervalMs ?? 5_000,
    timeoutMs: o.timeoutMs ?? 1_000,
    dnsServers: [
      ...(o.servers?.names ?? []).map((name, i) => ({ name, address: `203.0.113.${o.servers!.base + i}`, port: 53, role: 'DNS_ROLE_REPLICA' as const })),
      ...(o.nodelocal ? [{ name: 'nodelocal', address: '169.254.20.10', port: 53, role: 'DNS_ROLE_NODELOCAL' as const }] : []),
    ],
    dnsQuestions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'DNS_TYPE_A' as const }],
    dnsNxZone: 'cluster.local',
    dnsTcpCheck: false,
    sampling: null,
  };
}

function follower(kinds: PairKind[] = ['tcp']) {
  const sink = logSink('info');
  const metrics = createAgentMetrics();
  const f = new PlanFollower({
    nodeName: 'self',
    maxPeers: 1_000,
    // Documentation ranges and NodeLocal DNSCache's address; 10.1.0.0/16 is outside.
    allowed: new CidrSet(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '169.254.20.10/32'].map((c) => parseCidr(c)!)),
    available: new Set(kinds),
    families: () => ['ipv4'],
    resolver: undefined,
    metrics,
    log: sink.log,
  });
  const value = async (re: RegExp) => Number(re.exec(await metrics.registry.metrics())?.[1] ?? NaN);
  return { f, sink, metrics, value };
}

/** An answer, with two datagrams before it that were not (counted by the prober as ignored). */
const ANSWERED: ProbeOutcome = { outcome: 'ok', rttUs: 300, dns: { name: 'kubernetes.default.svc.cluster.local', answers: ['10.96.0.1'], rcode: 'NOERROR', tcp: false, ignored: 2 } };

t.test('checkPlanTiming: the interval and timeout an aggregator can be configured with, nothing else', async (t) => {
  t.equal(checkPlanTiming(5_000, 1_000), undefined, 'the defaults');
  t.equal(checkPlanTiming(100, 10), undefined, 'the shortest');
  t.equal(checkPlanTiming(600_000, 60_000), undefined, 'the longest');
  t.match(checkPlanTiming(0, 0), { reason: 'interval_out_of_range' }, 'interval 0: the proto3 default of a field left unset');
  t.match(checkPlanTiming(99, 10), { reason: 'interval_out_of_range' });
  t.match(checkPlanTiming(600_001, 1_000), { reason: 'interval_out_of_range' });
  t.match(checkPlanTiming(NaN, 1_000), { reason: 'interval_out_of_range' });
  t.match(checkPlanTiming(5_000, 0), { reason: 'timeout_out_of_range' });
  t.match(checkPlanTiming(5_000, 9), { reason: 'timeout_out_of_range' });
  t.match(checkPlanTiming(100_000, 60_001), { reason: 'timeout_out_of_range' });
  t.match(checkPlanTiming(1_000, 1_000), { reason: 'timeout_out_of_range', expected: /shorter than the interval/ }, 'a timeout as long as the interval');
});

t.test('the agent refuses exactly what the aggregator refuses', async (t) => {
  const aggregator = (interval: string, timeout: string) => {
    try {
      parseAggregatorConfig(['--probe-interval', interval, '--probe-timeout', timeout, '--kubernetes', 'off'], {});
      return true;
    } catch (err) {
      if (err instanceof ConfigError) return false;
      throw err;
    }
  };
  const { minIntervalMs, maxIntervalMs, minTimeoutMs, maxTimeoutMs } = PLAN_TIMING;
  const cases: [number, number][] = [
    [minIntervalMs, minTimeoutMs],
    [minIntervalMs - 1, minTimeoutMs],
    [maxIntervalMs, maxTimeoutMs],
    [maxIntervalMs + 1, maxTimeoutMs],
    [5_000, minTimeoutMs - 1],
    [maxIntervalMs, maxTimeoutMs + 1],
    [5_000, 5_000],
    [5_000, 4_999],
  ];
  for (const [interval, timeout] of cases) {
    t.equal(checkPlanTiming(interval, timeout) === undefined, aggregator(`${interval}ms`, `${timeout}ms`), `interval ${interval} ms, timeout ${timeout} ms`);
  }
});

t.test('a plan out of range is refused, said with its values, counted once per epoch; the plan followed stays', async (t) => {
  const { f, sink, value, metrics } = follower();
  t.equal(f.follow(plan({ epoch: 7, intervalMs: 0, timeoutMs: 0 })), undefined, 'interval 0: nothing to schedule');
  t.equal(f.follow(plan({ epoch: 7, intervalMs: 0, timeoutMs: 0 })), undefined, 'the same plan again (a reconnect)');
  const refused = sink.lines.filter((l) => String(l.msg).startsWith('plan refused'));
  t.equal(refused.length, 1, 'said once for the epoch');
  t.match(refused[0], { level: 50, epoch: 7, intervalMs: 0, timeoutMs: 0, following: null, expected: 'interval from 100 ms to 600000 ms' });
  t.equal(await value(/^netmatrix_agent_plans_refused_total\{reason="interval_out_of_range"\} (\d+)$/m), 1);
  t.equal(f.followed, undefined, 'no plan followed yet');

  const good = f.follow(plan({ epoch: 8 }));
  t.match(good, { intervalMs: 5_000, timeoutMs: 1_000 });
  t.equal(good!.probes.length, 3, 'tcp to the 3 peers');
  t.equal(f.follow(plan({ epoch: 9, intervalMs: 2_000, timeoutMs: 2_000 })), undefined, 'a timeout as long as the interval');
  t.match(sink.lines.filter((l) => String(l.msg).startsWith('plan refused'))[1], { epoch: 9, intervalMs: 2_000, timeoutMs: 2_000, following: 8 });
  t.equal(await value(/^netmatrix_agent_plans_refused_total\{reason="timeout_out_of_range"\} (\d+)$/m), 1);
  t.equal(f.followed, 8, 'still following epoch 8');
  t.equal((await metrics.planEpoch.get()).values[0]!.value, 8, 'and the epoch gauge says so');
});

t.test('a rollout does not grow what is kept per address or server', async (t) => {
  const { f, metrics } = follower(['tcp']);
  const series = async () => (await metrics.dnsIgnored.get()).values.map((v) => v.labels.server).sort();
  const roll = async (i: number) => {
    // Every rollout: new peer names and IPs, new CoreDNS pod names, new addresses outside --allowed-cidrs.
    const p = plan({ epoch: 10 + i, peers: { prefix: `node-r${i}`, base: 1 + 10 * (i % 20), n: 5 }, servers: { names: [`coredns-r${i}-a`, `coredns-r${i}-b`], base: 1 + 2 * (i % 100) }, nodelocal: true, outside: { prefix: `away-r${i}`, base: 1 + 3 * (i % 80), n: 3 } });
    const spec = f.follow(p)!;
    t.ok(spec, `rollout ${i} followed`);
    const dns = spec.probes.filter((x) => x.kind === 'dns');
    // Every server answered and dropped a reply or two on the way.
    for (const x of dns) f.probed('dns', ANSWERED, x);
    f.report({ round: 1, results: dns.map((x) => ({ spec: x, result: ANSWERED, startedAt: 0 })) });
    return dns;
  };
  await roll(0);
  const one = f.retained;
  t.same(one, { loggedAddresses: 3, loggedDnsSkips: 0, loggedUnknownKinds: 0, dnsIgnored: 3, nodelocalAnswered: 1 }, 'one plan: 3 addresses outside, 3 servers with ignored replies, NodeLocal answered');
  t.same(await series(), ['coredns-r0-a', 'coredns-r0-b', 'nodelocal']);
  for (let i = 1; i <= 30; i++) await roll(i);
  t.same(f.retained, one, 'after 30 rollouts: no more than one plan\'s worth');
  t.same(await series(), ['coredns-r30-a', 'coredns-r30-b', 'nodelocal'], 'replies-ignored series only for the servers of the plan');
});

t.test('what stays in the plan is remembered: logged once, NodeLocal stays answered, its series keeps counting', async (t) => {
  const { f, sink, metrics } = follower(['tcp']);
  const shape: PlanShape = { servers: { names: ['coredns-a'], base: 1 }, nodelocal: true, outside: { prefix: 'away', base: 1, n: 1 } };
  const spec = f.follow(plan({ ...shape, epoch: 1 }))!;
  const nodelocal = spec.probes.filter((x) => x.dns?.role === 'nodelocal');
  const silent = f.report({ round: 1, results: nodelocal.map((x) => ({ spec: x, result: { outcome: 'timeout', rttUs: 0 }, startedAt: 0 })) });
  t.same(silent.results, [], 'NodeLocal held back until it answers');
  f.report({ round: 2, results: nodelocal.map((x) => ({ spec: x, result: ANSWERED, startedAt: 0 })) });
  f.probed('dns', ANSWERED, spec.probes.find((x) => x.dns?.server === 'coredns-a')!);
  // The next plan keeps the same servers and the same outside address; a peer comes.
  const next = f.follow(plan({ ...shape, epoch: 2, peers: { prefix: 'node', base: 1, n: 4 } }))!;
  const later = f.report({ round: 3, results: nodelocal.map((x) => ({ spec: x, result: { outcome: 'timeout', rttUs: 0 }, startedAt: 0 })) });
  t.equal(later.results.length, nodelocal.length, 'NodeLocal, once answered, is reported (its failures count)');
  f.probed('dns', ANSWERED, next.probes.find((x) => x.dns?.server === 'coredns-a')!);
  t.same((await metrics.dnsIgnored.get()).values.map((v) => [v.labels.server, v.value]), [['coredns-a', 4]], 'the series kept counting across plans');
  t.equal(sink.lines.filter((l) => l.msg === 'peer address outside --allowed-cidrs: not probed').length, 1, 'the outside address logged once over both plans');
  t.equal(sink.lines.filter((l) => String(l.msg).startsWith('DNS replies that were not the answer')).length, 1, 'ignored replies logged once per server');
});

t.test('a probe of an older plan settling late does not bring back its server', async (t) => {
  const { f, metrics } = follower(['tcp']);
  const old = f.follow(plan({ epoch: 1, servers: { names: ['coredns-old'], base: 1 } }))!;
  f.follow(plan({ epoch: 2, servers: { names: ['coredns-new'], base: 2 } }));
  const late: ProbeSpec = old.probes.find((x) => x.kind === 'dns')!;
  f.probed('dns', ANSWERED, late);
  t.same((await metrics.dnsIgnored.get()).values, [], 'no series for a server that left the plan');
  t.equal(f.retained.dnsIgnored, 0);
});

t.test('skips by kind: not_allowed and no_prober every round, no_address per plan', async (t) => {
  const { f, value } = follower(['tcp']);
  const p = plan({ epoch: 1, outside: { prefix: 'away', base: 1, n: 2 }, servers: { names: ['coredns-a'], base: 1 } });
  p.dnsServers.push({ name: 'broken', address: 'not-an-ip', port: 53, role: 'DNS_ROLE_REPLICA' });
  f.follow(p);
  for (let round = 1; round <= 3; round++) f.report({ round, results: [] });
  t.equal(await value(/^netmatrix_agent_probes_skipped_total\{kind="tcp",reason="not_allowed"\} (\d+)$/m), 2 * 3, 'tcp to the 2 outside peers, each round');
  t.equal(await value(/^netmatrix_agent_probes_skipped_total\{kind="icmp",reason="no_prober"\} (\d+)$/m), (3 + 2) * 3, 'icmp to every peer\'s pod IP, each round (no ICMP prober here)');
  t.equal(await value(/^netmatrix_agent_probes_skipped_total\{kind="dns",reason="no_address"\} (\d+)$/m), 1, 'the server without an address, once for the plan');
});

t.test('a sampled plan: the whole directory, peers-per-round a round (fixed ones every round, the walk round the ring), failing peers followed up, --max-peers bounding a round', async (t) => {
  const { f, value } = follower(['tcp']);
  // 12 nodes, this one among them; fixed: positions 0 and 5 (node-0, node-5).
  const p = plan({ epoch: 7, peers: { prefix: 'node', base: 1, n: 11 } });
  p.peers.splice(3, 0, { nodeName: 'self', podIps: ['192.0.2.200'], nodeIps: [], zone: '', responderPort: 9402 });
  p.sampling = { peersPerRound: 4, fixed: [0, 5], followMax: 1 };
  const spec = f.follow(p)!;
  t.ok(spec.roundProbes, 'a sampled plan is scheduled round by round');
  t.equal(spec.probes.length, 4, 'sized for one round: 4 peers × tcp');
  const round = () => spec.roundProbes!(0).map((x) => x.node);
  const rounds = Array.from({ length: 5 }, round);
  for (const r of rounds) {
    t.equal(r.length, 4);
    t.ok(r.includes('node-0') && r.includes('node-4'), 'the fixed peers every round (position 5 is node-4: self sits at 3)');
    t.notOk(r.includes('self'));
  }
  // The walk starts after self (position 3) and skips the fixed ones: node-3, node-5, node-6, ...
  t.same(rounds.slice(0, 5).map((r) => r.slice(2)), [['node-3', 'node-5'], ['node-6', 'node-7'], ['node-8', 'node-9'], ['node-10', 'node-1'], ['node-2', 'node-3']]);
  t.equal(await value(/^netmatrix_agent_peers (\d+)$/m), 4, 'peers probed per round');
  // node-5 fails its probe: it comes back the next round, before the walk's next peers, until it answers.
  const failed = (node: string, outcome: 'ok' | 'timeout') => ({ spec: { id: `tcp/${node}/x`, kind: 'tcp' as const, node, ip: '192.0.2.1', family: 'ipv4' as const, port: 9402 }, result: { outcome, rttUs: 0 }, startedAt: 0 });
  f.report({ round: 6, results: [failed('node-5', 'timeout'), failed('node-6', 'ok')] });
  t.same(round().slice(2), ['node-5', 'node-6'], 'followed up: node-5, then the walk');
  t.equal(await value(/^netmatrix_agent_peers_failing (\d+)$/m), 1);
  f.report({ round: 6, results: [failed('node-8', 'timeout'), failed('node-9', 'timeout')] });
  t.equal(await value(/^netmatrix_agent_follow_ups_over_limit (\d+)$/m), 2, 'three failing, one followed a round: two wait');
  f.report({ round: 6, results: [failed('node-8', 'ok'), failed('node-9', 'ok')] });
  f.report({ round: 7, results: [failed('node-5', 'ok')] });
  t.same(round().slice(2), ['node-7', 'node-8'], 'answered: the walk alone');
  // A new plan (a node joined) continues the walk where it stopped.
  p.peers.push({ nodeName: 'node-new', podIps: ['192.0.2.99'], nodeIps: [], zone: '', responderPort: 9402 });
  f.follow({ ...p, epoch: 8 });
  t.same(spec.roundProbes!(0).length, 4);
  const next = f.follow({ ...p, epoch: 9 })!;
  t.same(next.roundProbes!(0).map((x) => x.node).slice(2), ['node-new', 'node-1'], 'on from where it was; the new node in its place');
  // --max-peers bounds the round, and says so.
  const small = follower(['tcp']);
  const big = plan({ epoch: 1, peers: { prefix: 'n', base: 1, n: 50 } });
  big.sampling = { peersPerRound: 2_000, fixed: [], followMax: 10 };
  const s2 = small.f.follow(big)!;
  t.equal(s2.roundProbes!(0).length, 50, 'all of them, the round being larger than the cluster');
  t.equal(await small.value(/^netmatrix_agent_peers_over_limit (\d+)$/m), 1_000, '2,000 a round asked, --max-peers 1,000');
  // A full-mesh plan after a sampled one: every peer every round again.
  const full = f.follow(plan({ epoch: 10, peers: { prefix: 'node', base: 1, n: 11 } }))!;
  t.equal(full.roundProbes, undefined);
  t.equal(full.probes.length, 11);
});
