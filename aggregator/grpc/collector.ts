// The Collector service: one bidirectional stream per agent. It translates the
// wire messages into calls on AgentSessions (the core) and refusals into gRPC
// statuses, and pushes each agent its Plan whenever that plan changes.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import { bearerToken, type TokenCheck } from '../../common/tls.js';
import { dnsRoles, dnsTypes, probeKinds } from '../../common/vocabulary.js';
import type { AgentMessage__Output, AggregatorMessage, CollectorHandlers } from '../../proto/load.js';
import type { AgentSessions, Refusal } from '../agents.js';
import type { CniStore } from '../cni/store.js';
import type { NodeRecord, NodeRegistry } from '../nodes/registry.js';
import type { Oversized } from './server.js';
import { samePlan, type PlanBook, type PlanContent } from '../plan/plans.js';

type Call = grpc.ServerDuplexStream<AgentMessage__Output, AggregatorMessage>;

export type RefuseReason = Refusal['reason'] | 'unauthenticated' | 'hello_twice' | 'report_before_hello' | 'too_many_results' | 'empty_message' | 'oversized';

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
};

class Session {
  record: NodeRecord | undefined;
  lastPlan: PlanContent | undefined;
  ended = false;
  constructor(readonly call: Call) {}
}

export class Collector {
  private readonly live = new Set<Session>();
  private readonly unsubscribe: () => void;
  private pushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CollectorDeps) {
    this.unsubscribe = deps.nodes.onChange(() => {
      const wait = deps.planDebounceMs ?? 0;
      if (wait === 0) return this.pushPlans();
      this.pushTimer ??= setTimeout(() => {
        this.pushTimer = undefined;
        this.pushPlans();
      }, wait);
    });
  }

  private pushPlans(): void {
    for (const s of this.live) this.sendPlan(s);
  }

  /** Something in the plans besides the node set changed (DNS servers): push them now. */
  refresh(): void {
    this.pushPlans();
  }

  get streams(): number {
    return this.live.size;
  }

  readonly handlers: CollectorHandlers = {
    Connect: (call: Call) => this.connect(call),
  };

  /** Ends every stream (aggregator shutdown); agents reconnect elsewhere or later. */
  close(): void {
    this.unsubscribe();
    if (this.pushTimer) clearTimeout(this.pushTimer);
    for (const s of this.live) this.end(s, grpc.status.UNAVAILABLE, 'aggregator shutting down');
  }

  private connect(call: Call): void {
    const s = new Session(call);
    const peer = call.getPeer();
    const log = this.deps.log.child({ peer });
    if (this.deps.token) {
      const [value] = call.metadata.get('authorization');
      const presented = bearerToken(typeof value === 'string' ? value : undefined);
      // The log says which, never what was presented.
      if (presented === undefined) return this.refuse(s, log, 'unauthenticated', 'stream without a bearer token: set the agent\'s --token-file or NETMATRIX_TOKEN');
      if (!this.deps.token.matches(presented)) return this.refuse(s, log, 'unauthenticated', 'stream with a wrong bearer token');
    }
    call.on('data', (msg: AgentMessage__Output & Partial<Oversized>) => {
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
        this.sendPlan(s);
        // Tell a reconnecting agent what is already stored, so it can drop it.
        if (r.record.agent.highestSequence > 0) this.write(s, { ack: { sequence: r.record.agent.highestSequence } });
      } else if (msg.report) {
        if (!s.record) return this.refuse(s, log, 'report_before_hello', 'report before hello: send Hello first');
        const max = this.deps.sessions.limits.maxResultsPerReport;
        if (msg.report.results.length > max) {
          return this.refuse(s, log, 'too_many_results', `report has ${msg.report.results.length} results (at most ${max})`);
        }
        const out = this.deps.sessions.report(s.record, msg.report);
        if (Object.keys(out.rejected).length > 0) log.debug({ node: s.record.name, rejected: out.rejected }, 'results rejected');
        this.write(s, { ack: { sequence: s.record.agent.highestSequence } });
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
    if (this.live.delete(s) && s.record) this.deps.sessions.goodbye(s.record);
  }

  private sendPlan(s: Session): void {
    if (!s.record || s.ended) return;
    const plan = this.deps.plans.planFor(s.record);
    if (samePlan(s.lastPlan, plan)) return;
    s.lastPlan = plan;
    this.write(s, {
      plan: {
        epoch: plan.epoch,
        peers: plan.peers.map((p) => ({ ...p, podIps: [...p.podIps], nodeIps: [...p.nodeIps] })),
        kinds: plan.kinds.map((k) => probeKinds.toProto(k)),
        intervalMs: plan.intervalMs,
        timeoutMs: plan.timeoutMs,
        dnsServers: plan.dns.servers.map((s) => ({ name: s.name, address: s.address, port: s.port, role: dnsRoles.toProto(s.role) })),
        dnsQuestions: plan.dns.questions.map((q) => ({ name: q.name, type: dnsTypes.toProto(q.type === 'A' ? 'a' : 'aaaa') })),
        dnsNxZone: plan.dns.nxZone,
        dnsTcpCheck: plan.dns.tcpCheck,
      },
    });
  }

  private write(s: Session, msg: AggregatorMessage): void {
    if (!s.ended) s.call.write(msg);
  }
}
