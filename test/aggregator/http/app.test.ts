// The HTTP API on a real core with an injected clock, through app.inject().
import { Registry } from 'prom-client';
import t from 'tap';
import { AgentSessions } from '../../../aggregator/agents.js';
import { assessCni, nodeCniDetail } from '../../../aggregator/cni/assess.js';
import { CniStore } from '../../../aggregator/cni/store.js';
import { assessDns } from '../../../aggregator/dns/assess.js';
import { DnsStore } from '../../../aggregator/dns/store.js';
import { buildApp } from '../../../aggregator/http/app.js';
import { ERRORS, ERROR_CODES } from '../../../aggregator/http/errors.js';
import { FindingsEngine } from '../../../aggregator/findings/engine.js';
import { Evaluator } from '../../../aggregator/findings/evaluator.js';
import { MatrixQuery } from '../../../aggregator/matrix/query.js';
import { MatrixStore } from '../../../aggregator/matrix/store.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { nodeRemover } from '../../../aggregator/nodes/removal.js';
import { ManualClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/logger.js';

const clock = new ManualClock(Date.parse('2026-11-25T06:00:00Z'));
const nodes = new NodeRegistry();
const store = new MatrixStore(
  { windowMs: 60_000, intervalMs: 5_000, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 } },
  clock.now(),
);
const DNS_SERVERS = [
  { name: 'service', role: 'service', address: '10.96.0.10', port: 53 },
  { name: 'dns-a', role: 'replica', address: '10.244.0.5', port: 53 },
] as const;
const DNS_OPTIONS = { latencyThresholdMs: 20, degradedLoss: 0.05, windowMs: 60_000, clusterDomain: 'cluster.local', questions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' as const }] };
const dnsStore = new DnsStore(DNS_SERVERS, { windowMs: 60_000, intervalMs: 5_000, questionsPerRound: 1, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 20, staleAfterMs: 15_000 } }, clock.now());
const sessions = new AgentSessions(nodes, store, clock, { maxResultsPerReport: 1000, maxResultAgeMs: 75_000 }, dnsStore);
const query = new MatrixQuery(nodes, store, () => clock.monotonic());
let notReady: string | undefined = 'gRPC server not listening yet';
const findings = new FindingsEngine({ forMs: 0, clearForMs: 0, cluster: 'test', runbookBaseUrl: 'https://example.org/runbooks' });
const evaluator = new Evaluator({
  nodes,
  store,
  query,
  engine: findings,
  clock,
  log: silentLogger(),
  assess: { planKinds: ['tcp'], windowMs: 60_000, maxUnhealthy: 100 },
  localize: { staleAfterMs: 15_000, latencyThresholdMs: 50, degradedLoss: 0.05 },
});
const cniInputs = () => nodes.list().map((n) => ({ node: n.name, snapshot: null, receivedAt: null }));
const CNI_OPTIONS = { poolThreshold: 0.9, serviceCidrs: [], externalCidrs: [], staleAfterMs: 900_000 };
const removeNode = nodeRemover({ nodes, matrix: store, dns: dnsStore, cni: new CniStore() });
const app = await buildApp({ nodes, removeNode, query, findings, dns: () => assessDns(nodes.list(), dnsStore, clock.now(), DNS_OPTIONS), cni: () => { const a = assessCni(cniInputs(), clock.now(), CNI_OPTIONS); return { assessment: a, detail: (n: string) => nodeCniDetail(cniInputs(), a, n) }; }, networkPolicies: () => ({ kubernetes: false, agentPods: { namespace: 'netmatrix', labels: {} }, policies: [] }), evaluatedAt: () => evaluator.last?.at ?? null, evaluations: () => evaluator.stats.evaluations, probeKinds: ['tcp', 'http'], clock, windowMs: 60_000, registry: new Registry(), log: silentLogger(), notReady: () => notReady, version: 'test' });
t.teardown(() => app.close());

const NAMES = ['node-a', 'node-b', 'node-c'];
const records = NAMES.map((name, i) => {
  const r = sessions.hello({ nodeName: name, podIps: [`192.0.2.${i + 1}`], nodeIps: [`198.51.100.${i + 1}`], zone: 'z1', agentVersion: 'test', capabilities: ['CAPABILITY_TCP'], responderPort: 9402, instanceId: `i-${name}` });
  if (!('record' in r)) throw new Error('hello refused');
  return r.record;
});
// Three rounds: every pair ok except * → node-c refused.
let seq = 0;
for (let round = 1; round <= 3; round++) {
  clock.advance(5_000);
  for (const src of records) {
    seq++;
    sessions.report(src, {
      sequence: round,
      sentAtMs: clock.now(),
      results: NAMES.filter((n) => n !== src.name).map((dst) => ({
        kind: 'PROBE_KIND_TCP',
        targetNode: dst,
        family: 'ADDRESS_FAMILY_IPV4',
        outcome: dst === 'node-c' ? 'OUTCOME_REFUSED' : 'OUTCOME_OK',
        rttUs: dst === 'node-c' ? 0 : 250 * round,
        timestampMs: clock.now(),
      })),
    });
  }
}

t.test('health and readiness', async (t) => {
  t.same((await app.inject('/healthz')).json(), { status: 'ok' });
  const notYet = await app.inject('/readyz');
  t.equal(notYet.statusCode, 503);
  t.same(notYet.json(), { statusCode: 503, code: 'NOT_READY', error: 'Service Unavailable', message: 'not ready: gRPC server not listening yet' });
  notReady = undefined;
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', agentsConnected: 3, nodes: 3 });
});

t.test('/api/v1/nodes', async (t) => {
  const body = (await app.inject('/api/v1/nodes')).json();
  t.same(body.nodes.map((n: { name: string }) => n.name), NAMES);
  t.match(body.nodes[0], { zone: 'z1', podIPs: ['192.0.2.1'], nodeIPs: ['198.51.100.1'], agent: { connected: true, version: 'test', capabilities: ['tcp'], reports: 3, results: 6 } });
  t.equal(body.nodes[0].agent.lastReportAt, new Date(clock.now()).toISOString());
});

t.test('/api/v1/matrix?kind=tcp: column node-c failing, the rest ok', async (t) => {
  const res = await app.inject('/api/v1/matrix?kind=tcp');
  t.equal(res.statusCode, 200);
  const m = res.json();
  t.equal(m.kind, 'tcp');
  t.equal(m.family, 'ipv4');
  t.equal(m.windowSeconds, 60);
  t.same(m.nodes, NAMES);
  t.same(m.summary, { ok: 4, degraded: 0, failing: 2, unknown: 0 });
  for (let s = 0; s < 3; s++) {
    for (let d = 0; d < 3; d++) {
      const c = m.cells[s][d];
      if (s === d) t.equal(c, null, 'diagonal is null');
      else if (NAMES[d] === 'node-c') t.match(c, { status: 'failing', lastOutcome: 'refused', lossRatio: 1, rttP50Ms: null, samples: 3 });
      else t.match(c, { status: 'ok', lastOutcome: 'ok', lossRatio: 0, rttP50Ms: 0.5, rttP99Ms: 0.75, samples: 3 });
    }
  }
  t.equal(m.cells[0][2].since, new Date(clock.now() - 10_000).toISOString(), 'since = first refused result');
});

t.test('a kind never probed is all unknown; the default kind is the first planned (tcp here, icmp is not)', async (t) => {
  t.equal((await app.inject('/api/v1/matrix')).json().kind, 'tcp');
  const m = (await app.inject('/api/v1/matrix?kind=icmp')).json();
  t.equal(m.kind, 'icmp');
  t.same(m.summary, { ok: 0, degraded: 0, failing: 0, unknown: 6 });
});

t.test('/api/v1/pairs/{src}/{dst}', async (t) => {
  const p = (await app.inject('/api/v1/pairs/node-a/node-c')).json();
  t.equal(p.src, 'node-a');
  t.equal(p.dst, 'node-c');
  t.match(p.kinds.tcp, { status: 'failing', lastOutcome: 'refused', targetIp: '192.0.2.3' });
  t.match(p.kinds.tcp.reason, /last probe: refused/);
  t.equal(p.kinds.tcp.recent.length, 3);
  t.match(p.kinds.tcp.recent[0], { outcome: 'refused', rttMs: null });
  t.match(p.kinds.node, { status: 'unknown', targetIp: '198.51.100.3', recent: [] });
});

t.test('/api/v1/findings: node-c refuses tcp while icmp reaches it, one warning finding; /api/v1/findings/{id}', async (t) => {
  const before = (await app.inject('/api/v1/findings')).json();
  t.same(before, { evaluatedAt: null, findings: [] }, 'nothing before the first evaluation');
  evaluator.evaluate();
  const body = (await app.inject('/api/v1/findings')).json();
  t.equal(body.evaluatedAt, new Date(clock.now()).toISOString());
  t.equal(body.findings.length, 1);
  const f = body.findings[0];
  const summary = 'tcp probes towards node-c fail from 2 of 2 nodes; other probes reach it';
  t.match(f, {
    kind: 'ProbeKindFailing',
    severity: 'warning',
    state: 'firing',
    labels: { alertname: 'ProbeKindFailing', severity: 'warning', cluster: 'test', kind: 'tcp', node: 'node-c' },
    summary,
    annotations: { summary, runbook_url: 'https://example.org/runbooks/ProbeKindFailing.md' },
  });
  t.match(f.description, /tcp: refused 2\. node-c's agent reports normally\. The node is up/);
  t.same((await app.inject(`/api/v1/findings/${f.id}`)).json(), f);
  t.same((await app.inject('/api/v1/findings?kind=PairUnreachable')).json().findings, []);
  t.same((await app.inject('/api/v1/findings?state=pending')).json().findings, []);
  t.equal((await app.inject('/api/v1/findings?state=all')).json().findings.length, 1);
  const missing = await app.inject('/api/v1/findings/0123456789abcdef');
  t.same(missing.json(), { statusCode: 404, code: 'FINDING_NOT_FOUND', error: 'Not Found', message: 'no current or recently resolved finding with id "0123456789abcdef"' });
  t.match((await app.inject('/api/v1/findings?state=maybe')).json(), { statusCode: 400, code: 'INVALID_REQUEST' });
  t.match((await app.inject('/api/v1/findings?kind=MtuBlackhole')).json(), { statusCode: 400, code: 'INVALID_REQUEST' });
});

t.test('errors come from the catalogue', async (t) => {
  const badKind = await app.inject('/api/v1/matrix?kind=udp');
  t.equal(badKind.statusCode, 400);
  t.same(badKind.json(), { statusCode: 400, code: 'INVALID_KIND', error: 'Bad Request', message: 'unknown probe kind "udp": expected one of icmp, tcp, http, mtu, node' });
  const badFamily = await app.inject('/api/v1/matrix?kind=tcp&family=ipx');
  t.match(badFamily.json(), { statusCode: 400, code: 'INVALID_FAMILY' });
  const unknownNode = await app.inject('/api/v1/pairs/node-a/node-z');
  t.equal(unknownNode.statusCode, 404);
  t.same(unknownNode.json(), { statusCode: 404, code: 'NODE_NOT_FOUND', error: 'Not Found', message: 'no node named "node-z"' });
  const noRoute = await app.inject('/api/v1/nope');
  t.same(noRoute.json(), { statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found', message: 'no route GET /api/v1/nope' });
});

t.test('the error catalogue agrees with the OpenAPI document', async (t) => {
  const doc = (await app.inject('/docs/json')).json();
  const errorSchema = doc.components.schemas.Error;
  t.ok(errorSchema, 'the Error schema is a named component');
  const codes = errorSchema.properties.code.anyOf.map((c: { const?: string; enum?: string[] }) => c.const ?? c.enum?.[0]);
  t.same([...codes].sort(), [...ERROR_CODES].sort(), 'every catalogued code is documented, and no other');
  // Every error response a route declares references the Error schema and names codes whose status it is.
  let declared = 0;
  for (const [path, methods] of Object.entries<Record<string, { responses: Record<string, { description: string; content?: unknown }> }>>(doc.paths)) {
    for (const op of Object.values(methods)) {
      for (const [status, resp] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        declared++;
        t.match(JSON.stringify(resp.content), /#\/components\/schemas\/Error/, `${path} ${status} uses the Error schema`);
        for (const code of resp.description.split(', ')) {
          t.ok(code in ERRORS, `${path} ${status}: ${code} is catalogued`);
          t.equal(ERRORS[code as keyof typeof ERRORS].status, Number(status), `${path}: ${code} has status ${status}`);
        }
      }
    }
  }
  t.ok(declared >= 6, 'routes declare their errors');
  t.ok(doc.paths['/api/v1/matrix'].get.responses['400'].description.includes('INVALID_KIND'), 'the matrix route documents INVALID_KIND');
  t.ok(doc.paths['/api/v1/pairs/{src}/{dst}'].get.responses['404'].description.includes('NODE_NOT_FOUND'), 'the pair route documents NODE_NOT_FOUND');
});

// Last: an evaluation on a clock moved past the stale bound changes what the core holds.
t.test('cells turn unknown when stale, from the next evaluation on', async (t) => {
  const before = (await app.inject('/api/v1/matrix?kind=tcp')).json();
  t.same(before.summary, { ok: 4, degraded: 0, failing: 2, unknown: 0 });
  clock.advance(20_000);
  t.teardown(() => clock.advance(-20_000));
  t.same((await app.inject('/api/v1/matrix?kind=tcp')).json(), before, 'the body of this evaluation, unchanged');
  evaluator.evaluate();
  t.same((await app.inject('/api/v1/matrix?kind=tcp')).json().summary, { ok: 0, degraded: 0, failing: 0, unknown: 6 });
});
