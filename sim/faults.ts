// What every simulated probe sees: a pure function of (source, target, kind,
// round) and the fault model, so every worker thread and every run agrees on
// it, and two sources probing one dead node both see it dead. No allocation
// per probe: `probe` writes into the object it is given.
//
// The faults (each from the moment the caller says they are active, except
// background loss, bad cells and RTT, which hold all along):
//   dead         the node's agent is gone and every probe towards it times out;
//   partition    every probe between two zones (both ways) times out;
//   loss         probes to and from the node are lost at random with its ratio
//                (a lossy NIC or link: both directions), on top of the
//                background loss of every cell;
//   slow         probes to and from the node take that much longer (over the
//                probe timeout: they time out);
//   bad cells    a share of the cells, picked by a hash, is bad all along: a
//                third refused or unreachable, a third lose 30 % of their
//                probes, a third answer in 80 ms (a stress case);
//   agent away   (churn) the node's agent is restarting: its responder does
//                not answer (tcp and http refused), while its pod and node IP
//                still answer ICMP, as on a container restart.
import { outcomes, PAIR_KINDS, type PairKind } from '../common/vocabulary.js';

export interface FaultSpec {
  /** Node indexes whose agent dies and which stop answering. */
  readonly dead: readonly number[];
  /** Zone index pairs cut from each other (both directions). */
  readonly partitions: readonly (readonly [number, number])[];
  /** Node index → loss ratio (0–1) of probes to and from it. */
  readonly loss: ReadonlyMap<number, number>;
  /** Node index → ms added to probes to and from it. */
  readonly slowMs: ReadonlyMap<number, number>;
  /** Loss ratio (0–1) of every cell, all along. */
  readonly backgroundLoss: number;
  /** Share (0–1) of cells bad all along. */
  readonly badCells: number;
  readonly seed: number;
}

/** What one probe saw. */
export interface Probe {
  /** Index in outcomes.words. */
  outcome: number;
  rttUs: number;
}

export const OK = outcomes.index('ok');
export const TIMEOUT = outcomes.index('timeout');
const REFUSED = outcomes.index('refused');
const UNREACHABLE = outcomes.index('unreachable');

const BAD_CELL_LOSS = 0.3;
const SLOW_CELL_RTT_US = 80_000;

/** murmur3's 32-bit finalizer: a cheap, well-mixed hash. */
export function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
/** A hash as a number in [0, 1). */
export const unit = (x: number) => mix(x) / 0x1_0000_0000;

export const kindIndex = (kind: PairKind) => PAIR_KINDS.indexOf(kind);

export class FaultModel {
  private readonly deadMask: Uint8Array;
  private readonly lossOf: Float64Array;
  private readonly slowUsOf: Float64Array;
  private readonly cut: Uint8Array;
  private readonly zones: number;
  private readonly seed: number;
  /** A probe slower than this times out (the plan's timeout). */
  timeoutUs = 1_000_000;
  /**
   * Until this time (ms, any clock the caller uses consistently) node i's agent
   * is away (restarting): set by the caller from its churn schedule.
   */
  readonly awayUntil: Float64Array;

  constructor(
    readonly n: number,
    private readonly zoneOf: Int32Array,
    readonly spec: FaultSpec,
  ) {
    this.zones = zoneOf.reduce((m, z) => Math.max(m, z + 1), 1);
    this.deadMask = new Uint8Array(n);
    for (const d of spec.dead) this.deadMask[d] = 1;
    this.lossOf = new Float64Array(n);
    for (const [i, r] of spec.loss) this.lossOf[i] = r;
    this.slowUsOf = new Float64Array(n);
    for (const [i, ms] of spec.slowMs) this.slowUsOf[i] = ms * 1000;
    this.cut = new Uint8Array(this.zones * this.zones);
    for (const [a, b] of spec.partitions) {
      this.cut[a * this.zones + b] = 1;
      this.cut[b * this.zones + a] = 1;
    }
    this.awayUntil = new Float64Array(n);
    this.seed = mix(spec.seed ^ 0x5eed1234);
  }

  isDead(i: number): boolean {
    return this.deadMask[i] === 1;
  }

  /**
   * What s sees probing d with PAIR_KINDS[k] in `round`, at time `nowMs` (for
   * the agents away), with the injected faults on when `active`. d = -1 is a
   * target this simulation does not know (a node from elsewhere): nothing
   * answers it.
   */
  probe(s: number, d: number, k: number, round: number, active: boolean, nowMs: number, out: Probe): Probe {
    out.rttUs = 0;
    if (d < 0) {
      out.outcome = TIMEOUT;
      return out;
    }
    const cell = ((s * this.n + d) * PAIR_KINDS.length + k) ^ this.seed;
    const draw = unit(mix(cell) ^ Math.imul(round + 1, 0x9e3779b9));
    if (active && (this.deadMask[d] === 1 || this.cut[this.zoneOf[s]! * this.zones + this.zoneOf[d]!] === 1)) {
      out.outcome = TIMEOUT;
      return out;
    }
    if (this.awayUntil[d]! > nowMs && (k === KIND_TCP || k === KIND_HTTP)) {
      out.outcome = REFUSED;
      return out;
    }
    // A fixed RTT per cell (200–700 µs) with a little noise per round.
    let rtt = 200 + ((cell >>> 3) % 500) + ((draw * 0x10000) % 50);
    let loss = this.spec.backgroundLoss;
    const c = unit(cell);
    const bad = this.spec.badCells;
    if (c < bad / 3) {
      out.outcome = k === KIND_TCP || k === KIND_HTTP ? REFUSED : UNREACHABLE;
      return out;
    } else if (c < (2 * bad) / 3) loss = BAD_CELL_LOSS;
    else if (c < bad) rtt = SLOW_CELL_RTT_US + (cell % 5_000);
    if (active) {
      const ls = this.lossOf[s]!;
      const ld = this.lossOf[d]!;
      if (ls > 0 || ld > 0) loss = 1 - (1 - loss) * (1 - ls) * (1 - ld);
      rtt += this.slowUsOf[s]! + this.slowUsOf[d]!;
    }
    if (draw < loss || rtt >= this.timeoutUs) {
      out.outcome = TIMEOUT;
      return out;
    }
    out.outcome = OK;
    out.rttUs = Math.round(rtt);
    return out;
  }
}

const KIND_TCP = kindIndex('tcp');
const KIND_HTTP = kindIndex('http');
