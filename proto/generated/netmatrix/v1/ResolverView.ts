// Original file: netmatrix/v1/collector.proto


export interface ResolverView {
  'nameservers'?: (string)[];
  'search'?: (string)[];
  'ndots'?: (number);
  'timeoutSeconds'?: (number);
  'attempts'?: (number);
  'warnings'?: (string)[];
  'error'?: (string);
}

export interface ResolverView__Output {
  'nameservers': (string)[];
  'search': (string)[];
  'ndots': (number);
  'timeoutSeconds': (number);
  'attempts': (number);
  'warnings': (string)[];
  'error': (string);
}
