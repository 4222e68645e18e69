// Original file: netmatrix/v1/collector.proto

export const ProbeKind = {
  PROBE_KIND_UNSPECIFIED: 'PROBE_KIND_UNSPECIFIED',
  PROBE_KIND_ICMP: 'PROBE_KIND_ICMP',
  PROBE_KIND_TCP: 'PROBE_KIND_TCP',
  PROBE_KIND_HTTP: 'PROBE_KIND_HTTP',
  PROBE_KIND_MTU: 'PROBE_KIND_MTU',
  PROBE_KIND_NODE: 'PROBE_KIND_NODE',
  PROBE_KIND_DNS: 'PROBE_KIND_DNS',
} as const;

export type ProbeKind =
  | 'PROBE_KIND_UNSPECIFIED'
  | 0
  | 'PROBE_KIND_ICMP'
  | 1
  | 'PROBE_KIND_TCP'
  | 2
  | 'PROBE_KIND_HTTP'
  | 3
  | 'PROBE_KIND_MTU'
  | 4
  | 'PROBE_KIND_NODE'
  | 5
  | 'PROBE_KIND_DNS'
  | 6

export type ProbeKind__Output = typeof ProbeKind[keyof typeof ProbeKind]
