// Original file: netmatrix/v1/collector.proto

import type { DnsType as _netmatrix_v1_DnsType, DnsType__Output as _netmatrix_v1_DnsType__Output } from '../../netmatrix/v1/DnsType.js';

export interface DnsResult {
  'server'?: (string);
  'name'?: (string);
  'type'?: (_netmatrix_v1_DnsType);
  'nxCheck'?: (boolean);
  'answers'?: (string)[];
  'rcode'?: (string);
  'tcp'?: (boolean);
  'ignored'?: (number);
  'tcpCheck'?: (boolean);
}

export interface DnsResult__Output {
  'server': (string);
  'name': (string);
  'type': (_netmatrix_v1_DnsType__Output);
  'nxCheck': (boolean);
  'answers': (string)[];
  'rcode': (string);
  'tcp': (boolean);
  'ignored': (number);
  'tcpCheck': (boolean);
}
