// Original file: netmatrix/v1/collector.proto

import type { Peer as _netmatrix_v1_Peer, Peer__Output as _netmatrix_v1_Peer__Output } from '../../netmatrix/v1/Peer.js';
import type { ProbeKind as _netmatrix_v1_ProbeKind, ProbeKind__Output as _netmatrix_v1_ProbeKind__Output } from '../../netmatrix/v1/ProbeKind.js';
import type { DnsServer as _netmatrix_v1_DnsServer, DnsServer__Output as _netmatrix_v1_DnsServer__Output } from '../../netmatrix/v1/DnsServer.js';
import type { DnsQuestion as _netmatrix_v1_DnsQuestion, DnsQuestion__Output as _netmatrix_v1_DnsQuestion__Output } from '../../netmatrix/v1/DnsQuestion.js';
import type { Sampling as _netmatrix_v1_Sampling, Sampling__Output as _netmatrix_v1_Sampling__Output } from '../../netmatrix/v1/Sampling.js';
import type { Long } from '@grpc/proto-loader';

export interface Plan {
  'epoch'?: (number | string | Long);
  'peers'?: (_netmatrix_v1_Peer)[];
  'kinds'?: (_netmatrix_v1_ProbeKind)[];
  'intervalMs'?: (number);
  'timeoutMs'?: (number);
  'dnsServers'?: (_netmatrix_v1_DnsServer)[];
  'dnsQuestions'?: (_netmatrix_v1_DnsQuestion)[];
  'dnsNxZone'?: (string);
  'dnsTcpCheck'?: (boolean);
  'sampling'?: (_netmatrix_v1_Sampling | null);
}

export interface Plan__Output {
  'epoch': (number);
  'peers': (_netmatrix_v1_Peer__Output)[];
  'kinds': (_netmatrix_v1_ProbeKind__Output)[];
  'intervalMs': (number);
  'timeoutMs': (number);
  'dnsServers': (_netmatrix_v1_DnsServer__Output)[];
  'dnsQuestions': (_netmatrix_v1_DnsQuestion__Output)[];
  'dnsNxZone': (string);
  'dnsTcpCheck': (boolean);
  'sampling': (_netmatrix_v1_Sampling__Output | null);
}
