// A Plan as a simulated agent follows it: its peers (by simulated node index),
// its kinds, interval and timeout, and its DNS probes, whatever planner made it
// (the full mesh lists every node, the receiving agent included, and the agent
// leaves itself out; a per-agent planner lists that agent's peers only).
//
// Plans are decoded with the proto loader, so a field the aggregator adds is
// read as soon as the .proto has it. A full-mesh plan is the same bytes for
// every agent (one encoding per epoch, written to every stream): at 1,000
// nodes that is ~50 KB of peers, and decoding it once per agent would cost
// the simulator more than the aggregator spends on it, so large plans are
// decoded once per worker and shared by every agent that received the same
// bytes (PlanCache).
import { isIP } from 'node:net';
import { checkPlanTiming } from '../agent/plan.js';
import { dnsRoles, dnsTypes, isPairKind, PAIR_KINDS, probeKinds, type PairKind } from '../common/vocabulary.js';
import { loadProto, type Plan__Output } from '../proto/load.js';
import { AGGREGATOR_MESSAGE_PLAN } from '../proto/wire-tags.js';
import { SIM_NAMESERVER, type SimNodes } from './nodes.js';

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
  /** Size of the encoded AggregatorMessage. */
  readonly bytes: number;
}

/** Why a plan is not followed (its timing is one no aggregator can be configured with), or undefined. */
export function refuseReason(p: Plan__Output): string | undefined {
  const bad = checkPlanTiming(p.intervalMs, p.timeoutMs);
  return bad ? `${bad.reason}: interval ${p.intervalMs} ms, timeout ${p.timeoutMs} ms (expected ${bad.expected})` : undefined;
}

export function simPlan(p: Plan__Output, nodes: SimNodes, bytes: number): SimPlan {
  // A kind this simulator does not know (a newer aggregator's) is left out, as the agent leaves out kinds it has no prober for.
  const kinds = p.kinds.map((k) => probeKinds.lookupProto(k)).filter(isPairKind).map((k: PairKind) => PAIR_KINDS.indexOf(k));
  const peers = p.peers.map((x) => ({ name: x.nodeName, index: nodes.index.get(x.nodeName) ?? -1, podIp: x.podIps[0] ?? '', nodeIp: x.nodeIps[0] ?? '' }));
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

/** Plans at least this large are decoded once per worker and shared (a full mesh of ~50 nodes and up). */
const SHARED_PLAN_BYTES = 4 * 1024;
/** Distinct large plans kept (a few epochs). */
const CACHED_PLANS = 8;

export type Decoded = { readonly plan: SimPlan } | { readonly refused: string; readonly epoch: number } | { readonly ack: number } | { readonly other: true };

/**
 * Decodes AggregatorMessages off the stream; plans of SHARED_PLAN_BYTES or
 * more are kept by their bytes, so the next stream that receives the same
 * bytes gets the same SimPlan without decoding.
 */
export class PlanCache {
  private readonly cached: { bytes: Buffer; decoded: Decoded }[] = [];
  private readonly def = loadProto().netmatrix.v1.Collector.service.Connect;
  /** Plans decoded, and plans taken from the cache. */
  decodes = 0;
  hits = 0;

  constructor(private readonly nodes: SimNodes) {}

  decode(b: Buffer): Decoded {
    if (b[0] !== AGGREGATOR_MESSAGE_PLAN) {
      const m = this.def.responseDeserialize(b);
      return m.ack ? { ack: Number(m.ack.sequence) } : { other: true };
    }
    const large = b.length >= SHARED_PLAN_BYTES;
    if (large) {
      for (const c of this.cached) {
        if (c.bytes.length === b.length && c.bytes.equals(b)) {
          this.hits++;
          return c.decoded;
        }
      }
    }
    this.decodes++;
    const p = this.def.responseDeserialize(b).plan!;
    const why = refuseReason(p);
    const decoded: Decoded = why ? { refused: why, epoch: p.epoch } : { plan: simPlan(p, this.nodes, b.length) };
    if (large) {
      this.cached.push({ bytes: Buffer.from(b), decoded });
      if (this.cached.length > CACHED_PLANS) this.cached.shift();
    }
    return decoded;
  }
}

