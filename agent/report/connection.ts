// One agent → aggregator stream: connect with a deadline, Hello, wait for the
// Plan (with a deadline), send the outbox, release what is acknowledged, and on
// any failure reconnect with exponential backoff and jitter, replaying every
// unacknowledged report on the new stream.
//
// The backoff starts again only when a report sent on the stream is
// acknowledged. A Plan says the aggregator accepts this agent, not what it
// sends: reset there, an aggregator that plans and then refuses a report is
// reconnected to every 125-250 ms, by every agent at once.
//
// A refusal (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL or
// FAILED_PRECONDITION once planned) names no message, but the aggregator reads
// a stream in order and acks each report it stores, so what it refused is the
// first message written after the last acknowledged report. A report is
// dropped and counted: it would be refused again on every stream. A CNI
// snapshot is not sent again until there is a new one. (An ack lost on the
// way only makes us drop a report the aggregator had stored.)
//
// Replay goes one report at a time at first, then in a window that grows with
// every ack (REPLAY_WINDOW reports, REPLAY_WINDOW_BYTES), and waits for
// 'drain' whenever write() says the stream's buffer is full. The aggregator
// acks what it already stored right after the Plan (its resume point): with one
// report on the way, that ack releases the rest of what it has before any of
// it is sent again. An Ack before the Plan can only be that resume point: the
// replay then need not feel its way and starts with the whole window.
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import {
  loadProto,
  type AgentMessage,
  type AggregatorMessage__Output,
  type CollectorClient,
  type Hello,
  type Plan__Output,
  type WireCniSnapshot,
} from '../../proto/load.js';
import type { Outbox } from './outbox.js';
import { frameReport, type WireReport } from './report-wire.js';

/** Reports and bytes in flight on a stream once the window has opened (at least one report always). */
export const REPLAY_WINDOW = 16;
export const REPLAY_WINDOW_BYTES = 1024 * 1024;

export interface ConnectionOptions {
  readonly address: string;
  readonly hello: () => Hello;
  readonly outbox: Outbox<WireReport>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly connectTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly maxMessageBytes: number;
  readonly credentials?: grpc.ChannelCredentials;
  /** Channel options the credentials need (grpc.ssl_target_name_override). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Sent as `authorization: Bearer <token>` on every stream. */
  readonly token?: string;
  readonly random?: () => number;
  /** The latest CNI snapshot and its version (bumped on every new one); sent once per stream per version. */
  readonly cni?: () => { readonly version: number; readonly snapshot: WireCniSnapshot } | undefined;
  readonly onPlan: (c: AggregatorConnection, plan: Plan__Output) => void;
  readonly onStateChange?: (c: AggregatorConnection) => void;
  readonly onAttempt?: (c: AggregatorConnection) => void;
  readonly onAcked?: (c: AggregatorConnection, n: number) => void;
  /** The aggregator refused this report; it has been dropped from the outbox. */
  readonly onRefused?: (c: AggregatorConnection, r: WireReport, why: string) => void;
}

/** Writes take messages, or reports already framed (report-wire.ts), which the serializer passes through. */
type Call = grpc.ClientDuplexStream<AgentMessage | Buffer, AggregatorMessage__Output>;

/** What was written on the current stream and not yet known to be processed, in order. */
type Written = { readonly report: number } | { readonly cni: number };

/** Statuses by which the aggregator refuses something this agent sent (aggregator/grpc/collector.ts). */
const REFUSALS = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED, grpc.status.INTERNAL, grpc.status.FAILED_PRECONDITION]);

let collectorClient: typeof grpc.Client | undefined;

/** The Collector client, its serializer passing framed reports through; one class per process. */
function collectorClass(): new (address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions) => CollectorClient {
  if (!collectorClient) {
    const connect = loadProto().netmatrix.v1.Collector.service.Connect;
    collectorClient = grpc.makeClientConstructor(
      {
        Connect: {
          ...connect,
          requestSerialize: (m: AgentMessage | Buffer): Buffer => (Buffer.isBuffer(m) ? m : connect.requestSerialize(m)),
        },
      },
      'netmatrix.v1.Collector',
    );
  }
  return collectorClient as unknown as new (address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions) => CollectorClient;
}

/** Delay before reconnect attempt `attempt` (1-based): exponential, capped, with jitter in [½, 1]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(30, attempt - 1));
  return base / 2 + (random() * base) / 2;
}

export class AggregatorConnection {
  private client: CollectorClient | undefined;
  private call: Call | undefined;
  private ready = false;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private planTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  /** CNI snapshot version sent on the current stream (0: none). */
  private cniSent = 0;
  /** CNI snapshot version the aggregator refused: not sent again. */
  private cniRefused = 0;
  private written: Written[] = [];
  /** Reports allowed in flight on the current stream. */
  private window = 1;
  /** write() returned false: nothing more until 'drain'. */
  private blocked = false;
  /** An Ack came before the Plan: the aggregator said where to resume. */
  private resumed = false;
  /** The plan last received on the current stream. */
  plan: Plan__Output | undefined;

  constructor(private readonly o: ConnectionOptions) {
    this.random = o.random ?? Math.random;
  }

  get address(): string {
    return this.o.address;
  }
  get connected(): boolean {
    return this.ready;
  }

  start(): void {
    this.connect();
  }

  /** New reports are in the outbox: send them if the stream is up. */
  flush(): void {
    const call = this.call;
    if (!this.ready || !call || this.blocked) return;
    const cni = this.o.cni?.();
    if (cni && cni.version !== this.cniSent && cni.version !== this.cniRefused) {
      this.cniSent = cni.version;
      this.written.push({ cni: cni.version });
      if (!call.write({ cni: cni.snapshot })) return this.waitForDrain(call);
    }
    const box = this.o.outbox;
    for (let next = box.peek(); next; next = box.peek()) {
      if (box.inflight > 0 && (box.inflight >= this.window || box.inflightBytes + next.bytes > REPLAY_WINDOW_BYTES)) return;
      box.take();
      this.written.push({ report: next.sequence });
      if (!call.write(frameReport(next, this.o.clock.now()))) return this.waitForDrain(call);
    }
  }

  private waitForDrain(call: Call): void {
    this.blocked = true;
    call.once('drain', () => {
      if (this.call !== call) return;
      this.blocked = false;
      this.flush();
    });
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.teardown();
  }

  private connect(): void {
    if (this.closed) return;
    this.o.onAttempt?.(this);
    const Collector = collectorClass();
    const client = new Collector(this.o.address, this.o.credentials ?? grpc.credentials.createInsecure(), {
      ...this.o.channelOptions,
      'grpc.max_receive_message_length': this.o.maxMessageBytes,
      'grpc.max_send_message_length': this.o.maxMessageBytes,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      // Our own backoff decides when to try again.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
    });
    this.client = client;
    client.waitForReady(Date.now() + this.o.connectTimeoutMs, (err) => {
      if (this.closed || this.client !== client) return;
      if (err) return this.fail(`connect: ${err.message}`);
      this.open(client);
    });
  }

  private open(client: CollectorClient): void {
    // Metadata, not call credentials: grpc-js sends those over TLS only, and a token works on plaintext too.
    const metadata = new grpc.Metadata();
    if (this.o.token !== undefined) metadata.set('authorization', `Bearer ${this.o.token}`);
    // collectorClass()'s serializer also takes framed reports, which the generated typings do not know.
    const call = client.Connect(metadata) as unknown as Call;
    this.call = call;
    call.on('data', (msg: AggregatorMessage__Output) => {
      if (this.call !== call) return;
      if (msg.plan) {
        if (this.planTimer) clearTimeout(this.planTimer);
        this.planTimer = undefined;
        this.plan = msg.plan;
        if (!this.ready) {
          this.ready = true;
          if (this.resumed) this.window = REPLAY_WINDOW;
          this.o.log.info({ aggregator: this.o.address }, 'connected to aggregator');
          this.o.onStateChange?.(this);
        }
        this.o.onPlan(this, msg.plan);
        this.flush();
      } else if (msg.ack) {
        if (!this.ready) this.resumed = true;
        this.acked(msg.ack.sequence);
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      const why = `stream: ${grpc.status[err.code] ?? err.code}: ${err.details}`;
      // not_reading is about this agent's reading, not about anything it sent.
      if (this.ready && REFUSALS.has(err.code) && !/read nothing/.test(err.details)) this.refused(why);
      this.fail(why, err.code);
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.fail('stream ended by aggregator');
    });
    call.write({ hello: this.o.hello() });
    this.planTimer = setTimeout(() => {
      if (this.call === call) this.fail(`no plan within ${this.o.connectTimeoutMs}ms of hello`);
    }, this.o.connectTimeoutMs);
  }

  private acked(sequence: number): void {
    const box = this.o.outbox;
    const inflight = box.inflight;
    const n = box.ack(sequence);
    const sent = inflight - box.inflight;
    const last = this.written.findLastIndex((w) => 'report' in w && w.report <= sequence);
    if (last >= 0) this.written.splice(0, last + 1);
    if (sent > 0) {
      // Something sent on this stream was stored: the aggregator takes what we send.
      this.failures = 0;
      this.window = Math.min(REPLAY_WINDOW, this.window + sent);
    }
    if (n > 0) this.o.onAcked?.(this, n);
    this.flush();
  }

  private refused(why: string): void {
    const first = this.written[0];
    if (!first) return;
    if ('cni' in first) {
      this.cniRefused = first.cni;
      this.o.log.warn({ aggregator: this.o.address, why }, 'aggregator refused the CNI snapshot: not sent again until it changes');
      return;
    }
    const r = this.o.outbox.refuse(first.report);
    if (r) this.o.onRefused?.(this, r, why);
  }

  private fail(why: string, code?: grpc.status): void {
    const wasReady = this.ready;
    this.teardown();
    if (this.closed) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.o.backoffInitialMs, this.o.backoffMaxMs, this.random);
    const refused = code === grpc.status.INVALID_ARGUMENT || code === grpc.status.ALREADY_EXISTS || code === grpc.status.UNAUTHENTICATED;
    const level = refused || wasReady ? 'warn' : 'info';
    this.o.log[level]({ aggregator: this.o.address, why, retryInMs: Math.round(delay), attempt: this.failures }, 'aggregator stream down; will reconnect');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  private teardown(): void {
    const wasReady = this.ready;
    this.ready = false;
    this.plan = undefined;
    this.cniSent = 0;
    this.written = [];
    this.window = 1;
    this.blocked = false;
    this.resumed = false;
    if (this.planTimer) clearTimeout(this.planTimer);
    this.planTimer = undefined;
    const call = this.call;
    this.call = undefined;
    if (call) {
      call.removeAllListeners('data');
      call.removeAllListeners('drain');
      call.on('error', () => {}); // a late status after cancel must not be unhandled
      call.cancel();
    }
    this.client?.close();
    this.client = undefined;
    this.o.outbox.rewind();
    if (wasReady) this.o.onStateChange?.(this);
  }
}
