// What the findings engine hands its outlets (HTTP API, metrics, Alertmanager
// sender). Times are aggregator-clock milliseconds; outlets format them.
import type { FindingKind } from '../../common/vocabulary.js';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type FindingState = 'pending' | 'firing' | 'resolved';

export interface Finding {
  /** Hash of the labels: stable across evaluations and across aggregator replicas. */
  readonly id: string;
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly state: FindingState;
  /** alertname, severity, cluster, and node / src / dst / src_zone / dst_zone as the kind has them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description: string;
  readonly runbookUrl: string;
  /** When the condition was first seen (start of the pending time). */
  readonly since: number;
  /** When it fired; null while pending. */
  readonly firingSince: number | null;
  /** When it resolved; null unless resolved. */
  readonly resolvedAt: number | null;
}
