// Original file: netmatrix/v1/collector.proto

import type { Long } from '@grpc/proto-loader';

export interface CniPool {
  'network'?: (string);
  'range'?: (string);
  'size'?: (number | string | Long);
  'used'?: (number | string | Long);
}

export interface CniPool__Output {
  'network': (string);
  'range': (string);
  'size': (number);
  'used': (number);
}
