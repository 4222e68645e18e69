// Original file: netmatrix/v1/collector.proto


export interface HttpTimings {
  'connectUs'?: (number);
  'firstByteUs'?: (number);
  'totalUs'?: (number);
}

export interface HttpTimings__Output {
  'connectUs': (number);
  'firstByteUs': (number);
  'totalUs': (number);
}
