// Original file: netmatrix/v1/collector.proto

import type { Long } from '@grpc/proto-loader';

export interface CniFile {
  'name'?: (string);
  'size'?: (number | string | Long);
  'sha256'?: (string);
  'valid'?: (boolean);
  'error'?: (string);
  'cniVersion'?: (string);
  'network'?: (string);
  'plugins'?: (string)[];
  'ipamType'?: (string);
  'ranges'?: (string)[];
}

export interface CniFile__Output {
  'name': (string);
  'size': (number);
  'sha256': (string);
  'valid': (boolean);
  'error': (string);
  'cniVersion': (string);
  'network': (string);
  'plugins': (string)[];
  'ipamType': (string);
  'ranges': (string)[];
}
