// Protobuf varints for the code that writes or reads the wire format by hand
// (the agent's report encoder, the aggregator's plan encoder, netmatrix-sim).
// Values are non-negative integers up to 2^53: no bit operations, which are
// 32-bit in JavaScript. The aggregator's report decoder keeps its own reader,
// specialized for its hot loop.

/** Bytes `v` takes as a varint. */
export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Writes `v` at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** `v` as a varint's bytes. */
export function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** The varint at `at` and the position after it; throws, naming `what`, when it is cut short or longer than 10 bytes. */
export function readVarint(b: Uint8Array, at: number, what = 'message'): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    value += (b[i]! & 0x7f) * scale;
    scale *= 0x80;
    if (b[i]! < 0x80) return [value, i + 1];
  }
  throw new Error(`bad varint at ${at} of a ${b.length}-byte ${what}`);
}
