// Percentiles over a cell's results in the status window, computed on demand
// (GET /pairs and the non-ok cells an evaluation describes). Pure functions
// over plain arrays, tested without a store.

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
