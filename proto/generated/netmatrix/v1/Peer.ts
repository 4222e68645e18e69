// Original file: netmatrix/v1/collector.proto


export interface Peer {
  'nodeName'?: (string);
  'podIps'?: (string)[];
  'nodeIps'?: (string)[];
  'zone'?: (string);
  'responderPort'?: (number);
}

export interface Peer__Output {
  'nodeName': (string);
  'podIps': (string)[];
  'nodeIps': (string)[];
  'zone': (string);
  'responderPort': (number);
}
