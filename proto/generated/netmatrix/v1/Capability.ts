// Original file: netmatrix/v1/collector.proto

export const Capability = {
  CAPABILITY_UNSPECIFIED: 'CAPABILITY_UNSPECIFIED',
  CAPABILITY_ICMP: 'CAPABILITY_ICMP',
  CAPABILITY_TCP: 'CAPABILITY_TCP',
  CAPABILITY_HTTP: 'CAPABILITY_HTTP',
  CAPABILITY_MTU: 'CAPABILITY_MTU',
  CAPABILITY_DNS: 'CAPABILITY_DNS',
  CAPABILITY_CNI: 'CAPABILITY_CNI',
} as const;

export type Capability =
  | 'CAPABILITY_UNSPECIFIED'
  | 0
  | 'CAPABILITY_ICMP'
  | 1
  | 'CAPABILITY_TCP'
  | 2
  | 'CAPABILITY_HTTP'
  | 3
  | 'CAPABILITY_MTU'
  | 4
  | 'CAPABILITY_DNS'
  | 5
  | 'CAPABILITY_CNI'
  | 6

export type Capability__Output = typeof Capability[keyof typeof Capability]
