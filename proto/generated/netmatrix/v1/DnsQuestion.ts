// Original file: netmatrix/v1/collector.proto

import type { DnsType as _netmatrix_v1_DnsType, DnsType__Output as _netmatrix_v1_DnsType__Output } from '../../netmatrix/v1/DnsType.js';

export interface DnsQuestion {
  'name'?: (string);
  'type'?: (_netmatrix_v1_DnsType);
}

export interface DnsQuestion__Output {
  'name': (string);
  'type': (_netmatrix_v1_DnsType__Output);
}
