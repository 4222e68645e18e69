// The finding kinds this aggregator raises, with their severity and the labels
// each carries besides alertname, severity and cluster (docs/findings.md).
// Kinds of the closed vocabulary (docs/architecture.md) not listed here (CNI, MTU) come with their inputs.
import type { FindingKind } from '../../common/vocabulary.js';
import type { Severity } from './finding.js';

export interface FindingSpec {
  readonly severity: Severity;
  /** Label sets the kind may carry (one of them per finding). */
  readonly labelSets: readonly (readonly string[])[];
}

export const FINDING_SPECS = {
  NodeUnreachable: { severity: 'critical', labelSets: [['node']] },
  NodeIsolated: { severity: 'critical', labelSets: [['node']] },
  ZonePartition: { severity: 'critical', labelSets: [['src_zone', 'dst_zone']] },
  PodNetworkUnreachable: { severity: 'critical', labelSets: [['node']] },
  ProbeKindFailing: { severity: 'warning', labelSets: [['kind'], ['kind', 'node']] },
  // [] is the one aggregate finding of what --max-pair-findings leaves out.
  PairUnreachable: { severity: 'warning', labelSets: [['src', 'dst'], []] },
  PacketLoss: { severity: 'warning', labelSets: [['node'], ['src', 'dst'], []] },
  HighLatency: { severity: 'warning', labelSets: [['node'], ['src', 'dst'], []] },
  DnsFailing: { severity: 'critical', labelSets: [['node'], ['server']] },
  DnsReplicaUnhealthy: { severity: 'warning', labelSets: [['server']] },
  DnsLatencyHigh: { severity: 'warning', labelSets: [['node'], ['server']] },
  AgentMissing: { severity: 'warning', labelSets: [['node']] },
  AgentStale: { severity: 'warning', labelSets: [['node']] },
  CniConfigDrift: { severity: 'warning', labelSets: [['node']] },
  CniPluginVersionSkew: { severity: 'warning', labelSets: [['plugin']] },
  IpPoolNearExhaustion: { severity: 'warning', labelSets: [['node']] },
  PodCidrOverlap: { severity: 'critical', labelSets: [['node']] },
} as const satisfies Partial<Record<FindingKind, FindingSpec>>;

export type RaisedKind = keyof typeof FINDING_SPECS;
/** Kinds whose pair-scoped findings (src, dst) are capped by --max-pair-findings. */
export const CAPPED_KINDS: readonly RaisedKind[] = ['PairUnreachable', 'PacketLoss', 'HighLatency'];
export const RAISED_KINDS = Object.keys(FINDING_SPECS) as RaisedKind[];
