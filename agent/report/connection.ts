// One agent → aggregator stream: connect with a deadline, Hello, wait for the
// Plan (with a deadline), send the outbox, release what is acknowledged, and on
// any failure reconnect with exponential backoff and jitter, replaying every
// unacknowledged report on the new stream.
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
  type WireProbeResult,
} from '../../proto/load.js';
import type { Outbox } from './outbox.js';

export interface WireReport {
  readonly sequence: number;
  readonly round: number;
  readonly results: readonly WireProbeResult[];
}

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
}

type Call = grpc.ClientDuplexStream<AgentMessage, AggregatorMessage__Output>;

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
    if (!this.ready || !this.call) return;
    const cni = this.o.cni?.();
    if (cni && cni.version !== this.cniSent) {
      this.cniSent = cni.version;
      this.call.write({ cni: cni.snapshot });
    }
    const sentAtMs = this.o.clock.now();
    for (const r of this.o.outbox.takeUnsent()) {
      this.call.write({ report: { sequence: r.sequence, round: r.round, sentAtMs, results: r.results as WireProbeResult[] } });
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.teardown();
  }

  private connect(): void {
    if (this.closed) return;
    this.o.onAttempt?.(this);
    const Collector = loadProto().netmatrix.v1.Collector;
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
    const call = client.Connect(metadata);
    this.call = call;
    call.on('data', (msg: AggregatorMessage__Output) => {
      if (this.call !== call) return;
      if (msg.plan) {
        if (this.planTimer) clearTimeout(this.planTimer);
        this.planTimer = undefined;
        this.plan = msg.plan;
        if (!this.ready) {
          this.ready = true;
          this.failures = 0;
          this.o.log.info({ aggregator: this.o.address }, 'connected to aggregator');
          this.o.onStateChange?.(this);
        }
        this.o.onPlan(this, msg.plan);
        this.flush();
      } else if (msg.ack) {
        const n = this.o.outbox.ack(msg.ack.sequence);
        if (n > 0) this.o.onAcked?.(this, n);
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      this.fail(`stream: ${grpc.status[err.code] ?? err.code}: ${err.details}`, err.code);
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
    if (this.planTimer) clearTimeout(this.planTimer);
    this.planTimer = undefined;
    const call = this.call;
    this.call = undefined;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => {}); // a late status after cancel must not be unhandled
      call.cancel();
    }
    this.client?.close();
    this.client = undefined;
    this.o.outbox.rewind();
    if (wasReady) this.o.onStateChange?.(this);
  }
}
