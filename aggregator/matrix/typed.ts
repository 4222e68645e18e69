// Typed arrays that grow with the node count (the store's per-node tallies, the
// evaluator's RTT rings): a copy into a larger array of the same type.

type Grows = Int32Array | Float64Array | Uint8Array;

/** A new array of `length` elements of the same type, starting with `old`'s. */
export function grown<T extends Grows>(old: T, length: number): T {
  const next = new (old.constructor as new (n: number) => T)(length);
  next.set(old);
  return next;
}
