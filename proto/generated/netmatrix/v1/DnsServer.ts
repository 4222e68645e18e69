// Original file: netmatrix/v1/collector.proto

import type { DnsRole as _netmatrix_v1_DnsRole, DnsRole__Output as _netmatrix_v1_DnsRole__Output } from '../../netmatrix/v1/DnsRole.js';

export interface DnsServer {
  'name'?: (string);
  'address'?: (string);
  'port'?: (number);
  'role'?: (_netmatrix_v1_DnsRole);
}

export interface DnsServer__Output {
  'name': (string);
  'address': (string);
  'port': (number);
  'role': (_netmatrix_v1_DnsRole__Output);
}
