// Original file: netmatrix/v1/collector.proto

export const DnsRole = {
  DNS_ROLE_UNSPECIFIED: 'DNS_ROLE_UNSPECIFIED',
  DNS_ROLE_SERVICE: 'DNS_ROLE_SERVICE',
  DNS_ROLE_REPLICA: 'DNS_ROLE_REPLICA',
  DNS_ROLE_NODELOCAL: 'DNS_ROLE_NODELOCAL',
} as const;

export type DnsRole =
  | 'DNS_ROLE_UNSPECIFIED'
  | 0
  | 'DNS_ROLE_SERVICE'
  | 1
  | 'DNS_ROLE_REPLICA'
  | 2
  | 'DNS_ROLE_NODELOCAL'
  | 3

export type DnsRole__Output = typeof DnsRole[keyof typeof DnsRole]
