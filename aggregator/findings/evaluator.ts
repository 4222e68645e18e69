// One evaluation: assess the matrix, localize, run the hysteresis, and hand
// the result to whoever listens (metrics keep it for scrapes, the notifier
// sends to Alertmanager). Runs on a timer of half a probe interval, stretched
// so that evaluating never takes more than a quarter of a core. It reads the
// store's tallies and non-ok cells (O(nodes × kinds + non-ok cells)), never
// every cell. Time is monotonic; wall-clock times are for display only.
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { CniAssessment, CniNodeInput } from '../cni/assess.js';
import type { CniAssessor } from '../cni/assessor.js';
import { assessDns, type DnsAssessment, type DnsAssessOptions } from '../dns/assess.js';
import type { DnsStore } from '../dns/store.js';
import { assess, RttSampler, type Assessment, type AssessOptions } from '../localize/assess.js';
import { localize, type LocalizeOptions } from '../localize/localize.js';
import type { MatrixQuery } from '../matrix/query.js';
import type { MatrixStore } from '../matrix/store.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { EngineUpdate, FindingsEngine } from './engine.js';
import type { RaisedKind } from './kinds.js';

export interface Evaluation extends EngineUpdate {
  /** Wall-clock ms (for display and alerts). */
  readonly at: number;
  /** Monotonic ms (the store's time). */
  readonly monotonicAt: number;
  /** Nodes whose agent is away while the node is fine: their cells are unknown, and so are the series towards them. */
  readonly away: ReadonlySet<string>;
  readonly assessment: Assessment;
  /** Undefined when no DNS servers are configured. */
  readonly dns: DnsAssessment | undefined;
  readonly cni: CniAssessment | undefined;
  readonly durationMs: number;
}

export interface EvaluatorDeps {
  readonly nodes: NodeRegistry;
  readonly store: MatrixStore;
  readonly query: MatrixQuery;
  readonly engine: FindingsEngine;
  readonly clock: Clock;
  readonly log: Logger;
  readonly assess: AssessOptions;
  readonly localize: LocalizeOptions;
  readonly dns?: { readonly store: DnsStore; readonly options: DnsAssessOptions };
  /** The assessor is shared with the API, which reuses the evaluation's assessment while nothing changed. */
  readonly cni?: { readonly inputs: () => CniNodeInput[]; readonly assessor: CniAssessor };
}

export type EvaluationListener = (e: Evaluation) => void;

export class Evaluator {
  private lastEvaluation: Evaluation | undefined;
  private readonly listeners = new Set<EvaluationListener>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly stats = { evaluations: 0, dropped: new Map<RaisedKind, number>() };
  private dropLogged = false;
  /** Node RTT percentiles over the last probers read: one read per node and kind each evaluation. */
  private readonly rtt = new RttSampler();

  constructor(private readonly d: EvaluatorDeps) {}

  get last(): Evaluation | undefined {
    return this.lastEvaluation;
  }

  onEvaluated(listener: EvaluationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  evaluate(): Evaluation {
    const started = performance.now();
    const now = this.d.clock.monotonic();
    const wall = this.d.clock.now();
    const nodes = this.d.nodes.list();
    const assessment = assess(nodes, this.d.store, this.d.query.defaultFamily(), now, { ...this.d.assess, rtt: this.rtt });
    const { conditions, away } = localize(assessment, { ...this.d.localize, toWall: (m) => m + (wall - now) });
    this.d.query.setAway(new Map([...away].map(([pos, why]) => [nodes[pos]!.index, why])));
    for (const name of assessment.staleRows) this.d.log.info({ node: name }, 'no report from this node\'s agent for the stale time: its row is unknown');
    const dns = this.d.dns && this.d.dns.store.servers.length > 0 ? assessDns(nodes, this.d.dns.store, now, this.d.dns.options) : undefined;
    const cni = this.d.cni ? this.d.cni.assessor.assess(this.d.cni.inputs(), wall).assessment : undefined;
    const update = this.d.engine.update([...conditions, ...(dns?.conditions ?? []), ...(cni?.conditions ?? [])], now, wall);
    const dropped = update.dropped;
    const e: Evaluation = { ...update, at: wall, monotonicAt: now, away: new Set([...away.keys()].map((pos) => nodes[pos]!.name)), assessment, dns, cni, durationMs: performance.now() - started };
    this.stats.evaluations++;
    let anyDropped = false;
    for (const [kind, n] of Object.entries(dropped) as [RaisedKind, number][]) {
      this.stats.dropped.set(kind, (this.stats.dropped.get(kind) ?? 0) + n);
      anyDropped = true;
    }
    if (anyDropped && !this.dropLogged) {
      this.d.log.warn({ dropped }, 'too many pair findings: the rest are one aggregate finding per kind, and counted');
    }
    this.dropLogged = anyDropped;
    for (const f of update.fired) this.d.log.info({ finding: f.id, kind: f.kind, labels: f.labels }, 'finding fired');
    for (const f of update.resolved) this.d.log.info({ finding: f.id, kind: f.kind, labels: f.labels }, 'finding resolved');
    this.lastEvaluation = e;
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.d.log.error({ err }, 'evaluation listener failed');
      }
    }
    return e;
  }

  /** Evaluates every `periodMs`, or every 4 × the last evaluation's duration if longer. */
  start(periodMs: number): void {
    const tick = () => {
      if (this.stopped) return;
      let delay = periodMs;
      try {
        delay = Math.max(periodMs, 4 * this.evaluate().durationMs);
      } catch (err) {
        this.d.log.error({ err }, 'evaluation failed');
      }
      this.timer = setTimeout(tick, delay);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, periodMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
