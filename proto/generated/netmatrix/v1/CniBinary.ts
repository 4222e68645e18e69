// Original file: netmatrix/v1/collector.proto

import type { Long } from '@grpc/proto-loader';

export interface CniBinary {
  'plugin'?: (string);
  'size'?: (number | string | Long);
  'sha256'?: (string);
  'error'?: (string);
}

export interface CniBinary__Output {
  'plugin': (string);
  'size': (number);
  'sha256': (string);
  'error': (string);
}
