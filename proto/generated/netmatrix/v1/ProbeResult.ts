// Original file: netmatrix/v1/collector.proto

import type { ProbeKind as _netmatrix_v1_ProbeKind, ProbeKind__Output as _netmatrix_v1_ProbeKind__Output } from '../../netmatrix/v1/ProbeKind.js';
import type { AddressFamily as _netmatrix_v1_AddressFamily, AddressFamily__Output as _netmatrix_v1_AddressFamily__Output } from '../../netmatrix/v1/AddressFamily.js';
import type { Outcome as _netmatrix_v1_Outcome, Outcome__Output as _netmatrix_v1_Outcome__Output } from '../../netmatrix/v1/Outcome.js';
import type { HttpTimings as _netmatrix_v1_HttpTimings, HttpTimings__Output as _netmatrix_v1_HttpTimings__Output } from '../../netmatrix/v1/HttpTimings.js';
import type { DnsResult as _netmatrix_v1_DnsResult, DnsResult__Output as _netmatrix_v1_DnsResult__Output } from '../../netmatrix/v1/DnsResult.js';
import type { Long } from '@grpc/proto-loader';

export interface ProbeResult {
  'kind'?: (_netmatrix_v1_ProbeKind);
  'targetNode'?: (string);
  'targetIp'?: (string);
  'family'?: (_netmatrix_v1_AddressFamily);
  'outcome'?: (_netmatrix_v1_Outcome);
  'rttUs'?: (number);
  'timestampMs'?: (number | string | Long);
  'detail'?: (string);
  'http'?: (_netmatrix_v1_HttpTimings | null);
  'dns'?: (_netmatrix_v1_DnsResult | null);
  'loopDelayUs'?: (number);
}

export interface ProbeResult__Output {
  'kind': (_netmatrix_v1_ProbeKind__Output);
  'targetNode': (string);
  'targetIp': (string);
  'family': (_netmatrix_v1_AddressFamily__Output);
  'outcome': (_netmatrix_v1_Outcome__Output);
  'rttUs': (number);
  'timestampMs': (number);
  'detail': (string);
  'http': (_netmatrix_v1_HttpTimings__Output | null);
  'dns': (_netmatrix_v1_DnsResult__Output | null);
  'loopDelayUs': (number);
}
