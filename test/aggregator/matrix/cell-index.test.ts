// The row index of the matrix store: an open-addressing table that must read
// exactly like a Map under any sequence of sets and deletes, grow and shrink.
import t from 'tap';
import { CellIndex } from '../../../aggregator/matrix/cell-index.js';
import { mulberry32 } from '../../helpers/random.js';

t.test('reads like a Map after a seeded random sequence of sets, overwrites and deletes, through growth and shrinking', async (t) => {
  for (const [seed, group] of [[1, 1], [2, 1], [3, 10], [20261207, 10]] as const) {
    const rand = mulberry32(seed);
    // group 10: a pair's kinds and families share a home, as the store uses it (long probe runs, the hard case for deletion).
    const index = new CellIndex(group);
    const model = new Map<number, number>();
    // Keys like cellKey(dst, kind, family) at up to 2,000 targets: dense, so probe runs collide.
    const keySpace = 2_000 * 10;
    let problems = 0;
    let maxSize = 0;
    const keys = () => [...model.keys()];
    let pool: number[] = [];
    for (let step = 0; step < 60_000; step++) {
      // First half mostly inserts of random keys (grows), second half mostly deletes of present ones (shrinks).
      if (step === 30_000) pool = keys();
      const key = step < 30_000 || pool.length === 0 ? Math.floor(rand() * keySpace) : pool.splice(Math.floor(rand() * pool.length), 1)[0]!;
      const r = rand();
      if (r < (step < 30_000 ? 0.8 : 0.02)) {
        const id = Math.floor(rand() * 1e9);
        index.set(key, id);
        model.set(key, id);
      } else if (index.delete(key) !== model.delete(key)) problems++;
      maxSize = Math.max(maxSize, index.size);
      if (step % 997 === 0) {
        if (index.size !== model.size) problems++;
        for (const [k, v] of model) if (index.get(k) !== v) problems++;
        for (let k = 0; k < keySpace; k += 7) if (index.has(k) !== model.has(k)) problems++;
      }
    }
    const seen = new Map<number, number>();
    index.forEach((id, key) => seen.set(key, id));
    t.same([...seen].sort((a, b) => a[0] - b[0]), [...model].sort((a, b) => a[0] - b[0]), `seed ${seed}: forEach yields every entry once`);
    t.equal(problems, 0, `seed ${seed}: every get, has, delete and size as a Map's`);
    t.ok(maxSize > 10_000, `seed ${seed}: grew past 10,000 entries (${maxSize})`);
    t.ok(index.bytes <= Math.max(128, 64 * model.size), `seed ${seed}: shrank with its entries (${index.bytes} bytes for ${model.size})`);
  }
});

t.test('a full-mesh row of 4,000 cells takes at most 32 bytes a cell', async (t) => {
  const index = new CellIndex();
  for (let dst = 0; dst < 1_000; dst++) for (let kind = 0; kind < 4; kind++) index.set(dst * 10 + kind * 2, dst * 4 + kind);
  t.ok(index.bytes / index.size <= 32, `${index.bytes / index.size} bytes a cell`);
  t.equal(index.get(999 * 10 + 3 * 2), 999 * 4 + 3);
  t.equal(index.get(999 * 10 + 1), undefined, 'another family is another key');
});

t.test('keys and ids outside int32 are refused, naming both', async (t) => {
  const index = new CellIndex();
  t.throws(() => index.set(-1, 0), /key -1 and id 0 must be non-negative int32/);
  t.throws(() => index.set(0, 2 ** 31), /id 2147483648/);
  t.throws(() => index.set(1.5, 0), /key 1.5/);
  t.equal(index.size, 0, 'nothing was added');
});
