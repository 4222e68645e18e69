// One evaluation's view of the matrix, read from the store's tallies and its
// set of non-ok cells, never from every cell: per node and kind the cells by
// status and the loss over the loss window (in and out), per zone pair the
// same, per kind a summary, and the non-ok cells themselves. The localizer,
// the metrics and the API read this. Cost: O(nodes × kinds + zones² + non-ok
// cells), plus a bounded sample of cells per node for RTT percentiles.
//
// Under a sampled plan (docs/scaling.md) a pair is probed every few rounds:
// its cell keeps its status for its cadence (the store blanks a non-ok one
// only after that), but nodes and zones are judged on current cells, those
// with a result within the stale time (the store's current tallies), and so
// are the non-ok cells the localizer reads: a cell probed minutes ago is not
// evidence about a node now, and a dead node's column is then most of what
// was probed since it died, not a few cells among thousands.
import { PAIR_KINDS, addressFamilies, outcomes, STATUSES, type AddressFamily, type Outcome, type PairKind, type Status } from '../../common/vocabulary.js';
import { CODE_FAILING, CODE_LOSSY, CODE_OK, CODE_SLOW, CODE_UNKNOWN } from '../matrix/rule.js';
import { kindIndex, newNodeCounts, type CellView, type MatrixStore, type NodeCounts } from '../matrix/store.js';
import { grown, orderBy } from '../matrix/typed.js';
import { percentile, sortPrefix } from '../matrix/window.js';
import type { NodeRecord } from '../nodes/registry.js';

export interface Tally {
  /** Cells with a fresh status (not unknown). */
  known: number;
  /** Of those, not failing. */
  reachable: number;
  failing: number;
  lossy: number;
  slow: number;
  /** Samples over the loss window in those cells, and how many of them failed. */
  samples: number;
  failedSamples: number;
  /** The same over the most recent loss buckets (RECENT_BUCKETS). */
  recentSamples: number;
  recentFailures: number;
}

export interface NodeKindStats {
  readonly in: Tally;
  readonly out: Tally;
  /** Median of (up to RTT_PROBERS) probers' RTT p50 towards the node (ms), null without data. */
  rttP50Ms: number | null;
  /** 0.99 quantile of their p99. */
  rttP99Ms: number | null;
}

export interface UnhealthyPair {
  readonly src: string;
  readonly dst: string;
  readonly kind: PairKind;
  readonly status: 'failing' | 'degraded';
  readonly lossRatio: number | null;
}

/** A non-ok cell by node positions in `nodes`. */
export interface BadCell {
  readonly s: number;
  readonly d: number;
  /** Position in `kinds` (judged kinds), or -1 for mtu. */
  readonly k: number;
  readonly kind: PairKind;
  readonly code: number;
  /** Its loss buckets (not the current run): its share of the node tallies; and of the recent ones. */
  readonly lossSamples: number;
  readonly lossFailures: number;
  readonly recentSamples: number;
  readonly recentFailures: number;
  /** The current run of failures, and the newest outcome. */
  readonly run: number;
  readonly lastOutcome: Outcome | null;
}

export interface Assessment {
  /** Monotonic ms. */
  readonly at: number;
  readonly family: AddressFamily;
  /** Kinds judged for reachability (the plan's kinds but mtu). */
  readonly kinds: readonly PairKind[];
  readonly nodes: readonly NodeRecord[];
  /** stats[k][node position] */
  readonly stats: readonly (readonly NodeKindStats[])[];
  /** Known for a full window (counted as a target in metrics), agent connected for a full window (as a prober). */
  readonly matureIn: readonly boolean[];
  readonly matureOut: readonly boolean[];
  readonly zones: readonly string[];
  readonly zoneOf: readonly number[];
  /** Tallies of cells between zones: zoneTallies[k][a * zones + b]. */
  readonly zoneTallies: readonly (readonly Tally[])[];
  /** Non-ok cells of every planned kind. */
  readonly bad: readonly BadCell[];
  /** Failing and degraded cells between mature nodes, at most maxUnhealthy of them, failing first. */
  readonly unhealthy: readonly UnhealthyPair[];
  readonly unhealthyDropped: number;
  /** Cell counts by kind and status (every planned kind, mtu included; cells never probed are unknown). */
  readonly summary: Readonly<Record<string, Record<Status, number>>>;
  /** Rows that went stale in this evaluation (sources whose reports stopped). */
  readonly staleRows: readonly string[];
  /** The cell of one pair and kind (by positions), read from the store on demand. */
  view(s: number, d: number, kind: PairKind): CellView | undefined;
  /**
   * Loss of the cells s→d (by positions) of the given kinds (positions in
   * `kinds`), summed over the loss window and over the most recent buckets;
   * failing cells left out when `skipFailing`.
   */
  pairLoss(s: number, d: number, kinds: readonly number[], skipFailing: boolean): { samples: number; failures: number; recentSamples: number; recentFailures: number };
  /** The store's code of one cell (by positions). */
  code(s: number, d: number, kind: PairKind): number;
}

export interface AssessOptions {
  readonly planKinds: readonly PairKind[];
  readonly windowMs: number;
  readonly maxUnhealthy: number;
  /**
   * Keeps the last RTT_PROBERS probers' percentiles per node across
   * evaluations (the evaluator has one). Without it, a new one reads one
   * prober per node.
   */
  readonly rtt?: RttSampler;
  /** How often cells are probed under the current plan (plan/plans.ts PlanBook.cadence); the full mesh without it. */
  readonly cadence?: () => { readonly sampled: boolean; readonly maxGapRounds: number };
}

/**
 * Per node and kind, the RTT p50/p99 over the last RTT_PROBERS probers read.
 * Each evaluation reads one more prober for a 1/RTT_SPREAD share of the nodes
 * (every node whose ring is empty), so a node's figures move to a new prober
 * every RTT_SPREAD evaluations and the reads stay O(nodes / RTT_SPREAD): each
 * read is a random cell of a store of millions. Flat typed arrays by node
 * index; a ring belongs to the NodeRecord that filled it (an index reused by
 * another node starts empty).
 */
export class RttSampler {
  private owner: (NodeRecord | undefined)[] = [];
  private cap = 0;
  /** Per (node index, kind): ring of p50 and p99, its fill and head, and the percentiles over it (valid while fill > 0). */
  private p50 = new Float64Array(0);
  private p99 = new Float64Array(0);
  private fill = new Uint8Array(0);
  private head = new Uint8Array(0);
  private out50 = new Float64Array(0);
  private out99 = new Float64Array(0);
  private turn = 0;
  private readonly scratch = new Float64Array(RTT_PROBERS);

  /** Starts a new evaluation: the share of nodes read turns. */
  next(): void {
    this.turn++;
  }

  /**
   * Reads one prober's cell towards a share of the nodes for kind `k` (kind
   * index), then returns the node's percentiles over its ring (null without
   * data) through `set`.
   */
  sample(nodes: readonly NodeRecord[], k: number, read: (s: number, d: number) => { p50: number; p99: number } | null, set: (d: number, p50: number | null, p99: number | null) => void): void {
    const n = nodes.length;
    const K = PAIR_KINDS.length;
    const turn = this.turn;
    for (let d = 0; d < n; d++) {
      const node = nodes[d]!;
      const slot = this.slot(node) * K + k;
      if (n > 1 && (this.fill[slot] === 0 || (d + turn) % RTT_SPREAD === 0)) {
        // A prober other than the node itself, a different one each time.
        const s = (d + 1 + (Math.floor(turn / RTT_SPREAD) % (n - 1))) % n;
        const r = read(s, d);
        if (r) {
          const at = slot * RTT_PROBERS + this.head[slot]!;
          this.p50[at] = r.p50;
          this.p99[at] = r.p99;
          this.head[slot] = (this.head[slot]! + 1) % RTT_PROBERS;
          if (this.fill[slot]! < RTT_PROBERS) this.fill[slot] = this.fill[slot]! + 1;
          this.out50[slot] = this.quantile(this.p50, slot, 0.5);
          this.out99[slot] = this.quantile(this.p99, slot, 0.99);
        }
      }
      const p50 = this.fill[slot] === 0 ? null : this.out50[slot]!;
      set(d, p50, p50 === null ? null : this.out99[slot]!);
    }
  }

  private quantile(ring: Float64Array, slot: number, q: number): number {
    const n = this.fill[slot]!;
    this.scratch.set(ring.subarray(slot * RTT_PROBERS, slot * RTT_PROBERS + n));
    sortPrefix(this.scratch, n);
    return round3(percentile(this.scratch, n, q));
  }

  /** The node's slot, grown and reset as needed. */
  private slot(node: NodeRecord): number {
    const i = node.index;
    const K = PAIR_KINDS.length;
    if (i >= this.cap) {
      let cap = Math.max(64, this.cap * 2);
      while (cap <= i) cap *= 2;
      this.p50 = grown(this.p50, cap * K * RTT_PROBERS);
      this.p99 = grown(this.p99, cap * K * RTT_PROBERS);
      this.fill = grown(this.fill, cap * K);
      this.head = grown(this.head, cap * K);
      this.out50 = grown(this.out50, cap * K);
      this.out99 = grown(this.out99, cap * K);
      this.cap = cap;
    }
    if (this.owner[i] !== node) {
      this.owner[i] = node;
      this.fill.fill(0, i * K, i * K + K);
      this.head.fill(0, i * K, i * K + K);
    }
    return i;
  }
}

/** Probers per target whose RTT feeds the node's RTT percentiles (the last ones read). */
export const RTT_PROBERS = 8;
/** A node's ring takes a new prober every RTT_SPREAD evaluations (a share 1/RTT_SPREAD of the nodes each time). */
export const RTT_SPREAD = 4;

export const newTally = (): Tally => ({ known: 0, reachable: 0, failing: 0, lossy: 0, slow: 0, samples: 0, failedSamples: 0, recentSamples: 0, recentFailures: 0 });

function tallyOf(c: NodeCounts): Tally {
  const known = c.ok + c.lossy + c.slow + c.failing;
  return { known, reachable: known - c.failing, failing: c.failing, lossy: c.lossy, slow: c.slow, samples: c.lossSamples, failedSamples: c.lossFailures, recentSamples: c.recentSamples, recentFailures: c.recentFailures };
}

export function assess(nodes: readonly NodeRecord[], store: MatrixStore, family: AddressFamily, now: number, o: AssessOptions): Assessment {
  const n = nodes.length;
  const kinds: PairKind[] = o.planKinds.filter((k) => k !== 'mtu');
  const f = addressFamilies.index(family);
  // Node index (registry) → position in `nodes`, -1 for none; flat: the walk over the non-ok cells below does two lookups per cell.
  const pos = new Int32Array(nodes.reduce((m, x) => Math.max(m, x.index + 1), 0)).fill(-1);
  nodes.forEach((x, i) => (pos[x.index] = i));
  const positionOf = (index: number) => (index < pos.length ? pos[index]! : -1);
  const cadence = o.cadence?.();
  if (cadence) store.setCadence(cadence.sampled, cadence.maxGapRounds * store.options.intervalMs);
  const current = store.currentTallies;
  const staleRows = store.sweep(now).flatMap((src) => (positionOf(src) < 0 ? [] : [nodes[positionOf(src)]!.name]));
  const matureIn = nodes.map((x) => now - x.knownSince >= o.windowMs);
  const matureOut = nodes.map((x) => x.agent.connected && x.agent.instanceSince !== null && now - x.agent.instanceSince >= o.windowMs);
  const zones = [...new Set(nodes.map((x) => x.zone))].sort();
  const zoneIndex = new Map(zones.map((z, i) => [z, i]));
  const zoneOf = nodes.map((x) => zoneIndex.get(x.zone)!);
  store.setZones((index) => zoneOf[Math.max(0, positionOf(index))] ?? 0, nodes.map((x) => x.index), zones.length);
  const z = zones.length;

  const recent = store.recentBuckets(now);
  const rtt = o.rtt ?? new RttSampler();
  rtt.next();
  const counts = newNodeCounts();
  const stats = kinds.map((kind) => {
    const k = kindIndex(kind);
    // Loss from the loss buckets; cells by status from every cell, or (sampled) the current ones.
    const tally = (n: number, dir: 'in' | 'out') => tallyOf(current ? store.currentNodeCounts(n, dir, k, f, now, store.nodeCounts(n, dir, k, f, recent, counts)) : store.nodeCounts(n, dir, k, f, recent, counts));
    const row = nodes.map((node): NodeKindStats => ({
      in: tally(node.index, 'in'),
      out: tally(node.index, 'out'),
      rttP50Ms: null,
      rttP99Ms: null,
    }));
    rtt.sample(
      nodes,
      k,
      (s, d) => store.rtt(nodes[s]!.index, nodes[d]!.index, k, f, now),
      (d, p50, p99) => {
        row[d]!.rttP50Ms = p50;
        row[d]!.rttP99Ms = p99;
      },
    );
    return row;
  });
  const zoneTallies = kinds.map((kind) => {
    const k = kindIndex(kind);
    const out: Tally[] = [];
    for (let a = 0; a < z; a++) {
      for (let b = 0; b < z; b++) {
        const t = store.zoneTally(a, b, k, f);
        const c = current ? store.currentZoneCodes(a, b, k, f, now) : t.codes;
        out.push(tallyOf({ ok: c[CODE_OK]!, lossy: c[CODE_LOSSY]!, slow: c[CODE_SLOW]!, failing: c[CODE_FAILING]!, lossSamples: t.lossSamples, lossFailures: t.lossFailures, recentSamples: 0, recentFailures: 0 }));
      }
    }
    return out;
  });

  const summary: Record<string, Record<Status, number>> = {};
  for (const kind of o.planKinds) {
    const c = store.kindTally(kindIndex(kind), f);
    const s = Object.fromEntries(STATUSES.map((st) => [st, 0])) as Record<Status, number>;
    s.ok = c[CODE_OK]!;
    s.degraded = c[CODE_LOSSY]! + c[CODE_SLOW]!;
    s.failing = c[CODE_FAILING]!;
    s.unknown = Math.max(0, n * (n - 1) - s.ok - s.degraded - s.failing);
    summary[kind] = s;
  }

  const judged = new Int8Array(PAIR_KINDS.length).fill(-1);
  kinds.forEach((k, i) => (judged[kindIndex(k)] = i));
  let planned = 0;
  for (const k of o.planKinds) planned |= 1 << kindIndex(k);
  const bad: BadCell[] = [];
  store.forEachNonOk(f, planned, recent, (src, dst, kind, code, lossSamples, lossFailures, recentSamples, recentFailures, run, lastOutcome) => {
    const s = positionOf(src);
    const d = positionOf(dst);
    if (s < 0 || d < 0 || code === CODE_UNKNOWN) return;
    bad.push({ s, d, k: judged[kind]!, kind: PAIR_KINDS[kind]!, code, lossSamples, lossFailures, recentSamples, recentFailures, run, lastOutcome: outcomes.words[lastOutcome] ?? null });
  }, current ? now : undefined);
  const view = (s: number, d: number, kind: PairKind) => store.view(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f, now);
  // Failing first, then by source and target.
  const mature = bad.filter((c) => matureOut[c.s] && matureIn[c.d]);
  const first = orderBy(mature, (c) => (c.code === CODE_FAILING ? 0 : n * n) + c.s * n + c.d, 2 * n * n).slice(0, o.maxUnhealthy);
  const unhealthy = first.map((c): UnhealthyPair => ({
    src: nodes[c.s]!.name,
    dst: nodes[c.d]!.name,
    kind: c.kind,
    status: c.code === CODE_FAILING ? 'failing' : 'degraded',
    lossRatio: view(c.s, c.d, c.kind)?.lossRatio ?? null,
  }));

  let pairKinds: { of: readonly number[]; store: readonly number[] } = { of: [], store: [] };
  const scratch = newNodeCounts();
  return {
    at: now,
    family,
    kinds,
    nodes,
    stats,
    matureIn,
    matureOut,
    zones,
    zoneOf,
    zoneTallies,
    bad,
    unhealthy,
    unhealthyDropped: mature.length - unhealthy.length,
    summary,
    staleRows,
    view,
    pairLoss: (s, d, ks, skipFailing) => {
      // The localizer asks with the same list of kind positions thousands of times: map it once.
      if (ks !== pairKinds.of) pairKinds = { of: ks, store: ks.map((k) => kindIndex(kinds[k]!)) };
      const t = store.pairLoss(nodes[s]!.index, nodes[d]!.index, f, pairKinds.store, recent, skipFailing, scratch);
      return { samples: t.lossSamples, failures: t.lossFailures, recentSamples: t.recentSamples, recentFailures: t.recentFailures };
    },
    code: (s, d, kind) => store.code(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f, now, current),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
