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
 * Loss over the samples since the last outage ended. An outage (a run of at
 * least OUTAGE_RUN failures) is reported as `failing` while it lasts; once
 * probes pass again, the loss it left in the window is history (Prometheus has
 * it), not a present degradation, so a healed pair is ok again at once. Random
 * loss rarely makes such runs, so it is still measured over most of the window.
 * `failed` must be in time order (oldest first).
 */
export function lossSinceOutage(failed: Uint8Array, n: number): { samples: number; failed: number } {
  let start = 0;
  let run = 0;
  // From the newest back: skip the current run (it has not ended), then stop at
  // the first ended run that is long enough.
  let i = n - 1;
  while (i >= 0 && failed[i] === 1) i--;
  for (; i >= 0; i--) {
    if (failed[i] === 1) {
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
  return { samples: n - start, failed: lost };
}
