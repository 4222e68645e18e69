// Original file: netmatrix/v1/collector.proto

import type { Capability as _netmatrix_v1_Capability, Capability__Output as _netmatrix_v1_Capability__Output } from '../../netmatrix/v1/Capability.js';
import type { ResolverView as _netmatrix_v1_ResolverView, ResolverView__Output as _netmatrix_v1_ResolverView__Output } from '../../netmatrix/v1/ResolverView.js';

export interface Hello {
  'nodeName'?: (string);
  'podIps'?: (string)[];
  'nodeIps'?: (string)[];
  'zone'?: (string);
  'agentVersion'?: (string);
  'capabilities'?: (_netmatrix_v1_Capability)[];
  'responderPort'?: (number);
  'instanceId'?: (string);
  'resolver'?: (_netmatrix_v1_ResolverView | null);
}

export interface Hello__Output {
  'nodeName': (string);
  'podIps': (string)[];
  'nodeIps': (string)[];
  'zone': (string);
  'agentVersion': (string);
  'capabilities': (_netmatrix_v1_Capability__Output)[];
  'responderPort': (number);
  'instanceId': (string);
  'resolver': (_netmatrix_v1_ResolverView__Output | null);
}
