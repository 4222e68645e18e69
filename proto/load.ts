// Loads proto/netmatrix/v1 at run time with proto/loader-options.json, the
// same options scripts/gen-proto-types.mjs gives proto-loader-gen-types, so the
// checked-in types in proto/generated describe exactly what this returns.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './generated/collector.js';

// The .proto files are read at run time from the package's proto/ directory:
// one level up from proto/load.ts, two from dist/proto/load.js.
function protoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [here, join(here, '..', '..', 'proto')]) {
    if (existsSync(join(candidate, 'netmatrix', 'v1', 'collector.proto'))) return candidate;
  }
  throw new Error(`proto/netmatrix/v1/collector.proto not found from ${here}`);
}

let cached: ProtoGrpcType | undefined;

export function loadProto(): ProtoGrpcType {
  if (cached) return cached;
  const root = protoRoot();
  const raw = JSON.parse(readFileSync(join(root, 'loader-options.json'), 'utf8')) as Record<string, unknown>;
  // The JSON names the types as the gen-types CLI takes them ("String",
  // "Number"); loadSync wants the constructors.
  const ctor = (v: unknown) => (v === 'String' ? String : v === 'Number' ? Number : v);
  const options = { ...raw, longs: ctor(raw.longs), enums: ctor(raw.enums) } as protoLoader.Options;
  const definition = protoLoader.loadSync(join('netmatrix', 'v1', 'collector.proto'), { ...options, includeDirs: [root] });
  cached = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
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
