import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _netmatrix_v1_Ack, Ack__Output as _netmatrix_v1_Ack__Output } from './netmatrix/v1/Ack.js';
import type { AgentMessage as _netmatrix_v1_AgentMessage, AgentMessage__Output as _netmatrix_v1_AgentMessage__Output } from './netmatrix/v1/AgentMessage.js';
import type { AggregatorMessage as _netmatrix_v1_AggregatorMessage, AggregatorMessage__Output as _netmatrix_v1_AggregatorMessage__Output } from './netmatrix/v1/AggregatorMessage.js';
import type { CniBinary as _netmatrix_v1_CniBinary, CniBinary__Output as _netmatrix_v1_CniBinary__Output } from './netmatrix/v1/CniBinary.js';
import type { CniEffective as _netmatrix_v1_CniEffective, CniEffective__Output as _netmatrix_v1_CniEffective__Output } from './netmatrix/v1/CniEffective.js';
import type { CniFile as _netmatrix_v1_CniFile, CniFile__Output as _netmatrix_v1_CniFile__Output } from './netmatrix/v1/CniFile.js';
import type { CniPool as _netmatrix_v1_CniPool, CniPool__Output as _netmatrix_v1_CniPool__Output } from './netmatrix/v1/CniPool.js';
import type { CniSnapshot as _netmatrix_v1_CniSnapshot, CniSnapshot__Output as _netmatrix_v1_CniSnapshot__Output } from './netmatrix/v1/CniSnapshot.js';
import type { CollectorClient as _netmatrix_v1_CollectorClient, CollectorDefinition as _netmatrix_v1_CollectorDefinition } from './netmatrix/v1/Collector.js';
import type { DnsQuestion as _netmatrix_v1_DnsQuestion, DnsQuestion__Output as _netmatrix_v1_DnsQuestion__Output } from './netmatrix/v1/DnsQuestion.js';
import type { DnsResult as _netmatrix_v1_DnsResult, DnsResult__Output as _netmatrix_v1_DnsResult__Output } from './netmatrix/v1/DnsResult.js';
import type { DnsServer as _netmatrix_v1_DnsServer, DnsServer__Output as _netmatrix_v1_DnsServer__Output } from './netmatrix/v1/DnsServer.js';
import type { Hello as _netmatrix_v1_Hello, Hello__Output as _netmatrix_v1_Hello__Output } from './netmatrix/v1/Hello.js';
import type { HttpTimings as _netmatrix_v1_HttpTimings, HttpTimings__Output as _netmatrix_v1_HttpTimings__Output } from './netmatrix/v1/HttpTimings.js';
import type { Peer as _netmatrix_v1_Peer, Peer__Output as _netmatrix_v1_Peer__Output } from './netmatrix/v1/Peer.js';
import type { Plan as _netmatrix_v1_Plan, Plan__Output as _netmatrix_v1_Plan__Output } from './netmatrix/v1/Plan.js';
import type { ProbeResult as _netmatrix_v1_ProbeResult, ProbeResult__Output as _netmatrix_v1_ProbeResult__Output } from './netmatrix/v1/ProbeResult.js';
import type { Report as _netmatrix_v1_Report, Report__Output as _netmatrix_v1_Report__Output } from './netmatrix/v1/Report.js';
import type { ResolverView as _netmatrix_v1_ResolverView, ResolverView__Output as _netmatrix_v1_ResolverView__Output } from './netmatrix/v1/ResolverView.js';
import type { Sampling as _netmatrix_v1_Sampling, Sampling__Output as _netmatrix_v1_Sampling__Output } from './netmatrix/v1/Sampling.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  netmatrix: {
    v1: {
      Ack: MessageTypeDefinition<_netmatrix_v1_Ack, _netmatrix_v1_Ack__Output>
      AddressFamily: EnumTypeDefinition
      AgentMessage: MessageTypeDefinition<_netmatrix_v1_AgentMessage, _netmatrix_v1_AgentMessage__Output>
      AggregatorMessage: MessageTypeDefinition<_netmatrix_v1_AggregatorMessage, _netmatrix_v1_AggregatorMessage__Output>
      Capability: EnumTypeDefinition
      CniBinary: MessageTypeDefinition<_netmatrix_v1_CniBinary, _netmatrix_v1_CniBinary__Output>
      CniEffective: MessageTypeDefinition<_netmatrix_v1_CniEffective, _netmatrix_v1_CniEffective__Output>
      CniFile: MessageTypeDefinition<_netmatrix_v1_CniFile, _netmatrix_v1_CniFile__Output>
      CniPool: MessageTypeDefinition<_netmatrix_v1_CniPool, _netmatrix_v1_CniPool__Output>
      CniSnapshot: MessageTypeDefinition<_netmatrix_v1_CniSnapshot, _netmatrix_v1_CniSnapshot__Output>
      Collector: SubtypeConstructor<typeof grpc.Client, _netmatrix_v1_CollectorClient> & { service: _netmatrix_v1_CollectorDefinition }
      DnsQuestion: MessageTypeDefinition<_netmatrix_v1_DnsQuestion, _netmatrix_v1_DnsQuestion__Output>
      DnsResult: MessageTypeDefinition<_netmatrix_v1_DnsResult, _netmatrix_v1_DnsResult__Output>
      DnsRole: EnumTypeDefinition
      DnsServer: MessageTypeDefinition<_netmatrix_v1_DnsServer, _netmatrix_v1_DnsServer__Output>
      DnsType: EnumTypeDefinition
      Hello: MessageTypeDefinition<_netmatrix_v1_Hello, _netmatrix_v1_Hello__Output>
      HttpTimings: MessageTypeDefinition<_netmatrix_v1_HttpTimings, _netmatrix_v1_HttpTimings__Output>
      Outcome: EnumTypeDefinition
      Peer: MessageTypeDefinition<_netmatrix_v1_Peer, _netmatrix_v1_Peer__Output>
      Plan: MessageTypeDefinition<_netmatrix_v1_Plan, _netmatrix_v1_Plan__Output>
      ProbeKind: EnumTypeDefinition
      ProbeResult: MessageTypeDefinition<_netmatrix_v1_ProbeResult, _netmatrix_v1_ProbeResult__Output>
      Report: MessageTypeDefinition<_netmatrix_v1_Report, _netmatrix_v1_Report__Output>
      ResolverView: MessageTypeDefinition<_netmatrix_v1_ResolverView, _netmatrix_v1_ResolverView__Output>
      Sampling: MessageTypeDefinition<_netmatrix_v1_Sampling, _netmatrix_v1_Sampling__Output>
    }
  }
}

