import protobuf from 'protobufjs';
import t from 'tap';
import { readVarint, varintBytes, varintLength, writeVarint } from '../../proto/varint.js';
import { mulberry32 } from '../helpers/random.js';

/** protobufjs's own encoding of an unsigned 64-bit value, the reference. */
function reference(v: number): number[] {
  return [...protobuf.Writer.create().uint64(protobuf.util.LongBits.fromNumber(v).toLong(true)).finish()];
}

t.test('every writer agrees with protobufjs and the reader takes it back, up to 2^53', async (t) => {
  const random = mulberry32(53);
  const values = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 2_000; i++) values.push(Math.floor(random() * 2 ** Math.floor(random() * 54)));
  let bad = 0;
  for (const v of values) {
    const want = reference(v);
    const bytes = varintBytes(v);
    const buf = new Uint8Array(12).fill(0xee);
    const end = writeVarint(buf, 1, v);
    const [back, next] = readVarint(buf, 1);
    const ok = JSON.stringify(bytes) === JSON.stringify(want) && varintLength(v) === want.length && end === 1 + want.length && JSON.stringify([...buf.subarray(1, end)]) === JSON.stringify(want) && back === v && next === end;
    if (!ok && bad++ < 5) t.fail(`${v}: protobufjs ${want}, varintBytes ${bytes}, length ${varintLength(v)}, written ${[...buf.subarray(1, end)]}, read ${back} to ${next}`);
  }
  t.equal(bad, 0, `${values.length} values`);
});

t.test('a varint cut short or longer than 10 bytes is an error naming where', async (t) => {
  t.throws(() => readVarint(Uint8Array.of(0x08, 0x80, 0x80), 1, 'plan'), /bad varint at 1 of a 3-byte plan/);
  t.throws(() => readVarint(new Uint8Array(11).fill(0x80), 0), /bad varint at 0 of a 11-byte message/);
  t.same(readVarint(Uint8Array.of(0x96, 0x01), 0), [150, 2]);
});
