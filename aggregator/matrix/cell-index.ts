// One source row's index: cell key (cellKey(dst, kind, family)) → cell id,
// an open-addressing hash table in one Int32Array (key and id side by side,
// linear probing, backward-shift deletion: no tombstones). A lookup is one or
// two reads of adjacent memory, where a Map of the same size takes several
// cache misses; at 1,000 nodes the store does one lookup per ingested result
// (~800,000 a second) and the evaluation a few per non-ok pair, all in rows
// too large for any cache. It also takes ~12–24 bytes per entry, where a Map
// takes ~30–60. Keys and ids are non-negative int32.

const EMPTY = -1;
const MIN_BITS = 3;

export class CellIndex {
  /** [key, id] pairs; key EMPTY where the slot is free. */
  private table: Int32Array;
  private bits: number;
  private count = 0;

  /**
   * Keys with the same ⌊key / group⌋ hash to the same home, so linear probing
   * keeps them in adjacent slots: with group = kinds × families, the cells of
   * one pair (every kind towards one target) are found in one cache line,
   * which is how the localizer reads them (pooled pair loss).
   */
  constructor(private readonly group = 1) {
    this.bits = MIN_BITS;
    this.table = new Int32Array(2 << MIN_BITS).fill(EMPTY);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.table.byteLength;
  }

  get(key: number): number | undefined {
    const t = this.table;
    const mask = (1 << this.bits) - 1;
    for (let slot = this.home(key); ; slot = (slot + 1) & mask) {
      const k = t[slot * 2]!;
      if (k === key) return t[slot * 2 + 1]!;
      if (k === EMPTY) return undefined;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, id: number): void {
    if (key < 0 || id < 0 || !Number.isInteger(key) || !Number.isInteger(id) || key > 0x7fffffff || id > 0x7fffffff) {
      throw new RangeError(`cell index: key ${key} and id ${id} must be non-negative int32`);
    }
    // Grown at 3/4 full: linear probing stays short below that.
    if ((this.count + 1) * 4 > 3 << this.bits) this.resize(this.bits + 1);
    const t = this.table;
    const mask = (1 << this.bits) - 1;
    for (let slot = this.home(key); ; slot = (slot + 1) & mask) {
      const k = t[slot * 2]!;
      if (k === key) {
        t[slot * 2 + 1] = id;
        return;
      }
      if (k === EMPTY) {
        t[slot * 2] = key;
        t[slot * 2 + 1] = id;
        this.count++;
        return;
      }
    }
  }

  delete(key: number): boolean {
    const t = this.table;
    const mask = (1 << this.bits) - 1;
    let slot = this.home(key);
    for (; ; slot = (slot + 1) & mask) {
      const k = t[slot * 2]!;
      if (k === EMPTY) return false;
      if (k === key) break;
    }
    // Backward shift: move later entries of the probe run into the hole when
    // their home is not between the hole and them (cyclically).
    let hole = slot;
    for (let next = (hole + 1) & mask; ; next = (next + 1) & mask) {
      const k = t[next * 2]!;
      if (k === EMPTY) break;
      const home = this.home(k);
      const fromHole = (next - hole) & mask;
      const fromHome = (next - home) & mask;
      if (fromHome >= fromHole) {
        t[hole * 2] = k;
        t[hole * 2 + 1] = t[next * 2 + 1]!;
        hole = next;
      }
    }
    t[hole * 2] = EMPTY;
    this.count--;
    // Shrunk at 1/8 full, so a row that lost most of its targets gives memory back.
    if (this.bits > MIN_BITS && this.count * 8 < 1 << this.bits) this.resize(this.bits - 1);
    return true;
  }

  /** Every entry, in table order (not insertion order). The index must not change meanwhile. */
  forEach(f: (id: number, key: number) => void): void {
    const t = this.table;
    for (let i = 0; i < t.length; i += 2) if (t[i] !== EMPTY) f(t[i + 1]!, t[i]!);
  }

  private home(key: number): number {
    // Fibonacci hashing: keys are dense small integers (dst × kinds × families).
    return Math.imul(this.group === 1 ? key : Math.floor(key / this.group), 0x9e3779b1) >>> (32 - this.bits);
  }

  private resize(bits: number): void {
    const old = this.table;
    this.bits = bits;
    this.table = new Int32Array(2 << bits).fill(EMPTY);
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== EMPTY) this.set(old[i]!, old[i + 1]!);
  }
}
