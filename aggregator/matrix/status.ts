// How a cell's status is decided. Documented in docs/architecture.md
// ("Cell status"); the thresholds are settings.
import type { Outcome, Status } from '../../common/vocabulary.js';

export interface StatusThresholds {
  /** Loss ratio in the window at or above which a cell is degraded (default 0.05). */
  readonly degradedLoss: number;
  /** Loss ratio in the window at or above which a cell is failing even if the last probe passed (default 0.5). */
  readonly failingLoss: number;
  /** RTT p50 in ms above which a cell is degraded (default 50). */
  readonly degradedRttMs: number;
  /** Without a sample for this long a cell is unknown (default 3 × interval). */
  readonly staleAfterMs: number;
}

export interface CellFacts {
  readonly samples: number;
  readonly lastOutcome: Outcome | null;
  readonly lastAgeMs: number;
  /** Loss over the samples since the last outage ended (window.ts lossSinceOutage). */
  readonly lossRatio: number | null;
  readonly rttP50Ms: number | null;
}

export interface Verdict {
  readonly status: Status;
  readonly reason: string;
  /** What made a degraded cell degraded (the findings engine tells PacketLoss from HighLatency by it). */
  readonly degradedBy?: 'loss' | 'latency';
}

export function decideStatus(f: CellFacts, t: StatusThresholds): Verdict {
  if (f.lastOutcome === null || f.samples === 0) return { status: 'unknown', reason: 'no probe results yet' };
  if (f.lastAgeMs > t.staleAfterMs) {
    return { status: 'unknown', reason: `no result for ${Math.round(f.lastAgeMs / 1000)}s (stale after ${t.staleAfterMs / 1000}s): is the source agent running?` };
  }
  const loss = f.lossRatio ?? 0;
  if (f.lastOutcome !== 'ok') return { status: 'failing', reason: `last probe: ${f.lastOutcome}; loss ${pct(loss)} in window` };
  if (loss >= t.failingLoss && loss > 0) return { status: 'failing', reason: `loss ${pct(loss)} ≥ ${pct(t.failingLoss)}` };
  if (loss >= t.degradedLoss && loss > 0) return { status: 'degraded', degradedBy: 'loss', reason: `loss ${pct(loss)} ≥ ${pct(t.degradedLoss)}` };
  if (f.rttP50Ms !== null && f.rttP50Ms > t.degradedRttMs) {
    return { status: 'degraded', degradedBy: 'latency', reason: `RTT p50 ${f.rttP50Ms.toFixed(2)} ms > ${t.degradedRttMs} ms` };
  }
  return { status: 'ok', reason: 'last probe ok, loss and latency under thresholds' };
}

/** A ratio as people read it in reasons and finding texts: 0.05 → "5.0%". */
export function pct(r: number): string {
  return `${(r * 100).toFixed(1)}%`;
}
