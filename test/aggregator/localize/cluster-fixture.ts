// A simulated cluster for the core: a node registry and a matrix store fed with
// probe results round by round on a manual clock, no transport. Pod IPs are
// from RFC 5737 ranges; no packet is sent. Store and agent times are the
// clock's monotonic reading, as in the aggregator; the wall clock is for display.
import { AgentSessions } from '../../../aggregator/agents.js';
import { FindingsEngine } from '../../../aggregator/findings/engine.js';
import { Evaluator, type EvaluatorDeps } from '../../../aggregator/findings/evaluator.js';
import { assess, type Assessment } from '../../../aggregator/localize/assess.js';
import { localize, type Localized } from '../../../aggregator/localize/localize.js';
import { MatrixQuery } from '../../../aggregator/matrix/query.js';
import { kindIndex, MatrixStore } from '../../../aggregator/matrix/store.js';
import { NodeRegistry, type NodeRecord } from '../../../aggregator/nodes/registry.js';
import { ManualClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/logger.js';
import { addressFamilies, outcomes, type Outcome, type PairKind } from '../../../common/vocabulary.js';
import type { ResultInput } from '../../../aggregator/agents.js';
import type { Finding } from '../../../aggregator/findings/finding.js';
import { probeKinds } from '../../../common/vocabulary.js';

export const INTERVAL = 5_000;
export const WINDOW = 60_000;
export const STALE = 3 * INTERVAL;
export const KINDS: readonly PairKind[] = ['icmp', 'tcp', 'http', 'node'];

export type Probe = { outcome: Outcome; rttUs?: number } | Outcome;
/** What src sees when probing dst with kind; undefined = src does not probe (agent gone). */
export type World = (src: string, dst: string, kind: PairKind) => Probe | undefined;

export const healthy: World = () => 'ok';

export class Cluster {
  readonly clock = new ManualClock();
  readonly nodes = new NodeRegistry();
  readonly store = new MatrixStore(
    { windowMs: WINDOW, intervalMs: INTERVAL, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: STALE } },
    this.clock.monotonic(),
  );

  /** Adds nodes `${prefix}-1..n` in `zone`, agents connected; returns their names. */
  add(prefix: string, n: number, zone = 'zone-a'): string[] {
    const names: string[] = [];
    for (let i = 1; i <= n; i++) {
      const name = `${prefix}-${i}`;
      const now = this.clock.monotonic();
      const rec = this.nodes.upsert({ name, zone, podIPs: [`192.0.2.${this.nodes.size + 1}`], nodeIPs: [], responderPort: 9402 }, now);
      rec.agent.connected = true;
      rec.agent.instanceId = `${name}-1`;
      rec.agent.connectedSince = now;
      rec.agent.instanceSince = now;
      names.push(name);
    }
    return names;
  }

  node(name: string): NodeRecord {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** The agent of `name` goes away now: no more reports, stream closed. */
  disconnect(name: string): void {
    const a = this.node(name).agent;
    a.connected = false;
    a.disconnectedAt = this.clock.monotonic();
  }

  /** `rounds` probe rounds of `world`, one interval apart; the clock ends on the last round. */
  run(rounds: number, world: World, kinds: readonly PairKind[] = KINDS): this {
    const f = addressFamilies.index('ipv4');
    for (let r = 0; r < rounds; r++) {
      this.clock.advance(INTERVAL);
      const now = this.clock.monotonic();
      for (const src of this.nodes.list()) {
        if (!src.agent.connected) continue;
        let any = false;
        for (const dst of this.nodes.list()) {
          if (dst === src) continue;
          for (const kind of kinds) {
            const p = world(src.name, dst.name, kind);
            if (p === undefined) continue;
            const { outcome, rttUs = 400 } = typeof p === 'string' ? { outcome: p } : p;
            this.store.record(src.index, dst.index, kindIndex(kind), f, outcomes.index(outcome), rttUs, now);
            any = true;
          }
        }
        if (any) src.agent.lastReportAt = now;
      }
    }
    return this;
  }

  assess(kinds: readonly PairKind[] = KINDS, maxUnhealthy = 1000): Assessment {
    return assess(this.nodes.list(), this.store, 'ipv4', this.clock.monotonic(), { planKinds: kinds, windowMs: WINDOW, maxUnhealthy });
  }

  /** Localization alone (the pair cap is the findings engine's: see clusterEvaluator). */
  localize(kinds: readonly PairKind[] = KINDS): Localized {
    return localize(this.assess(kinds), { staleAfterMs: STALE, latencyThresholdMs: 50, degradedLoss: 0.05 });
  }
}

/** "Kind{label=value,...}" per condition, sorted: easy to compare in tests. */
/**
 * The evaluator over a Cluster as the metrics tests use it: findings fire at
 * once (for = clear-for = 0), sessions for the agent series; `cni` as in
 * EvaluatorDeps.
 */
export function clusterEvaluator(c: Cluster, cni?: EvaluatorDeps['cni']) {
  const findings = new FindingsEngine({ forMs: 0, clearForMs: 0, cluster: 'test', runbookBaseUrl: 'https://example.org', maxPairFindings: 100 });
  const evaluator = new Evaluator({
    nodes: c.nodes,
    store: c.store,
    query: new MatrixQuery(c.nodes, c.store, () => c.clock.monotonic()),
    engine: findings,
    clock: c.clock,
    log: silentLogger(),
    assess: { planKinds: KINDS, windowMs: WINDOW, maxUnhealthy: 100 },
    localize: { staleAfterMs: STALE, latencyThresholdMs: 50, degradedLoss: 0.05 },
    ...(cni ? { cni } : {}),
  });
  const sessions = new AgentSessions(c.nodes, c.store, c.clock, { maxResultsPerReport: 100_000, maxResultAgeMs: WINDOW + STALE });
  return { findings, evaluator, sessions };
}

export function brief(l: Localized): string[] {
  return l.conditions
    .map((c) => `${c.kind}{${Object.entries(c.subject).map(([k, v]) => `${k}=${v}`).join(',')}}`)
    .sort();
}

/** The aggregator's default --loss-window. */
export const LOSS_WINDOW = 300_000;

/** What the findings scenarios vary; the rest is the fixture's (window, interval, stale time). */
export interface FindingsOptions {
  readonly forMs?: number;
  readonly clearForMs?: number;
  readonly maxPairFindings?: number;
  readonly agentGraceMs?: number;
  readonly kinds?: readonly PairKind[];
}

/**
 * A Cluster whose agents connect, report and leave through the real ingest
 * (AgentSessions: Hello, one Report per agent per round, goodbye), as the gRPC
 * layer drives it: timeouts of several kinds towards one target in a report
 * corroborate each other, every time is the store's monotonic clock (so
 * ManualClock.stepWall moves only what people are shown), and an agent that
 * comes back starts its column afresh. Node IPs are from 198.51.100.0/24.
 */
export class AgentCluster extends Cluster {
  /** The store as the aggregator configures it by default: loss judged over --loss-window (5m), longer than the status window. */
  override readonly store = new MatrixStore(
    { windowMs: WINDOW, intervalMs: INTERVAL, lossWindowMs: LOSS_WINDOW, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: STALE } },
    this.clock.monotonic(),
  );
  readonly sessions = new AgentSessions(this.nodes, this.store, this.clock, { maxResultsPerReport: 100_000, maxResultAgeMs: WINDOW + STALE });
  private sequence = 0;

  /** Agents `${prefix}-1..n` in `zone` say Hello; returns their names. */
  join(prefix: string, n: number, zone = 'zone-a'): string[] {
    const names = Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);
    for (const name of names) this.connect(name, zone);
    return names;
  }

  /** The agent on `name` says Hello (again, after `leave`: a new instance). */
  connect(name: string, zone = this.nodes.get(name)?.zone ?? 'zone-a'): NodeRecord {
    const known = this.nodes.get(name);
    const i = known ? known.index + 1 : this.nodes.size + 1;
    const r = this.sessions.hello({
      nodeName: name,
      zone,
      podIps: [`192.0.2.${i}`],
      nodeIps: [`198.51.100.${i}`],
      agentVersion: 'test',
      capabilities: [],
      responderPort: 9402,
      instanceId: `${name}-${++this.sequence}`,
    });
    if ('refusal' in r) throw new Error(r.refusal.message);
    return r.record;
  }

  /** The agent on `name` goes away now: its stream closes, its reports stop. */
  leave(name: string): void {
    this.sessions.goodbye(this.node(name));
  }

  /** `n` probe rounds of `world`, one interval apart, each one Report per connected agent; the clock ends on the last. */
  rounds(n: number, world: World, kinds: readonly PairKind[] = KINDS): this {
    const family = addressFamilies.toProto('ipv4');
    for (let r = 0; r < n; r++) {
      this.clock.advance(INTERVAL);
      const at = this.clock.monotonic();
      for (const src of this.nodes.list()) {
        if (!src.agent.connected) continue;
        const results: ResultInput[] = [];
        for (const dst of this.nodes.list()) {
          if (dst === src) continue;
          for (const kind of kinds) {
            const p = world(src.name, dst.name, kind);
            if (p === undefined) continue;
            const { outcome, rttUs = 400 } = typeof p === 'string' ? { outcome: p } : p;
            results.push({ kind: probeKinds.toProto(kind), targetNode: dst.name, family, outcome: outcomes.toProto(outcome), rttUs, timestampMs: at });
          }
        }
        if (results.length > 0) this.sessions.report(src, { sequence: ++this.sequence, sentAtMs: at, results });
      }
    }
    return this;
  }

  /** The real evaluator (assess, localize, hysteresis) over this cluster, with the MatrixQuery the API reads. */
  findings(o: FindingsOptions = {}): { engine: FindingsEngine; query: MatrixQuery; evaluator: Evaluator } {
    const engine = new FindingsEngine({
      forMs: o.forMs ?? 0,
      clearForMs: o.clearForMs ?? 0,
      cluster: 'test',
      runbookBaseUrl: 'https://example.org/runbooks',
      ...(o.maxPairFindings !== undefined ? { maxPairFindings: o.maxPairFindings } : {}),
    });
    const query = new MatrixQuery(this.nodes, this.store, () => this.clock.monotonic());
    const evaluator = new Evaluator({
      nodes: this.nodes,
      store: this.store,
      query,
      engine,
      clock: this.clock,
      log: silentLogger(),
      assess: { planKinds: o.kinds ?? KINDS, windowMs: WINDOW, maxUnhealthy: 1000 },
      localize: { staleAfterMs: STALE, latencyThresholdMs: 50, degradedLoss: 0.05, ...(o.agentGraceMs !== undefined ? { agentGraceMs: o.agentGraceMs } : {}) },
    });
    return { engine, query, evaluator };
  }
}

/** "Kind{label=value,...} severity" per finding (labels besides alertname, severity, cluster), sorted. */
export function briefFindings(findings: readonly Finding[]): string[] {
  return findings
    .map((f) => {
      const { alertname: _a, severity: _s, cluster: _c, ...rest } = f.labels;
      return `${f.kind}{${Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(',')}} ${f.severity}`;
    })
    .sort();
}

export { mulberry32 } from '../../helpers/random.js';
