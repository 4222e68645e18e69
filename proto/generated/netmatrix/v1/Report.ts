// Original file: netmatrix/v1/collector.proto

import type { ProbeResult as _netmatrix_v1_ProbeResult, ProbeResult__Output as _netmatrix_v1_ProbeResult__Output } from '../../netmatrix/v1/ProbeResult.js';
import type { Long } from '@grpc/proto-loader';

export interface Report {
  'sequence'?: (number | string | Long);
  'round'?: (number | string | Long);
  'sentAtMs'?: (number | string | Long);
  'results'?: (_netmatrix_v1_ProbeResult)[];
}

export interface Report__Output {
  'sequence': (number);
  'round': (number);
  'sentAtMs': (number);
  'results': (_netmatrix_v1_ProbeResult__Output)[];
}
