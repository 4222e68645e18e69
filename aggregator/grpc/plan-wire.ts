// A Plan on the wire. The whole AggregatorMessage is encoded here, once, so
// that the same bytes can be written to every stream that gets this plan: the
// server's response serializer passes an encoded message through unchanged
// (server.ts). grpc-js copies those bytes behind its 5-byte frame header per
// write and never modifies them, so one Buffer is safely shared by any number
// of streams and writes.
import { dnsRoles, dnsTypes, probeKinds } from '../../common/vocabulary.js';
import { loadProto, type AggregatorMessage, type Plan } from '../../proto/load.js';
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
  };
}

/** Encodes with the Collector method's own serializer: the bytes are exactly what grpc-js would have produced per write. */
export function encodeMessage(msg: AggregatorMessage): EncodedMessage {
  const bytes = loadProto().netmatrix.v1.Collector.service.Connect.responseSerialize(msg);
  // protobufjs gives a Buffer on Node; grpc-js needs one (it calls .copy()).
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)) as EncodedMessage;
}

export function encodePlan(plan: PlanContent): EncodedMessage {
  return encodeMessage({ plan: planToWire(plan) });
}

/** Whether a value written to a Collector stream is already encoded (the serializer's pass-through test). */
export function isEncoded(value: unknown): value is EncodedMessage {
  return Buffer.isBuffer(value);
}
