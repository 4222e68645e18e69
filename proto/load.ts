// The Collector service of proto/netmatrix/v1, built from proto/descriptor.ts:
// the .proto parsed at build time (scripts/gen-proto-descriptor.mjs, run by
// `npm run proto:gen`) with the options of proto/loader-options.json, the same
// ones scripts/gen-proto-types.mjs gives proto-loader-gen-types, so the types
// in proto/generated describe exactly what this returns.
//
// protobufjs's light build (no .proto parser) and grpc-js alone, not
// @grpc/proto-loader: its serializers are these, but it also loads the full
// protobufjs, its descriptor extension and the well-known types, and builds a
// descriptor of every message that only reflection would read. That was ~3 MB
// of an agent's RSS (docs/architecture.md, "Footprint").
// test/proto/descriptor.test.ts checks the descriptor against the .proto and
// this loader's encodings against proto-loader's.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { conversionOptions, descriptor } from './descriptor.js';
import type { ProtoGrpcType } from './generated/collector.js';
import type { CollectorClient } from './generated/netmatrix/v1/Collector.js';

type ConnectDefinition = ProtoGrpcType['netmatrix']['v1']['Collector']['service']['Connect'];
/** A gRPC method as grpc-js takes it (proto-loader adds message descriptors that nothing here reads). */
type Method<D> = Omit<D, 'requestType' | 'responseType' | 'options'>;
export type CollectorService = { readonly Connect: Method<ConnectDefinition> };
export type CollectorConstructor = (new (...args: ConstructorParameters<typeof grpc.Client>) => CollectorClient) & { readonly service: CollectorService };
/** The services of netmatrix.v1 (the messages are reached through them). */
export interface Proto {
  readonly netmatrix: { readonly v1: { readonly Collector: CollectorConstructor } };
}

/** As proto-loader serializes: fromObject (names, enum names, defaults), then encode. */
function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

/** As proto-loader deserializes: decode, then toObject with the loader's options. */
function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), conversionOptions);
}

function serviceDefinition(service: protobuf.Service): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const m of service.methodsArray) {
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    def[m.name] = {
      path: `/${service.fullName.slice(1)}/${m.name}`,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      requestSerialize: serializer(req),
      requestDeserialize: deserializer(req),
      responseSerialize: serializer(res),
      responseDeserialize: deserializer(res),
      // grpc-js adds the client method under this name too (client.connect beside client.Connect), as proto-loader has it.
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  return def;
}

let cached: Proto | undefined;

export function loadProto(): Proto {
  if (cached) return cached;
  // As Root.toJSON wrote it (protobufjs's INamespace type wants a comment on every method, which toJSON leaves out).
  const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  root.resolveAll();
  const services: Parameters<typeof grpc.loadPackageDefinition>[0] = {};
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Service) services[obj.fullName.slice(1)] = serviceDefinition(obj);
      else if (obj instanceof protobuf.Namespace && !(obj instanceof protobuf.Type)) walk(obj);
    }
  };
  walk(root);
  cached = grpc.loadPackageDefinition(services) as unknown as Proto;
  return cached;
}

export type { AgentMessage__Output, AgentMessage } from './generated/netmatrix/v1/AgentMessage.js';
export type { AggregatorMessage__Output, AggregatorMessage } from './generated/netmatrix/v1/AggregatorMessage.js';
export type { Hello__Output, Hello } from './generated/netmatrix/v1/Hello.js';
export type { Report__Output, Report } from './generated/netmatrix/v1/Report.js';
export type { ProbeResult__Output, ProbeResult as WireProbeResult } from './generated/netmatrix/v1/ProbeResult.js';
export type { Plan__Output, Plan } from './generated/netmatrix/v1/Plan.js';
export type { Peer__Output, Peer } from './generated/netmatrix/v1/Peer.js';
export type { CollectorClient } from './generated/netmatrix/v1/Collector.js';
export type { CollectorHandlers } from './generated/netmatrix/v1/Collector.js';
export type { DnsServer__Output, DnsServer as WireDnsServer } from './generated/netmatrix/v1/DnsServer.js';
export type { DnsQuestion__Output, DnsQuestion as WireDnsQuestion } from './generated/netmatrix/v1/DnsQuestion.js';
export type { DnsResult__Output, DnsResult as WireDnsResult } from './generated/netmatrix/v1/DnsResult.js';
export type { ResolverView__Output, ResolverView as WireResolverView } from './generated/netmatrix/v1/ResolverView.js';
export type { CniSnapshot__Output, CniSnapshot as WireCniSnapshot } from './generated/netmatrix/v1/CniSnapshot.js';
