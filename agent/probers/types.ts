// The prober contract, after blackbox_exporter: one prober per file, every
// prober the same signature, and the caller (the scheduler) owns timing and the
// deadline. A prober returns a structured result and never throws for a
// network failure: that is an outcome.
import type { Logger } from '../../common/logger.js';
import type { AddressFamily, DnsRole, Outcome, ProbeKind } from '../../common/vocabulary.js';

export interface ProbeTarget {
  readonly node: string;
  readonly ip: string;
  readonly family: AddressFamily;
  /** Responder port for tcp and http, the server's port for dns; unused by ICMP probers. */
  readonly port: number;
  /** The question, for dns probes. */
  readonly dns?: DnsQuestionSpec;
}

export interface DnsQuestionSpec {
  /** Name of the server in the plan (the column of GET /api/v1/dns). */
  readonly server: string;
  readonly role: DnsRole;
  readonly name: string;
  readonly type: 'A' | 'AAAA';
  /** Set for the "must not exist" check: the prober asks a fresh random name under this zone instead of `name`. */
  readonly nxZone?: string;
  /** The TCP check: asked over TCP from the start, not only after a truncated UDP reply. */
  readonly tcpCheck?: boolean;
}

/** What a dns probe adds to its outcome. */
export interface DnsDetail {
  /** The name asked (for the nx check, the random one). */
  readonly name: string;
  readonly answers: readonly string[];
  readonly rcode: string | null;
  readonly tcp: boolean;
  readonly ignored: number;
}

export interface HttpTimings {
  readonly connectUs: number;
  readonly firstByteUs: number;
  readonly totalUs: number;
}

export interface ProbeOutcome {
  readonly outcome: Outcome;
  /** Round-trip time in microseconds (0 when the probe failed). */
  readonly rttUs: number;
  /** Short reason for non-ok outcomes, e.g. "ECONNREFUSED" or "ICMP host unreachable from 10.0.0.1". */
  readonly detail?: string;
  readonly http?: HttpTimings;
  readonly dns?: DnsDetail;
}

/**
 * `signal` aborts at the deadline the caller chose; the prober must then settle
 * promptly with outcome `timeout` and release every socket and timer it holds.
 */
export type Prober = (target: ProbeTarget, signal: AbortSignal, log: Logger) => Promise<ProbeOutcome>;

export type ProberRegistry = Partial<Record<ProbeKind, Prober>>;

export const TIMEOUT: ProbeOutcome = Object.freeze({ outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
