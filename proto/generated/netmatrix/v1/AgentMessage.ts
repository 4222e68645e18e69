// Original file: netmatrix/v1/collector.proto

import type { Hello as _netmatrix_v1_Hello, Hello__Output as _netmatrix_v1_Hello__Output } from '../../netmatrix/v1/Hello.js';
import type { Report as _netmatrix_v1_Report, Report__Output as _netmatrix_v1_Report__Output } from '../../netmatrix/v1/Report.js';
import type { CniSnapshot as _netmatrix_v1_CniSnapshot, CniSnapshot__Output as _netmatrix_v1_CniSnapshot__Output } from '../../netmatrix/v1/CniSnapshot.js';

export interface AgentMessage {
  'hello'?: (_netmatrix_v1_Hello | null);
  'report'?: (_netmatrix_v1_Report | null);
  'cni'?: (_netmatrix_v1_CniSnapshot | null);
  'msg'?: "hello"|"report"|"cni";
}

export interface AgentMessage__Output {
  'hello'?: (_netmatrix_v1_Hello__Output | null);
  'report'?: (_netmatrix_v1_Report__Output | null);
  'cni'?: (_netmatrix_v1_CniSnapshot__Output | null);
  'msg'?: "hello"|"report"|"cni";
}
