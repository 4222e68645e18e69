// Agent sessions, without any transport: what a Hello must contain, who may
// connect, and how a Report's results reach the matrix. The gRPC layer maps the
// refusals here to status codes; tests drive this module directly. Results
// arrive in columns (report-batch.ts), as the gRPC deserializer decodes them;
// report() takes decoded objects and goes the same way.
import { familyOf } from '../common/cidr.js';
import type { Clock } from '../common/clock.js';
import { isDns1123Subdomain } from '../common/names.js';
import {
  PAIR_KINDS,
  addressFamilies,
  capabilities as capabilityWords,
  outcomes,
  probeKinds,
  VocabularyError,
  dnsRecordType,
  dnsTypes,
  type Capability,
} from '../common/vocabulary.js';
import type { ResolverInfo } from './nodes/registry.js';
import type { DnsStore } from './dns/store.js';
import type { MatrixStore } from './matrix/store.js';
import type { NodeRecord, NodeRegistry } from './nodes/registry.js';
import { batchOf, DNS_KIND, type ReportBatch } from './report-batch.js';

/** What the wire Hello carries (proto-loader objects satisfy this shape). */
export interface HelloInput {
  readonly nodeName: string;
  readonly podIps: readonly string[];
  readonly nodeIps: readonly string[];
  readonly zone: string;
  readonly agentVersion: string;
  readonly capabilities: readonly (string | number)[];
  readonly responderPort: number;
  readonly instanceId: string;
  readonly resolver?: ResolverInput | null;
}

/** The Hello's resolver view: a ResolverInfo whose `error` is '' when there is none (proto3). */
export type ResolverInput = Omit<ResolverInfo, 'error'> & { readonly error: string };

export interface DnsResultWire {
  readonly server: string;
  readonly name: string;
  readonly type: string | number;
  readonly nxCheck: boolean;
  readonly tcpCheck: boolean;
  readonly answers: readonly string[];
  readonly rcode: string;
}

export interface ResultInput {
  readonly kind: string | number;
  readonly targetNode: string;
  readonly family: string | number;
  readonly outcome: string | number;
  readonly rttUs: number;
  readonly timestampMs: number;
  readonly targetIp?: string;
  readonly dns?: DnsResultWire | null;
  /** Set (> 0) when the agent's event loop was held up while the probe was in flight (docs/architecture.md, "Event-loop delay"). */
  readonly loopDelayUs?: number;
}

export interface ReportInput {
  readonly sequence: number;
  readonly sentAtMs: number;
  readonly results: readonly ResultInput[];
}

export type Refusal =
  | { readonly reason: 'invalid_hello'; readonly message: string }
  | { readonly reason: 'already_connected'; readonly message: string };

export type RejectReason = 'unknown_kind' | 'unknown_target' | 'bad_family' | 'bad_outcome' | 'self_target' | 'unknown_dns_server' | 'bad_dns_result';

export interface IngestOutcome {
  readonly duplicate: boolean;
  readonly accepted: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  /** The agent's clock stepped by this much (ms) since its last report (detected from the stream's offset); absent otherwise. */
  readonly clockStepMs?: number;
}

export interface SessionLimits {
  readonly maxResultsPerReport: number;
  /** Results older than this (by the agent's own clock at send time) are kept at this age. */
  readonly maxResultAgeMs: number;
}

const MAX_FIELD = 253;
const TIMEOUT_NUMBER = outcomes.words.indexOf('timeout') + 1;
const OK_NUMBER = outcomes.words.indexOf('ok') + 1;
// Wire number → storage index (-1: none), for the ingest hot path: a typed-array
// read instead of a Map lookup per result. A number beyond the table is -1 too.
const KIND_SLOT = new Int8Array(probeKinds.words.length + 1).fill(-1);
PAIR_KINDS.forEach((k, i) => (KIND_SLOT[probeKinds.words.indexOf(k) + 1] = i));
const OUTCOME_SLOT = Int8Array.from({ length: outcomes.words.length + 1 }, (_, n) => n - 1);
const FAMILY_SLOT = Int8Array.from({ length: addressFamilies.words.length + 1 }, (_, n) => n - 1);
const slotOf = (table: Int8Array, wire: number): number => (wire >= 0 && wire < table.length ? table[wire]! : -1);
/** More addresses than this in one reply is not a health-check answer; the result is rejected. */
const MAX_DNS_ANSWERS = 64;
const RESOLVER_LIST_MAX = 32;

/** The resolver view of a Hello, bounded: an odd resolv.conf is shown cut short, never refused. */
function resolverInfo(r: ResolverInput): ResolverInfo {
  const cut = (xs: readonly string[], what: string, warnings: string[]) => {
    if (xs.length > RESOLVER_LIST_MAX) warnings.push(`${xs.length} ${what}; the first ${RESOLVER_LIST_MAX} shown`);
    return xs.slice(0, RESOLVER_LIST_MAX).map((x) => x.slice(0, MAX_FIELD));
  };
  const warnings: string[] = [];
  const out = {
    nameservers: cut(r.nameservers, 'nameservers', warnings),
    search: cut(r.search, 'search domains', warnings),
    ndots: Math.min(r.ndots >>> 0, 15),
    timeoutSeconds: Math.min(r.timeoutSeconds >>> 0, 30),
    attempts: Math.min(r.attempts >>> 0, 5),
    error: r.error ? r.error.slice(0, 200) : null,
  };
  return { ...out, warnings: [...cut(r.warnings, 'warnings', warnings), ...warnings] };
}
const MAX_IPS = 8;

/** Plain counters the metrics outlet reads lazily. */
export class SessionStats {
  reports = 0;
  duplicates = 0;
  results = 0;
  readonly rejected = new Map<RejectReason, number>();
  readonly refused = new Map<Refusal['reason'], number>();
  /** Agent clock steps detected (a jump in a stream's offset). */
  clockSteps = 0;
}

export class AgentSessions {
  readonly stats = new SessionStats();
  /** Scratch: per target node index, the kinds (bits) that timed out in the report being ingested. */
  private timedOut = new Uint8Array(64);
  /** Scratch: per target of the batch being ingested, its node index (-1: unknown). */
  private dstOf = new Int32Array(64);

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly matrix: MatrixStore,
    private readonly clock: Clock,
    readonly limits: SessionLimits,
    /** Where dns results go; without it they are rejected as unknown_kind. */
    private readonly dns?: DnsStore,
  ) {}

  /** Validates a Hello and registers the agent; a refusal names what was wrong. */
  hello(h: HelloInput): { record: NodeRecord } | { refusal: Refusal } {
    const problem = helloProblem(h);
    if (problem) return this.refuse({ reason: 'invalid_hello', message: problem });
    const caps: Capability[] = [];
    try {
      for (const c of h.capabilities) caps.push(capabilityWords.fromProto(c));
    } catch (e) {
      if (e instanceof VocabularyError) return this.refuse({ reason: 'invalid_hello', message: `hello: ${e.message}` });
      throw e;
    }
    const existing = this.nodes.get(h.nodeName);
    if (existing?.agent.connected) {
      return this.refuse({
        reason: 'already_connected',
        message: `node ${JSON.stringify(h.nodeName)} already has a connected agent (instance ${existing.agent.instanceId})`,
      });
    }
    const now = this.clock.monotonic();
    const record = this.nodes.upsert({
      name: h.nodeName,
      zone: h.zone,
      podIPs: [...h.podIps],
      nodeIPs: [...h.nodeIps],
      responderPort: h.responderPort,
    }, now);
    const a = record.agent;
    if (a.instanceId !== h.instanceId) {
      // A restarted agent starts its sequence numbers again.
      a.instanceId = h.instanceId;
      a.highestSequence = 0;
      a.instanceSince = now;
    }
    // The agent was away (a new stream): what probes towards it saw meanwhile
    // (its responder down during a restart, an old pod IP) is not the
    // network's doing. Its column starts afresh.
    this.matrix.resetColumn(record.index);
    a.connected = true;
    a.clock.reset();
    a.version = h.agentVersion;
    a.capabilities = caps;
    a.connectedSince = now;
    a.disconnectedAt = null;
    a.resolver = h.resolver ? resolverInfo(h.resolver) : null;
    return { record };
  }

  goodbye(record: NodeRecord): void {
    record.agent.connected = false;
    record.agent.disconnectedAt = this.clock.monotonic();
  }

  /** Stores a report's results in the matrix; duplicates (same instance, sequence already stored) are dropped. */
  report(record: NodeRecord, r: ReportInput): IngestOutcome {
    return this.reportBatch(record, batchOf(r));
  }

  /** report() of a batch, the form the gRPC deserializer decodes a Report into: one pass over its columns. */
  reportBatch(record: NodeRecord, b: ReportBatch): IngestOutcome {
    const a = record.agent;
    if (b.sequence <= a.highestSequence) {
      this.stats.duplicates++;
      return { duplicate: true, accepted: 0, rejected: {} };
    }
    const receivedAt = this.clock.monotonic();
    a.highestSequence = b.sequence;
    a.lastReportAt = receivedAt;
    a.reports++;
    this.stats.reports++;
    const rejected: Partial<Record<RejectReason, number>> = {};
    let accepted = 0;
    const src = record.index;
    const maxAge = this.limits.maxResultAgeMs;
    const { offset, stepMs } = a.clock.observe(receivedAt, b.sentAtMs);
    if (stepMs !== undefined) this.stats.clockSteps++;
    this.matrix.touchRow(src, receivedAt);
    // Each distinct target looked up once (-1: not a known node).
    const targets = b.targets;
    if (this.dstOf.length < targets.length) this.dstOf = new Int32Array(targets.length * 2);
    const dstOf = this.dstOf;
    for (let t = 0; t < targets.length; t++) dstOf[t] = this.nodes.indexOf(targets[t]!) ?? -1;
    // Timeouts towards one target from several kinds in one report corroborate each other.
    if (this.timedOut.length < this.nodes.slots) this.timedOut = new Uint8Array(this.nodes.slots * 2);
    const touched: number[] = [];
    const n = b.length;
    const kinds = b.kind;
    const outcomesCol = b.outcome;
    const families = b.family;
    const target = b.target;
    const loopDelay = b.loopDelayUs;
    for (let i = 0; i < n; i++) {
      // A timeout its agent's stalled loop may have made corroborates nothing.
      if (outcomesCol[i] !== TIMEOUT_NUMBER || loopDelay[i] !== 0) continue;
      const kind = slotOf(KIND_SLOT, kinds[i]!);
      const dst = dstOf[target[i]!]!;
      if (dst < 0 || kind < 0) continue;
      if (this.timedOut[dst] === 0) touched.push(dst);
      this.timedOut[dst]! |= 1 << kind;
    }
    let dns = 0;
    for (let i = 0; i < n; i++) {
      const k = kinds[i]!;
      if (k === DNS_KIND) {
        const why = this.recordDns(src, b.dns[dns++]!, receivedAt, offset, maxAge);
        if (why === undefined) {
          accepted++;
          if (loopDelay[i] !== 0) countLoopDelayed(a, outcomesCol[i]!);
        }
        else {
          rejected[why] = (rejected[why] ?? 0) + 1;
          this.stats.rejected.set(why, (this.stats.rejected.get(why) ?? 0) + 1);
        }
        continue;
      }
      const kind = slotOf(KIND_SLOT, k);
      const outcome = slotOf(OUTCOME_SLOT, outcomesCol[i]!);
      const family = slotOf(FAMILY_SLOT, families[i]!);
      const dst = dstOf[target[i]!]!;
      let why: RejectReason | undefined;
      if (kind < 0) why = 'unknown_kind';
      else if (outcome < 0) why = 'bad_outcome';
      else if (family < 0) why = 'bad_family';
      else if (dst < 0) why = 'unknown_target';
      else if (dst === src) why = 'self_target';
      if (why !== undefined) {
        rejected[why] = (rejected[why] ?? 0) + 1;
        this.stats.rejected.set(why, (this.stats.rejected.get(why) ?? 0) + 1);
        continue;
      }
      // The probe's time on our clock, never in the future nor older than the window needs.
      const at = Math.min(receivedAt, Math.max(receivedAt - maxAge, b.timestampMs[i]! + offset));
      const bits = this.timedOut[dst]!;
      this.matrix.record(src, dst, kind, family, outcome, b.rttUs[i]!, at, (bits & (bits - 1)) !== 0, distorted(outcomesCol[i]!, b.rttUs[i]!, loopDelay[i]!));
      if (loopDelay[i] !== 0) countLoopDelayed(a, outcomesCol[i]!);
      accepted++;
    }
    for (const d of touched) this.timedOut[d] = 0;
    a.results += accepted;
    this.stats.results += accepted;
    return { duplicate: false, accepted, rejected, ...(stepMs !== undefined ? { clockStepMs: stepMs } : {}) };
  }

  private recordDns(src: number, res: ResultInput, receivedAt: number, offset: number, maxAge: number): RejectReason | undefined {
    if (!this.dns) return 'unknown_kind';
    const d = res.dns;
    const outcome = outcomes.lookupProto(res.outcome);
    const family = addressFamilies.lookupProto(res.family);
    const type = d ? dnsTypes.lookupProto(d.type) : undefined;
    if (!d || !outcome || !family || !type || !res.targetIp || !familyOf(res.targetIp) || d.answers.length > MAX_DNS_ANSWERS || d.name.length > 253) return 'bad_dns_result';
    const at = Math.min(receivedAt, Math.max(receivedAt - maxAge, res.timestampMs + offset));
    const ok = this.dns.record(src, {
      server: d.server,
      name: d.name,
      type: dnsRecordType(type),
      nxCheck: d.nxCheck,
      tcpCheck: d.tcpCheck,
      answers: d.answers.filter((x) => familyOf(x) !== undefined),
      rcode: d.rcode.slice(0, 16),
      ip: res.targetIp,
      family,
      outcome,
      rttUs: res.rttUs >>> 0,
      at,
      loopDelayed: distorted(outcome === 'timeout' ? TIMEOUT_NUMBER : OK_NUMBER, res.rttUs >>> 0, res.loopDelayUs ?? 0),
    });
    return ok ? undefined : 'unknown_dns_server';
  }

  private refuse(refusal: Refusal): { refusal: Refusal } {
    this.stats.refused.set(refusal.reason, (this.stats.refused.get(refusal.reason) ?? 0) + 1);
    return { refusal };
  }
}

/** A result its agent marked loop-delayed: an answer's RTT and a timeout are left unjudged by the stores; counted per node. */
/**
 * Whether a loop-delayed result is left out as the agent's doing: a timeout
 * whenever its agent marked it; an answer only when the stall is at least half
 * the time it measured (a slow server answering in 200 ms on an agent busy for
 * 20 ms meanwhile is still a slow server).
 */
function distorted(outcome: number, rttUs: number, loopDelayUs: number): boolean {
  if (loopDelayUs === 0) return false;
  return outcome === TIMEOUT_NUMBER || loopDelayUs * 2 >= rttUs;
}

function countLoopDelayed(a: NodeRecord['agent'], outcome: number): void {
  if (outcome === OK_NUMBER) a.loopDelayed.latency++;
  else if (outcome === TIMEOUT_NUMBER) a.loopDelayed.loss++;
}

/** What is wrong with a Hello, in one line, or undefined. */
export function helloProblem(h: HelloInput): string | undefined {
  if (!isDns1123Subdomain(h.nodeName)) {
    return `hello: node_name ${JSON.stringify(h.nodeName.slice(0, 80))} is not a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253 characters)`;
  }
  if (h.podIps.length === 0) return 'hello: pod_ips is empty';
  for (const [field, ips] of [['pod_ips', h.podIps], ['node_ips', h.nodeIps]] as const) {
    if (ips.length > MAX_IPS) return `hello: ${field} has ${ips.length} addresses (at most ${MAX_IPS})`;
    for (const ip of ips) if (!familyOf(ip)) return `hello: ${field} entry ${JSON.stringify(ip.slice(0, 64))} is not an IP address`;
  }
  if (!Number.isInteger(h.responderPort) || h.responderPort < 1 || h.responderPort > 65535) {
    return `hello: responder_port ${h.responderPort} is not a port (1-65535)`;
  }
  if (h.instanceId === '' || h.instanceId.length > 64) return 'hello: instance_id must be 1 to 64 characters';
  if (h.zone.length > 63) return 'hello: zone is longer than 63 characters';
  if (h.agentVersion.length > MAX_FIELD) return 'hello: agent_version is too long';
  return undefined;
}
