// The matrix store: for each (source, target, kind, family) cell, the state the
// cell rule needs, kept at ingest in O(1) per result (aggregator/matrix/rule.ts):
// a ring of the last results (the status window, for percentiles on demand and
// GET /pairs), counts over it, the current run of failures, loss counts in time
// buckets over the longer loss window, and a status byte. Whenever a cell's
// status byte changes, per-(kind, target), per-(kind, source), per-zone-pair
// and per-kind tallies and a set of non-ok cells change with it, so an
// evaluation reads tallies and the non-ok set, never every cell.
//
// Time is the aggregator's monotonic clock (ms): a wall-clock step changes no
// window. A row (one source) is fresh while its reports come; `sweep` turns
// the cells of a row whose reports stopped to unknown, once.
//
// Sparse cells (a sampled plan probes a pair every few rounds: docs/scaling.md)
// are judged on their own cadence: a non-ok cell of a fresh row is blanked
// only once it has gone a whole cadence (setCadence) plus the stale time
// without a result, not after the stale time alone. And the evaluation judges
// nodes and zones on *current* cells only, those with a result within the
// stale time: a cell probed minutes ago says little about a node now. So, while
// a sampled plan runs, the store also keeps per node (in and out) and per zone
// pair the cells by code in time slots of one interval (by their newest
// result), O(1) per result; currentNodeCounts and currentZoneTally sum the
// slots within the stale time.
//
// Memory is the constraint (docs/architecture.md: < 200 bytes per tracked
// cell): cells are slots in fixed-size chunks of typed arrays; a sample takes
// 7 bytes (time 2, RTT 4, outcome 1).
//
// Under a sampled plan most cells hold one result every walk period (~80
// rounds at 5,000 nodes), and a full cell for each of N² × kinds pairs would
// be ~16 GB. So a cell that is ok with nothing worth keeping (its newest
// result ok and not slow, its loss buckets ok results only, at most one each:
// no failure within the loss window) is put AT REST as soon as it is: its
// chunk slot goes back to the free list and a 2-byte record stays in a dense
// per-(source, kind, family) plane: ok, and the time of its newest result
// (100 ms ticks modulo 109 minutes, see ageRest); a byte more, in a plane made
// only where needed, says which older loss buckets hold one ok result (a walk
// period shorter than the loss window). The tallies keep counting it
// as they did (its code, its loss samples, its current slot), so node, zone
// and pair verdicts read the same; its next result re-creates the full cell
// with those loss samples and a fresh status window (docs/scaling.md says
// what that changes). A blanked cell (unknown, no results) rests too. The full
// mesh never rests a cell.
//
// A result its agent marked as taken while its event loop was held up
// (loop_delay_us, docs/architecture.md "Event-loop delay") may include that
// delay: an answer still counts as an answer (loss), but its RTT is not judged
// (latency, percentiles); a timeout is not judged at all (not stored), since
// its answer may have come and waited behind the stall.
import { PAIR_KINDS, addressFamilies, outcomes, type Outcome, type PairKind, type Status } from '../../common/vocabulary.js';
import {
  CODE_FAILING,
  CODE_LOSSY,
  CODE_OK,
  CODE_SLOW,
  CODE_UNKNOWN,
  CODES,
  LOSS_BUCKETS,
  MAX_STATUS_SAMPLES,
  OK_OUTCOME,
  OUTAGE_RUN,
  CONFIRMING_RUN,
  decide,
  explain,
  isExplicit,
  type CellCounts,
  type RuleThresholds,
} from './rule.js';
import { CellIndex } from './cell-index.js';
import { grown } from './typed.js';
import { percentile, sortPrefix } from './window.js';

export interface StatusThresholds extends RuleThresholds {
  /** A row without a report for this long is stale: its cells are unknown (default 3 × interval). */
  readonly staleAfterMs: number;
}

export interface MatrixOptions {
  /** The status window: its length / interval is the number of results judged for failing and latency. */
  readonly windowMs: number;
  readonly intervalMs: number;
  /** The loss window (default: the status window): loss is judged over it with a confidence bound. */
  readonly lossWindowMs?: number;
  readonly thresholds: StatusThresholds;
  /** Monotonic → wall-clock ms, for the times a view shows (default: the same). */
  readonly toWall?: (mono: number) => number;
}

export interface CellView {
  readonly status: Status;
  readonly reason: string;
  /** What made a degraded cell degraded. */
  readonly degradedBy?: 'loss' | 'latency';
  /** The loss ratio the status was judged on: failures / samples over the loss window. */
  readonly lossRatio: number | null;
  /** Samples the loss ratio covers, and the time they span (ms). */
  readonly lossSamples: number;
  readonly lossSpanMs: number;
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
  readonly lastOutcome: Outcome | null;
  /** When the current run of identical outcomes began (wall ms). */
  readonly since: number | null;
  /** The newest result (wall ms). */
  readonly lastAt: number | null;
  /** Samples in the status window, and the time they span (ms). */
  readonly samples: number;
  readonly windowSpanMs: number;
  /** Consecutive failures at the newest end (0: the last result was ok). */
  readonly failureRun: number;
}

export interface Sample {
  /** Wall ms. */
  readonly at: number;
  readonly outcome: Outcome;
  readonly rttUs: number;
  /** Its agent marked it as taken while its event loop was held up: its RTT is not judged. */
  readonly loopDelayed: boolean;
}

/**
 * What forEachNonOk hands over per cell that is not ok (and not unknown):
 * its place, code, loss buckets (its share of the node and zone tallies, not
 * the current run), the same over the recent slots asked for, the current run
 * of failures and the newest outcome (outcome index). Positional arguments:
 * the evaluation walks every non-ok cell, and an object per cell is what it
 * would allocate most.
 */
export type NonOkVisitor = (src: number, dst: number, kind: number, code: number, lossSamples: number, lossFailures: number, recentSamples: number, recentFailures: number, run: number, lastOutcome: number) => void;

/** A node's cells (in or out) of one (kind, family): how many by status, and their loss. Filled by MatrixStore.nodeCounts. */
export interface NodeCounts {
  ok: number;
  lossy: number;
  slow: number;
  failing: number;
  /** Over the loss window. */
  lossSamples: number;
  lossFailures: number;
  /** Over the recent bucket slots asked for. */
  recentSamples: number;
  recentFailures: number;
}

export const newNodeCounts = (): NodeCounts => ({ ok: 0, lossy: 0, slow: 0, failing: 0, lossSamples: 0, lossFailures: 0, recentSamples: 0, recentFailures: 0 });

function clearLoss(t: NodeCounts): NodeCounts {
  t.lossSamples = t.lossFailures = t.recentSamples = t.recentFailures = 0;
  return t;
}

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS; // cells per chunk
const KINDS = PAIR_KINDS.length;
const FAMILIES = addressFamilies.words.length;
/** Tally planes: one per (kind, family). */
export const KF = KINDS * FAMILIES;
const NO_OUTCOME = 255;
/** rowCodes: the row has no cell towards that target. */
export const NOT_TRACKED = 255;
/** Set on a ring entry's outcome when it was part of an outage (left out of the window's failure count). */
const EXCLUDED = 0x80;
/** Set on a ring entry's outcome when it was a replay (older than the newest): never part of a run. */
const REPLAYED = 0x40;
/** Set on a ring entry's outcome when its agent marked it as taken while its event loop was held up: its RTT is not judged. */
const LOOP_DELAYED = 0x20;
/** The outcome index in a ring entry, without the bits above (there are fewer than 32 outcomes). */
const OUTCOME_BITS = 0x1f;
if (outcomes.words.length > OUTCOME_BITS + 1) throw new Error('a ring entry has 5 bits for the outcome');
const TIMEOUT_OUTCOME = outcomes.index('timeout');
const TICK_MS = 100; // time resolution: 32 bits of 100 ms ticks last 13 years
const FLAG_EXPLICIT = 1;
const FLAG_CORROBORATED = 2;
const B = LOSS_BUCKETS;
/** At-rest records (Uint16 per cell): none, a blank cell, an ok cell whose newest result is too old for its stamp, or REST_BASE + its stamp. */
const REST_NONE = 0;
const REST_BLANK = 1;
const REST_OLD = 2;
const REST_BASE = 3;
/** Stamps are the newest result's tick (100 ms), modulo this: 109 minutes. */
const REST_MOD = 0x10000 - REST_BASE;
/** Node loss is also judged over the most recent buckets (3 of 8: ~1/3 of the loss window), so a node that starts losing is named before the whole window fills. */
export const RECENT_BUCKETS = 3;

class Chunk {
  readonly src = new Uint32Array(CHUNK);
  readonly key = new Uint32Array(CHUNK);
  readonly lastTick = new Uint32Array(CHUNK);
  readonly runStartTick = new Uint32Array(CHUNK);
  readonly lastOutcome = new Uint8Array(CHUNK).fill(NO_OUTCOME);
  readonly code = new Uint8Array(CHUNK);
  readonly head = new Uint8Array(CHUNK);
  readonly filled = new Uint8Array(CHUNK);
  readonly run = new Uint8Array(CHUNK);
  readonly flags = new Uint8Array(CHUNK);
  readonly wFails = new Uint8Array(CHUNK);
  readonly oks = new Uint8Array(CHUNK);
  readonly slow = new Uint8Array(CHUNK);
  readonly lossEpoch = new Uint32Array(CHUNK);
  /** The current-tally slot (absolute, from 1) the cell is counted in, 0 for none (sampled plans only). */
  readonly curSlot = new Uint32Array(CHUNK);
  /** Per cell, its loss buckets' samples then failures (2 × B Uint16, 32 bytes: one cache line for both); see nAt/fAt. */
  readonly loss = new Uint16Array(CHUNK * B * 2);
  readonly sTick: Uint16Array;
  readonly sRtt: Uint32Array;
  readonly sOut: Uint8Array;
  constructor(ring: number) {
    this.sTick = new Uint16Array(CHUNK * ring);
    this.sRtt = new Uint32Array(CHUNK * ring);
    this.sOut = new Uint8Array(CHUNK * ring);
  }
}

// A loss bucket's place in Chunk.loss, from its flat index i * B + bucket.
const nAt = (x: number): number => (x << 1) - (x & (B - 1));
const fAt = (x: number): number => nAt(x) + B;
if ((B & (B - 1)) !== 0) throw new Error('LOSS_BUCKETS must be a power of two');

export function cellKey(dst: number, kind: number, family: number): number {
  return (dst * KINDS + kind) * FAMILIES + family;
}

/** Counts of cells by code, and loss samples/failures, for one node (in or out) and one (kind, family). */
export interface NodeTally {
  readonly codes: readonly number[];
  readonly lossSamples: number;
  readonly lossFailures: number;
}

export class MatrixStore {
  /** Results in the status window. */
  readonly ring: number;
  readonly lossWindowMs: number;
  private readonly bucketTicks: number;
  private readonly slowUs: number;
  private readonly chunks: Chunk[] = [];
  private readonly free: number[] = [];
  private nextCell = 0;
  /** rows[src] maps cellKey(dst, kind, family) → cell id. */
  private readonly rows: (CellIndex | undefined)[] = [];
  private readonly baseMs: number;
  private cells = 0;
  // Per node: tallies by (kf, code), loss sums by (kf, samples|failures); row freshness.
  private cap = 0;
  private inCodes = new Int32Array(0);
  private outCodes = new Int32Array(0);
  private inLoss = new Float64Array(0);
  private outLoss = new Float64Array(0);
  private rowLast = new Float64Array(0);
  private rowStale = new Uint8Array(0);
  private zoneOf = new Int32Array(0);
  private zoneCount = 1;
  private zoneCodes = new Int32Array(KF * CODES);
  /** Loss samples and failures between zones: ((za * zones + zb) * KF + kf) * 2. */
  private zoneLoss = new Float64Array(KF * 2);
  private readonly kindCodes = new Int32Array(KF * CODES);
  private readonly nonOk = new Set<number>();
  /** Cells of a fresh row are blanked after this long without a result: the stale time, plus a sparse cell's cadence. */
  private cellStaleMs: number;
  /** Current tallies (sampled plans): undefined while off. */
  private current: CurrentTallies | undefined;
  /** Bumped on every code change: outlets cache by it. */
  private changes = 0;
  /** Cells at rest (sampled plans): rest[src * KF + kf][dst], a REST_* record; planes made on first use. */
  private rest: (Uint16Array | undefined)[] = [];
  /** Of a stamped record, the older loss buckets holding one ok result each (bit j − 1: j buckets before its newest); planes made only where one is needed. */
  private restMask: (Uint8Array | undefined)[] = [];
  private resting = 0;
  private releases = 0;
  private recreations = 0;
  /** The newest result's tick: stamps are read relative to it. */
  private newestTick = 0;
  /** When stamps were last aged (tick), and the next plane to age. */
  private agedTick = 0;
  private ageCursor = 0;
  /** The highest node index seen: rest planes are sized to it. */
  private maxNode = 0;
  // Scratch for percentiles (no allocation per view).
  private readonly rtts: Float64Array;

  constructor(
    readonly options: MatrixOptions,
    now: number,
  ) {
    const perWindow = Math.round(options.windowMs / options.intervalMs);
    if (perWindow > MAX_STATUS_SAMPLES) {
      throw new RangeError(`window ${options.windowMs}ms / interval ${options.intervalMs}ms is ${perWindow} results per cell; at most ${MAX_STATUS_SAMPLES}`);
    }
    this.ring = Math.max(2, perWindow);
    this.lossWindowMs = Math.max(options.lossWindowMs ?? options.windowMs, options.intervalMs);
    this.bucketTicks = Math.max(1, Math.round(this.lossWindowMs / B / TICK_MS));
    this.slowUs = options.thresholds.degradedRttMs * 1000;
    this.baseMs = now - 1000 * TICK_MS;
    this.rtts = new Float64Array(this.ring);
    this.cellStaleMs = options.thresholds.staleAfterMs;
  }

  /**
   * The cadence of the plan: `sampled`, and the most time between two results
   * of one cell (ms). A sampled plan turns the current tallies on (rebuilt from
   * the cells: O(cells), once) and keeps its non-ok cells for their cadence
   * plus the stale time; the full mesh turns them off.
   */
  setCadence(sampled: boolean, maxGapMs: number): void {
    this.cellStaleMs = this.options.thresholds.staleAfterMs + (sampled ? Math.max(0, maxGapMs - this.options.intervalMs) : 0);
    if (sampled === (this.current !== undefined)) return;
    if (!sampled) {
      // The full mesh keeps every cell full (as before sampling): wake the cells at rest.
      this.wakeAll();
      this.current = undefined;
      return;
    }
    const slotTicks = Math.max(1, Math.round(this.options.intervalMs / TICK_MS));
    const span = Math.max(1, Math.ceil(this.options.thresholds.staleAfterMs / this.options.intervalMs));
    const slots = span + 2;
    this.current = {
      slotTicks,
      span,
      slots,
      abs: new Float64Array(slots),
      nodeCap: this.cap,
      inCodes: new Int32Array(this.cap * KF * slots * CODES),
      outCodes: new Int32Array(this.cap * KF * slots * CODES),
      zoneCodes: new Int32Array(this.zoneCount * this.zoneCount * KF * slots * CODES),
    };
    this.rows.forEach((row) => {
      row?.forEach((id) => {
        const c = this.chunks[id >>> CHUNK_BITS]!;
        const i = id & (CHUNK - 1);
        c.curSlot[i] = 0;
        this.placeCurrent(c, i, CODE_UNKNOWN);
      });
    });
  }

  /** The cell's newest result moved, or its code changed (from `prevCode`): its place in the current tallies follows. */
  private placeCurrent(c: Chunk, i: number, prevCode: number): void {
    const cur = this.current!;
    const code = c.code[i]!;
    const slot = c.lastOutcome[i] === NO_OUTCOME ? 0 : Math.floor(c.lastTick[i]! / cur.slotTicks) + 1;
    const old = c.curSlot[i]!;
    if (old === slot && prevCode === code) return;
    if (old !== 0) this.currentDelta(cur, c.src[i]!, c.key[i]!, old, prevCode, -1);
    c.curSlot[i] = slot !== 0 && this.currentDelta(cur, c.src[i]!, c.key[i]!, slot, code, 1) ? slot : 0;
  }

  /** Adds d to the current tallies of (src, key) in absolute slot `slot`; false when that slot is gone (older than the ring). */
  private currentDelta(cur: CurrentTallies, src: number, key: number, slot: number, code: number, d: number): boolean {
    const r = slot % cur.slots;
    if (cur.abs[r] !== slot) {
      if (d < 0 || slot < cur.abs[r]!) return false;
      // A newer slot takes this place in the ring: what it held is older than the ring now.
      cur.abs[r] = slot;
      for (let x = r * CODES, step = cur.slots * CODES; x < cur.inCodes.length; x += step) cur.inCodes.fill(0, x, x + CODES);
      for (let x = r * CODES, step = cur.slots * CODES; x < cur.outCodes.length; x += step) cur.outCodes.fill(0, x, x + CODES);
      for (let x = r * CODES, step = cur.slots * CODES; x < cur.zoneCodes.length; x += step) cur.zoneCodes.fill(0, x, x + CODES);
    }
    if (code === CODE_UNKNOWN) return true;
    const kf = key % KF;
    const dst = Math.floor(key / KF);
    if (Math.max(src, dst) >= cur.nodeCap) this.growCurrent(cur);
    add(cur.inCodes, ((dst * KF + kf) * cur.slots + r) * CODES + code, d);
    add(cur.outCodes, ((src * KF + kf) * cur.slots + r) * CODES + code, d);
    add(cur.zoneCodes, (((this.zoneOf[src]! * this.zoneCount + this.zoneOf[dst]!) * KF + kf) * cur.slots + r) * CODES + code, d);
    return true;
  }

  private growCurrent(cur: CurrentTallies): void {
    const per = KF * cur.slots * CODES;
    cur.inCodes = grown(cur.inCodes, this.cap * per);
    cur.outCodes = grown(cur.outCodes, this.cap * per);
    cur.nodeCap = this.cap;
  }

  /** The live ring entries at `now`: those of the last `span` slots. */
  private currentSlots(now: number): number[] {
    const cur = this.current!;
    const newest = Math.floor(this.tick(now) / cur.slotTicks) + 1;
    const out: number[] = [];
    for (let r = 0; r < cur.slots; r++) if (cur.abs[r]! > newest - cur.span - 1 && cur.abs[r]! <= newest) out.push(r);
    return out;
  }

  /** Whether current tallies are kept (a sampled plan runs). */
  get currentTallies(): boolean {
    return this.current !== undefined;
  }

  /**
   * A node's current cells (a result within the stale time) by code, in or
   * out, of one (kind, family), into `t`'s code fields (its loss fields are
   * left alone). Without current tallies, every cell's code (nodeCounts).
   */
  currentNodeCounts(n: number, dir: 'in' | 'out', kind: number, family: number, now: number, t: NodeCounts): NodeCounts {
    const cur = this.current;
    t.ok = t.lossy = t.slow = t.failing = 0;
    if (!cur) {
      const full = this.nodeCounts(n, dir, kind, family, [], newNodeCounts());
      t.ok = full.ok;
      t.lossy = full.lossy;
      t.slow = full.slow;
      t.failing = full.failing;
      return t;
    }
    if (n >= cur.nodeCap) return t;
    const codes = dir === 'in' ? cur.inCodes : cur.outCodes;
    const kf = kind * FAMILIES + family;
    for (const r of this.currentSlots(now)) {
      const at = ((n * KF + kf) * cur.slots + r) * CODES;
      t.ok += codes[at + CODE_OK]!;
      t.lossy += codes[at + CODE_LOSSY]!;
      t.slow += codes[at + CODE_SLOW]!;
      t.failing += codes[at + CODE_FAILING]!;
    }
    return t;
  }

  /** Current cells by code between two zones of one (kind, family) (zoneTally's codes without current tallies). */
  currentZoneCodes(za: number, zb: number, kind: number, family: number, now: number): number[] {
    const cur = this.current;
    if (!cur) return this.zoneTally(za, zb, kind, family).codes.slice();
    const out = new Array<number>(CODES).fill(0);
    const zp = (za * this.zoneCount + zb) * KF + kind * FAMILIES + family;
    for (const r of this.currentSlots(now)) {
      const at = (zp * cur.slots + r) * CODES;
      for (let code = 0; code < CODES; code++) out[code] = out[code]! + cur.zoneCodes[at + code]!;
    }
    return out;
  }

  /**
   * Whether a cell is current at `now`: its newest result in one of the
   * current tallies' slots, the one now and the `span` before it (the stale
   * time in intervals, so 3 to 4 intervals at the defaults). Every tracked cell
   * is, without current tallies.
   */
  private isCurrent(c: Chunk, i: number, now: number): boolean {
    const cur = this.current;
    if (!cur) return true;
    if (c.lastOutcome[i] === NO_OUTCOME) return false;
    return this.currentTick(cur, c.lastTick[i]!, now);
  }

  private currentTick(cur: CurrentTallies, lastTick: number, now: number): boolean {
    const newest = Math.floor(this.tick(now) / cur.slotTicks) + 1;
    return Math.floor(lastTick / cur.slotTicks) + 1 >= newest - cur.span;
  }

  /** Cells tracked: full ones and those at rest. */
  get trackedCells(): number {
    return this.cells + this.resting;
  }

  /** Cells held in full (chunk slots in use). */
  get fullCells(): number {
    return this.cells;
  }

  /** Cells at rest: a 2-byte record each (sampled plans). */
  get restingCells(): number {
    return this.resting;
  }

  /** Cells put at rest, and re-created from rest by a result, since start. */
  get restCounts(): { readonly released: number; readonly recreated: number } {
    return { released: this.releases, recreated: this.recreations };
  }

  /**
   * Bytes of the store's typed arrays and row indexes: the cells' chunks, the
   * rest planes, the row indexes and the tallies (node, zone, current). JS
   * object overhead and the non-ok set are not counted.
   */
  memory(): { readonly chunks: number; readonly rest: number; readonly index: number; readonly tallies: number; readonly total: number } {
    const sum = (o: object) => Object.values(o).reduce((n: number, x) => n + (ArrayBuffer.isView(x) ? x.byteLength : 0), 0);
    const chunks = this.chunks.length === 0 ? 0 : this.chunks.length * sum(this.chunks[0]!);
    const rest = [...this.rest, ...this.restMask].reduce((n, p) => n + (p?.byteLength ?? 0), 0);
    const index = this.rows.reduce((n, r) => n + (r?.bytes ?? 0), 0);
    const tallies = sum(this) + (this.current ? sum(this.current) : 0);
    return { chunks, rest, index, tallies, total: chunks + rest + index + tallies };
  }

  /** Bumped whenever some cell's status changes. */
  get version(): number {
    return this.changes;
  }

  private tick(at: number): number {
    return Math.max(0, Math.round((at - this.baseMs) / TICK_MS));
  }

  private wall(tick: number): number {
    const mono = this.baseMs + tick * TICK_MS;
    return this.options.toWall ? this.options.toWall(mono) : mono;
  }

  private ensure(node: number): void {
    if (node > this.maxNode) this.maxNode = node;
    if (node < this.cap) return;
    let cap = Math.max(64, this.cap * 2);
    while (cap <= node) cap *= 2;
    this.inCodes = grown(this.inCodes, cap * KF * CODES);
    this.outCodes = grown(this.outCodes, cap * KF * CODES);
    this.inLoss = grown(this.inLoss, cap * KF * B * 2);
    this.outLoss = grown(this.outLoss, cap * KF * B * 2);
    this.rowLast = grown(this.rowLast, cap);
    this.rowStale = grown(this.rowStale, cap);
    this.zoneOf = grown(this.zoneOf, cap);
    this.cap = cap;
  }

  /** A report from `src` arrived at `now`: its row is fresh. */
  touchRow(src: number, now: number): void {
    this.ensure(src);
    if (now > this.rowLast[src]!) this.rowLast[src] = now;
    this.rowStale[src] = 0;
  }

  /** True while `src` has reported within the stale time. */
  rowFresh(src: number, now: number): boolean {
    return src < this.cap && this.rowLast[src]! > 0 && now - this.rowLast[src]! <= this.options.thresholds.staleAfterMs;
  }

  /**
   * Records one result. `corroborated`: another kind timed out towards the
   * same target in the same report. `loopDelayed`: its agent marked it as
   * taken while its event loop was held up. Indices come from the node
   * registry and the vocabularies; `at` is monotonic ms. False when the result
   * is not judged (a loop-delayed timeout): nothing is stored.
   */
  record(src: number, dst: number, kind: number, family: number, outcome: number, rttUs: number, at: number, corroborated = false, loopDelayed = false): boolean {
    if (loopDelayed && outcome === TIMEOUT_OUTCOME) return false;
    this.ensure(Math.max(src, dst));
    let row = this.rows[src];
    if (row === undefined) {
      row = new CellIndex(KF); // a pair's kinds and families side by side
      this.rows[src] = row;
    }
    const key = cellKey(dst, kind, family);
    let id = row.get(key);
    if (id === undefined) {
      const rest = this.restAt(src, key);
      id = rest === REST_NONE ? this.allocate(src, key) : this.wake(src, key, rest);
      row.set(key, id);
    }
    if (at > this.rowLast[src]!) this.rowLast[src] = at;
    this.rowStale[src] = 0;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const ring = this.ring;
    const tick = this.tick(at);
    if (tick > this.newestTick) this.newestTick = tick;
    const ok = outcome === OK_OUTCOME;
    // A replayed result older than what we hold joins the windows but does
    // not change the run or the last outcome.
    const newest = tick >= c.lastTick[i]! || c.lastOutcome[i] === NO_OUTCOME;
    // The status window: evict the oldest result when full, then add this one.
    const slot = i * ring + c.head[i]!;
    if (c.filled[i] === ring) this.uncount(c, i, slot);
    else c.filled[i] = c.filled[i]! + 1;
    c.sTick[slot] = tick & 0xffff;
    c.sRtt[slot] = rttUs;
    c.sOut[slot] = outcome | (newest ? 0 : REPLAYED) | (loopDelayed ? LOOP_DELAYED : 0);
    if (ok) {
      if (!loopDelayed) {
        c.oks[i] = c.oks[i]! + 1;
        if (rttUs > this.slowUs) c.slow[i] = c.slow[i]! + 1;
      }
    } else c.wFails[i] = c.wFails[i]! + 1;
    c.head[i] = c.head[i]! + 1 === ring ? 0 : c.head[i]! + 1;
    if (newest) {
      if (c.lastOutcome[i] !== outcome) c.runStartTick[i] = tick;
      c.lastOutcome[i] = outcome;
      c.lastTick[i] = tick;
      if (ok) {
        // A run of failures ended. Its failures join the loss window only
        // now: a short run is loss; a long one was an outage, shown as
        // failing while it lasted, and left out of the loss (a healed pair is
        // ok at its first answer, and a node that rebooted is not lossy after).
        // So is a run of two whose last failure was an answer from the path or
        // timed out with other kinds: a 10 s blip of a whole node, not loss.
        const run = c.run[i]!;
        if (run >= OUTAGE_RUN || (run >= CONFIRMING_RUN && c.flags[i] !== 0)) this.excludeOutage(c, i, slot, run);
        else if (run > 0) this.addLoss(c, i, tick, run, run);
        this.addLoss(c, i, tick, 1, 0);
        c.run[i] = 0;
        c.flags[i] = 0;
      } else {
        // The failure waits for the end of its run, but the loss window still
        // moves on: what is older than --loss-window is forgotten during an
        // outage too (in the cell and in the pooled node loss).
        this.addLoss(c, i, tick, 0, 0);
        if (c.run[i]! < 255) c.run[i] = c.run[i]! + 1;
        c.flags[i] = (isExplicit(outcome) ? FLAG_EXPLICIT : 0) | (corroborated ? FLAG_CORROBORATED : 0);
      }
    } else this.addLoss(c, i, tick, 1, ok ? 0 : 1);
    const prevCode = c.code[i]!;
    this.setCode(id, decide(this.counts(c, i), this.options.thresholds));
    if (this.current) {
      this.placeCurrent(c, i, prevCode);
      this.toRest(id);
    }
    return true;
  }

  private uncount(c: Chunk, i: number, slot: number): void {
    const o = c.sOut[slot]!;
    if ((o & OUTCOME_BITS) === OK_OUTCOME) {
      if ((o & LOOP_DELAYED) !== 0) return;
      c.oks[i] = c.oks[i]! - 1;
      if (c.sRtt[slot]! > this.slowUs) c.slow[i] = c.slow[i]! - 1;
    } else if ((o & EXCLUDED) === 0) c.wFails[i] = c.wFails[i]! - 1;
  }

  /** The `run` failures before `slot` were an outage: out of the status window's failure count (still shown as samples). */
  private excludeOutage(c: Chunk, i: number, slot: number, run: number): void {
    const ring = this.ring;
    const base = i * ring;
    let at = slot - base;
    for (let k = 0, n = c.filled[i]! - 1, left = run; k < n && left > 0; k++) {
      at = at === 0 ? ring - 1 : at - 1;
      const o = c.sOut[base + at]!;
      if ((o & REPLAYED) !== 0) continue; // arrived during the run, not part of it
      if ((o & OUTCOME_BITS) === OK_OUTCOME || (o & EXCLUDED) !== 0) break;
      c.sOut[base + at] = o | EXCLUDED;
      c.wFails[i] = c.wFails[i]! - 1;
      left--;
    }
  }

  /** Adds `n` results, `f` of them failed, to the loss bucket of `tick`. */
  private addLoss(c: Chunk, i: number, tick: number, n: number, f: number): void {
    const epoch = Math.floor(tick / this.bucketTicks) + 1; // 0 = never
    const current = c.lossEpoch[i]!;
    if (epoch > current) {
      const clear = current === 0 ? 0 : Math.min(B, epoch - current);
      for (let e = epoch - clear + 1; e <= epoch; e++) this.clearBucket(c, i, e % B);
      if (current === 0) for (let b = 0; b < B; b++) this.clearBucket(c, i, b);
      c.lossEpoch[i] = epoch;
    } else if (epoch <= current - B) return; // older than the loss window
    const b = i * B + (epoch % B);
    if (c.loss[nAt(b)]! + n <= 0xffff) {
      c.loss[nAt(b)] = c.loss[nAt(b)]! + n;
      c.loss[fAt(b)] = c.loss[fAt(b)]! + f;
      this.lossDelta(c.src[i]!, c.key[i]!, epoch % B, n, f);
    }
  }

  private clearBucket(c: Chunk, i: number, bucket: number): void {
    const b = i * B + bucket;
    const n = c.loss[nAt(b)]!;
    if (n === 0) return;
    this.lossDelta(c.src[i]!, c.key[i]!, bucket, -n, -c.loss[fAt(b)]!);
    c.loss[nAt(b)] = 0;
    c.loss[fAt(b)] = 0;
  }

  /** Node tallies keep loss per bucket (a node's recent loss is judged too); zones over the whole window. */
  private lossDelta(src: number, key: number, bucket: number, dn: number, df: number): void {
    const kf = key % KF;
    const dst = Math.floor(key / KF);
    const a = ((dst * KF + kf) * B + bucket) * 2;
    this.inLoss[a] = this.inLoss[a]! + dn;
    this.inLoss[a + 1] = this.inLoss[a + 1]! + df;
    const o = ((src * KF + kf) * B + bucket) * 2;
    this.outLoss[o] = this.outLoss[o]! + dn;
    this.outLoss[o + 1] = this.outLoss[o + 1]! + df;
    const z = ((this.zoneOf[src]! * this.zoneCount + this.zoneOf[dst]!) * KF + kf) * 2;
    this.zoneLoss[z] = this.zoneLoss[z]! + dn;
    this.zoneLoss[z + 1] = this.zoneLoss[z + 1]! + df;
  }

  private counts(c: Chunk, i: number): CellCounts {
    // The current run of failures is not in the buckets until it ends; it
    // counts here (a run long enough to be left out later is failing anyway).
    let lossSamples = c.run[i]!;
    let lossFailures = c.run[i]!;
    for (let b = i * B, e = b + B; b < e; b++) {
      lossSamples += c.loss[nAt(b)]!;
      lossFailures += c.loss[fAt(b)]!;
    }
    return {
      run: c.run[i]!,
      explicit: (c.flags[i]! & FLAG_EXPLICIT) !== 0,
      corroborated: (c.flags[i]! & FLAG_CORROBORATED) !== 0,
      windowSamples: c.filled[i]!,
      windowFailures: c.wFails[i]!,
      oks: c.oks[i]!,
      slowOks: c.slow[i]!,
      lossSamples,
      lossFailures,
    };
  }

  private setCode(id: number, code: number): void {
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const old = c.code[i]!;
    if (old === code) return;
    c.code[i] = code;
    this.changes++;
    this.countCode(c.src[i]!, c.key[i]!, old, -1);
    this.countCode(c.src[i]!, c.key[i]!, code, 1);
    if (code === CODE_OK || code === CODE_UNKNOWN) this.nonOk.delete(id);
    else this.nonOk.add(id);
  }

  private countCode(src: number, key: number, code: number, d: number): void {
    const kf = key % KF;
    const dst = Math.floor(key / KF);
    add(this.inCodes, (dst * KF + kf) * CODES + code, d);
    add(this.outCodes, (src * KF + kf) * CODES + code, d);
    add(this.kindCodes, kf * CODES + code, d);
    const z = this.zoneCount;
    add(this.zoneCodes, ((this.zoneOf[src]! * z + this.zoneOf[dst]!) * KF + kf) * CODES + code, d);
  }

  /**
   * Sets each node's zone (index into a list of `zones` zones). Rebuilds the
   * zone tallies when anything changed: O(cells), and zones rarely change.
   */
  setZones(zoneOf: (node: number) => number, nodes: Iterable<number>, zones: number): void {
    let changed = zones !== this.zoneCount;
    for (const n of nodes) {
      this.ensure(n);
      const z = zoneOf(n);
      if (this.zoneOf[n] !== z) (this.zoneOf[n] = z), (changed = true);
    }
    if (!changed) return;
    this.zoneCount = Math.max(1, zones);
    this.zoneCodes = new Int32Array(this.zoneCount * this.zoneCount * KF * CODES);
    this.zoneLoss = new Float64Array(this.zoneCount * this.zoneCount * KF * 2);
    const cur = this.current;
    if (cur) cur.zoneCodes = new Int32Array(this.zoneCount * this.zoneCount * KF * cur.slots * CODES);
    this.rows.forEach((row, src) => {
      if (!row) return;
      row.forEach((id, key) => {
        const c = this.chunks[id >>> CHUNK_BITS]!;
        const i = id & (CHUNK - 1);
        const kf = key % KF;
        const dst = Math.floor(key / KF);
        const zp = (this.zoneOf[src]! * this.zoneCount + this.zoneOf[dst]!) * KF + kf;
        add(this.zoneCodes, zp * CODES + c.code[i]!, 1);
        const slot = c.curSlot[i]!;
        if (cur && slot !== 0 && cur.abs[slot % cur.slots] === slot && c.code[i] !== CODE_UNKNOWN) add(cur.zoneCodes, (zp * cur.slots + (slot % cur.slots)) * CODES + c.code[i]!, 1);
        for (let b = i * B, e = b + B; b < e; b++) {
          this.zoneLoss[zp * 2] = this.zoneLoss[zp * 2]! + c.loss[nAt(b)]!;
          this.zoneLoss[zp * 2 + 1] = this.zoneLoss[zp * 2 + 1]! + c.loss[fAt(b)]!;
        }
      });
      this.forEachRest(src, (key, rest) => {
        const kf = key % KF;
        const dst = Math.floor(key / KF);
        const zp = (this.zoneOf[src]! * this.zoneCount + this.zoneOf[dst]!) * KF + kf;
        add(this.zoneCodes, zp * CODES + (rest === REST_BLANK ? CODE_UNKNOWN : CODE_OK), 1);
        if (rest < REST_BASE) return;
        this.zoneLoss[zp * 2] = this.zoneLoss[zp * 2]! + this.restSamples(src, key, rest);
        if (!cur) return;
        const slot = Math.floor(this.restTick(rest) / cur.slotTicks) + 1;
        if (cur.abs[slot % cur.slots] === slot) add(cur.zoneCodes, (zp * cur.slots + (slot % cur.slots)) * CODES + CODE_OK, 1);
      });
    });
  }

  /** Cells by code between two zones for one (kind, family), and the loss over their loss windows. */
  zoneTally(za: number, zb: number, kind: number, family: number): NodeTally {
    const kf = kind * FAMILIES + family;
    const zp = (za * this.zoneCount + zb) * KF + kf;
    return { codes: Array.from(this.zoneCodes.subarray(zp * CODES, zp * CODES + CODES)), lossSamples: this.zoneLoss[zp * 2]!, lossFailures: this.zoneLoss[zp * 2 + 1]! };
  }

  /** Cells by code of one (kind, family), cluster-wide. */
  kindTally(kind: number, family: number): number[] {
    const at = (kind * FAMILIES + family) * CODES;
    return Array.from(this.kindCodes.subarray(at, at + CODES));
  }

  /** Cells towards (`in`) or from (`out`) node `n` of one (kind, family). */
  nodeTally(n: number, dir: 'in' | 'out', kind: number, family: number): NodeTally {
    if (n >= this.cap) return { codes: new Array<number>(CODES).fill(0), lossSamples: 0, lossFailures: 0 };
    const at = (n * KF + kind * FAMILIES + family) * CODES;
    const t = this.nodeCounts(n, dir, kind, family, [], newNodeCounts());
    return { codes: Array.from((dir === 'in' ? this.inCodes : this.outCodes).subarray(at, at + CODES)), lossSamples: t.lossSamples, lossFailures: t.lossFailures };
  }

  /** A node's cells by status and their loss, over the loss window and the `recent` slots, into `t` (no allocation: the evaluation reads one per node, kind and direction). */
  nodeCounts(n: number, dir: 'in' | 'out', kind: number, family: number, recent: readonly number[], t: NodeCounts): NodeCounts {
    t.ok = t.lossy = t.slow = t.failing = t.lossSamples = t.lossFailures = t.recentSamples = t.recentFailures = 0;
    if (n >= this.cap) return t;
    const kf = kind * FAMILIES + family;
    const codes = dir === 'in' ? this.inCodes : this.outCodes;
    const loss = dir === 'in' ? this.inLoss : this.outLoss;
    const at = (n * KF + kf) * CODES;
    t.ok = codes[at + CODE_OK]!;
    t.lossy = codes[at + CODE_LOSSY]!;
    t.slow = codes[at + CODE_SLOW]!;
    t.failing = codes[at + CODE_FAILING]!;
    const base = (n * KF + kf) * B * 2;
    for (let b = 0; b < 2 * B; b += 2) {
      t.lossSamples += loss[base + b]!;
      t.lossFailures += loss[base + b + 1]!;
    }
    for (let r = 0; r < recent.length; r++) {
      t.recentSamples += loss[base + recent[r]! * 2]!;
      t.recentFailures += loss[base + recent[r]! * 2 + 1]!;
    }
    return t;
  }

  /** The bucket slots of the `buckets` most recent loss buckets at `now` (the current one first). */
  recentBuckets(now: number, buckets = RECENT_BUCKETS): number[] {
    const epoch = Math.floor(this.tick(now) / this.bucketTicks) + 1;
    return Array.from({ length: Math.min(B, buckets) }, (_, k) => (((epoch - k) % B) + B) % B);
  }

  /** Every cell of `family` that is lossy, slow or failing now, of the kinds in `kindMask` (bit per kind index). */
  forEachNonOk(family: number, kindMask: number, recent: readonly number[], visit: NonOkVisitor, currentAt?: number): void {
    const scratch = newNodeCounts();
    const ids = this.nonOkIds();
    for (let x = 0; x < ids.length; x++) {
      const id = ids[x]!;
      const c = this.chunks[id >>> CHUNK_BITS]!;
      const i = id & (CHUNK - 1);
      const key = c.key[i]!;
      const kf = key % KF;
      const kind = (kf - (kf % FAMILIES)) / FAMILIES;
      if (kf % FAMILIES !== family || ((kindMask >>> kind) & 1) === 0) continue;
      // With current tallies and a time: the current cells only, as the tallies count them.
      if (currentAt !== undefined && !this.isCurrent(c, i, currentAt)) continue;
      const t = this.addCellLoss(c, i, recent, clearLoss(scratch));
      visit(c.src[i]!, (key - kf) / KF, kind, c.code[i]!, t.lossSamples, t.lossFailures, t.recentSamples, t.recentFailures, c.run[i]!, c.lastOutcome[i]!);
    }
  }

  /**
   * The non-ok cells' ids in memory order: walking the cell arrays forwards
   * instead of in the set's order of arrival takes ~30 % less time at 1,000
   * nodes (fewer cache and TLB misses). A copy: callers may change the set.
   */
  private nonOkIds(): Uint32Array {
    const ids = new Uint32Array(this.nonOk.size);
    let j = 0;
    this.nonOk.forEach((id) => (ids[j++] = id));
    return ids.sort();
  }

  get nonOkCount(): number {
    return this.nonOk.size;
  }

  /**
   * One row's codes for (kind, family): `out[dst]` (by node index, for every
   * dst < out.length) is the cell's code (CODE_UNKNOWN when the row is stale),
   * or NOT_TRACKED where the row has no cell. For whole-matrix reads: the row's
   * index and freshness are looked up once, then one index probe per target
   * (walking the whole table, every kind's slots, was slower).
   */
  rowCodes(src: number, kind: number, family: number, now: number, out: Uint8Array): void {
    const row = this.rows[src];
    if (!row) {
      out.fill(NOT_TRACKED);
      return;
    }
    const fresh = this.rowFresh(src, now);
    const { chunks } = this;
    const plane = this.rest[src * KF + kind * FAMILIES + family];
    for (let dst = 0; dst < out.length; dst++) {
      const id = row.get(cellKey(dst, kind, family));
      if (id !== undefined) out[dst] = fresh ? chunks[id >>> CHUNK_BITS]!.code[id & (CHUNK - 1)]! : CODE_UNKNOWN;
      else {
        const rest = plane !== undefined && dst < plane.length ? plane[dst]! : REST_NONE;
        out[dst] = rest === REST_NONE ? NOT_TRACKED : fresh && rest !== REST_BLANK ? CODE_OK : CODE_UNKNOWN;
      }
    }
  }

  /** True when the cell is at rest (sampled plans): no status window is kept for it until its next result. */
  atRest(src: number, dst: number, kind: number, family: number): boolean {
    return this.restAt(src, cellKey(dst, kind, family)) !== REST_NONE;
  }

  /** True when the cell has ever had a result (and was not removed since). */
  tracked(src: number, dst: number, kind: number, family: number): boolean {
    const key = cellKey(dst, kind, family);
    return (this.rows[src]?.has(key) ?? false) || this.restAt(src, key) !== REST_NONE;
  }

  /** The cell's code (CODE_UNKNOWN when never probed or its row is stale at `now`; with `currentOnly`, also when it is not current). */
  code(src: number, dst: number, kind: number, family: number, now: number, currentOnly = false): number {
    const key = cellKey(dst, kind, family);
    const id = this.rows[src]?.get(key);
    if (id === undefined) {
      const rest = this.restAt(src, key);
      if (rest === REST_NONE || rest === REST_BLANK || !this.rowFresh(src, now)) return CODE_UNKNOWN;
      if (currentOnly && this.current && (rest === REST_OLD || !this.currentTick(this.current, this.restTick(rest), now))) return CODE_UNKNOWN;
      return CODE_OK;
    }
    if (!this.rowFresh(src, now)) return CODE_UNKNOWN;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    if (currentOnly && !this.isCurrent(c, id & (CHUNK - 1), now)) return CODE_UNKNOWN;
    return c.code[id & (CHUNK - 1)]!;
  }

  /**
   * Loss samples and failures of one cell in its loss buckets: its share of
   * the node and zone tallies, which localization takes out of a node's pooled
   * loss. Not the current run of failures (the cell's judged loss counts it,
   * the tallies do not until it ends).
   */
  loss(src: number, dst: number, kind: number, family: number): { samples: number; failures: number } {
    const key = cellKey(dst, kind, family);
    const id = this.rows[src]?.get(key);
    if (id === undefined) return { samples: this.restSamples(src, key, this.restAt(src, key)), failures: 0 };
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const cc = this.counts(c, id & (CHUNK - 1));
    return { samples: cc.lossSamples - cc.run, failures: cc.lossFailures - cc.run };
  }

  /**
   * The loss of the cells src→dst of the given kinds (kind indexes), summed:
   * over the loss window (as loss()) and over the `recent` slots, leaving out
   * failing cells when `skipFailing` (their loss is an outage's, or already
   * counted elsewhere). Into `t`'s loss fields; no allocation.
   */
  pairLoss(src: number, dst: number, family: number, kinds: readonly number[], recent: readonly number[], skipFailing: boolean, t: NodeCounts): NodeCounts {
    clearLoss(t);
    const row = this.rows[src];
    if (!row) return t;
    for (const kind of kinds) {
      const key = cellKey(dst, kind, family);
      const id = row.get(key);
      if (id === undefined) {
        // At rest: ok results, one in each bucket of its record.
        const rest = this.restAt(src, key);
        if (rest < REST_BASE) continue;
        this.forEachRestSample(src, key, rest, (bucket) => {
          t.lossSamples++;
          if (recent.includes(bucket)) t.recentSamples++;
        });
        continue;
      }
      const c = this.chunks[id >>> CHUNK_BITS]!;
      const i = id & (CHUNK - 1);
      if (skipFailing && c.code[i] === CODE_FAILING) continue; // (the code is read only then: one cache miss less)
      this.addCellLoss(c, i, recent, t);
    }
    return t;
  }

  /** Adds cell i's loss into t's loss fields: every bucket (the loss window), and the `recent` slots. */
  private addCellLoss(c: Chunk, i: number, recent: readonly number[], t: NodeCounts): NodeCounts {
    for (let b = i * B, e = b + B; b < e; b++) {
      t.lossSamples += c.loss[nAt(b)]!;
      t.lossFailures += c.loss[fAt(b)]!;
    }
    for (let r = 0; r < recent.length; r++) {
      t.recentSamples += c.loss[nAt(i * B + recent[r]!)]!;
      t.recentFailures += c.loss[fAt(i * B + recent[r]!)]!;
    }
    return t;
  }

  /**
   * Turns the cells of rows without a report for the stale time to unknown
   * (once per row going stale: O(row)), and forgets their loss buckets.
   * Returns the sources that went stale.
   */
  sweep(now: number): number[] {
    const out: number[] = [];
    for (let src = 0; src < this.rows.length; src++) {
      const row = this.rows[src];
      if (!row || this.rowStale[src] === 1 || this.rowFresh(src, now)) continue;
      this.rowStale[src] = 1;
      out.push(src);
      const ids: number[] = [];
      row.forEach((id) => ids.push(id));
      for (const id of ids) {
        this.blank(id);
        this.toRest(id);
      }
      this.forEachRest(src, (key, rest) => this.blankRest(src, key, rest));
    }
    // A non-ok cell of a fresh row that stopped getting results (its target
    // left the plan, the prober skipped it) must not keep a finding alive; a
    // sparse one waits for its cadence (setCadence) first.
    const staleTicks = this.cellStaleMs / TICK_MS;
    const nowTick = this.tick(now);
    const ids = this.nonOkIds();
    for (let x = 0; x < ids.length; x++) {
      const c = this.chunks[ids[x]! >>> CHUNK_BITS]!;
      if (nowTick - c.lastTick[ids[x]! & (CHUNK - 1)]! > staleTicks) {
        this.blank(ids[x]!);
        this.toRest(ids[x]!);
      }
    }
    if (this.current) this.ageRest();
    return out;
  }

  /**
   * Forgets the history of every cell towards `dst` (its agent came back, or
   * its address changed): the cells stay, unknown until their next result.
   */
  resetColumn(dst: number): void {
    for (let src = 0; src < this.rows.length; src++) {
      const r = this.rows[src];
      if (!r) continue;
      for (let k = 0; k < KINDS; k++) {
        for (let f = 0; f < FAMILIES; f++) {
          const key = cellKey(dst, k, f);
          const id = r.get(key);
          if (id !== undefined) {
            this.blank(id);
            this.toRest(id);
          } else {
            const rest = this.restAt(src, key);
            if (rest !== REST_NONE) this.blankRest(src, key, rest);
          }
        }
      }
    }
  }

  /** A cell back to its first state, its tallies moved to unknown. */
  private blank(id: number): void {
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    if (this.current && c.curSlot[i] !== 0) {
      this.currentDelta(this.current, c.src[i]!, c.key[i]!, c.curSlot[i]!, c.code[i]!, -1);
      c.curSlot[i] = 0;
    }
    for (let b = 0; b < B; b++) this.clearBucket(c, i, b);
    c.lossEpoch[i] = 0;
    c.head[i] = 0;
    c.filled[i] = 0;
    c.wFails[i] = 0;
    c.oks[i] = 0;
    c.slow[i] = 0;
    c.run[i] = 0;
    c.flags[i] = 0;
    c.lastTick[i] = 0;
    c.runStartTick[i] = 0;
    c.lastOutcome[i] = NO_OUTCOME;
    this.setCode(id, CODE_UNKNOWN);
  }

  /** The cell's statistics and status at `now`; undefined when never probed. */
  view(src: number, dst: number, kind: number, family: number, now: number): CellView | undefined {
    const key = cellKey(dst, kind, family);
    const id = this.rows[src]?.get(key);
    if (id === undefined) {
      const rest = this.restAt(src, key);
      return rest === REST_NONE ? undefined : this.restView(src, key, rest, now);
    }
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const ring = this.ring;
    const n = c.filled[i]!;
    const { rtts } = this;
    let oks = 0;
    let oldest = Infinity;
    const last = c.lastTick[i]!;
    for (let s = 0; s < n; s++) {
      const slot = i * ring + s;
      const t = last - ((((last & 0xffff) - c.sTick[slot]!) & 0xffff) >>> 0);
      if (t < oldest) oldest = t;
      if ((c.sOut[slot]! & (OUTCOME_BITS | LOOP_DELAYED)) === OK_OUTCOME) rtts[oks++] = c.sRtt[slot]! / 1000;
    }
    sortPrefix(rtts, oks);
    const counts = this.counts(c, i);
    const lastOutcome = c.lastOutcome[i] === NO_OUTCOME ? null : outcomes.words[c.lastOutcome[i]!]!;
    const fresh = this.rowFresh(src, now);
    const code = fresh ? c.code[i]! : CODE_UNKNOWN;
    const status = statusOf(code);
    const reason = this.reason(src, code, counts, lastOutcome, fresh, now);
    // The loss window's span: from the oldest bucket holding samples to now.
    let lossSpanTicks = 0;
    const epoch = c.lossEpoch[i]!;
    for (let k = B - 1; k >= 0; k--) {
      if (c.loss[nAt(i * B + ((epoch - k + B * 1024) % B))]! > 0) {
        lossSpanTicks = (k * this.bucketTicks) + (last % this.bucketTicks);
        break;
      }
    }
    return {
      status,
      reason,
      ...(code === CODE_LOSSY ? { degradedBy: 'loss' as const } : code === CODE_SLOW ? { degradedBy: 'latency' as const } : {}),
      lossRatio: counts.lossSamples === 0 ? null : counts.lossFailures / counts.lossSamples,
      lossSamples: counts.lossSamples,
      lossSpanMs: lossSpanTicks * TICK_MS,
      rttP50Ms: oks === 0 ? null : round3(percentile(rtts, oks, 0.5)),
      rttP99Ms: oks === 0 ? null : round3(percentile(rtts, oks, 0.99)),
      lastOutcome,
      since: lastOutcome === null ? null : this.wall(c.runStartTick[i]!),
      lastAt: lastOutcome === null ? null : this.wall(last),
      samples: n,
      windowSpanMs: n === 0 ? 0 : (last - oldest) * TICK_MS,
      failureRun: c.run[i]!,
    };
  }

  private reason(src: number, code: number, counts: CellCounts, lastOutcome: Outcome | null, fresh: boolean, now: number): string {
    // A swept row's cells are blank (no last outcome): the source's silence is still why they are unknown.
    return code !== CODE_UNKNOWN
      ? explain(code, counts, lastOutcome, this.options.thresholds)
      : fresh || this.rowLast[src] === 0
        ? 'no probe results yet'
        : `no report from the source for ${Math.round((now - this.rowLast[src]!) / 1000)}s (stale after ${this.options.thresholds.staleAfterMs / 1000}s): is its agent running?`;
  }

  /** The view of a cell at rest: ok with its newest result's time and its loss samples, or blank; no status window (it starts again at the next result). */
  private restView(src: number, key: number, rest: number, now: number): CellView {
    const fresh = this.rowFresh(src, now);
    const code = fresh && rest !== REST_BLANK ? CODE_OK : CODE_UNKNOWN;
    const stamped = rest >= REST_BASE;
    const last = stamped ? this.restTick(rest) : 0;
    const lastOutcome = rest === REST_BLANK ? null : outcomes.words[OK_OUTCOME]!;
    const samples = this.restSamples(src, key, rest);
    const mask = this.maskAt(src, key);
    const oldest = mask === 0 ? 0 : 32 - Math.clz32(mask); // buckets before the newest
    const counts: CellCounts = { run: 0, explicit: false, corroborated: false, windowSamples: 0, windowFailures: 0, oks: 0, slowOks: 0, lossSamples: samples, lossFailures: 0 };
    return {
      status: statusOf(code),
      reason: this.reason(src, code, counts, lastOutcome, fresh, now),
      lossRatio: stamped ? 0 : null,
      lossSamples: samples,
      lossSpanMs: stamped ? (oldest * this.bucketTicks + (last % this.bucketTicks)) * TICK_MS : 0,
      rttP50Ms: null,
      rttP99Ms: null,
      lastOutcome,
      since: stamped ? this.wall(last) : null,
      lastAt: stamped ? this.wall(last) : null,
      samples: 0,
      windowSpanMs: 0,
      failureRun: 0,
    };
  }

  /** RTT p50 and p99 (ms) over the ok results in the status window of a fresh cell (not those marked loop-delayed); null without any. No strings, no allocation. */
  rtt(src: number, dst: number, kind: number, family: number, now: number): { p50: number; p99: number } | null {
    const id = this.rows[src]?.get(cellKey(dst, kind, family));
    if (id === undefined || !this.rowFresh(src, now)) return null;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    if (c.code[i] === CODE_UNKNOWN) return null;
    const { rtts } = this;
    let oks = 0;
    for (let s = 0, n = c.filled[i]!; s < n; s++) {
      const slot = i * this.ring + s;
      if ((c.sOut[slot]! & (OUTCOME_BITS | LOOP_DELAYED)) === OK_OUTCOME) rtts[oks++] = c.sRtt[slot]! / 1000;
    }
    if (oks === 0) return null;
    sortPrefix(rtts, oks);
    return { p50: percentile(rtts, oks, 0.5), p99: percentile(rtts, oks, 0.99) };
  }

  /** Results in the status window, oldest first (times in wall ms). */
  samples(src: number, dst: number, kind: number, family: number): Sample[] {
    const id = this.rows[src]?.get(cellKey(dst, kind, family));
    if (id === undefined) return [];
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    const out: { tick: number; s: Sample }[] = [];
    const last = c.lastTick[i]!;
    for (let s = 0, n = c.filled[i]!; s < n; s++) {
      const slot = i * this.ring + s;
      const tick = last - ((((last & 0xffff) - c.sTick[slot]!) & 0xffff) >>> 0);
      const o = c.sOut[slot]!;
      out.push({ tick, s: { at: this.wall(tick), outcome: outcomes.words[o & OUTCOME_BITS]!, rttUs: c.sRtt[slot]!, loopDelayed: (o & LOOP_DELAYED) !== 0 } });
    }
    return out.sort((a, b) => a.tick - b.tick).map((x) => x.s);
  }

  /** Forgets every cell from or to node `n` (its index may then be reused). */
  removeNode(n: number, nodeSlots: number): void {
    const row = this.rows[n];
    if (row) {
      row.forEach((id) => this.release(id));
      this.rows[n] = undefined;
    }
    this.forEachRest(n, (key, rest) => this.dropRest(n, key, rest));
    for (let kf = 0; kf < KF; kf++) this.rest[n * KF + kf] = this.restMask[n * KF + kf] = undefined;
    this.removeColumn(n, nodeSlots);
    if (n < this.cap) {
      this.rowLast[n] = 0;
      this.rowStale[n] = 0;
    }
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
          } else {
            const rest = this.restAt(src, key);
            if (rest !== REST_NONE) this.dropRest(src, key, rest);
          }
        }
      }
    }
  }

  /** A chunk slot for (src, key), from the free list first; its other fields are a blank cell's (release and toRest leave them so). */
  private slot(src: number, key: number): number {
    this.cells++;
    let id = this.free.pop();
    if (id === undefined) {
      id = this.nextCell++;
      if (id >>> CHUNK_BITS >= this.chunks.length) this.chunks.push(new Chunk(this.ring));
    }
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    c.src[i] = src;
    c.key[i] = key;
    c.code[i] = CODE_UNKNOWN;
    c.curSlot[i] = 0;
    return id;
  }

  private allocate(src: number, key: number): number {
    const id = this.slot(src, key);
    this.countCode(src, key, CODE_UNKNOWN, 1);
    return id;
  }

  /** The rest record of (src, key): REST_NONE when the cell is not at rest. */
  private restAt(src: number, key: number): number {
    const kf = key % KF;
    const plane = this.rest[src * KF + kf];
    const dst = (key - kf) / KF;
    return plane !== undefined && dst < plane.length ? plane[dst]! : REST_NONE;
  }

  private setRest(src: number, key: number, rest: number, mask = 0): void {
    const kf = key % KF;
    const dst = (key - kf) / KF;
    const at = src * KF + kf;
    // Sized to the node indexes seen (and a little more): a plane per source and kind is ~10 KB at 5,000 nodes.
    const length = Math.max(dst, this.maxNode) + 1 + (this.maxNode >> 6);
    let plane = this.rest[at];
    if (plane === undefined || dst >= plane.length) this.rest[at] = plane = plane === undefined ? new Uint16Array(length) : grown(plane, length);
    plane[dst] = rest;
    let masks = this.restMask[at];
    if (mask === 0 && (masks === undefined || dst >= masks.length)) return;
    if (masks === undefined || dst >= masks.length) this.restMask[at] = masks = masks === undefined ? new Uint8Array(length) : grown(masks, length);
    masks[dst] = mask;
  }

  private maskAt(src: number, key: number): number {
    const kf = key % KF;
    const masks = this.restMask[src * KF + kf];
    const dst = (key - kf) / KF;
    return masks !== undefined && dst < masks.length ? masks[dst]! : 0;
  }

  /** The loss buckets (slots) holding one ok result each of a stamped rest record: its newest's, and the mask's. */
  private forEachRestSample(src: number, key: number, rest: number, f: (bucket: number) => void): void {
    const epoch = Math.floor(this.restTick(rest) / this.bucketTicks) + 1;
    f(epoch & (B - 1));
    for (let j = 1, m = this.maskAt(src, key); m !== 0; j++, m >>>= 1) if ((m & 1) !== 0) f((epoch - j) & (B - 1));
  }

  /** Results in the loss window of a cell at rest (all ok). */
  private restSamples(src: number, key: number, rest: number): number {
    if (rest < REST_BASE) return 0;
    let n = 1;
    for (let m = this.maskAt(src, key); m !== 0; m >>>= 1) n += m & 1;
    return n;
  }

  /** The newest result's tick of a stamped rest record. */
  private restTick(rest: number): number {
    return this.newestTick - (((this.newestTick % REST_MOD) - (rest - REST_BASE) + REST_MOD) % REST_MOD);
  }

  /** Every rest record of row `src`: (key, record). The planes must not change meanwhile, but for the record visited. */
  private forEachRest(src: number, f: (key: number, rest: number) => void): void {
    for (let kf = 0; kf < KF; kf++) {
      const plane = this.rest[src * KF + kf];
      if (plane === undefined) continue;
      for (let dst = 0; dst < plane.length; dst++) if (plane[dst] !== REST_NONE) f(dst * KF + kf, plane[dst]!);
    }
  }

  /**
   * Puts a full cell at rest when there is nothing in it worth a full cell
   * (sampled plans only): ok, its newest result ok, the result just recorded
   * not a slow answer, its loss buckets ok results only, at most one each and
   * one in the newest (no failure within the loss window); or blank. Its status window is dropped (what is older than
   * the loss window in it: docs/scaling.md). The tallies are not touched: the
   * record stands for the same code, loss sample and current slot.
   */
  private toRest(id: number): void {
    if (!this.current) return;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    let rest: number;
    let mask = 0;
    if (c.lastOutcome[i] === NO_OUTCOME) {
      if (c.code[i] !== CODE_UNKNOWN || c.lossEpoch[i] !== 0) return;
      rest = REST_BLANK;
    } else {
      if (c.code[i] !== CODE_OK || c.lastOutcome[i] !== OK_OUTCOME || c.run[i] !== 0) return;
      // The result just recorded was not a slow answer (a cell slow every time stays full, and is judged slow at its third).
      const newest = i * this.ring + (c.head[i] === 0 ? this.ring - 1 : c.head[i]! - 1);
      if ((c.sOut[newest]! & (OUTCOME_BITS | LOOP_DELAYED)) === OK_OUTCOME && c.sRtt[newest]! > this.slowUs) return;
      const last = c.lastTick[i]!;
      const epoch = Math.floor(last / this.bucketTicks) + 1;
      if (c.lossEpoch[i] !== epoch) return;
      // Its loss window: ok results only, at most one per bucket, one in the newest (a bit each).
      for (let j = 0; j < B; j++) {
        const at = i * B + ((epoch - j) & (B - 1));
        const n = c.loss[nAt(at)]!;
        if (c.loss[fAt(at)] !== 0 || n > 1 || (j === 0 && n !== 1)) return;
        if (n === 1 && j > 0) mask |= 1 << (j - 1);
      }
      rest = REST_BASE + (last % REST_MOD);
    }
    const src = c.src[i]!;
    const key = c.key[i]!;
    this.rows[src]!.delete(key);
    this.setRest(src, key, rest, mask);
    // The slot back to a blank cell's state, without the tallies (they keep counting the record).
    for (let b = i * B, e = b + B; b < e; b++) {
      c.loss[nAt(b)] = 0;
      c.loss[fAt(b)] = 0;
    }
    c.lossEpoch[i] = 0;
    c.head[i] = c.filled[i] = c.oks[i] = 0;
    c.lastTick[i] = c.runStartTick[i] = c.curSlot[i] = 0;
    c.lastOutcome[i] = NO_OUTCOME;
    c.code[i] = CODE_UNKNOWN;
    this.free.push(id);
    this.cells--;
    this.resting++;
    this.releases++;
  }

  /** A full cell again from its rest record: the same code, loss samples and current slot, a fresh status window. */
  private wake(src: number, key: number, rest: number): number {
    const mask = this.maskAt(src, key);
    this.setRest(src, key, REST_NONE);
    this.resting--;
    this.recreations++;
    const id = this.slot(src, key);
    if (rest === REST_BLANK) return id;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    const i = id & (CHUNK - 1);
    c.code[i] = CODE_OK;
    if (rest === REST_OLD) return id;
    const last = this.restTick(rest);
    const epoch = Math.floor(last / this.bucketTicks) + 1;
    c.lastOutcome[i] = OK_OUTCOME;
    c.lastTick[i] = c.runStartTick[i] = last;
    c.lossEpoch[i] = epoch;
    c.loss[nAt(i * B + (epoch % B))] = 1;
    for (let j = 1, m = mask; m !== 0; j++, m >>>= 1) if ((m & 1) !== 0) c.loss[nAt(i * B + ((epoch - j) & (B - 1)))] = 1;
    const cur = this.current;
    if (cur) {
      const slot = Math.floor(last / cur.slotTicks) + 1;
      c.curSlot[i] = cur.abs[slot % cur.slots] === slot ? slot : 0;
    }
    return id;
  }

  /** Every cell at rest made full again (the plan is the full mesh now). */
  private wakeAll(): void {
    for (let src = 0; src < this.rows.length; src++) {
      const row = this.rows[src];
      if (!row) continue;
      this.forEachRest(src, (key, rest) => row.set(key, this.wake(src, key, rest)));
    }
    this.rest = [];
    this.restMask = [];
  }

  /** Takes a stamped record's loss samples and current slot out of the tallies. */
  private unstamp(src: number, key: number, rest: number): void {
    if (rest < REST_BASE) return;
    const last = this.restTick(rest);
    this.forEachRestSample(src, key, rest, (bucket) => this.lossDelta(src, key, bucket, -1, 0));
    const cur = this.current;
    if (cur) this.currentDelta(cur, src, key, Math.floor(last / cur.slotTicks) + 1, CODE_OK, -1);
  }

  /** A cell at rest blanked (as blank() does to a full one). */
  private blankRest(src: number, key: number, rest: number): void {
    if (rest === REST_BLANK) return;
    this.unstamp(src, key, rest);
    this.countCode(src, key, CODE_OK, -1);
    this.countCode(src, key, CODE_UNKNOWN, 1);
    this.changes++;
    this.setRest(src, key, REST_BLANK);
  }

  /** A cell at rest forgotten (as release() does to a full one). */
  private dropRest(src: number, key: number, rest: number): void {
    this.unstamp(src, key, rest);
    if (rest !== REST_BLANK) this.changes++;
    this.countCode(src, key, rest === REST_BLANK ? CODE_UNKNOWN : CODE_OK, -1);
    this.setRest(src, key, REST_NONE);
    this.resting--;
  }

  /**
   * Stamps are ticks modulo REST_MOD (109 minutes): records older than half
   * of it (55 minutes) become REST_OLD (ok, no time, their loss samples out
   * of the tallies: they are 11 loss windows old at the defaults), so no
   * stamp is ever read a whole period wrong. A little at each sweep, in
   * proportion to the time gone by, so that every plane is visited once per
   * quarter period (27 minutes) and no sweep stalls on all of them (one pass
   * over 100 million records takes ~1 s).
   */
  private ageRest(): void {
    const planes = this.rest.length;
    const elapsed = this.newestTick - this.agedTick;
    if (planes === 0 || elapsed <= 0) return;
    this.agedTick = this.newestTick;
    const visits = Math.min(planes, Math.ceil((planes * elapsed) / (REST_MOD / 4)));
    const half = REST_MOD / 2;
    const newest = this.newestTick % REST_MOD;
    for (let v = 0; v < visits; v++) {
      const at = this.ageCursor % planes;
      this.ageCursor = at + 1;
      const plane = this.rest[at];
      if (plane === undefined) continue;
      // A plain loop (no call per record): only old records do more.
      for (let dst = 0; dst < plane.length; dst++) {
        const rest = plane[dst]!;
        if (rest < REST_BASE || (newest - (rest - REST_BASE) + REST_MOD) % REST_MOD < half) continue;
        const key = dst * KF + (at % KF);
        const src = (at - (at % KF)) / KF;
        this.unstamp(src, key, rest);
        this.setRest(src, key, REST_OLD);
      }
    }
  }

  private release(id: number): void {
    this.blank(id);
    const c = this.chunks[id >>> CHUNK_BITS]!;
    this.countCode(c.src[id & (CHUNK - 1)]!, c.key[id & (CHUNK - 1)]!, CODE_UNKNOWN, -1);
    this.free.push(id);
    this.cells--;
  }
}

/** Cells by code per node (in, out) and zone pair, per time slot of one interval, by their newest result: the current tallies. */
interface CurrentTallies {
  readonly slotTicks: number;
  /** Slots summed: the stale time in intervals. */
  readonly span: number;
  /** Ring length (span + 2: the slot being filled and one more, so a slot being zeroed is never read). */
  readonly slots: number;
  /** The absolute slot each ring entry holds. */
  readonly abs: Float64Array;
  nodeCap: number;
  inCodes: Int32Array;
  outCodes: Int32Array;
  zoneCodes: Int32Array;
}

export function kindIndex(kind: PairKind): number {
  return PAIR_KINDS.indexOf(kind);
}

function add(a: Int32Array, at: number, d: number): void {
  a[at] = a[at]! + d;
}

function statusOf(code: number): Status {
  return code === CODE_FAILING ? 'failing' : code === CODE_LOSSY || code === CODE_SLOW ? 'degraded' : code === CODE_OK ? 'ok' : 'unknown';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
