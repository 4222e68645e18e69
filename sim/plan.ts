// A Plan as a simulated agent follows it: its peers (by simulated node index),
// its kinds, interval and timeout, and its DNS probes, whatever planner made it
// (the full mesh lists every node, the receiving agent included, and the agent
// leaves itself out; a per-agent planner lists that agent's peers only; a
// sampled plan lists every node in ring order plus the agent's Sampling part,
// and the agent walks the ring: walk.ts).
//
// Plans are decoded with the project's Collector definition (proto/load.ts),
// so they read as the agent reads them. A full-mesh plan is the same bytes for
// every agent (one encoding per epoch, written to every stream): at 1,000
// nodes that is ~50 KB of peers, and decoding it once per agent would cost
// the simulator more than the aggregator spends on it, so large plans are
// decoded once per worker and shared by every agent that received the same
// bytes (PlanCache). A sampled plan is that same directory for every agent
// plus a small Sampling part of its own: the directory is shared the same way.
import { isIP } from 'node:net';
import { checkPlanTiming } from '../agent/plan.js';
import { dnsRoles, dnsTypes, isPairKind, PAIR_KINDS, probeKinds, type PairKind } from '../common/vocabulary.js';
import { loadProto, type Plan__Output } from '../proto/load.js';
import { AGGREGATOR_MESSAGE_PLAN } from '../proto/wire-tags.js';
import { readVarint, varintBytes } from '../proto/varint.js';
import { SIM_NAMESERVER } from './nodes.js';

export interface SimPeer {
  readonly name: string;
  /** The peer's simulated node index; -1 for a node this simulation does not run (nothing answers it). */
  readonly index: number;
  /** First pod IP and node IP ('' when the plan has none). */
  readonly podIp: string;
  readonly nodeIp: string;
}

/** One DNS probe of a round: a server asked one question (or the "must not exist" name, or the TCP check). */
export interface SimDnsProbe {
  readonly server: string;
  readonly address: string;
  readonly name: string;
  readonly type: 'a' | 'aaaa';
  readonly nx: boolean;
  readonly tcpCheck: boolean;
}

export interface SimPlan {
  readonly epoch: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** PAIR_KINDS indexes, in the plan's order (dns is in `dns`). */
  readonly kinds: readonly number[];
  readonly peers: readonly SimPeer[];
  readonly dns: readonly SimDnsProbe[];
  /** Size of the encoded directory (the plan but its sampling part). */
  readonly bytes: number;
}

/** Why a plan is not followed (its timing is one no aggregator can be configured with), or undefined. */
export function refuseReason(p: Plan__Output): string | undefined {
  const bad = checkPlanTiming(p.intervalMs, p.timeoutMs);
  return bad ? `${bad.reason}: interval ${p.intervalMs} ms, timeout ${p.timeoutMs} ms (expected ${bad.expected})` : undefined;
}

export function simPlan(p: Plan__Output, index: ReadonlyMap<string, number>, bytes: number): SimPlan {
  // A kind this simulator does not know (a newer aggregator's) is left out, as the agent leaves out kinds it has no prober for.
  const kinds = p.kinds.map((k) => probeKinds.lookupProto(k)).filter(isPairKind).map((k: PairKind) => PAIR_KINDS.indexOf(k));
  const peers = p.peers.map((x) => ({ name: x.nodeName, index: index.get(x.nodeName) ?? -1, podIp: x.podIps[0] ?? '', nodeIp: x.nodeIps[0] ?? '' }));
  const dns: SimDnsProbe[] = [];
  for (const s of p.dnsServers) {
    // The service role without an address is "my resolv.conf's first nameserver".
    const address = s.address !== '' ? s.address : dnsRoles.lookupProto(s.role) === 'service' ? SIM_NAMESERVER : '';
    if (isIP(address) === 0) continue;
    for (const q of p.dnsQuestions) dns.push({ server: s.name, address, name: q.name, type: dnsTypes.lookupProto(q.type) === 'aaaa' ? 'aaaa' : 'a', nx: false, tcpCheck: false });
    if (p.dnsNxZone !== '') dns.push({ server: s.name, address, name: '', type: 'a', nx: true, tcpCheck: false });
    const first = p.dnsQuestions[0];
    if (p.dnsTcpCheck && first) dns.push({ server: s.name, address, name: first.name, type: dnsTypes.lookupProto(first.type) === 'aaaa' ? 'aaaa' : 'a', nx: false, tcpCheck: true });
  }
  return Object.freeze({ epoch: p.epoch, intervalMs: p.intervalMs, timeoutMs: p.timeoutMs, kinds, peers, dns, bytes });
}

/** Directories at least this large are decoded once per worker and shared (a full mesh of ~50 nodes and up). */
const SHARED_PLAN_BYTES = 4 * 1024;
/** Distinct large directories kept (a few epochs). */
const CACHED_PLANS = 8;
/** Plan.sampling: field 10, length-delimited. */
const PLAN_SAMPLING = (10 << 3) | 2;

/** A sampled plan's part for one agent (Plan.sampling): it probes peersPerRound peers a round, the fixed ones (positions in the directory) every round. */
export interface SimSampling {
  readonly peersPerRound: number;
  readonly fixed: readonly number[];
  readonly followMax: number;
}

export type Decoded =
  | { readonly plan: SimPlan; readonly sampling: SimSampling | null }
  | { readonly refused: string; readonly epoch: number }
  | { readonly ack: number }
  | { readonly other: true };

/** A Plan's bytes as an encoded AggregatorMessage { plan } (what the proto loader decodes). */
const asMessage = (plan: Buffer) => Buffer.concat([Buffer.from([AGGREGATOR_MESSAGE_PLAN, ...varintBytes(plan.length)]), plan]);

/**
 * A plan's bytes split into its directory (every field but `sampling`: the
 * same bytes for every agent of an epoch, the full mesh's whole plan) and its
 * Sampling field (the agent's own, absent in a full mesh). Protobuf fields may
 * come in any order: the aggregator writes the directory first, but any order
 * is read.
 */
export function splitPlan(msg: Buffer): { directory: Buffer; sampling: Buffer | undefined } {
  const [length, start] = readVarint(msg, 1);
  const end = start + length;
  if (end !== msg.length) throw new Error(`sim: a plan of ${length} bytes in a ${msg.length}-byte message`);
  const parts: Buffer[] = [];
  let sampling: Buffer | undefined;
  let at = start;
  let from = start;
  while (at < end) {
    const fieldStart = at;
    const [tag, afterTag] = readVarint(msg, at);
    switch (tag & 7) {
      case 0:
        at = readVarint(msg, afterTag)[1];
        break;
      case 1:
        at = afterTag + 8;
        break;
      case 2: {
        const [len, data] = readVarint(msg, afterTag);
        at = data + len;
        break;
      }
      case 5:
        at = afterTag + 4;
        break;
      default:
        throw new Error(`sim: wire type ${tag & 7} at ${fieldStart} of a plan`);
    }
    if (tag === PLAN_SAMPLING) {
      if (fieldStart > from) parts.push(msg.subarray(from, fieldStart));
      // A repeated message field merges; the aggregator sends one.
      sampling = sampling ? Buffer.concat([sampling, msg.subarray(fieldStart, at)]) : msg.subarray(fieldStart, at);
      from = at;
    }
  }
  if (at !== end) throw new Error('sim: a plan field runs past the plan');
  if (end > from) parts.push(msg.subarray(from, end));
  return { directory: parts.length === 1 ? parts[0]! : Buffer.concat(parts), sampling };
}

/**
 * Decodes AggregatorMessages off the stream. A plan's directory of
 * SHARED_PLAN_BYTES or more is kept by its bytes, so the next stream that
 * receives the same directory gets the same SimPlan without decoding it; the
 * small Sampling part is decoded for each.
 */
export class PlanCache {
  private readonly cached: { bytes: Buffer; decoded: Decoded }[] = [];
  private readonly def = loadProto().netmatrix.v1.Collector.service.Connect;
  /** Directories decoded, and directories taken from the cache. */
  decodes = 0;
  hits = 0;

  /** `index`: node index by name (a peer not in it is one nothing answers). */
  constructor(private readonly index: ReadonlyMap<string, number>) {}

  decode(b: Buffer): Decoded {
    if (b[0] !== AGGREGATOR_MESSAGE_PLAN) {
      const m = this.def.responseDeserialize(b);
      return m.ack ? { ack: Number(m.ack.sequence) } : { other: true };
    }
    const { directory, sampling } = splitPlan(b);
    const dir = this.directory(directory);
    if (!('plan' in dir) || !sampling) return dir;
    const s = this.def.responseDeserialize(asMessage(sampling)).plan!.sampling!;
    return { plan: dir.plan, sampling: Object.freeze({ peersPerRound: s.peersPerRound, fixed: s.fixed, followMax: s.followMax }) };
  }

  private directory(bytes: Buffer): Decoded {
    const large = bytes.length >= SHARED_PLAN_BYTES;
    if (large) {
      for (const c of this.cached) {
        if (c.bytes.length === bytes.length && c.bytes.equals(bytes)) {
          this.hits++;
          return c.decoded;
        }
      }
    }
    this.decodes++;
    const p = this.def.responseDeserialize(asMessage(bytes)).plan!;
    const why = refuseReason(p);
    const decoded: Decoded = why ? { refused: why, epoch: p.epoch } : { plan: simPlan(p, this.index, bytes.length), sampling: null };
    if (large) {
      this.cached.push({ bytes: Buffer.from(bytes), decoded });
      if (this.cached.length > CACHED_PLANS) this.cached.shift();
    }
    return decoded;
  }
}
