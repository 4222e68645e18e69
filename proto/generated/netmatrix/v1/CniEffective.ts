// Original file: netmatrix/v1/collector.proto


export interface CniEffective {
  'file'?: (string);
  'network'?: (string);
  'cniVersion'?: (string);
  'plugins'?: (string)[];
  'ipamType'?: (string);
  'normalized'?: (string);
  'hash'?: (string);
  'perNode'?: ({[key: string]: string});
  'podCidrs'?: (string)[];
}

export interface CniEffective__Output {
  'file': (string);
  'network': (string);
  'cniVersion': (string);
  'plugins': (string)[];
  'ipamType': (string);
  'normalized': (string);
  'hash': (string);
  'perNode': ({[key: string]: string});
  'podCidrs': (string)[];
}
