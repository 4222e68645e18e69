// Original file: netmatrix/v1/collector.proto

import type { Plan as _netmatrix_v1_Plan, Plan__Output as _netmatrix_v1_Plan__Output } from '../../netmatrix/v1/Plan.js';
import type { Ack as _netmatrix_v1_Ack, Ack__Output as _netmatrix_v1_Ack__Output } from '../../netmatrix/v1/Ack.js';

export interface AggregatorMessage {
  'plan'?: (_netmatrix_v1_Plan | null);
  'ack'?: (_netmatrix_v1_Ack | null);
  'msg'?: "plan"|"ack";
}

export interface AggregatorMessage__Output {
  'plan'?: (_netmatrix_v1_Plan__Output | null);
  'ack'?: (_netmatrix_v1_Ack__Output | null);
  'msg'?: "plan"|"ack";
}
