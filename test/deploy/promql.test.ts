// Every PromQL expression we ship runs against what the aggregator really
// exports: a real aggregator fed by simulated agents over gRPC, a real
// Prometheus scraping it with deploy/prometheus/rules.yaml loaded, and each
// expression of deploy/grafana/netmatrix.json and of the rules sent through
// Prometheus' HTTP API. Each must parse, and return data wherever the scenario
// implies data; the few that legitimately return nothing are listed with why.
// Then the alerts must localize: a dead node is NodeUnreachable and not a
// PairUnreachable per prober, a node refusing tcp ProbeKindFailing for that
// node, a node whose pods fail behind a node IP that answers
// PodNetworkUnreachable, a kind refused everywhere one ProbeKindFailing; a cut
// between zones is ZonePartition; one slow
// DNS replica is DnsReplicaUnhealthy for it, not DnsLatencyHigh for the service;
// one drifted node is one CniConfigDrift for it, one skewed plugin binary one
// CniPluginVersionSkew for the plugin.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import type { RunningAggregator } from '../../aggregator/server.js';
import type { PairKind } from '../../common/vocabulary.js';
import { testAggregator } from '../helpers/aggregator.js';
import { repoRoot } from '../helpers/child.js';
import { prometheusAvailable, PROMETHEUS_BIN, startPrometheus, type PromSample, type RunningPrometheus } from '../helpers/prometheus.js';
import { hello, rawStream } from '../helpers/raw-client.js';
import { cniToWire, type CniSnapshot } from '../../common/cni.js';
import {
  SIM_CNI_BINARIES,
  simCluster,
  simCniSnapshot,
  type SimCluster,
  type SimCniSpec,
  type SimDnsOutcomeFn,
  type SimDnsResult,
  type SimDnsServer,
  type SimNode,
  type SimOutcomeFn,
  type SimResult,
} from '../helpers/sim-cluster.js';
import { waitFor } from '../helpers/wait.js';
import { skipUnlessCi } from '../helpers/ci.js';

// ------------------------------------------------------------------ what we ship

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  collapsed?: boolean;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { overrides?: { properties: { id: string; value: unknown }[] }[] };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
}

/** Every CNI metric of aggregator/metrics/cni.ts and metrics.ts: the dashboard shows each. */
const CNI_METRICS = [
  'netmatrix_cni_config_groups',
  'netmatrix_cni_nodes',
  'netmatrix_cni_config_drift',
  'netmatrix_cni_plugin_versions',
  'netmatrix_cni_plugin_skew',
  'netmatrix_ip_pool_size',
  'netmatrix_ip_pool_used',
  'netmatrix_pod_cidr_overlap',
  'netmatrix_cni_errors',
  'netmatrix_cni_snapshot_age_seconds',
  'netmatrix_cni_snapshots_total',
  'netmatrix_cni_snapshots_rejected_total',
] as const;

const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/netmatrix.json'), 'utf8')) as Dashboard;
const rulesDoc = parse(readFileSync(join(repoRoot, 'deploy/prometheus/rules.yaml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const rules = rulesDoc.groups.flatMap((g) => g.rules);

function* walk(panels: Panel[]): Generator<Panel> {
  for (const p of panels) {
    yield p;
    if (p.panels) yield* walk(p.panels);
  }
}
const allPanels = [...walk(dashboard.panels)];

/** Grafana's variables as this test's cluster has them. */
function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '10s')
    .replaceAll('$__interval', '1s')
    .replaceAll('$cluster', 'test')
    .replaceAll('$node', '.*')
    .replaceAll('$zone', '.*');
}

interface Expr {
  readonly where: string;
  readonly expr: string;
}
const dashboardExprs: Expr[] = allPanels.flatMap((p) => (p.targets ?? []).map((tg) => ({ where: `dashboard "${p.title}" ${tg.refId}`, expr: substitute(tg.expr ?? '') })));
const ruleExprs: Expr[] = rules.map((r) => ({ where: r.alert ? `alert ${r.alert}` : `record ${r.record}`, expr: r.expr }));

t.test('the dashboard: datasource variable everywhere, the variables, links and placeholders', async (t) => {
  t.ok(dashboard.schemaVersion >= 36, 'a current schemaVersion');
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  t.equal(vars.get('datasource')?.type, 'datasource');
  t.equal(vars.get('datasource')?.query, 'prometheus');
  const cluster = vars.get('cluster');
  t.equal(typeof cluster?.query === 'string' ? cluster.query : cluster?.query?.query, 'label_values(netmatrix_agent_up, cluster)');
  t.ok(vars.has('aggregator_url'), 'an aggregator_url variable for the pair links');
  for (const v of vars.values()) if (v.type === 'query') t.equal(v.datasource?.uid, '${datasource}', `variable ${v.name} uses $datasource`);
  for (const p of allPanels) {
    if (!p.targets) continue;
    t.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses $datasource`);
    for (const tg of p.targets) t.equal(tg.datasource?.uid, '${datasource}', `panel "${p.title}" ${tg.refId} uses $datasource`);
  }
  t.ok(dashboardExprs.length >= 20, `${dashboardExprs.length} queries`);
  for (const p of allPanels) {
    for (const tg of p.targets ?? []) {
      const expr = tg.expr ?? '';
      for (const range of expr.match(/\[[^\]]*\]/g) ?? []) t.equal(range, '[$__rate_interval]', `"${p.title}": ranges are $__rate_interval`);
    }
  }
  const links = JSON.stringify(allPanels.map((p) => p.fieldConfig?.overrides ?? []));
  t.match(links, '${aggregator_url}/api/v1/pairs/${__data.fields.src}/${__data.fields.dst}', 'failing pairs link to the aggregator API');
  // The DNS and CNI rows are open: their panels follow them at the top level, up to the next row.
  const rowPanels = (title: string) => {
    const at = dashboard.panels.findIndex((p) => p.type === 'row' && p.title === title);
    t.ok(at >= 0 && !dashboard.panels[at]!.collapsed && !dashboard.panels[at]!.panels?.length, `${title} row open`);
    const next = dashboard.panels.findIndex((p, i) => i > at && p.type === 'row');
    return at < 0 ? [] : dashboard.panels.slice(at + 1, next < 0 ? undefined : next);
  };
  const dns = rowPanels('DNS');
  t.ok(dns.length >= 6 && dns.every((p) => p.type !== 'text' && p.targets?.every((tg) => /netmatrix_dns_|netmatrix_findings_active/.test(tg.expr ?? ''))), 'DNS row: panels on the DNS metrics');
  for (const metric of ['netmatrix_dns_request_duration_seconds_bucket', 'netmatrix_dns_probes_total', 'netmatrix_dns_server_nodes', 'netmatrix_dns_node_error_ratio', 'netmatrix_dns_answer_divergent', 'netmatrix_dns_resolver_nameserver_unknown', 'netmatrix_dns_server_info']) {
    t.ok(dashboardExprs.some((e) => e.expr.includes(metric)), `the dashboard shows ${metric}`);
  }
  const cni = rowPanels('CNI');
  t.ok(cni.length >= 8 && cni.every((p) => p.type !== 'text' && p.targets?.every((tg) => /netmatrix_cni_|netmatrix_ip_pool_|netmatrix_pod_cidr_|netmatrix_findings_active/.test(tg.expr ?? ''))), 'CNI row: panels on the CNI metrics');
  for (const metric of CNI_METRICS) t.ok(dashboardExprs.some((e) => e.expr.includes(metric)), `the dashboard shows ${metric}`);
  for (const p of cni) {
    for (const tg of p.targets ?? []) if (/\bnode\b/.test(tg.expr ?? '') && /netmatrix_(ip_pool|pod_cidr|cni_(config_drift|plugin_skew|errors|snapshot_age))/.test(tg.expr ?? '')) t.match(tg.expr, 'node=~"$node"', `"${p.title}" follows the node variable`);
  }
  const ids = allPanels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});

// ------------------------------------------------------------------ the live check

const INTERVAL = 500;
const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;
const PREFIX = ['192.0.2.', '198.51.100.', '203.0.113.'] as const;
const NODES: SimNode[] = [
  ...ZONES.flatMap((zone, z) => [1, 2, 3, 4].map((i) => ({ name: `n-${zone.slice(-1)}${i}`, zone, podIP: `${PREFIX[z]}${10 * (z + 1) + i}`, nodeIP: `203.0.113.${100 + 10 * z + i}` }))),
  { name: 'n-c5', zone: 'zone-c', podIP: '203.0.113.35', nodeIP: '203.0.113.125' },
];
const KINDS: PairKind[] = ['icmp', 'tcp', 'http', 'node'];

// The faults of the first phase, one per alert the scenario implies.
const REFUSED_KIND = 'http'; // refused towards every node (an L7 policy on the agents' port): ProbeKindFailing{kind=http}
const REFUSING = 'n-b4'; // refuses tcp from everyone (responder firewalled), answers ICMP: ProbeKindFailing{kind=tcp,node}
const DEAD = 'n-c5'; // its agent stops and nothing reaches it any more, node IP included: NodeUnreachable
const POD_NETWORK_DOWN = 'n-a3'; // its pod times out from everyone, its node IP answers: PodNetworkUnreachable
const FAILING_PAIRS = [
  ['n-a1', 'n-c1', 'tcp'],
  ['n-a2', 'n-c2', 'icmp'],
] as const; // PairUnreachable each (two, so --max-pair-findings 1 drops one and counts it)
const LOSSY = ['n-a3', 'n-b1'] as const; // icmp loses every 4th probe: PacketLoss
const SLOW_PAIR = ['n-b2', 'n-c4'] as const; // tcp 90 ms: pair HighLatency
const SLOW_NODE = 'n-a4'; // 80 ms from everyone: node HighLatency
const STOPPED = 'n-c3'; // its agent stops: AgentMissing

// DNS, as --dns-servers names them: the service, four CoreDNS replicas, and NodeLocal DNSCache.
const REPLICAS = ['dns-a', 'dns-b', 'dns-c', 'dns-d'] as const;
const DNS_SERVERS: SimDnsServer[] = [
  { name: 'service', role: 'service', address: '10.96.0.10' },
  ...REPLICAS.map((name, i) => ({ name, role: 'replica' as const, address: `10.244.${i + 1}.5` })),
  { name: 'nodelocal', role: 'nodelocal', address: '169.254.20.10' },
];
const DNS_FLAG = DNS_SERVERS.map((s) => (s.role === 'replica' ? `replica:${s.name}=${s.address}` : `${s.role}=${s.address}`)).join(',');
// The DNS faults of the first phase.
const SLOW_REPLICA = 'dns-b'; // 150 ms from everyone: DnsReplicaUnhealthy, and no DnsLatencyHigh for the service
const HIJACKED_REPLICA = 'dns-d'; // another answer, and NOERROR for names that must not exist: DnsReplicaUnhealthy
const SLOW_FRONT = 'nodelocal'; // 60 ms from everyone: DnsLatencyHigh for the server
const DNS_FAILING_NODE = 'n-a2'; // its queries to the service time out, the replicas answer it: DnsFailing for the node
const ODD_RESOLVER_NODE = 'n-c2'; // its resolv.conf names 10.0.0.53: netmatrix_dns_resolver_nameserver_unknown
// The DNS phase (3) adds: dns-c fails from everyone, the service fails from n-b3, nodelocal from everyone.
const FAILING_REPLICA = 'dns-c';
const DNS_FAILING_NODE_3 = 'n-b3';

// CNI: every node has the same bridge + host-local config and binaries, its own /24 of 10.244.0.0/16, except:
const SERVICE_CIDR = '10.96.0.0/12';
const DRIFTED = 'n-a1'; // MTU 1400 instead of 1450: CniConfigDrift for it only
const SKEWED = 'n-b1'; // another bridge binary: one CniPluginVersionSkew for bridge
const FULL_POOL = 'n-c2'; // 240 of 253 addresses used: IpPoolNearExhaustion
const IN_SERVICE_RANGE = 'n-c4'; // pod CIDR inside the Service CIDR: PodCidrOverlap (with_kind service)
const BROKEN_FILE = 'n-b3'; // a leftover conf file that does not parse, after the effective one: netmatrix_cni_errors, no drift
const BLOCKED = 'n-a4'; // a conf file that does not parse, before the effective one: containerd stops there, CniConfigDrift
// The CNI phase (4) changes snapshots: n-a1 fixed, n-b1 fixed but n-a3 lacks portmap, n-c2's pool
// drained, n-a4's broken file removed, and n-b2 given n-a2's pod CIDR (PodCidrOverlap for both).
const MISSING_PORTMAP = 'n-a3';
const [CIDR_OWNER, CIDR_COPIER] = ['n-a2', 'n-b2'] as const;
const podCidr = (node: string) => `10.244.${NODES.findIndex((n) => n.name === node) + 1}.0/24`;
function cniSpec(node: string): SimCniSpec {
  return {
    podCidr: node === IN_SERVICE_RANGE ? '10.96.64.0/24' : podCidr(node),
    ...(node === DRIFTED ? { mtu: 1400 } : {}),
    ...(node === SKEWED ? { binaries: { bridge: 'b'.repeat(64) } } : {}),
    ...(node === FULL_POOL ? { used: 240 } : {}),
    ...(node === BROKEN_FILE ? { brokenFiles: { '99-old.conf': 'not JSON: Unexpected token } at position 42' } } : {}),
    ...(node === BLOCKED ? { brokenFilesBefore: { '00-test.conflist': 'empty file' } } : {}),
  };
}
const cni1 = (node: string): CniSnapshot => simCniSnapshot(cniSpec(node));

/** A replica's own answer (the service's is the answer of the replica kube-proxy picked). */
function replicaDns(server: string, nx: boolean, failing: readonly string[]): SimDnsResult {
  if (failing.includes(server)) return { outcome: 'timeout', rttUs: 0 };
  const rttUs = server === SLOW_REPLICA ? 150_000 : 400 + (server.charCodeAt(4) % 5) * 100;
  if (server === HIJACKED_REPLICA) return { outcome: 'ok', rttUs, answers: ['10.96.0.99'] };
  return nx ? { outcome: 'nxdomain', rttUs } : { outcome: 'ok', rttUs, answers: ['10.96.0.1'] };
}
/** The service spreads each node's queries over the replicas in turn (the name queries and the nx checks each). */
function dnsScenario(opts: { failingReplicas: readonly string[]; serviceFailingFrom: readonly string[]; frontFailing: boolean }): SimDnsOutcomeFn {
  const turn = new Map<string, number>();
  return (src, server, _name, nx) => {
    if (server === 'service') {
      if (opts.serviceFailingFrom.includes(src)) return { outcome: 'timeout', rttUs: 0 };
      const key = `${src}/${nx}`;
      // Each node starts at its own replica, so the slow one is not asked by every node in the same round.
      const n = turn.get(key) ?? NODES.findIndex((x) => x.name === src);
      turn.set(key, n + 1);
      return replicaDns(REPLICAS[n % REPLICAS.length]!, nx, opts.failingReplicas);
    }
    if (server === SLOW_FRONT) {
      if (opts.frontFailing) return { outcome: 'timeout', rttUs: 0 };
      return nx ? { outcome: 'nxdomain', rttUs: 60_000 } : { outcome: 'ok', rttUs: 60_000 };
    }
    return replicaDns(server, nx, opts.failingReplicas);
  };
}
const dns1 = dnsScenario({ failingReplicas: [], serviceFailingFrom: [DNS_FAILING_NODE], frontFailing: false });
const dns3 = () => dnsScenario({ failingReplicas: [FAILING_REPLICA], serviceFailingFrom: [DNS_FAILING_NODE, DNS_FAILING_NODE_3], frontFailing: true });

const ok = (rttUs: number): SimResult => ({ outcome: 'ok', rttUs });
let lossy = 0;
const phase1: SimOutcomeFn = (src, dst, kind) => {
  if (kind === REFUSED_KIND) return { outcome: 'refused', rttUs: 0 };
  if (dst === DEAD) return { outcome: 'timeout', rttUs: 0 };
  if (dst === POD_NETWORK_DOWN && kind !== 'node') return { outcome: 'timeout', rttUs: 0 };
  if (dst === REFUSING && kind === 'tcp') return { outcome: 'refused', rttUs: 0 };
  for (const [s, d, k] of FAILING_PAIRS) if (src === s && dst === d && kind === k) return { outcome: k === 'tcp' ? 'timeout' : 'unreachable', rttUs: 0 };
  if (src === LOSSY[0] && dst === LOSSY[1] && kind === 'icmp' && ++lossy % 4 === 0) return { outcome: 'timeout', rttUs: 0 };
  if (src === SLOW_PAIR[0] && dst === SLOW_PAIR[1] && kind === 'tcp') return ok(90_000);
  if (dst === SLOW_NODE) return ok(80_000);
  return ok(300 + ((src.charCodeAt(3) * 7 + dst.charCodeAt(3) * 3) % 400));
};
// The second phase adds a cut between zone-a and zone-b and isolates n-c1.
const ISOLATED = 'n-c1';
const zoneOf = (n: string) => NODES.find((x) => x.name === n)!.zone;
const phase2: SimOutcomeFn = (src, dst, kind) => {
  const zs = zoneOf(src);
  const zd = zoneOf(dst);
  if ((zs === 'zone-a' && zd === 'zone-b') || (zs === 'zone-b' && zd === 'zone-a')) return { outcome: 'timeout', rttUs: 0 };
  if (src === ISOLATED || dst === ISOLATED) return { outcome: 'unreachable', rttUs: 0 };
  return phase1(src, dst, kind);
};

/**
 * Expressions that legitimately return nothing in phase 1, and why. Kept
 * small and explicit: anything else that returns nothing is a failure.
 */
const EMPTY_IN_PHASE_1: Record<string, string> = {
  'record netmatrix:zone_pair_partitioned': 'no zone partition until phase 2',
  'record netmatrix:zone_partitioned': 'no zone partition until phase 2',
  'record netmatrix:node_isolated': 'no isolated node until phase 2',
  'alert ZonePartition': 'no zone partition until phase 2',
  'alert NodeIsolated': 'no isolated node until phase 2',
  'alert AgentStale': 'needs an open stream silent for 30 s; the test does not wait that long',
  'alert NetmatrixAggregatorDown': 'the aggregator is up',
  'alert NetmatrixAlertmanagerSendFailing': 'the stand-in Alertmanager accepts every post',
  'alert NetmatrixPairSeriesCapped': 'the unhealthy pairs stay under --max-pair-series',
  'record netmatrix:dns_server_failing': 'no DNS front address fails from most nodes until phase 3',
};

const skip = skipUnlessCi(prometheusAvailable ? false : `${PROMETHEUS_BIN} not installed (Debian package prometheus)`);

t.test('against a real aggregator and a real Prometheus', { skip }, async (t) => {
  // A stand-in Alertmanager that accepts every post, so the alert delivery metrics have series.
  let posts = 0;
  const am: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/alerts') posts++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => am.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    am.closeAllConnections();
    am.close();
  });
  const amUrl = `http://127.0.0.1:${(am.address() as { port: number }).port}`;

  const agg: RunningAggregator = await testAggregator({
    'probe-interval': `${INTERVAL}ms`,
    'probe-timeout': '200ms',
    'probe-kinds': KINDS.join(','),
    window: '4s',
    cluster: 'test',
    'max-pair-findings': '1',
    // The kind refused everywhere fails every pair: room for those series and the degraded ones.
    'max-pair-series': '400',
    'alertmanager-urls': amUrl,
    'dns-servers': DNS_FLAG,
    'dns-names': 'kubernetes.default.svc.cluster.local',
    'service-cidrs': SERVICE_CIDR,
  });
  t.teardown(() => agg.stop());

  // Bad input first, so the rejection, refusal, duplicate and stream-error series exist.
  const early = rawStream(agg.grpcAddress);
  early.send({ report: { sequence: 1, round: 1, sentAtMs: Date.now(), results: [] } });
  await early.status;
  const stopped = NODES.find((n) => n.name === STOPPED)!;
  const old = rawStream(agg.grpcAddress);
  old.send({ hello: hello(stopped.name, stopped.podIP, { zone: stopped.zone, instanceId: `${STOPPED}-old`, capabilities: ['CAPABILITY_ICMP', 'CAPABILITY_TCP', 'CAPABILITY_HTTP'] }) });
  await old.next((m) => m.plan != null);
  const junk = { sequence: 1, round: 1, sentAtMs: Date.now(), results: [{ kind: 'PROBE_KIND_TCP' as const, targetNode: 'no-such-node', targetIp: '192.0.2.200', family: 'ADDRESS_FAMILY_IPV4' as const, outcome: 'OUTCOME_OK' as const, rttUs: 100, timestampMs: Date.now() }] };
  old.send({ report: junk });
  old.send({ report: junk });
  await old.next((m) => m.ack?.sequence === 1);
  await waitFor('the replay to be counted', () => agg.sessions.stats.duplicates >= 1, 5_000);
  // A CNI snapshot over the bounds (65 conf files): refused, counted, nothing stored.
  const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`${String(i).padStart(2, '0')}-x.conf`, 'not JSON']));
  old.send({ cni: cniToWire(simCniSnapshot({ podCidr: podCidr(STOPPED), brokenFiles: tooMany })) });
  await waitFor('the oversized CNI snapshot to be refused', () => agg.cni.stats.rejected >= 1, 5_000);
  old.close();
  await waitFor(`${STOPPED}'s first agent to be gone`, () => agg.nodes.get(STOPPED)?.agent.connected === false, 5_000);

  const sim: SimCluster = simCluster(agg.grpcAddress, {
    nodes: NODES,
    outcome: phase1,
    kinds: KINDS,
    intervalMs: INTERVAL,
    streamDeadlineMs: 180_000,
    dns: {
      servers: DNS_SERVERS,
      names: ['kubernetes.default.svc.cluster.local'],
      outcome: dns1,
      // NodeLocal's TCP 53 is dropped (UDP answers): DnsFailing check=tcp until phase 3 makes its UDP fail too.
      tcpOutcome: (_src, server) => (server === SLOW_FRONT ? { outcome: 'timeout', rttUs: 0 } : { outcome: 'ok', rttUs: 900 }),
      nameservers: (node) => [node === ODD_RESOLVER_NODE ? '10.0.0.53' : '10.96.0.10'],
    },
    cni: { snapshot: cni1 },
  });
  t.teardown(() => sim.stop());
  await sim.ready(10_000);

  // A copy of rules.yaml with every `for:` at 0s, so the alerts fire within
  // the test instead of minutes later; the expressions are unchanged.
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-promql-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fast = { groups: rulesDoc.groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.alert ? { ...r, for: '0s' } : r)) })) };
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, JSON.stringify(fast));

  const prom: RunningPrometheus = await startPrometheus({ target: new URL(agg.httpUrl).host, ruleFiles: [rulesFile] });
  t.teardown(() => prom.stop());
  await prom.waitForUp(20_000);
  sim.stop(STOPPED);
  sim.stop(DEAD);

  const vector = async (expr: string): Promise<PromSample[]> => {
    const r = await prom.query(expr);
    return r.resultType === 'vector' || r.resultType === 'matrix' ? (r.result as PromSample[]) : [{ metric: {}, value: r.result as [number, string] }];
  };
  const has = async (expr: string) => (await vector(expr)).length > 0;

  // Everything matured (a full window), scraped, and the rules evaluated.
  await waitFor('the per-node series and the recording rules', async () => (await has('netmatrix:node_unreachable')) && (await has('netmatrix:node_kind_failing')) && (await has('netmatrix_zone_pair_loss_ratio')), 30_000, 250);
  await waitFor('the DNS series and recording rules', async () => (await has('netmatrix:dns_replica_unhealthy')) && (await has('netmatrix:dns_node_error_ratio:max')), 15_000, 250);
  await waitFor('the CNI series and recording rules', async () => (await has('netmatrix:cni_config_drift:max')) && (await has('netmatrix:pod_cidr_overlaps:count')), 15_000, 250);

  t.test('every metric the dashboard and the rules name is one the aggregator exports', async (t) => {
    const res = await fetch(`${agg.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    const exported = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name!);
      if (type === 'histogram') for (const x of ['_bucket', '_sum', '_count']) exported.add(`${name}${x}`);
      if (type === 'summary') for (const x of ['_sum', '_count']) exported.add(`${name}${x}`);
    }
    const named = new Set([...dashboardExprs, ...ruleExprs].flatMap((e) => e.expr.match(/\bnetmatrix_[a-z0-9_]+/g) ?? []));
    t.ok(named.size > 20, `${named.size} metric names`);
    for (const name of named) t.ok(exported.has(name), `${name} is exported`);
  });

  t.test('the rules are loaded and evaluate without error', async (t) => {
    type RuleState = { name: string; health: string; lastError?: string };
    const groups = await waitFor(
      'every rule evaluated',
      async () => {
        const d = await prom.api<{ groups: { name: string; rules: RuleState[] }[] }>('/api/v1/rules');
        return d.groups.every((g) => g.rules.every((r) => r.health !== 'unknown')) && d.groups.length > 0 ? d.groups : false;
      },
      10_000,
      250,
    );
    t.same(groups.map((g) => g.name).sort(), rulesDoc.groups.map((g) => g.name).sort());
    t.equal(groups.flatMap((g) => g.rules).length, rules.length, 'every rule loaded');
    for (const r of groups.flatMap((g) => g.rules)) t.equal(r.health, 'ok', `${r.name} healthy${r.lastError ? `: ${r.lastError}` : ''}`);
  });

  t.test('the dashboard variables find their labels', async (t) => {
    for (const v of dashboard.templating.list) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      if (!t.ok(m, `variable ${v.name} is label_values(selector, label)`)) continue;
      const [, selector, label] = m!;
      const samples = await vector(substitute(selector!));
      t.ok(samples.some((s) => s.metric[label!]), `${v.name}: ${selector} has label ${label}`);
    }
  });

  t.test('every expression parses and returns data (phase 1)', async (t) => {
    const empty: string[] = [];
    for (const { where, expr } of [...dashboardExprs, ...ruleExprs]) {
      let got = false;
      try {
        // Some series flicker with the scenario (the lossy pair): poll a little.
        got = await waitFor(`${where} to return data`, () => has(expr), EMPTY_IN_PHASE_1[where] ? 0 : 8_000, 250).catch((e: Error) => {
          if (/parse error|bad_data|execution/i.test(e.message)) throw e;
          return false;
        });
      } catch (e) {
        t.fail(`${where}: ${(e as Error).message}\n${expr}`);
        continue;
      }
      if (!got) empty.push(where);
      if (EMPTY_IN_PHASE_1[where]) t.pass(`${where} parses (empty in phase 1: ${EMPTY_IN_PHASE_1[where]})`);
      else t.ok(got, `${where} returns data`, { expr });
    }
    t.comment(`empty in phase 1: ${empty.join(', ') || 'none'}`);
    t.same(empty.filter((w) => !EMPTY_IN_PHASE_1[w]), [], 'nothing else is empty');
    t.ok(Object.keys(EMPTY_IN_PHASE_1).length <= 10, 'the list of legitimately empty expressions stays small');
  });

  type Alert = { labels: Record<string, string>; state: string };
  const firing = async (): Promise<Alert[]> => (await prom.api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts.filter((a) => a.state === 'firing');
  const describe = (as: Alert[]) => as.map((a) => `${a.labels.alertname}{${Object.entries(a.labels).filter(([k]) => !['alertname', 'severity', 'source', 'cluster'].includes(k)).map(([k, v]) => `${k}=${v}`).join(',')}}`).sort();

  t.test('alerts localize: NodeUnreachable, not a PairUnreachable per prober; ProbeKindFailing per kind and per node; PodNetworkUnreachable; AgentMissing; the failing pairs', async (t) => {
    let last: string[] = [];
    await waitFor(
      'the expected alerts',
      async () => {
        const as = await firing();
        last = describe(as);
        const is = (name: string, labels: Record<string, string | undefined>) => as.some((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
        return (
          is('NodeUnreachable', { node: DEAD, cluster: 'test', severity: 'critical', source: 'prometheus' }) &&
          is('ProbeKindFailing', { node: REFUSING, kind: 'tcp', severity: 'warning', source: 'prometheus' }) &&
          is('ProbeKindFailing', { kind: REFUSED_KIND, node: undefined }) &&
          is('PodNetworkUnreachable', { node: POD_NETWORK_DOWN, severity: 'critical', source: 'prometheus' }) &&
          FAILING_PAIRS.every(([src, dst]) => is('PairUnreachable', { src, dst })) &&
          is('AgentMissing', { node: STOPPED }) &&
          is('HighLatency', { node: SLOW_NODE }) &&
          !as.some((a) => a.labels.alertname === 'PairUnreachable' && [REFUSING, DEAD, POD_NETWORK_DOWN].includes(a.labels.dst!))
        );
      },
      20_000,
      250,
    ).catch((e: Error) => t.fail(`${e.message}; firing: ${last.join(' ')}`));
    const as = await firing();
    for (const dst of [REFUSING, DEAD, POD_NETWORK_DOWN]) {
      t.notOk(as.some((a) => a.labels.alertname === 'PairUnreachable' && a.labels.dst === dst), `no PairUnreachable towards ${dst}: ${describe(as).join(' ')}`);
    }
    t.same(describe(as.filter((a) => ['NodeUnreachable', 'PodNetworkUnreachable', 'ProbeKindFailing'].includes(a.labels.alertname!))), [
      `NodeUnreachable{node=${DEAD}}`,
      `PodNetworkUnreachable{node=${POD_NETWORK_DOWN}}`,
      `ProbeKindFailing{kind=${REFUSED_KIND}}`,
      `ProbeKindFailing{kind=tcp,node=${REFUSING}}`,
    ], 'one node alert per node fault, one for the kind refused everywhere');
    t.notOk(as.some((a) => ['AgentMissing', 'AgentStale'].includes(a.labels.alertname!) && [REFUSING, DEAD, POD_NETWORK_DOWN].includes(a.labels.node!)), 'no agent alert for the nodes with a node alert');
    t.notOk(as.some((a) => a.labels.alertname === 'ZonePartition' || a.labels.alertname === 'NodeIsolated'), 'no partition, no isolation');
    t.ok(posts > 0, 'the aggregator posted its own findings to the stand-in Alertmanager');
  });

  const isAlert = (as: Alert[], name: string, labels: Record<string, string | undefined>) =>
    as.some((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));

  t.test('DNS alerts localize: one slow replica is DnsReplicaUnhealthy, not DnsLatencyHigh for the service', async (t) => {
    // The localization only means something once the slow replica shows in the service's p99.
    const p99 = await waitFor(
      "the service's p99 to show the slow replica",
      async () => {
        const v = Number((await vector('netmatrix:dns_latency_p99:rate5m{server="service"}'))[0]?.value?.[1]);
        return v > 0.1 ? v : false;
      },
      15_000,
      250,
    ).catch((e: Error) => t.fail(e.message));
    t.ok(p99, `the service's p99 is slow (${p99}), explained by ${SLOW_REPLICA}`);
    let last: string[] = [];
    await waitFor(
      'the expected DNS alerts',
      async () => {
        const as = await firing();
        last = describe(as);
        return (
          isAlert(as, 'DnsReplicaUnhealthy', { server: SLOW_REPLICA, severity: 'warning', source: 'prometheus', cluster: 'test' }) &&
          isAlert(as, 'DnsReplicaUnhealthy', { server: HIJACKED_REPLICA }) &&
          isAlert(as, 'DnsFailing', { node: DNS_FAILING_NODE, server: 'service', severity: 'critical' }) &&
          isAlert(as, 'DnsLatencyHigh', { server: SLOW_FRONT, node: undefined }) &&
          isAlert(as, 'DnsFailing', { server: SLOW_FRONT, check: 'tcp', node: undefined })
        );
      },
      20_000,
      250,
    ).catch((e: Error) => t.fail(`${e.message}; firing: ${last.join(' ')}`));
    const as = await firing();
    const dnsAlerts = describe(as.filter((a) => a.labels.alertname!.startsWith('Dns')));
    t.same(
      dnsAlerts,
      [`DnsFailing{node=${DNS_FAILING_NODE},server=service}`, `DnsFailing{check=tcp,server=${SLOW_FRONT}}`, `DnsLatencyHigh{server=${SLOW_FRONT}}`, `DnsReplicaUnhealthy{server=${SLOW_REPLICA}}`, `DnsReplicaUnhealthy{server=${HIJACKED_REPLICA}}`].sort(),
      'one alert per DNS fault, where it is: no DnsLatencyHigh for the service, no other replica',
    );
    const reasons = async (server: string) => (await vector(`netmatrix:dns_replica_unhealthy{server="${server}"}`)).map((s) => s.metric.reason).sort();
    t.same(await reasons(SLOW_REPLICA), ['latency', 'slow'], `${SLOW_REPLICA} is slow (p99 and p50)`);
    t.same((await vector('netmatrix:dns_server_tcp_failing')).map((s) => s.metric.server), [SLOW_FRONT], 'only NodeLocal fails over TCP');
    t.same(await reasons(HIJACKED_REPLICA), ['divergent', 'nx_answered'], `${HIJACKED_REPLICA} answers differently and says NOERROR to names that must not exist`);
    const p50 = await vector('netmatrix:dns_latency_p50:rate5m{server="service"}');
    t.ok(Number(p50[0]?.value?.[1]) < 0.02, `the service's p50 is fast (${p50[0]?.value?.[1]})`);
    t.same((await vector('max by (node, nameserver) (netmatrix_dns_resolver_nameserver_unknown)')).map((s) => `${s.metric.node} ${s.metric.nameserver}`), [`${ODD_RESOLVER_NODE} 10.0.0.53`], 'the node with an unknown nameserver');
    t.same((await vector('max by (server) (netmatrix_dns_answer_divergent)')).map((s) => s.metric.server), [HIJACKED_REPLICA], 'the replica answering differently');
  });

  const CNI_ALERTS = ['CniConfigDrift', 'CniPluginVersionSkew', 'IpPoolNearExhaustion', 'PodCidrOverlap'];
  const cniAlerts = (as: Alert[]) => describe(as.filter((a) => CNI_ALERTS.includes(a.labels.alertname!)));
  /** What the aggregator's own findings say, per CNI kind (netmatrix_findings_active). */
  const findingsActive = async () =>
    Object.fromEntries((await vector('max by (kind) (netmatrix_findings_active{kind=~"Cni.*|IpPoolNearExhaustion|PodCidrOverlap"})')).map((x) => [x.metric.kind!, Number(x.value?.[1])]));

  /** Polls `read` until it equals `want` (a few seconds at most), then returns what it read last. */
  const settled = async <T,>(read: () => Promise<T>, want: T): Promise<T> => {
    let got = await read();
    await waitFor('the value to settle', async () => JSON.stringify((got = await read())) === JSON.stringify(want), 5_000, 250).catch(() => undefined);
    return got;
  };

  t.test('CNI alerts localize: one drifted node is one CniConfigDrift for it, one skewed binary one CniPluginVersionSkew', async (t) => {
    const expected = [
      `CniConfigDrift{node=${BLOCKED}}`,
      `CniConfigDrift{node=${DRIFTED}}`,
      'CniPluginVersionSkew{plugin=bridge}',
      `IpPoolNearExhaustion{node=${FULL_POOL}}`,
      `PodCidrOverlap{node=${IN_SERVICE_RANGE}}`,
    ].sort();
    let last: string[] = [];
    await waitFor(
      'the expected CNI alerts',
      async () => {
        const as = await firing();
        last = cniAlerts(as);
        return (
          isAlert(as, 'CniConfigDrift', { node: DRIFTED, severity: 'warning', source: 'prometheus', cluster: 'test' }) &&
          isAlert(as, 'CniConfigDrift', { node: BLOCKED, severity: 'warning' }) &&
          isAlert(as, 'CniPluginVersionSkew', { plugin: 'bridge', severity: 'warning', node: undefined }) &&
          isAlert(as, 'IpPoolNearExhaustion', { node: FULL_POOL, severity: 'warning' }) &&
          isAlert(as, 'PodCidrOverlap', { node: IN_SERVICE_RANGE, severity: 'critical' })
        );
      },
      20_000,
      250,
    ).catch((e: Error) => t.fail(`${e.message}; firing: ${last.join(' ')}`));
    t.same(cniAlerts(await firing()), expected, 'one alert per CNI fault, where it is: no drift for the majority, no skew per node, no overlap for the healthy nodes');
    t.same(await settled(findingsActive, { CniConfigDrift: 2, CniPluginVersionSkew: 1, IpPoolNearExhaustion: 1, PodCidrOverlap: 1 }), { CniConfigDrift: 2, CniPluginVersionSkew: 1, IpPoolNearExhaustion: 1, PodCidrOverlap: 1 }, "the aggregator's own findings agree");
    t.same((await vector('netmatrix:cni_config_drift:max')).map((x) => `${x.metric.node} ${x.metric.state}`), [`${DRIFTED} drifted`], `only ${DRIFTED} is drifted`);
    t.same((await vector('netmatrix:cni_invalid_files_before_effective:max')).map((x) => `${x.metric.node} ${x.value?.[1]}`), [`${BLOCKED} 1`], `${BLOCKED}'s broken file sorts before its config`);
    const blocked = (await prom.api<{ alerts: (Alert & { annotations: Record<string, string> })[] }>('/api/v1/alerts')).alerts.find((a) => a.labels.alertname === 'CniConfigDrift' && a.labels.node === BLOCKED);
    t.equal(blocked?.annotations.summary, `${BLOCKED} has an invalid CNI config file before its effective one; containerd refuses it, CRI-O skips it`);
    t.same((await vector('max by (plugin, node) (netmatrix_cni_plugin_skew)')).map((x) => `${x.metric.plugin} ${x.metric.node}`), [`bridge ${SKEWED}`], `only ${SKEWED}'s bridge is out of step`);
    t.same((await vector('netmatrix:ip_pool_usage:ratio >= 0.9')).map((x) => x.metric.node), [FULL_POOL], `only ${FULL_POOL}'s pool is nearly full`);
    const overlaps = (await vector('max by (node, cidr, with_kind, with) (netmatrix_pod_cidr_overlap)')).map((x) => `${x.metric.node} ${x.metric.cidr} ${x.metric.with_kind} ${x.metric.with}`);
    t.same(overlaps, [`${IN_SERVICE_RANGE} 10.96.64.0/24 service ${SERVICE_CIDR}`], 'the pod CIDR inside the Service CIDR');
    t.same((await vector('max by (node) (netmatrix_cni_errors)')).map((x) => `${x.metric.node} ${x.value?.[1]}`).sort(), [`${BLOCKED} 1`, `${BROKEN_FILE} 1`].sort(), 'the broken files are errors; the one after the effective config is not drift');
    const groups = await vector('max(netmatrix_cni_config_groups)');
    t.equal(groups[0]?.value?.[1], '2', 'two config groups: the majority and the drifted node');
    const states = Object.fromEntries((await vector('max by (state) (netmatrix_cni_nodes) > 0')).map((x) => [x.metric.state!, Number(x.value?.[1])]));
    t.same(states, { majority: NODES.length - 1, drifted: 1 }, 'nodes by CNI state');
    t.ok(Number((await vector('max(netmatrix_cni_snapshots_rejected_total)'))[0]?.value?.[1]) >= 1, 'the oversized snapshot was counted');
  });

  t.test('phase 2: a cut between zone-a and zone-b is ZonePartition; n-c1 is NodeIsolated', async (t) => {
    sim.setOutcome(phase2);
    let last: string[] = [];
    await waitFor(
      'ZonePartition and NodeIsolated',
      async () => {
        const as = await firing();
        last = describe(as);
        const is = (name: string, labels: Record<string, string>) => as.some((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
        return is('ZonePartition', { src_zone: 'zone-a', dst_zone: 'zone-b' }) && is('ZonePartition', { src_zone: 'zone-b', dst_zone: 'zone-a' }) && is('NodeIsolated', { node: ISOLATED });
      },
      20_000,
      250,
    ).catch((e: Error) => t.fail(`${e.message}; firing: ${last.join(' ')}`));
    const as = await firing();
    const inAB = (n?: string) => n !== undefined && ['zone-a', 'zone-b'].includes(zoneOf(n));
    t.notOk(
      as.some((a) => a.labels.alertname === 'PairUnreachable' && inAB(a.labels.src) && inAB(a.labels.dst) && zoneOf(a.labels.src!) !== zoneOf(a.labels.dst!)),
      `no PairUnreachable across the cut: ${describe(as).join(' ')}`,
    );
    t.notOk(as.some((a) => a.labels.alertname === 'PairUnreachable' && (a.labels.src === ISOLATED || a.labels.dst === ISOLATED)), `no PairUnreachable from or to ${ISOLATED}`);
    t.notOk(as.some((a) => ['NodeUnreachable', 'PodNetworkUnreachable'].includes(a.labels.alertname!) && (a.labels.node === ISOLATED || inAB(a.labels.node))), 'no NodeUnreachable or PodNetworkUnreachable for the isolated node or the partitioned zones');
    t.notOk(as.some((a) => a.labels.alertname === 'NodeIsolated' && a.labels.node !== ISOLATED), 'no other NodeIsolated');
    for (const where of ['record netmatrix:zone_pair_partitioned', 'record netmatrix:zone_partitioned', 'record netmatrix:node_isolated', 'alert ZonePartition', 'alert NodeIsolated']) {
      const e = ruleExprs.find((x) => x.where === where)!;
      t.ok(await has(e.expr), `${where} returns data now`);
    }
  });
  t.test('phase 3 (DNS): a failing replica, the service failing from one more node, NodeLocal DNSCache failing from all', async (t) => {
    sim.setDnsOutcome(dns3());
    let last: string[] = [];
    await waitFor(
      'DnsReplicaUnhealthy, DnsFailing for the node and for the server',
      async () => {
        const as = await firing();
        last = describe(as);
        return (
          isAlert(as, 'DnsReplicaUnhealthy', { server: FAILING_REPLICA }) &&
          isAlert(as, 'DnsFailing', { node: DNS_FAILING_NODE_3, server: 'service' }) &&
          isAlert(as, 'DnsFailing', { node: DNS_FAILING_NODE, server: 'service' }) &&
          isAlert(as, 'DnsFailing', { server: SLOW_FRONT, node: undefined }) &&
          !as.some((a) => a.labels.alertname === 'DnsFailing' && a.labels.server === SLOW_FRONT && (a.labels.node !== undefined || a.labels.check === 'tcp'))
        );
      },
      25_000,
      250,
    ).catch((e: Error) => t.fail(`${e.message}; firing: ${last.join(' ')}`));
    const as = await firing();
    t.same(
      describe(as.filter((a) => a.labels.alertname === 'DnsFailing')),
      [`DnsFailing{node=${DNS_FAILING_NODE_3},server=service}`, `DnsFailing{node=${DNS_FAILING_NODE},server=service}`, `DnsFailing{server=${SLOW_FRONT}}`].sort(),
      'DnsFailing for the two nodes the service fails from, once for nodelocal (its UDP failing replaces the TCP one), never for a replica',
    );
    t.same(
      describe(as.filter((a) => a.labels.alertname === 'DnsReplicaUnhealthy')),
      [`DnsReplicaUnhealthy{server=${FAILING_REPLICA}}`, `DnsReplicaUnhealthy{server=${SLOW_REPLICA}}`, `DnsReplicaUnhealthy{server=${HIJACKED_REPLICA}}`].sort(),
      'the failing replica joins the slow and the hijacked ones',
    );
    t.same((await vector(`netmatrix:dns_replica_unhealthy{server="${FAILING_REPLICA}"}`)).map((s) => s.metric.reason), ['errors'], `${FAILING_REPLICA} fails`);
    const errors = dashboardExprs.find((e) => e.where === 'dashboard "DNS errors by server and outcome" A')!;
    t.ok((await vector(errors.expr)).some((s) => s.metric.server === FAILING_REPLICA && s.metric.outcome === 'timeout'), 'the errors panel shows the replica\'s timeouts');
    const byStatus = dashboardExprs.find((e) => e.where === 'dashboard "DNS nodes by status per server" A')!;
    const failingNodes = (await vector(byStatus.expr)).find((s) => s.metric.server === FAILING_REPLICA && s.metric.status === 'failing');
    t.ok(Number(failingNodes?.value?.[1]) >= NODES.length / 2, `most nodes see ${FAILING_REPLICA} failing (${failingNodes?.value?.[1]})`);
    const errorNodes = dashboardExprs.find((e) => e.where === 'dashboard "Nodes with DNS errors" A')!;
    const cells = (await vector(errorNodes.expr)).filter((s) => Number(s.value?.[1]) > 0.5).map((s) => `${s.metric.node} ${s.metric.server}`);
    t.ok(cells.includes(`${DNS_FAILING_NODE_3} service`) && cells.includes(`${DNS_FAILING_NODE} service`), 'the node table shows the nodes the service fails from');
    for (const where of ['record netmatrix:dns_server_failing']) {
      const e = ruleExprs.find((x) => x.where === where)!;
      t.ok(await has(e.expr), `${where} returns data now`);
    }
  });

  t.test('phase 4 (CNI): snapshots change; alerts follow, an overlap between two nodes is PodCidrOverlap for both', async (t) => {
    sim.setCni(DRIFTED, simCniSnapshot({ ...cniSpec(DRIFTED), mtu: 1450 }));
    sim.setCni(SKEWED, simCniSnapshot({ ...cniSpec(SKEWED), binaries: { bridge: SIM_CNI_BINARIES.bridge! } }));
    sim.setCni(MISSING_PORTMAP, simCniSnapshot({ ...cniSpec(MISSING_PORTMAP), binaries: { portmap: null } }));
    sim.setCni(FULL_POOL, simCniSnapshot({ ...cniSpec(FULL_POOL), used: 100 }));
    sim.setCni(BLOCKED, simCniSnapshot({ ...cniSpec(BLOCKED), brokenFilesBefore: {} }));
    sim.setCni(CIDR_COPIER, simCniSnapshot({ ...cniSpec(CIDR_COPIER), podCidr: podCidr(CIDR_OWNER) }));
    const expected = [
      'CniPluginVersionSkew{plugin=portmap}',
      `PodCidrOverlap{node=${CIDR_OWNER}}`,
      `PodCidrOverlap{node=${CIDR_COPIER}}`,
      `PodCidrOverlap{node=${IN_SERVICE_RANGE}}`,
    ].sort();
    let last: string[] = [];
    await waitFor(
      'the CNI alerts to follow the new snapshots',
      async () => {
        last = cniAlerts(await firing());
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      20_000,
      250,
    ).catch((e: Error) => t.fail(`${e.message}; firing: ${last.join(' ')}`));
    t.same(cniAlerts(await firing()), expected, 'the drift, the broken file, the bridge skew and the full pool are gone; the portmap skew and the new overlap fire');
    t.same(await settled(findingsActive, { CniConfigDrift: 0, CniPluginVersionSkew: 1, IpPoolNearExhaustion: 0, PodCidrOverlap: 3 }), { CniConfigDrift: 0, CniPluginVersionSkew: 1, IpPoolNearExhaustion: 0, PodCidrOverlap: 3 }, "the aggregator's own findings agree");
    const overlaps = (await vector(dashboardExprs.find((e) => e.where === 'dashboard "Pod CIDR overlaps" A')!.expr)).map((x) => `${x.metric.node} ${x.metric.with_kind} ${x.metric.with}`).sort();
    t.same(overlaps, [`${CIDR_OWNER} node ${CIDR_COPIER}`, `${CIDR_COPIER} node ${CIDR_OWNER}`, `${IN_SERVICE_RANGE} service ${SERVICE_CIDR}`].sort(), 'the overlaps table shows both sides');
    const skew = (await vector(dashboardExprs.find((e) => e.where === 'dashboard "CNI plugin binaries out of step" A')!.expr)).map((x) => `${x.metric.plugin} ${x.metric.node}`);
    t.same(skew, [`portmap ${MISSING_PORTMAP}`], 'the skew table shows the node without portmap');
    t.same(await vector(dashboardExprs.find((e) => e.where === 'dashboard "Nodes with a drifted CNI config" A')!.expr), [], 'the drift table is empty');
    const groups = await vector(dashboardExprs.find((e) => e.where === 'dashboard "CNI config groups" A')!.expr);
    t.equal(groups[0]?.value?.[1], '1', 'one config group');
  });
});
