// A simulated cluster for the verdict core, driven through the real ingest
// path (AgentSessions.report), the real store, localization, findings engine
// and evaluator, on a manual clock, with seeded random faults. No transport and
// no packet: pod IPs are documentation addresses (RFC 5737). Used by the
// statistical tests (test/aggregator/findings/verdicts.test.ts) and by
// `npm run bench -- verdicts`.
import { AgentSessions, type ResultInput } from '../../aggregator/agents.js';
import { FindingsEngine } from '../../aggregator/findings/engine.js';
import type { Finding } from '../../aggregator/findings/finding.js';
import { Evaluator } from '../../aggregator/findings/evaluator.js';
import { MatrixQuery } from '../../aggregator/matrix/query.js';
import { kindIndex, MatrixStore } from '../../aggregator/matrix/store.js';
import { CODE_FAILING, CODE_LOSSY, CODE_OK, CODE_SLOW, LOSS_BUCKETS, MIN_FAILING_FAILURES, lossy } from '../../aggregator/matrix/rule.js';
import { NodeRegistry, type NodeRecord } from '../../aggregator/nodes/registry.js';
import { sampledPlanner } from '../../aggregator/plan/planner.js';
import { PlanBook } from '../../aggregator/plan/plans.js';
import type { SamplingSettings } from '../../aggregator/plan/sampled.js';
import { Suspects } from '../../aggregator/plan/suspects.js';
import { PeerWalk, type PeerInfo } from '../../agent/peers.js';
import { ManualClock, wallOf } from '../../common/clock.js';
import { silentLogger } from '../../common/logger.js';
import { addressFamilies, outcomes, probeKinds, type Outcome, type PairKind } from '../../common/vocabulary.js';
import { mulberry32 } from './random.js';

/** The sim's seeded PRNG (the same draws on every run). */
export const prng = mulberry32;

export interface VerdictSimOptions {
  readonly nodes: number;
  readonly zones?: number;
  readonly kinds?: readonly PairKind[];
  readonly intervalMs?: number;
  readonly windowMs?: number;
  readonly lossWindowMs?: number;
  readonly forMs?: number;
  readonly clearForMs?: number;
  readonly degradedLoss?: number;
  readonly agentGraceMs?: number;
  readonly maxPairFindings?: number;
  readonly seed?: number;
  /**
   * Plan as the aggregator does above --full-mesh-max (docs/scaling.md): each
   * agent probes what its PeerWalk gives it each round (fixed peers,
   * follow-ups, its walk), following the real PlanBook's sampled plan, with
   * suspects from each evaluation as server.ts updates them.
   */
  readonly sampled?: SamplingSettings & { readonly fullMeshMax: number };
  /** Sampled: judge nodes and zones on every cell, as the full mesh does (false: the comparison the tests make). */
  readonly judgeOnCadence?: boolean;
}

/** The outcome of one probe: 'ok', or what a fault makes of it. `random()` is the sim's seeded PRNG. */
export type Fault = (src: string, dst: string, kind: PairKind, random: () => number) => Outcome;

export const independentLoss =
  (p: number): Fault =>
  (_s, _d, _k, random) =>
    random() < p ? 'timeout' : 'ok';

export class VerdictSim {
  readonly clock = new ManualClock();
  readonly nodes = new NodeRegistry();
  readonly store: MatrixStore;
  readonly sessions: AgentSessions;
  readonly query: MatrixQuery;
  readonly engine: FindingsEngine;
  readonly evaluator: Evaluator;
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  readonly random: () => number;
  readonly names: string[] = [];
  /** Agents not reporting (their node may still answer probes). */
  readonly silent = new Set<string>();
  private seq = new Map<string, number>();
  private readonly kindProto: number[];
  private readonly outcomeProto = new Map<Outcome, number>();
  /** Every finding that was pending or firing at some evaluation, by id. */
  readonly seen = new Map<string, Finding>();
  fault: Fault = () => 'ok';
  /** Sampled: the plans, the suspects and each agent's walk (kept across plans, as an agent keeps it). */
  readonly plans: PlanBook | undefined;
  readonly suspects: Suspects | undefined;
  private readonly walks = new Map<string, PeerWalk>();
  private walkEpoch = -1;
  /** Results stored, all rounds (sampled: far fewer than N × (N − 1) × kinds a round). */
  results = 0;

  constructor(readonly o: VerdictSimOptions) {
    this.kinds = o.kinds ?? ['icmp', 'tcp', 'http', 'node'];
    this.intervalMs = o.intervalMs ?? 5_000;
    const windowMs = o.windowMs ?? 60_000;
    this.random = prng(o.seed ?? 1);
    this.store = new MatrixStore(
      {
        windowMs,
        intervalMs: this.intervalMs,
        lossWindowMs: o.lossWindowMs ?? 300_000,
        toWall: wallOf(this.clock),
        thresholds: { degradedLoss: o.degradedLoss ?? 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 3 * this.intervalMs },
      },
      this.clock.monotonic(),
    );
    this.sessions = new AgentSessions(this.nodes, this.store, this.clock, { maxResultsPerReport: 10_000_000, maxResultAgeMs: windowMs + 3 * this.intervalMs });
    if (o.sampled) {
      this.suspects = new Suspects(o.clearForMs ?? 2 * this.intervalMs, o.agentGraceMs ?? 120_000);
      const { fullMeshMax, ...sampling } = o.sampled;
      this.plans = new PlanBook(this.nodes, sampledPlanner(fullMeshMax, sampling), { kinds: this.kinds, intervalMs: this.intervalMs, timeoutMs: 1_000 }, () => this.clock.now(), this.suspects);
    }
    this.query = new MatrixQuery(this.nodes, this.store, () => this.clock.monotonic());
    this.engine = new FindingsEngine({
      forMs: o.forMs ?? 2 * this.intervalMs,
      clearForMs: o.clearForMs ?? 2 * this.intervalMs,
      cluster: 'sim',
      runbookBaseUrl: 'https://example.org/runbooks',
      maxPairFindings: o.maxPairFindings ?? 100,
    });
    this.evaluator = new Evaluator({
      nodes: this.nodes,
      store: this.store,
      query: this.query,
      engine: this.engine,
      clock: this.clock,
      log: silentLogger(),
      assess: { planKinds: this.kinds, windowMs, maxUnhealthy: 100, ...(this.plans && o.judgeOnCadence !== false ? { cadence: () => this.plans!.cadence() } : {}) },
      localize: { staleAfterMs: 3 * this.intervalMs, latencyThresholdMs: 50, degradedLoss: o.degradedLoss ?? 0.05, agentGraceMs: o.agentGraceMs ?? 120_000 },
    });
    this.kindProto = this.kinds.map((k) => probeKinds.words.indexOf(k) + 1);
    outcomes.words.forEach((w, i) => this.outcomeProto.set(w, i + 1));
    const zones = o.zones ?? 1;
    for (let i = 0; i < o.nodes; i++) {
      const name = `node-${String(i + 1).padStart(4, '0')}`;
      this.names.push(name);
      this.connect(name, `zone-${(i % zones) + 1}`, i);
    }
  }

  /** The agent of `name` says Hello (first start, or back after being away). */
  connect(name: string, zone = this.nodes.get(name)?.zone ?? 'zone-1', i = this.names.indexOf(name)): void {
    const r = this.sessions.hello({
      nodeName: name,
      podIps: [`192.0.2.${(i % 250) + 1}`],
      nodeIps: [`198.51.100.${(i % 250) + 1}`],
      zone,
      agentVersion: 'sim',
      capabilities: [],
      responderPort: 9402,
      instanceId: `${name}-${this.clock.monotonic()}`,
    });
    if ('refusal' in r) throw new Error(r.refusal.message);
    this.silent.delete(name);
  }

  /** The agent of `name` goes away (its stream closes). */
  disconnect(name: string): void {
    this.sessions.goodbye(this.node(name));
    this.silent.add(name);
  }

  node(name: string): NodeRecord {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /**
   * One probe round: every reporting agent sends one report with a result per
   * peer and kind, then two evaluations half an interval apart, as the
   * aggregator runs them. Returns the findings pending or firing after it.
   */
  round(): Finding[] {
    const ipv4 = addressFamilies.index('ipv4') + 1;
    this.followPlans();
    for (const src of this.names) {
      if (this.silent.has(src)) continue;
      const record = this.nodes.get(src)!;
      const results: ResultInput[] = [];
      const at = this.clock.now();
      const walk = this.walks.get(src);
      const targets = walk ? walk.next().map((p) => p.nodeName) : this.names;
      for (const dst of targets) {
        if (dst === src) continue;
        let ok = true;
        for (let k = 0; k < this.kinds.length; k++) {
          const outcome = this.fault(src, dst, this.kinds[k]!, this.random);
          if (outcome !== 'ok') ok = false;
          results.push({ kind: this.kindProto[k]!, targetNode: dst, family: ipv4, outcome: this.outcomeProto.get(outcome)!, rttUs: 400, timestampMs: at });
        }
        // As the agent's PlanFollower does with a round's results: a failed peer is followed up.
        walk?.observe(dst, ok);
      }
      const seq = (this.seq.get(src) ?? 0) + 1;
      this.seq.set(src, seq);
      this.sessions.report(record, { sequence: seq, sentAtMs: at, results });
      this.results += results.length;
    }
    let out: Finding[] = [];
    for (let half = 0; half < 2; half++) {
      this.clock.advance(this.intervalMs / 2);
      const e = this.evaluator.evaluate();
      out = [...e.firing, ...this.engine.pending()];
      for (const f of out) if (!this.seen.has(f.id)) this.seen.set(f.id, f);
      // As server.ts does: the suspects follow each evaluation; a change is a new epoch, followed at the next round.
      this.suspects?.update(e.monotonicAt, this.nodes.list(), out);
    }
    return out;
  }

  /** Sampled: every agent takes a plan whose epoch moved, as an agent does when it is pushed one. */
  private followPlans(): void {
    const plans = this.plans;
    if (!plans) return;
    const epoch = plans.currentEpoch();
    if (epoch === this.walkEpoch) return;
    this.walkEpoch = epoch;
    if (!plans.isSampled) {
      this.walks.clear();
      return;
    }
    for (const record of this.nodes.list()) {
      const plan = plans.planFor(record);
      let walk = this.walks.get(record.name);
      if (!walk) this.walks.set(record.name, (walk = new PeerWalk(record.name)));
      walk.setPlan(plan.peers as readonly PeerInfo[], plan.sampling!);
    }
  }

  /** Shares of the cells of `kind` by status right now (from the store's tallies). */
  shares(kind: PairKind = this.kinds[0]!): { ok: number; degraded: number; failing: number } {
    const c = this.store.kindTally(kindIndex(kind), addressFamilies.index('ipv4'));
    const known = c[CODE_OK]! + c[CODE_LOSSY]! + c[CODE_SLOW]! + c[CODE_FAILING]!;
    return { ok: c[CODE_OK]! / known, degraded: (c[CODE_LOSSY]! + c[CODE_SLOW]!) / known, failing: c[CODE_FAILING]! / known };
  }
}

function binomTail(n: number, p: number, k: number): number {
  // P(X ≥ k), X ~ Bin(n, p), summed in log space.
  if (k <= 0) return 1;
  let total = 0;
  for (let j = k; j <= n; j++) total += Math.exp(logChoose(n, j) + j * Math.log(p) + (n - j) * Math.log1p(-p));
  return Math.min(1, total);
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/**
 * The documented per-cell error rates of the rule under independent loss `p`
 * (docs/architecture.md "Cell status"): shares of evaluations a cell is
 * failing, degraded or ok. An approximation that treats the rule's tests as
 * independent; the statistical test checks it against the real store.
 */
export function modelShares(p: number, o: { windowSamples: number; lossSamples: number; kinds: number; degradedLoss?: number; failingLoss?: number }): { ok: number; degraded: number; failing: number } {
  const c = 1 - (1 - p) ** (o.kinds - 1); // another kind timed out towards the same target this round
  const head = p * p + p * (1 - p) * c;
  // Failures in runs of OUTAGE_RUN or more, and in runs of 2 whose last
  // failure was corroborated, are outages, not loss: what is left is the share
  // of failures in runs of 1 ((1-p)²) and uncorroborated runs of 2 (2p(1-p)²(1-c)).
  const pl = p * (1 - p) ** 2 * (1 + 2 * p * (1 - c));
  const byLoss = binomTail(o.windowSamples, pl, Math.max(MIN_FAILING_FAILURES, Math.ceil((o.failingLoss ?? 0.5) * o.windowSamples)));
  const failing = 1 - (1 - head) * (1 - byLoss);
  // The loss window holds between 7/8 and 8/8 of its samples: take the middle.
  const n = Math.round(o.lossSamples * (1 - 1 / (2 * LOSS_BUCKETS)));
  let k = 0;
  while (k <= n && !lossy(k, n, o.degradedLoss ?? 0.05)) k++;
  const degraded = (1 - failing) * binomTail(n, pl, k);
  return { ok: 1 - failing - degraded, degraded, failing };
}

/**
 * Measured shares of cell evaluations by status under independent loss `p`
 * (6 nodes × 4 kinds by default), after a full loss window, beside the
 * documented model's: what the statistical test checks and the bench prints.
 */
export function measureShares(p: number, o: { nodes?: number; rounds?: number; seed?: number } = {}): { measured: { ok: number; degraded: number; failing: number }; model: { ok: number; degraded: number; failing: number } } {
  const sim = new VerdictSim({ nodes: o.nodes ?? 6, seed: o.seed ?? 1000 + p * 1000 });
  sim.fault = independentLoss(p);
  for (let r = 0; r < sim.store.lossWindowMs / sim.intervalMs; r++) sim.round(); // fill the loss window
  const measured = { ok: 0, degraded: 0, failing: 0 };
  const rounds = o.rounds ?? 300;
  for (let r = 0; r < rounds; r++) {
    sim.round();
    for (const kind of sim.kinds) {
      const s = sim.shares(kind);
      for (const k of ['ok', 'degraded', 'failing'] as const) measured[k] += s[k] / (rounds * sim.kinds.length);
    }
  }
  return { measured, model: modelShares(p, { windowSamples: sim.store.ring, lossSamples: sim.store.lossWindowMs / sim.intervalMs, kinds: sim.kinds.length }) };
}
