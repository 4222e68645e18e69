// The Collector service: one bidirectional stream per agent. It translates the
// wire messages into calls on AgentSessions (the core) and refusals into gRPC
// statuses, and pushes each agent its Plan whenever the plan's epoch moves.
// With a shared planner (the full mesh) the plan is encoded once per epoch and
// the same bytes go to every stream (plan-wire.ts, and the pass-through
// serializer in server.ts): a node-set change costs one encoding and N writes,
// not N plans of N peers. Each stream's writes go through a StreamSender, which
// honours backpressure and keeps at most one plan waiting.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import { bearerToken, type TokenCheck } from '../../common/tls.js';
import type { AggregatorMessage, CollectorHandlers } from '../../proto/load.js';
import type { AgentSessions, Refusal } from '../agents.js';
import type { CniStore } from '../cni/store.js';
import type { NodeRecord, NodeRegistry } from '../nodes/registry.js';
import type { PlanBook, PlanContent } from '../plan/plans.js';
import { encodePlan, type EncodedMessage } from './plan-wire.js';
import { releaseBatch, type AgentMessageIn } from './report-wire.js';
import type { Oversized } from './server.js';
import { StreamSender } from './stream-sender.js';

/** A Collector stream as the server sets it up: reports arrive as batches, writes take messages or encoded messages (server.ts). */
export type Call = grpc.ServerDuplexStream<AgentMessageIn, AggregatorMessage | EncodedMessage>;

export type RefuseReason =
  | Refusal['reason']
  | 'unauthenticated'
  | 'hello_twice'
  | 'report_before_hello'
  | 'too_many_results'
  | 'empty_message'
  | 'oversized'
  | 'not_reading';

/** Plain counters of plan pushes, read lazily by metrics/. */
export class PlanPushStats {
  /** Plans encoded: one per epoch with a shared planner, one per agent and epoch otherwise. */
  encodes = 0;
  /** Plans handed to an agent stream, and their bytes. */
  pushes = 0;
  bytes = 0;
  /** Plans that waited behind a stream that was not reading and were replaced by a newer one. */
  superseded = 0;
  /** Streams moved to a new epoch without a write: their sampled plan was the same under it (a suspect elsewhere). */
  unchanged = 0;
}

/** A stream with something waiting that reads nothing for this long is ended. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/**
 * A push round hands plans to streams for at most this long per turn of the
 * event loop, then yields: at 1,000 agents writing the plan (grpc-js copies it
 * behind its frame header, HTTP/2 queues it) takes 100-200 ms, which must not
 * stall ingest and the API in one piece (`npm run bench -- plans`).
 */
export const PUSH_SLICE_MS = 10;

export interface CollectorDeps {
  readonly sessions: AgentSessions;
  readonly plans: PlanBook;
  readonly nodes: NodeRegistry;
  /** Where CNI snapshots go; without it they are ignored. */
  readonly cni?: CniStore;
  readonly now?: () => number;
  readonly log: Logger;
  /** When set, a stream must carry `authorization: Bearer <token>` metadata with this token. */
  readonly token?: TokenCheck;
  /** Called for every stream the collector refuses (for metrics). */
  readonly onRefused?: (reason: RefuseReason) => void;
  /**
   * Node-set changes within this time are pushed to connected agents as one
   * plan update: when N agents connect at once, that is a few pushes instead
   * of N (each O(N) peers to every one of N agents). 0 pushes at once.
   */
  readonly planDebounceMs?: number;
  /** Where plan pushes are counted; default a private one. */
  readonly planStats?: PlanPushStats;
  /**
   * A stream that has messages waiting (its agent does not read) and makes no
   * progress for this long is ended with RESOURCE_EXHAUSTED (reason
   * not_reading); the agent reconnects and gets the current plan.
   */
  readonly stallTimeoutMs?: number;
}

const REFUSAL_CODES: Record<RefuseReason, grpc.status> = {
  unauthenticated: grpc.status.UNAUTHENTICATED,
  invalid_hello: grpc.status.INVALID_ARGUMENT,
  hello_twice: grpc.status.INVALID_ARGUMENT,
  empty_message: grpc.status.INVALID_ARGUMENT,
  too_many_results: grpc.status.INVALID_ARGUMENT,
  already_connected: grpc.status.ALREADY_EXISTS,
  report_before_hello: grpc.status.FAILED_PRECONDITION,
  oversized: grpc.status.RESOURCE_EXHAUSTED,
  not_reading: grpc.status.RESOURCE_EXHAUSTED,
};

class Session {
  record: NodeRecord | undefined;
  /** Epoch of the last plan sent on this stream (-1: none yet). */
  planEpoch = -1;
  ended = false;
  constructor(
    readonly call: Call,
    readonly sender: StreamSender,
  ) {}
}

export class Collector {
  private readonly live = new Set<Session>();
  private readonly unsubscribe: () => void;
  private pushTimer: NodeJS.Timeout | undefined;
  /** The push round in progress: the streams it goes through, where it is, and what it has done so far. */
  private round: { readonly streams: Session[]; next: number; queued: number; slices: number; busyMs: number; readonly t0: number; readonly pushes: number; readonly bytes: number } | undefined;
  private roundImmediate: NodeJS.Immediate | undefined;
  /** The shared plan's encoding, for its epoch. */
  private encoded: { readonly epoch: number; readonly bytes: EncodedMessage } | undefined;
  readonly planStats: PlanPushStats;

  constructor(private readonly deps: CollectorDeps) {
    this.planStats = deps.planStats ?? new PlanPushStats();
    this.unsubscribe = deps.nodes.onChange(() => {
      const wait = deps.planDebounceMs ?? 0;
      if (wait === 0) return this.pushPlans();
      this.pushTimer ??= setTimeout(() => {
        this.pushTimer = undefined;
        this.pushPlans();
      }, wait);
    });
  }

  /**
   * Gives every stream the current plan, in slices of PUSH_SLICE_MS. A change
   * during a round starts it over: the streams it already served are skipped in
   * O(1) (their epoch is current) or get the newer plan.
   */
  private pushPlans(): void {
    if (this.roundImmediate) clearImmediate(this.roundImmediate);
    this.roundImmediate = undefined;
    this.round = undefined;
    if (this.live.size === 0) return;
    const stats = this.planStats;
    this.round = { streams: [...this.live], next: 0, queued: 0, slices: 0, busyMs: 0, t0: performance.now(), pushes: stats.pushes, bytes: stats.bytes };
    this.pushSlice();
  }

  private pushSlice(): void {
    this.roundImmediate = undefined;
    const r = this.round;
    if (!r) return;
    r.slices++;
    const start = performance.now();
    const until = start + PUSH_SLICE_MS;
    let now: number;
    do {
      if (this.sendPlan(r.streams[r.next++]!)) r.queued++;
      now = performance.now();
    } while (r.next < r.streams.length && now < until);
    r.busyMs += now - start;
    if (r.next < r.streams.length) {
      this.roundImmediate = setImmediate(() => this.pushSlice());
      return;
    }
    this.round = undefined;
    if (r.queued === 0) return;
    this.deps.log.debug(
      {
        epoch: this.deps.plans.currentEpoch(),
        streams: r.queued,
        written: this.planStats.pushes - r.pushes,
        bytes: this.planStats.bytes - r.bytes,
        slices: r.slices,
        // The collector's own time; `ms` also holds whatever ran between the slices.
        busyMs: Math.round(r.busyMs * 10) / 10,
        ms: Math.round((performance.now() - r.t0) * 10) / 10,
      },
      'plans pushed',
    );
  }

  /** Something in the plans besides the node set changed (DNS servers): push them now. */
  refresh(): void {
    this.pushPlans();
  }

  get streams(): number {
    return this.live.size;
  }

  /** Streams with messages waiting because their agent is not reading (O(streams): for scrapes and tests). */
  waitingStreams(): number {
    let n = 0;
    for (const s of this.live) if (s.sender.waiting > 0) n++;
    return n;
  }

  readonly handlers: CollectorHandlers = {
    // The server's serializer also takes encoded messages (server.ts), which grpc-js's typings do not know.
    Connect: (call) => this.connect(call as unknown as Call),
  };

  /** Ends every stream (aggregator shutdown); agents reconnect elsewhere or later. */
  close(): void {
    this.unsubscribe();
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.roundImmediate) clearImmediate(this.roundImmediate);
    this.round = undefined;
    for (const s of this.live) this.end(s, grpc.status.UNAVAILABLE, 'aggregator shutting down');
  }

  private connect(call: Call): void {
    const peer = call.getPeer();
    const log = this.deps.log.child({ peer });
    const stats = this.planStats;
    const stallTimeoutMs = this.deps.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    const s: Session = new Session(
      call,
      new StreamSender(call, {
        stallTimeoutMs,
        onStall: (waiting) => this.refuse(s, log, 'not_reading', `agent read nothing for ${stallTimeoutMs}ms with ${waiting} messages waiting`),
        onPlanWritten: (bytes) => {
          stats.pushes++;
          stats.bytes += bytes;
        },
        onSuperseded: (epoch, by) => {
          stats.superseded++;
          log.debug({ node: s.record?.name, epoch, by }, 'waiting plan replaced by a newer one: the agent is not reading');
        },
      }),
    );
    if (this.deps.token) {
      const [value] = call.metadata.get('authorization');
      const presented = bearerToken(typeof value === 'string' ? value : undefined);
      // The log says which, never what was presented.
      if (presented === undefined) return this.refuse(s, log, 'unauthenticated', 'stream without a bearer token: set the agent\'s --token-file or NETMATRIX_TOKEN');
      if (!this.deps.token.matches(presented)) return this.refuse(s, log, 'unauthenticated', 'stream with a wrong bearer token');
    }
    call.on('data', (msg: AgentMessageIn & Partial<Oversized>) => {
      if (s.ended) return;
      if (msg.oversized) {
        const { bytes, limit } = msg.oversized;
        return this.refuse(s, log, 'oversized', `message of ${bytes} bytes exceeds the limit of ${limit} bytes`);
      }
      if (msg.hello) {
        if (s.record) return this.refuse(s, log, 'hello_twice', 'hello sent twice on one stream');
        const r = this.deps.sessions.hello(msg.hello);
        if ('refusal' in r) return this.refuse(s, log, r.refusal.reason, r.refusal.message);
        s.record = r.record;
        this.live.add(s);
        log.info({ node: r.record.name, instance: msg.hello.instanceId, version: msg.hello.agentVersion }, 'agent connected');
        // The resume point first, always (0: nothing stored): an agent reads an Ack
        // before the Plan as what this aggregator already has, drops that, and
        // replays only the rest (agent/report/reporter.ts).
        s.sender.sendAck(r.record.agent.highestSequence);
        this.sendPlan(s);
      } else if (msg.report) {
        if (!s.record) return this.refuse(s, log, 'report_before_hello', 'report before hello: send Hello first');
        const max = this.deps.sessions.limits.maxResultsPerReport;
        if (msg.report.length > max) {
          return this.refuse(s, log, 'too_many_results', `report has ${msg.report.length} results (at most ${max})`);
        }
        const out = this.deps.sessions.reportBatch(s.record, msg.report);
        releaseBatch(msg.report);
        if (Object.keys(out.rejected).length > 0) log.debug({ node: s.record.name, rejected: out.rejected }, 'results rejected');
        if (out.clockStepMs !== undefined) log.warn({ node: s.record.name, stepMs: out.clockStepMs }, 'agent clock stepped: its results are placed by the new offset, nothing is blanked');
        s.sender.sendAck(s.record.agent.highestSequence);
      } else if (msg.cni) {
        if (!s.record) return this.refuse(s, log, 'report_before_hello', 'cni snapshot before hello: send Hello first');
        const problem = this.deps.cni?.record(s.record.name, msg.cni, this.deps.now?.() ?? Date.now());
        // A bad snapshot is dropped, not the stream: probe reports keep flowing.
        if (problem) log.warn({ node: s.record.name }, problem);
      } else {
        this.refuse(s, log, 'empty_message', 'agent message carries neither hello, report nor cni snapshot');
      }
    });
    const gone = (why: string) => () => {
      if (s.ended) return;
      s.ended = true;
      this.release(s);
      if (s.record) log.info({ node: s.record.name, why }, 'agent disconnected');
    };
    call.on('end', () => {
      gone('end')();
      call.end();
    });
    call.on('cancelled', gone('cancelled'));
    call.on('error', gone('error'));
  }

  private refuse(s: Session, log: Logger, reason: RefuseReason, message: string): void {
    log.warn({ reason, node: s.record?.name }, message);
    this.deps.onRefused?.(reason);
    this.end(s, REFUSAL_CODES[reason], message);
  }

  private end(s: Session, code: grpc.status, details: string): void {
    if (s.ended) return;
    s.ended = true;
    this.release(s);
    // grpc-js turns an 'error' event on a server stream into the call's status.
    s.call.emit('error', { code, details });
  }

  private release(s: Session): void {
    s.sender.close();
    if (this.live.delete(s) && s.record) this.deps.sessions.goodbye(s.record);
  }

  /** Queues the current plan on the stream unless it already has this epoch; true when it queued one. */
  private sendPlan(s: Session): boolean {
    if (!s.record || s.ended) return false;
    const plans = this.deps.plans;
    const epoch = plans.currentEpoch();
    if (s.planEpoch === epoch) return false;
    // A sampled plan whose new epoch leaves this agent's plan as it was (a suspect elsewhere): nothing to send.
    if (plans.samePlan(s.planEpoch, s.record)) {
      s.planEpoch = epoch;
      this.planStats.unchanged++;
      return false;
    }
    s.planEpoch = epoch;
    s.sender.sendPlan(plans.isShared ? this.sharedPlanBytes() : this.encode(plans.planFor(s.record)), epoch);
    return true;
  }

  private sharedPlanBytes(): EncodedMessage {
    const plan = this.deps.plans.sharedPlan()!;
    if (this.encoded?.epoch !== plan.epoch) {
      const t0 = performance.now();
      const bytes = this.encode(plan);
      this.encoded = { epoch: plan.epoch, bytes };
      this.deps.log.debug({ epoch: plan.epoch, peers: plan.peers.length, bytes: bytes.length, ms: Math.round((performance.now() - t0) * 10) / 10 }, 'plan encoded');
    }
    return this.encoded.bytes;
  }

  private encode(plan: PlanContent): EncodedMessage {
    this.planStats.encodes++;
    return encodePlan(plan);
  }
}
