// Reports written straight in the protobuf wire format. The cost of the
// sender is what limits a simulator: 1,000 agents of a full mesh send 4 M
// results every 5 s, which protobufjs would take ~2 µs each to encode (8 CPU-s
// per interval, more than the sender has). So the static part of each result
// (kind, target node, target IP, family; a DNS result's whole DnsResult) is
// encoded once per plan and shared by every agent following that plan, and a
// round only appends outcome, RTT and timestamp. Fields may come in any order
// in protobuf, and test/sim/report-wire.test.ts checks the bytes against the
// proto loader's decoding.
//
// A round is split into reports of at most --max-results-per-report results
// and --grpc-max-message-bytes bytes, as the agent splits them (the
// aggregator refuses a larger one).
import { FRAME_OVERHEAD, encodeResultPrefix, encodeResults } from '../agent/report/report-wire.js';
import { isIP } from 'node:net';
import { addressFamilies, dnsTypes, outcomes, PAIR_KINDS, probeKinds } from '../common/vocabulary.js';
import {
  AGENT_MESSAGE_REPORT,
  REPORT_RESULT,
  REPORT_ROUND,
  REPORT_SENT_AT,
  REPORT_SEQUENCE,
  RESULT_OUTCOME,
  RESULT_RTT,
  RESULT_TIMESTAMP,
} from '../proto/wire-tags.js';
import { varintLength, writeVarint } from '../proto/varint.js';
import { OK, type FaultModel, type Probe } from './faults.js';
import type { SimPlan } from './plan.js';

const NODE_KIND = PAIR_KINDS.indexOf('node');
const DNS_RTT_US = 800;
const DNS_OK = outcomes.index('ok') + 1;
const DNS_NXDOMAIN = outcomes.index('nxdomain') + 1;
/** The address every simulated name resolves to. */
const DNS_ANSWER = '10.96.0.1';

/** The encoded static parts of a plan's results: peers × kinds, then DNS probes. */
interface Statics {
  readonly bytes: Buffer;
  /** Where static j starts in `bytes` (length j+1); a pair static of length 0 is a probe the plan can't make (no address). */
  readonly start: Uint32Array;
  /** Outcome (wire number) of each DNS probe. */
  readonly dnsOutcome: Uint8Array;
}

export interface ReportLimits {
  /** Largest AgentMessage, bytes (the agent's --grpc-max-message-bytes). */
  readonly maxMessageBytes: number;
  readonly maxResultsPerReport: number;
}

export interface EncodedRound {
  /** AgentMessages, sequences `firstSequence`, `firstSequence + 1`, … */
  readonly messages: Buffer[];
  readonly results: number;
}

export class ReportEncoder {
  private readonly statics = new WeakMap<SimPlan, Statics>();
  private readonly p: Probe = { outcome: 0, rttUs: 0 };
  private outcome = new Uint8Array(0);
  private rtt = new Uint32Array(0);
  private which = new Int32Array(0);

  constructor(
    private readonly model: FaultModel,
    private readonly limits: ReportLimits,
  ) {}

  /** Positions (in the plan's peers) of the `targets` of the last encode() with a result other than ok. */
  readonly failed: number[] = [];

  /**
   * Node `self`'s results of `round` under `plan` (every peer but itself, or
   * the `targets` positions of a sampled round, × every kind, and the DNS
   * probes), probed at `probedAtMs` and sent at `sentAtMs` (its wall clock),
   * the injected faults on when `active`, agents away judged at `nowMs`.
   */
  encode(self: number, plan: SimPlan, round: number, firstSequence: number, probedAtMs: number, sentAtMs: number, active: boolean, nowMs: number, targets?: readonly number[]): EncodedRound {
    const st = this.staticsOf(plan);
    const K = plan.kinds.length;
    const pairs = plan.peers.length * K;
    const total = (targets ? targets.length * K : pairs) + plan.dns.length;
    if (this.which.length < total) {
      this.outcome = new Uint8Array(total);
      this.rtt = new Uint32Array(total);
      this.which = new Int32Array(total);
    }
    const { outcome, rtt, which, p, model, failed } = this;
    model.timeoutUs = plan.timeoutMs * 1000;
    failed.length = 0;
    let count = 0;
    const peers = targets ?? plan.peers.length;
    for (let t = 0; t < (typeof peers === 'number' ? peers : peers.length); t++) {
      const i = typeof peers === 'number' ? t : peers[t]!;
      const d = plan.peers[i]!.index;
      if (d === self) continue;
      let ok = true;
      for (let k = 0; k < K; k++) {
        const j = i * K + k;
        if (st.start[j + 1] === st.start[j]) continue;
        model.probe(self, d, plan.kinds[k]!, round, active, nowMs, p);
        outcome[count] = p.outcome + 1;
        rtt[count] = p.rttUs;
        which[count++] = j;
        ok &&= p.outcome === OK;
      }
      if (targets && !ok) failed.push(i);
    }
    for (let q = 0; q < plan.dns.length; q++) {
      outcome[count] = st.dnsOutcome[q]!;
      rtt[count] = DNS_RTT_US;
      which[count++] = pairs + q;
    }
    const tsLength = 1 + varintLength(probedAtMs);
    const itemLength = (r: number) => {
      const j = which[r]!;
      return st.start[j + 1]! - st.start[j]! + 2 + 1 + varintLength(rtt[r]!) + tsLength;
    };
    const room = this.limits.maxMessageBytes - FRAME_OVERHEAD;
    const messages: Buffer[] = [];
    let first = 0;
    let sequence = firstSequence;
    // An empty round still goes out: it says the agent is alive.
    while (first < count || (count === 0 && messages.length === 0)) {
      let bytes = 0;
      let last = first;
      while (last < count && last - first < this.limits.maxResultsPerReport) {
        const len = itemLength(last);
        const size = 1 + varintLength(len) + len;
        if (last > first && bytes + size > room) break;
        bytes += size;
        last++;
      }
      messages.push(this.frame(st, sequence++, round, sentAtMs, probedAtMs, first, last, bytes, itemLength));
      first = last;
    }
    return { messages, results: count };
  }

  private frame(st: Statics, sequence: number, round: number, sentAtMs: number, probedAtMs: number, from: number, to: number, resultBytes: number, itemLength: (r: number) => number): Buffer {
    const body = 1 + varintLength(sequence) + 1 + varintLength(round) + 1 + varintLength(sentAtMs) + resultBytes;
    const buf = Buffer.allocUnsafe(1 + varintLength(body) + body);
    let pos = 0;
    buf[pos++] = AGENT_MESSAGE_REPORT;
    pos = writeVarint(buf, pos, body);
    buf[pos++] = REPORT_SEQUENCE;
    pos = writeVarint(buf, pos, sequence);
    buf[pos++] = REPORT_ROUND;
    pos = writeVarint(buf, pos, round);
    buf[pos++] = REPORT_SENT_AT;
    pos = writeVarint(buf, pos, sentAtMs);
    for (let r = from; r < to; r++) {
      const j = this.which[r]!;
      buf[pos++] = REPORT_RESULT;
      pos = writeVarint(buf, pos, itemLength(r));
      pos += st.bytes.copy(buf, pos, st.start[j]!, st.start[j + 1]!);
      buf[pos++] = RESULT_OUTCOME;
      buf[pos++] = this.outcome[r]!;
      buf[pos++] = RESULT_RTT;
      pos = writeVarint(buf, pos, this.rtt[r]!);
      buf[pos++] = RESULT_TIMESTAMP;
      pos = writeVarint(buf, pos, probedAtMs);
    }
    if (pos !== buf.length) throw new Error(`sim: report encoded to ${pos} of ${buf.length} bytes`);
    return buf;
  }

  private staticsOf(plan: SimPlan): Statics {
    let st = this.statics.get(plan);
    if (!st) {
      st = encodeStatics(plan);
      this.statics.set(plan, st);
    }
    return st;
  }
}

const familyWire = (ip: string) => addressFamilies.words.indexOf(isIP(ip) === 6 ? 'ipv6' : 'ipv4') + 1;

function encodeStatics(plan: SimPlan): Statics {
  const parts: Buffer[] = [];
  for (const peer of plan.peers) {
    const name = Buffer.from(peer.name);
    for (const k of plan.kinds) {
      const ip = k === NODE_KIND ? peer.nodeIp : peer.podIp;
      if (ip === '') {
        parts.push(Buffer.alloc(0));
        continue;
      }
      const b = encodeResultPrefix(probeKinds.words.indexOf(PAIR_KINDS[k]!) + 1, name, Buffer.from(ip), familyWire(ip));
      parts.push(b);
    }
  }
  // DNS results: a few per agent, so the proto loader encodes them (everything but outcome, RTT and timestamp).
  const dnsOutcome = new Uint8Array(plan.dns.length);
  if (plan.dns.length > 0) {
    const { body, ends } = encodeResults(
      plan.dns.map((q) => ({
        kind: probeKinds.toProto('dns'),
        targetNode: '',
        targetIp: q.address,
        family: addressFamilies.toProto(isIP(q.address) === 6 ? 'ipv6' : 'ipv4'),
        dns: {
          server: q.server,
          name: q.name,
          type: dnsTypes.toProto(q.type),
          nxCheck: q.nx,
          tcpCheck: q.tcpCheck,
          answers: q.nx ? [] : [q.type === 'aaaa' ? '2001:db8::1' : DNS_ANSWER],
          rcode: q.nx ? 'NXDOMAIN' : 'NOERROR',
          tcp: q.tcpCheck,
          ignored: 0,
        },
      })),
    );
    let at = 0;
    plan.dns.forEach((q, i) => {
      // Each is REPORT_RESULT, its length, the ProbeResult: keep the ProbeResult.
      let pos = at + 1;
      while (body[pos]! >= 0x80) pos++;
      parts.push(body.subarray(pos + 1, ends[i]));
      at = ends[i]!;
      dnsOutcome[i] = q.nx ? DNS_NXDOMAIN : DNS_OK;
    });
  }
  const start = new Uint32Array(parts.length + 1);
  parts.forEach((b, j) => (start[j + 1] = start[j]! + b.length));
  return { bytes: Buffer.concat(parts), start, dnsOutcome };
}
