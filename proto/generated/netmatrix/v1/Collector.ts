// Original file: netmatrix/v1/collector.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _netmatrix_v1_AgentMessage, AgentMessage__Output as _netmatrix_v1_AgentMessage__Output } from '../../netmatrix/v1/AgentMessage.js';
import type { AggregatorMessage as _netmatrix_v1_AggregatorMessage, AggregatorMessage__Output as _netmatrix_v1_AggregatorMessage__Output } from '../../netmatrix/v1/AggregatorMessage.js';

export interface CollectorClient extends grpc.Client {
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_netmatrix_v1_AgentMessage, _netmatrix_v1_AggregatorMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_netmatrix_v1_AgentMessage, _netmatrix_v1_AggregatorMessage__Output>;
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_netmatrix_v1_AgentMessage, _netmatrix_v1_AggregatorMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_netmatrix_v1_AgentMessage, _netmatrix_v1_AggregatorMessage__Output>;
  
}

export interface CollectorHandlers extends grpc.UntypedServiceImplementation {
  Connect: grpc.handleBidiStreamingCall<_netmatrix_v1_AgentMessage__Output, _netmatrix_v1_AggregatorMessage>;
  
}

export interface CollectorDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_netmatrix_v1_AgentMessage, _netmatrix_v1_AggregatorMessage, _netmatrix_v1_AgentMessage__Output, _netmatrix_v1_AggregatorMessage__Output>
}
