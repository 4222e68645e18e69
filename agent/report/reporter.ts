// Turns probe rounds into Reports and keeps one stream to every aggregator
// replica. Sequence numbers are per agent process; each replica has its own
// outbox, so a replica that is down does not hold back the others. Of the plans
// the replicas send, the agent follows the one with the highest epoch. A round
// is encoded once and split into as many reports as the message limits need
// (report-wire.ts); the encoded reports are shared by every outbox.
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { cniToWire, type CniSnapshot } from '../../common/cni.js';
import type { Hello, Plan__Output, WireCniSnapshot } from '../../proto/load.js';
import type { AgentMetrics } from '../metrics.js';
import type { RoundResult } from '../scheduler.js';
import { AggregatorConnection } from './connection.js';
import type { AgentCredentials } from './credentials.js';
import { Outbox } from './outbox.js';
import { encodeRecords, splitResults, type WireReport } from './report-wire.js';

/** As the aggregator's defaults (--grpc-max-message-bytes, --max-results-per-report). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_RESULTS_PER_REPORT = 50_000;
export const DEFAULT_BUFFER_BYTES = 8 * 1024 * 1024;

export interface ReporterOptions {
  readonly addresses: readonly string[];
  readonly hello: () => Hello;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  readonly bufferReports: number;
  /** Encoded bytes of unacknowledged reports kept per aggregator. */
  readonly bufferBytes?: number;
  readonly connectTimeoutMs: number;
  readonly backoffMaxMs: number;
  /** First reconnect delay (before jitter); 250 ms unless a test wants it shorter. */
  readonly backoffInitialMs?: number;
  /** Largest message sent to or accepted from an aggregator: reports are split to fit. */
  readonly maxMessageBytes?: number;
  readonly maxResultsPerReport?: number;
  readonly credentials?: AgentCredentials;
  readonly onPlan: (plan: Plan__Output) => void;
}

export class Reporter {
  private sequence = 0;
  private readonly connections: AggregatorConnection[];
  private readonly outboxes = new Map<AggregatorConnection, Outbox<WireReport>>();
  private followed: Plan__Output | undefined;
  private cni: { version: number; snapshot: WireCniSnapshot } | undefined;
  private droppedLogged = false;
  private readonly maxMessageBytes: number;

  constructor(private readonly o: ReporterOptions) {
    this.maxMessageBytes = o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.connections = o.addresses.map((address) => {
      const outbox = new Outbox<WireReport>({ reports: o.bufferReports, bytes: o.bufferBytes ?? DEFAULT_BUFFER_BYTES });
      const labels = { aggregator: address };
      const buffered = () => {
        o.metrics.reportsBuffered.set(labels, outbox.size);
        o.metrics.reportsBufferedBytes.set(labels, outbox.bytes);
      };
      const c = new AggregatorConnection({
        address,
        hello: o.hello,
        outbox,
        clock: o.clock,
        log: o.log,
        connectTimeoutMs: o.connectTimeoutMs,
        backoffInitialMs: o.backoffInitialMs ?? 250,
        backoffMaxMs: o.backoffMaxMs,
        maxMessageBytes: this.maxMessageBytes,
        ...(o.credentials ? { credentials: o.credentials.channel, channelOptions: o.credentials.channelOptions } : {}),
        ...(o.credentials?.token !== undefined ? { token: o.credentials.token } : {}),
        onPlan: () => this.choosePlan(),
        cni: () => this.cni,
        onStateChange: (conn) => {
          o.metrics.connected.set(labels, conn.connected ? 1 : 0);
          buffered();
        },
        onAttempt: () => o.metrics.reconnects.inc(labels),
        onAcked: (_conn, n) => {
          o.metrics.reportsAcked.inc(labels, n);
          buffered();
        },
        onRefused: (_conn, r, why) => {
          o.metrics.reportsRefused.inc(labels);
          buffered();
          o.log.warn({ aggregator: address, sequence: r.sequence, round: r.round, results: r.results, bytes: r.bytes, why }, 'aggregator refused a report: dropped, not sent again (counted in netmatrix_agent_reports_refused_total)');
        },
      });
      o.metrics.connected.set(labels, 0);
      buffered();
      o.metrics.reportsDropped.inc(labels, 0);
      o.metrics.reportsRefused.inc(labels, 0);
      o.metrics.reportsAcked.inc(labels, 0);
      this.outboxes.set(c, outbox);
      return c;
    });
  }

  /** Reports created so far (the last sequence number used). */
  get created(): number {
    return this.sequence;
  }

  get plan(): Plan__Output | undefined {
    return this.followed;
  }

  /** The plan each aggregator replica's stream last sent, by address (undefined while that stream is down): what the replicas say. */
  plans(): Map<string, Plan__Output | undefined> {
    return new Map(this.connections.map((c) => [c.address, c.plan]));
  }

  outbox(address: string): Outbox<WireReport> | undefined {
    for (const [c, box] of this.outboxes) if (c.address === address) return box;
    return undefined;
  }

  start(): void {
    for (const c of this.connections) c.start();
  }

  close(): void {
    for (const c of this.connections) c.close();
  }

  /** A round's results as reports that fit the limits (usually one), queued for every aggregator. */
  submit(r: RoundResult): void {
    const pieces = splitResults(encodeRecords(r.results), this.maxMessageBytes, this.o.maxResultsPerReport ?? DEFAULT_MAX_RESULTS_PER_REPORT);
    const reports: WireReport[] = pieces.map((p) => ({ sequence: ++this.sequence, round: r.round, results: p.results, body: p.body, bytes: p.body.length }));
    this.o.metrics.reportsCreated.inc(reports.length);
    for (const [c, box] of this.outboxes) {
      const labels = { aggregator: c.address };
      for (const report of reports) {
        const dropped = box.push(report);
        if (dropped === 0) continue;
        this.o.metrics.reportsDropped.inc(labels, dropped);
        if (!this.droppedLogged) {
          this.droppedLogged = true;
          this.o.log.warn({ aggregator: c.address, reports: box.bounds.reports, bytes: box.bounds.bytes }, 'report buffer full: thinning the older unacknowledged rounds (counted in netmatrix_agent_reports_dropped_total)');
        }
      }
      this.o.metrics.reportsBuffered.set(labels, box.size);
      this.o.metrics.reportsBufferedBytes.set(labels, box.bytes);
      c.flush();
    }
  }

  /** A new CNI snapshot: every connected aggregator gets it now, the others when they connect. */
  submitCni(snapshot: CniSnapshot): void {
    this.cni = { version: (this.cni?.version ?? 0) + 1, snapshot: cniToWire(snapshot) };
    for (const c of this.connections) c.flush();
  }

  private choosePlan(): void {
    let best: Plan__Output | undefined;
    for (const c of this.connections) if (c.plan && (!best || c.plan.epoch > best.epoch)) best = c.plan;
    if (best && best !== this.followed) {
      this.followed = best;
      this.o.onPlan(best);
    }
  }
}
