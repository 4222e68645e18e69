// DELETE /api/v1/nodes/{name} through app.inject(), on a real core with an
// injected clock: read-only without an API token, behind the token with one;
// unknown, connected and Kubernetes-listed nodes refused from the catalogue; a
// forgotten node leaves every store and its findings resolve at the next
// evaluation, without --finding-clear-for; every forget is logged.
import { Registry } from 'prom-client';
import t from 'tap';
import { AgentSessions } from '../../../../aggregator/agents.js';
import { assessCni, nodeCniDetail } from '../../../../aggregator/cni/assess.js';
import { CniStore } from '../../../../aggregator/cni/store.js';
import { assessDns } from '../../../../aggregator/dns/assess.js';
import { DnsStore } from '../../../../aggregator/dns/store.js';
import { FindingsEngine } from '../../../../aggregator/findings/engine.js';
import { Evaluator } from '../../../../aggregator/findings/evaluator.js';
import { buildApp, type App } from '../../../../aggregator/http/app.js';
import { ERRORS } from '../../../../aggregator/http/errors.js';
import { MatrixQuery } from '../../../../aggregator/matrix/query.js';
import { MatrixStore } from '../../../../aggregator/matrix/store.js';
import { NodeRegistry, type NodeRecord } from '../../../../aggregator/nodes/registry.js';
import { nodeRemover } from '../../../../aggregator/nodes/removal.js';
import { ManualClock } from '../../../../common/clock.js';
import { silentLogger } from '../../../../common/logger.js';
import { logSink } from '../../../helpers/log-sink.js';

const TOKEN = 'api-token-5f4e3d2c1b0a';
const THRESHOLDS = { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 };

/** Nodes a–d with agents, d's agent gone and every probe towards it timing out; e listed by Kubernetes, agent gone. */
async function cluster(apiToken: string | undefined) {
  const clock = new ManualClock(Date.parse('2026-11-25T06:00:00Z'));
  const nodes = new NodeRegistry();
  const store = new MatrixStore({ windowMs: 60_000, intervalMs: 5_000, thresholds: THRESHOLDS }, clock.now());
  const dns = new DnsStore([{ name: 'service', role: 'service', address: '10.96.0.10', port: 53 }], { windowMs: 60_000, intervalMs: 5_000, questionsPerRound: 1, thresholds: THRESHOLDS }, clock.now());
  const cni = new CniStore();
  const sessions = new AgentSessions(nodes, store, clock, { maxResultsPerReport: 1000, maxResultAgeMs: 75_000 }, dns);
  const query = new MatrixQuery(nodes, store, () => clock.monotonic());
  // A long clear-for: only forgetting can resolve a finding within these tests.
  const findings = new FindingsEngine({ forMs: 0, clearForMs: 600_000, cluster: 'test', runbookBaseUrl: 'https://example.org/runbooks' });
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
  const sink = logSink();
  const cniInputs = () => nodes.list().map((n) => ({ node: n.name, snapshot: null, receivedAt: null }));
  const CNI_OPTIONS = { poolThreshold: 0.9, serviceCidrs: [], externalCidrs: [], staleAfterMs: 900_000 };
  const app: App = await buildApp({
    nodes,
    removeNode: nodeRemover({ nodes, matrix: store, dns, cni }),
    query,
    findings,
    dns: () => assessDns(nodes.list(), dns, clock.now(), { latencyThresholdMs: 20, degradedLoss: 0.05, windowMs: 60_000, clusterDomain: 'cluster.local', questions: [] }),
    cni: () => {
      const a = assessCni(cniInputs(), clock.now(), CNI_OPTIONS);
      return { assessment: a, detail: (n: string) => nodeCniDetail(cniInputs(), a, n) };
    },
    networkPolicies: () => ({ kubernetes: false, agentPods: { namespace: 'netmatrix', labels: {} }, policies: [] }),
    evaluatedAt: () => evaluator.last?.at ?? null,
    evaluations: () => evaluator.stats.evaluations,
    probeKinds: ['tcp'],
    clock,
    windowMs: 60_000,
    registry: new Registry(),
    log: sink.log,
    notReady: () => undefined,
    version: 'test',
    ...(apiToken !== undefined ? { apiToken } : {}),
  });
  const names = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
  const records = new Map<string, NodeRecord>();
  for (const [i, name] of names.entries()) {
    const r = sessions.hello({ nodeName: name, podIps: [`192.0.2.${i + 1}`], nodeIps: [`198.51.100.${i + 1}`], zone: 'z1', agentVersion: 'test', capabilities: ['CAPABILITY_TCP'], responderPort: 9402, instanceId: `i-${name}` });
    if (!('record' in r)) throw new Error('hello refused');
    records.set(name, r.record);
  }
  records.get('node-e')!.kube = { ready: false, unschedulable: false, podCidrs: [], internalIPs: ['198.51.100.5'], zone: 'z1' };
  for (let round = 1; round <= 3; round++) {
    clock.advance(5_000);
    for (const name of ['node-a', 'node-b', 'node-c']) {
      sessions.report(records.get(name)!, {
        sequence: round,
        sentAtMs: clock.now(),
        results: names
          .filter((n) => n !== name && n !== 'node-e')
          .map((dst) => ({ kind: 'PROBE_KIND_TCP', targetNode: dst, family: 'ADDRESS_FAMILY_IPV4', outcome: dst === 'node-d' ? 'OUTCOME_TIMEOUT' : 'OUTCOME_OK', rttUs: dst === 'node-d' ? 0 : 300, timestampMs: clock.now() })),
      });
    }
  }
  sessions.goodbye(records.get('node-d')!);
  sessions.goodbye(records.get('node-e')!);
  evaluator.evaluate();
  t.teardown(() => app.close());
  return { app, clock, nodes, findings, evaluator, sink };
}

const del = (app: App, name: string, o: { token?: string; from?: string } = {}) =>
  app.inject({ method: 'DELETE', url: `/api/v1/nodes/${encodeURIComponent(name)}`, headers: o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}, remoteAddress: o.from ?? '127.0.0.1' });

const names = async (app: App, token?: string) =>
  ((await app.inject({ url: '/api/v1/nodes', headers: token ? { authorization: `Bearer ${token}` } : {} })).json().nodes as { name: string }[]).map((n) => n.name);

t.test('without an API token the API is read-only: DELETE is 403 READ_ONLY and nothing changes', async (t) => {
  const c = await cluster(undefined);
  const r = await del(c.app, 'node-d');
  t.equal(r.statusCode, 403);
  t.same(r.json(), { statusCode: 403, code: 'READ_ONLY', error: 'Forbidden', message: ERRORS.READ_ONLY.message() });
  t.match(r.json().message, /--api-token-file \(or NETMATRIX_API_TOKEN\)/, 'says how to enable it');
  t.equal((await del(c.app, 'node-z')).statusCode, 403, 'before anything about the node is looked up');
  t.same(await names(c.app), ['node-a', 'node-b', 'node-c', 'node-d', 'node-e']);
  t.notOk(c.sink.find(/^node forgotten/));
});

t.test('with an API token', async (t) => {
  const c = await cluster(TOKEN);

  t.test('DELETE without the token, or with another, is 401', async (t) => {
    for (const token of [undefined, 'wrong']) {
      const r = await del(c.app, 'node-d', token !== undefined ? { token } : {});
      t.equal(r.statusCode, 401);
      t.equal(r.json().code, 'UNAUTHORIZED');
    }
    t.ok(c.nodes.get('node-d'), 'still known');
  });

  t.test('an unknown node is 404 NODE_NOT_FOUND', async (t) => {
    const r = await del(c.app, 'node-z', { token: TOKEN });
    t.equal(r.statusCode, 404);
    t.same(r.json(), { statusCode: 404, code: 'NODE_NOT_FOUND', error: 'Not Found', message: 'no node named "node-z"' });
  });

  t.test('a node whose agent is connected is 409 NODE_AGENT_CONNECTED', async (t) => {
    const r = await del(c.app, 'node-a', { token: TOKEN });
    t.equal(r.statusCode, 409);
    t.same(r.json(), { statusCode: 409, code: 'NODE_AGENT_CONNECTED', error: 'Conflict', message: 'the agent of "node-a" is connected, so the node is not gone and would come straight back: stop its agent first, or wait until it disconnects' });
    t.ok(c.nodes.get('node-a'));
  });

  t.test('a node the Kubernetes API lists is 409 NODE_IN_KUBERNETES, even with its agent gone', async (t) => {
    const r = await del(c.app, 'node-e', { token: TOKEN });
    t.equal(r.statusCode, 409);
    t.same(r.json(), { statusCode: 409, code: 'NODE_IN_KUBERNETES', error: 'Conflict', message: 'the Kubernetes API lists "node-e": delete the Node object (kubectl delete node node-e) and it leaves at once' });
    t.ok(c.nodes.get('node-e'));
  });

  t.test('a dead node is forgotten: it leaves every store, its findings resolve at the next evaluation, and it is logged', async (t) => {
    const firing = c.findings.firing().filter((f) => f.labels.node === 'node-d');
    t.same(firing.map((f) => f.kind), ['NodeUnreachable'], 'node-d is NodeUnreachable before');
    const id = firing[0]!.id;

    const r = await del(c.app, 'node-d', { token: TOKEN, from: '192.0.2.200' });
    t.equal(r.statusCode, 200);
    const disconnectedAt = new Date(c.clock.now()).toISOString();
    t.same(r.json(), {
      node: 'node-d',
      forgottenAt: new Date(c.clock.now()).toISOString(),
      agent: { disconnectedAt, lastReportAt: null },
      findings: [{ id, kind: 'NodeUnreachable', severity: 'critical', state: 'firing' }],
    });
    t.same(await names(c.app, TOKEN), ['node-a', 'node-b', 'node-c', 'node-e']);
    t.equal(c.nodes.get('node-d'), undefined);
    t.equal((await c.app.inject({ url: '/api/v1/pairs/node-a/node-d', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404, 'no pair towards it');
    const m = (await c.app.inject({ url: '/api/v1/matrix?kind=tcp', headers: { authorization: `Bearer ${TOKEN}` } })).json();
    t.same(m.nodes, ['node-a', 'node-b', 'node-c', 'node-e']);

    const line = c.sink.find(/^node forgotten/);
    t.match(line, { level: 30, node: 'node-d', client: '192.0.2.200', agentGoneSince: disconnectedAt, findings: [`NodeUnreachable ${id}`] });

    t.equal(c.findings.get(id)?.state, 'firing', 'firing until the next evaluation');
    c.clock.advance(1_000);
    const e = c.evaluator.evaluate();
    t.same(e.resolved.map((f) => f.id), [id], 'resolved at the next evaluation, not after --finding-clear-for (10 min)');
    const after = (await c.app.inject({ url: `/api/v1/findings/${id}`, headers: { authorization: `Bearer ${TOKEN}` } })).json();
    t.match(after, { state: 'resolved', resolvedAt: new Date(c.clock.now()).toISOString() });
    t.same(c.findings.firing().filter((f) => f.labels.node === 'node-d'), []);

    const again = await del(c.app, 'node-d', { token: TOKEN });
    t.equal(again.statusCode, 404, 'forgotten once');
  });

  t.test('the OpenAPI document describes the route and its refusals', async (t) => {
    const doc = (await c.app.inject({ url: '/docs/json', headers: { authorization: `Bearer ${TOKEN}` } })).json();
    const op = doc.paths['/api/v1/nodes/{name}'].delete;
    t.ok(op, 'DELETE /api/v1/nodes/{name} is documented');
    t.equal(op.responses['403'].description, 'READ_ONLY');
    t.equal(op.responses['404'].description, 'NODE_NOT_FOUND');
    t.equal(op.responses['409'].description, 'NODE_AGENT_CONNECTED, NODE_IN_KUBERNETES');
    t.equal(op.responses['401'].description, 'UNAUTHORIZED');
    t.ok(op.responses['200'], 'its answer');
    t.same(Object.keys(op.responses['200'].content['application/json'].schema.properties).sort(), ['agent', 'findings', 'forgottenAt', 'node']);
  });
});
