// A Plan on the wire. The whole AggregatorMessage is encoded here, once, so
// that the same bytes can be written to every stream that gets this plan: the
// server's response serializer passes an encoded message through unchanged
// (server.ts). grpc-js copies those bytes behind its 5-byte frame header per
// write and never modifies them, so one Buffer is safely shared by any number
// of streams and writes.
//
// A sampled plan is the same directory for every agent plus a small Sampling
// part of its own (Plan field 10). Protobuf reads a message's fields in any
// order and a length-delimited field is its tag, its length and its bytes, so
// the plan is the directory's encoding (made once per epoch) followed by the
// agent's Sampling field: one encoding of N peers per epoch, not one per agent.
import { dnsRoles, dnsTypes, probeKinds } from '../../common/vocabulary.js';
import { loadProto, type AggregatorMessage, type Plan } from '../../proto/load.js';
import { varintBytes } from '../../proto/varint.js';
import type { PlanContent } from '../plan/plans.js';

declare const encodedBrand: unique symbol;

/** An AggregatorMessage already encoded to protobuf bytes (what `encodeMessage` returns, nothing else). */
export type EncodedMessage = Buffer & { readonly [encodedBrand]: true };

export function planToWire(plan: PlanContent): Plan {
  return {
    epoch: plan.epoch,
    peers: plan.peers.map((p) => ({ nodeName: p.nodeName, podIps: [...p.podIps], nodeIps: [...p.nodeIps], zone: p.zone, responderPort: p.responderPort })),
    kinds: plan.kinds.map((k) => probeKinds.toProto(k)),
    intervalMs: plan.intervalMs,
    timeoutMs: plan.timeoutMs,
    dnsServers: plan.dns.servers.map((s) => ({ name: s.name, address: s.address, port: s.port, role: dnsRoles.toProto(s.role) })),
    dnsQuestions: plan.dns.questions.map((q) => ({ name: q.name, type: dnsTypes.toProto(q.type === 'A' ? 'a' : 'aaaa') })),
    dnsNxZone: plan.dns.nxZone,
    dnsTcpCheck: plan.dns.tcpCheck,
    ...(plan.sampling ? { sampling: { peersPerRound: plan.sampling.peersPerRound, fixed: [...plan.sampling.fixed], followMax: plan.sampling.followMax } } : {}),
  };
}

/** Encodes with the Collector method's own serializer: the bytes are exactly what grpc-js would have produced per write. */
export function encodeMessage(msg: AggregatorMessage): EncodedMessage {
  const bytes = loadProto().netmatrix.v1.Collector.service.Connect.responseSerialize(msg);
  // protobufjs gives a Buffer on Node; grpc-js needs one (it calls .copy()).
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)) as EncodedMessage;
}

export function encodePlan(plan: PlanContent): EncodedMessage {
  if (!plan.sampling) return encodeMessage({ plan: planToWire(plan) });
  // The directory, once per epoch: cached on the peers array every agent's plan of the epoch shares.
  let shared = directories.get(plan.peers);
  if (shared?.epoch !== plan.epoch) {
    const { sampling: _, ...rest } = plan;
    shared = { epoch: plan.epoch, bytes: planBody(encodeMessage({ plan: planToWire(rest) })) };
    directories.set(plan.peers, shared);
  }
  // A Plan with only `sampling` set encodes to that one field (proto3 leaves defaults out).
  const { peersPerRound, fixed, followMax } = plan.sampling;
  const own = planBody(encodeMessage({ plan: { sampling: { peersPerRound, fixed: [...fixed], followMax } } }));
  const length = shared.bytes.length + own.length;
  return Buffer.concat([Buffer.from([PLAN_TAG]), Buffer.from(varintBytes(length)), shared.bytes, own]) as EncodedMessage;
}

/** AggregatorMessage.plan: field 1, length-delimited. */
const PLAN_TAG = (1 << 3) | 2;
const directories = new WeakMap<PlanContent['peers'], { readonly epoch: number; readonly bytes: Buffer }>();

/** The Plan's bytes inside an encoded AggregatorMessage { plan } (its tag and length taken off). */
function planBody(msg: Buffer): Buffer {
  if (msg.length === 0) return msg; // an empty plan: proto3 writes nothing
  if (msg[0] !== PLAN_TAG) throw new Error(`not an encoded plan (first byte ${msg[0]})`);
  let i = 1;
  while (msg[i]! & 0x80) i++;
  return msg.subarray(i + 1);
}


/** Whether a value written to a Collector stream is already encoded (the serializer's pass-through test). */
export function isEncoded(value: unknown): value is EncodedMessage {
  return Buffer.isBuffer(value);
}
