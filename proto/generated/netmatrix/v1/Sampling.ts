// Original file: netmatrix/v1/collector.proto


export interface Sampling {
  'peersPerRound'?: (number);
  'fixed'?: (number)[];
  'followMax'?: (number);
}

export interface Sampling__Output {
  'peersPerRound': (number);
  'fixed': (number)[];
  'followMax': (number);
}
