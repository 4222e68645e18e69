// A small core behind the HTTP API for the route, cache and rate-limit tests:
// nodes a and b in zone z1, c in z2, three rounds of TCP results (c refuses
// everyone; a → b answers slowly: degraded), an injected clock, and the
// evaluation counter in the test's hands. No packet is sent (RFC 5737 addresses).
import { Registry } from 'prom-client';
import { AgentSessions } from '../../../aggregator/agents.js';
import { assessCni, nodeCniDetail } from '../../../aggregator/cni/assess.js';
import { CniStore } from '../../../aggregator/cni/store.js';
import { assessDns } from '../../../aggregator/dns/assess.js';
import { DnsStore } from '../../../aggregator/dns/store.js';
import { FindingsEngine } from '../../../aggregator/findings/engine.js';
import { buildApp, type ApiDeps, type App } from '../../../aggregator/http/app.js';
import { MatrixQuery } from '../../../aggregator/matrix/query.js';
import { MatrixStore } from '../../../aggregator/matrix/store.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { nodeRemover } from '../../../aggregator/nodes/removal.js';
import { ManualClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/logger.js';

const THRESHOLDS = { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 };
export const NODES = [
  { name: 'node-a', zone: 'z1' },
  { name: 'node-b', zone: 'z1' },
  { name: 'node-c', zone: 'z2' },
] as const;

export interface Core {
  readonly app: App;
  readonly clock: ManualClock;
  readonly registry: Registry;
  readonly query: MatrixQuery;
  /** Calls of query.matrix() and query.compact() so far: the builds. */
  readonly builds: () => number;
  /** One more evaluation: what the API's cache keys its bodies by. */
  evaluate(): void;
  /** Reads a counter or gauge of the registry (labels as in the exposition, e.g. 'result="hit"'). */
  metric(name: string, labels?: string): Promise<number>;
}

/** `extra` more nodes (node-x1…, zone z3) that every node reaches: bodies over the compression threshold. */
export async function core(over: Partial<ApiDeps> = {}, extra = 0): Promise<Core> {
  const clock = new ManualClock(Date.parse('2026-11-25T06:00:00Z'));
  const nodes = new NodeRegistry();
  const store = new MatrixStore({ windowMs: 60_000, intervalMs: 5_000, thresholds: THRESHOLDS }, clock.now());
  const dns = new DnsStore([], { windowMs: 60_000, intervalMs: 5_000, questionsPerRound: 1, thresholds: THRESHOLDS }, clock.now());
  const cni = new CniStore();
  const sessions = new AgentSessions(nodes, store, clock, { maxResultsPerReport: 1000, maxResultAgeMs: 75_000 }, dns);
  const query = new MatrixQuery(nodes, store, () => clock.monotonic());
  let builds = 0;
  const matrix = query.matrix.bind(query);
  query.matrix = (...args) => {
    builds++;
    return matrix(...args);
  };
  const compact = query.compact.bind(query);
  query.compact = (...args) => {
    builds++;
    return compact(...args);
  };
  const findings = new FindingsEngine({ forMs: 0, clearForMs: 0, cluster: 'test', runbookBaseUrl: 'https://example.org/runbooks' });
  const cniInputs = () => nodes.list().map((n) => ({ node: n.name, snapshot: null, receivedAt: null }));
  const CNI_OPTIONS = { poolThreshold: 0.9, serviceCidrs: [], externalCidrs: [], staleAfterMs: 900_000 };
  const registry = new Registry();
  let evaluations = 0;
  const app = await buildApp({
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
    evaluatedAt: () => (evaluations === 0 ? null : clock.now()),
    evaluations: () => evaluations,
    probeKinds: ['tcp'],
    clock,
    windowMs: 60_000,
    registry,
    log: silentLogger(),
    notReady: () => undefined,
    version: 'test',
    ...over,
  });
  const all = [...NODES, ...Array.from({ length: extra }, (_, i) => ({ name: `node-x${i + 1}`, zone: 'z3' }))];
  const records = all.map(({ name, zone }, i) => {
    const r = sessions.hello({ nodeName: name, podIps: [`192.0.2.${i + 1}`], nodeIps: [`198.51.100.${i + 1}`], zone, agentVersion: 'test', capabilities: ['CAPABILITY_TCP'], responderPort: 9402, instanceId: `i-${name}` });
    if (!('record' in r)) throw new Error('hello refused');
    return r.record;
  });
  for (let round = 1; round <= 3; round++) {
    clock.advance(5_000);
    for (const src of records) {
      sessions.report(src, {
        sequence: round,
        sentAtMs: clock.now(),
        results: all.filter((n) => n.name !== src.name).map(({ name: dst }) => ({
          kind: 'PROBE_KIND_TCP',
          targetNode: dst,
          family: 'ADDRESS_FAMILY_IPV4',
          outcome: dst === 'node-c' ? 'OUTCOME_REFUSED' : 'OUTCOME_OK',
          rttUs: dst === 'node-c' ? 0 : src.name === 'node-a' && dst === 'node-b' ? 80_000 : 300,
          timestampMs: clock.now(),
        })),
      });
    }
  }
  return {
    app,
    clock,
    registry,
    query,
    builds: () => builds,
    evaluate: () => void evaluations++,
    async metric(name, labels) {
      const text = await registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith(labels === undefined ? `${name} ` : `${name}{${labels}} `));
      return line === undefined ? NaN : Number(line.split(' ').pop());
    },
  };
}
