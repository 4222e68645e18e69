// The cell rule: how one cell's recent results become ok, degraded or
// failing. One rule for the matrix and the DNS table (both keep their cells in
// a MatrixStore). docs/architecture.md ("Cell status") states it with its
// error rates, which test/aggregator/matrix/verdicts.test.ts checks against
// the real store, and `npm run bench -- verdicts` tabulates.
//
// The evidence is weighed, not counted:
// - an explicit answer (refused, unreachable, reset, mtu_exceeded) is never a
//   random loss: the cell is failing at once;
// - a timeout is failing at once only when another kind timed out towards the
//   same target in the same report (independent losses rarely coincide);
// - a lone timeout needs its successor to fail too;
// - loss is judged with a Wilson lower confidence bound over the loss window
//   (longer than the status window), with a minimum number of failures, so
//   0.5 % background loss stays ok and 10 % loss is found.
import { outcomes, type Outcome } from '../../common/vocabulary.js';

/** One-sided 99 % normal quantile of the Wilson bound. */
export const WILSON_Z = 2.326;
/**
 * Pair findings test ~N² pairs at once: their loss bound is stricter (z = 3.5,
 * one-sided ~99.98 %) and needs half a loss window of samples, so that chance
 * runs of background loss on a few of a million pairs do not page.
 */
export const PAIR_WILSON_Z = 3.5;
export const PAIR_MIN_LOSS_SAMPLES = 60;
/** Fewer failures than this in the loss window never make a cell lossy, whatever the ratio. */
export const MIN_LOSS_FAILURES = 3;
/** Failures in the status window, at least, before --failing-loss can make a cell failing. */
export const MIN_FAILING_FAILURES = 3;
/**
 * A run of this many failures or more that has ended was an outage: failing
 * while it lasted, then left out of the loss (it is history, in Prometheus;
 * a healed pair is ok at its first answer). So is a run of CONFIRMING_RUN
 * whose last failure was explicit or corroborated (a blip of a whole node or
 * path). Other runs are loss.
 */
export const OUTAGE_RUN = 3;
/** Consecutive failures that make a cell failing without other evidence. */
export const CONFIRMING_RUN = 2;
/**
 * A pair failing on one kind only, by timeouts alone, is a finding after this
 * many in a row: chance runs of independent loss must not page at 1,000 nodes
 * (p⁶ at 0.5 % over 4 M cells and a day of rounds is ~0.001; p⁴ would be ~40).
 */
export const PAIR_SILENT_RUN = 6;
/** Ok samples in the status window, at least, before latency is judged. */
export const MIN_LATENCY_SAMPLES = 3;
/** The loss window is kept in this many time buckets (it covers between 7/8 and 8/8 of --loss-window). */
export const LOSS_BUCKETS = 8;
/** Most samples in the status window (counters are bytes): window / interval above it is refused at start. */
export const MAX_STATUS_SAMPLES = 240;

/** Cell codes: the status byte kept per cell and counted in the tallies. */
export const CODE_UNKNOWN = 0;
export const CODE_OK = 1;
export const CODE_LOSSY = 2;
export const CODE_SLOW = 3;
export const CODE_FAILING = 4;
export const CODES = 5;

export const OK_OUTCOME = outcomes.index('ok');

/** Outcomes that are an answer from the path (not a silence): one of them is failing at once. */
export const EXPLICIT: readonly Outcome[] = ['refused', 'unreachable', 'reset', 'mtu_exceeded', 'nxdomain', 'servfail', 'dns_refused', 'malformed'];
const explicitIndex = new Uint8Array(outcomes.words.length);
for (const o of EXPLICIT) explicitIndex[outcomes.index(o)] = 1;
export function isExplicit(outcome: number): boolean {
  return explicitIndex[outcome] === 1;
}

export interface RuleThresholds {
  /** Loss at or above which a cell is degraded, judged by the Wilson lower bound over the loss window. */
  readonly degradedLoss: number;
  /** Loss in the status window (point estimate, with MIN_FAILING_FAILURES) at which a cell is failing. */
  readonly failingLoss: number;
  /** RTT p50 (ms) above which a cell is degraded: more than half its ok samples slower than this. */
  readonly degradedRttMs: number;
}

/**
 * Wilson score lower bound of a binomial proportion: the loss ratio we are
 * 99 % sure is exceeded, given `failed` of `total`.
 */
export function wilsonLower(failed: number, total: number, z = WILSON_Z): number {
  if (total <= 0) return 0;
  const p = failed / total;
  const z2 = z * z;
  const centre = p + z2 / (2 * total);
  const spread = z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return Math.max(0, (centre - spread) / (1 + z2 / total));
}

/** True when `failed` of `total` is loss at `threshold` or more, with confidence. */
export function lossy(failed: number, total: number, threshold: number, z = WILSON_Z): boolean {
  return failed >= MIN_LOSS_FAILURES && threshold > 0 && wilsonLower(failed, total, z) >= threshold;
}

/** The facts the rule reads, all kept at ingest in O(1) (MatrixStore). */
export interface CellCounts {
  /** Consecutive failures at the newest end (0: the last result was ok). */
  readonly run: number;
  /** The newest failure was an explicit answer. */
  readonly explicit: boolean;
  /** The newest failure was a timeout corroborated by another kind in the same report. */
  readonly corroborated: boolean;
  /** Samples and failures in the status window. */
  readonly windowSamples: number;
  readonly windowFailures: number;
  /** Ok samples in the status window whose RTT is judged (not marked loop-delayed by their agent), and of those, the ones slower than the latency threshold. */
  readonly oks: number;
  readonly slowOks: number;
  /** Samples and failures in the loss window. */
  readonly lossSamples: number;
  readonly lossFailures: number;
}

/** The code of a cell with fresh data. */
export function decide(c: CellCounts, t: RuleThresholds): number {
  if (c.run > 0 && (c.explicit || c.corroborated || c.run >= CONFIRMING_RUN)) return CODE_FAILING;
  if (c.windowFailures >= MIN_FAILING_FAILURES && c.windowFailures >= t.failingLoss * c.windowSamples) return CODE_FAILING;
  if (lossy(c.lossFailures, c.lossSamples, t.degradedLoss)) return CODE_LOSSY;
  if (c.oks >= MIN_LATENCY_SAMPLES && c.slowOks * 2 > c.oks) return CODE_SLOW;
  return CODE_OK;
}

/** Why a cell has its code, in one line (the API's `reason`). */
export function explain(code: number, c: CellCounts, lastOutcome: Outcome | null, t: RuleThresholds): string {
  switch (code) {
    case CODE_FAILING:
      if (c.run > 0 && c.explicit) return `last probe: ${lastOutcome} (an answer from the path, not a loss)`;
      if (c.run > 0 && c.corroborated) return `last probe: ${lastOutcome}, and other kinds timed out towards the same target in the same round`;
      if (c.run >= CONFIRMING_RUN) return `last ${c.run} probes failed (${lastOutcome})`;
      return `${c.windowFailures} of the last ${c.windowSamples} probes failed (≥ ${pct(t.failingLoss)})`;
    case CODE_LOSSY:
      return `loss ${pct(c.lossFailures / c.lossSamples)} (${c.lossFailures} of ${c.lossSamples}); at least ${pct(wilsonLower(c.lossFailures, c.lossSamples))} with 99 % confidence, ≥ ${pct(t.degradedLoss)}`;
    case CODE_SLOW:
      return `RTT p50 above ${t.degradedRttMs} ms (${c.slowOks} of ${c.oks} answers slower)`;
    case CODE_OK:
      return c.run > 0 ? `last probe: ${lastOutcome}, not confirmed yet (one lost probe is not an outage)` : 'last probe ok, loss and latency under thresholds';
    default:
      return 'no fresh probe results';
  }
}

/** A ratio as people read it in reasons and finding texts: 0.05 → "5.0%". */
export function pct(r: number): string {
  return `${(r * 100).toFixed(1)}%`;
}
