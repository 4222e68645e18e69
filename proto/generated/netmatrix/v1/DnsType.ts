// Original file: netmatrix/v1/collector.proto

export const DnsType = {
  DNS_TYPE_UNSPECIFIED: 'DNS_TYPE_UNSPECIFIED',
  DNS_TYPE_A: 'DNS_TYPE_A',
  DNS_TYPE_AAAA: 'DNS_TYPE_AAAA',
} as const;

export type DnsType =
  | 'DNS_TYPE_UNSPECIFIED'
  | 0
  | 'DNS_TYPE_A'
  | 1
  | 'DNS_TYPE_AAAA'
  | 2

export type DnsType__Output = typeof DnsType[keyof typeof DnsType]
