// Typed-array helpers: arrays that grow with the node count (the store's
// per-node tallies and rest planes, the evaluator's RTT rings), and ordering many cells by a
// number.

type Grows = Int32Array | Float64Array | Uint8Array | Uint16Array;

/** A new array of `length` elements of the same type, starting with `old`'s. */
export function grown<T extends Grows>(old: T, length: number): T {
  const next = new (old.constructor as new (n: number) => T)(length);
  next.set(old);
  return next;
}

/**
 * `items` ordered by an integer key in [0, range), ties in their order: a
 * typed-array sort of one number per item (key × count + position), several
 * times faster than a comparator sort on the tens of thousands of non-ok cells
 * an evaluation orders. Keys too large for that to be exact fall back to a
 * (stable) comparator sort.
 */
export function orderBy<T>(items: readonly T[], key: (x: T) => number, range: number): T[] {
  const m = items.length;
  if (range * m >= Number.MAX_SAFE_INTEGER) return items.map((x) => ({ x, k: key(x) })).sort((a, b) => a.k - b.k).map((e) => e.x);
  const order = new Float64Array(m);
  for (let i = 0; i < m; i++) order[i] = key(items[i]!) * m + i;
  order.sort();
  const out = new Array<T>(m);
  for (let i = 0; i < m; i++) out[i] = items[order[i]! % m]!;
  return out;
}
