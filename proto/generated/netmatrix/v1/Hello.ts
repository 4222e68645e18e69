// Original file: netmatrix/v1/collector.proto

import type { Capability as _netmatrix_v1_Capability, Capability__Output as _netmatrix_v1_Capability__Output } from '../../netmatrix/v1/Capability.js';

export interface Hello {
  'nodeName'?: (string);
  'podIps'?: (string)[];
  'nodeIps'?: (string)[];
  'zone'?: (string);
  'agentVersion'?: (string);
  'capabilities'?: (_netmatrix_v1_Capability)[];
  'responderPort'?: (number);
  'instanceId'?: (string);
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
}
