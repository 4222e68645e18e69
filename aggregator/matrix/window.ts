// Statistics over a cell's samples in the window: loss ratio and RTT
// percentiles. Pure functions over plain arrays, so they are tested with an
// injected clock and no store.

/** Nearest-rank percentile of an ascending-sorted array (p in 0..1). */
export function percentile(sorted: ArrayLike<number>, count: number, p: number): number {
  if (count === 0) return NaN;
  const rank = Math.max(1, Math.ceil(p * count));
  return sorted[Math.min(count, rank) - 1]!;
}

/** Sorts the first `count` values of a typed array in place (small n: insertion sort, no allocation). */
export function sortPrefix(values: Float64Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
}

/** Consecutive failures that make an outage rather than packet loss. */
export const OUTAGE_RUN = 2;

/**
 * Sorts the first `n` samples by time, in place (parallel arrays; n ≤ 64).
 */
export function sortByTime(ticks: Float64Array, failed: Uint8Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const t = ticks[i]!;
    const f = failed[i]!;
    let j = i - 1;
    while (j >= 0 && ticks[j]! > t) {
      ticks[j + 1] = ticks[j]!;
      failed[j + 1] = failed[j]!;
      j--;
    }
    ticks[j + 1] = t;
    failed[j + 1] = f;
  }
}

/**
 * The loss that says a pair is degraded now. A fault that failed probes and has
 * since cleared is reported as `failing` while it lasts; once probes pass again,
 * the loss it left in the window is history (Prometheus has it), not a present
 * degradation, so a healed pair is ok again at its first passing probe. So:
 * - samples before the last outage (a run of at least OUTAGE_RUN failures) are
 *   left out, and
 * - the most recent failure run that has ended is left out too, whatever its
 *   length: a single fault is one event, not a loss rate.
 * What remains is recurring loss, which random loss makes plenty of. The
 * current run (not ended) is kept: the cell is failing then anyway.
 * `failed` must be in time order (oldest first).
 */
export function lossSinceOutage(failed: Uint8Array, n: number): { samples: number; failed: number } {
  let start = 0;
  let run = 0;
  // The most recent ended run: [lastRunFrom, lastRunTo].
  let lastRunTo = -1;
  let lastRunFrom = -1;
  // From the newest back: skip the current run (it has not ended), then stop at
  // the first ended run that is long enough.
  let i = n - 1;
  while (i >= 0 && failed[i] === 1) i--;
  for (; i >= 0; i--) {
    if (failed[i] === 1) {
      if (lastRunTo < 0) lastRunTo = i;
      if (lastRunFrom < 0 && (i === 0 || failed[i - 1] === 0)) lastRunFrom = i;
      run++;
      // A run at the window's start may have been longer than what is left of
      // it: treat it as an outage, or a healed pair turns degraded as its
      // outage ages out of the window.
      if ((run >= OUTAGE_RUN || i === 0) && (i === 0 || failed[i - 1] === 0)) {
        start = i + run;
        break;
      }
    } else run = 0;
  }
  let lost = 0;
  for (let k = start; k < n; k++) lost += failed[k]!;
  let samples = n - start;
  if (lastRunFrom >= start) {
    const r = lastRunTo - lastRunFrom + 1;
    lost -= r;
    samples -= r;
  }
  return { samples, failed: lost };
}
