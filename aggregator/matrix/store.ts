// The matrix store: for each (source, target, kind, family) a rolling window of
// probe results. Memory is the constraint (DESIGN.md: < 200 bytes per tracked
// cell, 1,000 nodes full mesh in < 1 GiB), so cells are not objects: they are
// slots in fixed-size chunks of typed arrays, and each sample takes 9 bytes
// (time 4, RTT 4, outcome 1). A sample's time is the aggregator's receive time
// corrected by the result's age on the agent's own clock; agents' clocks are
// never compared with each other or with ours.
import {
  PAIR_KINDS,
  addressFamilies,
  outcomes,
  type AddressFamily,
  type Outcome,
  type PairKind,
} from '../../common/vocabulary.js';
import { decideStatus, type StatusThresholds, type Verdict } from './status.js';
import { lossSinceOutage, percentile, sortByTime, sortPrefix } from './window.js';

export interface MatrixOptions {
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly thresholds: StatusThresholds;
}

export interface CellView extends Verdict {
  readonly lossRatio: number | null;
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
  readonly lastOutcome: Outcome | null;
  /** When the current run of identical outcomes began (ms, aggregator clock). */
  readonly since: number | null;
  readonly lastAt: number | null;
  /** Samples inside the window. */
  readonly samples: number;
}

export interface Sample {
  readonly at: number;
  readonly outcome: Outcome;
  readonly rttUs: number;
}

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS; // cells per chunk
const MAX_RING = 64;
const OK = outcomes.index('ok');
const KINDS = PAIR_KINDS.length;
const FAMILIES = addressFamilies.words.length;
const NO_OUTCOME = 255;
const TICK_MS = 100; // sample time resolution: 32 bits of 100 ms ticks last 13 years

class Chunk {
  readonly lastAt: Float64Array;
  readonly runStart: Float64Array;
  readonly lastOutcome: Uint8Array;
  readonly head: Uint8Array;
  readonly filled: Uint8Array;
  readonly sampleTick: Uint32Array;
  readonly sampleRtt: Uint32Array;
  readonly sampleOutcome: Uint8Array;
  constructor(ring: number) {
    this.lastAt = new Float64Array(CHUNK);
    this.runStart = new Float64Array(CHUNK);
    this.lastOutcome = new Uint8Array(CHUNK).fill(NO_OUTCOME);
    this.head = new Uint8Array(CHUNK);
    this.filled = new Uint8Array(CHUNK);
    this.sampleTick = new Uint32Array(CHUNK * ring);
    this.sampleRtt = new Uint32Array(CHUNK * ring);
    this.sampleOutcome = new Uint8Array(CHUNK * ring);
  }
}

export function cellKey(dst: number, kind: number, family: number): number {
  return (dst * KINDS + kind) * FAMILIES + family;
}

export class MatrixStore {
  readonly ring: number;
  private readonly chunks: Chunk[] = [];
  private readonly free: number[] = [];
  private nextCell = 0;
  /** rows[src] maps cellKey(dst, kind, family) → cell id. */
  private readonly rows: (Map<number, number> | undefined)[] = [];
  private readonly baseMs: number;
  // Scratch space for one cell's window, reused by every view() (no allocation).
  private readonly rtts: Float64Array;
  private readonly ticks: Float64Array;
  private readonly fails: Uint8Array;
  private cells = 0;

  constructor(
    readonly options: MatrixOptions,
    now: number,
  ) {
    // Room for every sample of a full window plus slack for jitter and replays.
    this.ring = Math.min(MAX_RING, Math.ceil(options.windowMs / options.intervalMs) + 2);
    this.baseMs = now - TICK_MS;
    this.rtts = new Float64Array(this.ring);
    this.ticks = new Float64Array(this.ring);
    this.fails = new Uint8Array(this.ring);
  }

  get trackedCells(): number {
    return this.cells;
  }

  /** Records one result. Indices come from the node registry and the vocabularies. */
  record(src: number, dst: number, kind: number, family: number, outcome: number, rttUs: number, at: number): void {
    let row = this.rows[src];
    if (row === undefined) {
      row = new Map();
      this.rows[src] = row;
    }
    const key = cellKey(dst, kind, family);
    let id = row.get(key);
    if (id === undefined) {
      id = this.allocate();
      row.set(key, id);
    }
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const ring = this.ring;
    const slot = i * ring + c.head[i]!;
    c.sampleTick[slot] = Math.max(0, Math.round((at - this.baseMs) / TICK_MS));
    c.sampleRtt[slot] = rttUs;
    c.sampleOutcome[slot] = outcome;
    c.head[i] = (c.head[i]! + 1) % ring;
    if (c.filled[i]! < ring) c.filled[i] = c.filled[i]! + 1;
    // A replayed result older than what we hold joins the window but does not
    // change "last outcome".
    if (at >= c.lastAt[i]!) {
      if (c.lastOutcome[i] !== outcome) c.runStart[i] = at;
      c.lastOutcome[i] = outcome;
      c.lastAt[i] = at;
    }
  }

  /** The cell's statistics and status at `now`; undefined when never probed. */
  view(src: number, dst: number, kind: number, family: number, now: number): CellView | undefined {
    const id = this.rows[src]?.get(cellKey(dst, kind, family));
    if (id === undefined) return undefined;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const ring = this.ring;
    const fromTick = (now - this.options.windowMs - this.baseMs) / TICK_MS;
    let total = 0;
    let failed = 0;
    let oks = 0;
    const { rtts, ticks, fails } = this;
    for (let s = 0, n = c.filled[i]!; s < n; s++) {
      const slot = i * ring + s;
      const tick = c.sampleTick[slot]!;
      if (tick < fromTick) continue;
      const bad = c.sampleOutcome[slot] === OK ? 0 : 1;
      ticks[total] = tick;
      fails[total] = bad;
      total++;
      if (bad) failed++;
      else rtts[oks++] = c.sampleRtt[slot]! / 1000;
    }
    sortPrefix(rtts, oks);
    sortByTime(ticks, fails, total);
    const recent = lossSinceOutage(fails, total);
    const lastOutcome = c.lastOutcome[i] === NO_OUTCOME ? null : outcomes.words[c.lastOutcome[i]!]!;
    const lossRatio = total === 0 ? null : failed / total;
    const rttP50Ms = oks === 0 ? null : round3(percentile(rtts, oks, 0.5));
    const rttP99Ms = oks === 0 ? null : round3(percentile(rtts, oks, 0.99));
    const lastAt = lastOutcome === null ? null : c.lastAt[i]!;
    const verdict = decideStatus(
      {
        samples: total,
        lastOutcome,
        lastAgeMs: lastAt === null ? Infinity : now - lastAt,
        lossRatio: recent.samples === 0 ? null : recent.failed / recent.samples,
        rttP50Ms,
      },
      this.options.thresholds,
    );
    // Fields listed, not spread: spreading the verdict made this call 20× slower
    // (bench/evaluation.ts reads every cell of the matrix each evaluation).
    return {
      status: verdict.status,
      reason: verdict.reason,
      degradedBy: verdict.degradedBy,
      lossRatio,
      rttP50Ms,
      rttP99Ms,
      lastOutcome,
      since: lastOutcome === null ? null : c.runStart[i]!,
      lastAt,
      samples: total,
    };
  }

  /** Samples in the window, oldest first. */
  samples(src: number, dst: number, kind: number, family: number, now: number): Sample[] {
    const id = this.rows[src]?.get(cellKey(dst, kind, family));
    if (id === undefined) return [];
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const out: Sample[] = [];
    const from = now - this.options.windowMs;
    for (let s = 0, n = c.filled[i]!; s < n; s++) {
      const slot = i * this.ring + s;
      const at = this.baseMs + c.sampleTick[slot]! * TICK_MS;
      if (at < from) continue;
      out.push({ at, outcome: outcomes.words[c.sampleOutcome[slot]!]!, rttUs: c.sampleRtt[slot]! });
    }
    return out.sort((a, b) => a.at - b.at);
  }

  /** Forgets every cell from or to node `n` (its index may then be reused). */
  removeNode(n: number, nodeSlots: number): void {
    const row = this.rows[n];
    if (row) {
      for (const id of row.values()) this.release(id);
      this.rows[n] = undefined;
    }
    this.removeColumn(n, nodeSlots);
  }

  /** Forgets every cell towards `dst` from the first `rows` sources (a target that is gone). */
  removeColumn(dst: number, rows = this.rows.length): void {
    for (let src = 0; src < Math.min(rows, this.rows.length); src++) {
      const r = this.rows[src];
      if (!r) continue;
      for (let k = 0; k < KINDS; k++) {
        for (let f = 0; f < FAMILIES; f++) {
          const key = cellKey(dst, k, f);
          const id = r.get(key);
          if (id !== undefined) {
            r.delete(key);
            this.release(id);
          }
        }
      }
    }
  }

  private allocate(): number {
    this.cells++;
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const id = this.nextCell++;
    if (id >>> CHUNK_BITS >= this.chunks.length) this.chunks.push(new Chunk(this.ring));
    return id;
  }

  private release(id: number): void {
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    c.lastAt[i] = 0;
    c.runStart[i] = 0;
    c.lastOutcome[i] = NO_OUTCOME;
    c.head[i] = 0;
    c.filled[i] = 0;
    this.free.push(id);
    this.cells--;
  }
}

export function kindIndex(kind: PairKind): number {
  return PAIR_KINDS.indexOf(kind);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
