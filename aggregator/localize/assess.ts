// One evaluation's view of the matrix, read from the store's tallies and its
// set of non-ok cells, never from every cell: per node and kind the cells by
// status and the loss over the loss window (in and out), per zone pair the
// same, per kind a summary, and the non-ok cells themselves. The localizer,
// the metrics and the API read this. Cost: O(nodes × kinds + zones² + non-ok
// cells), plus a bounded sample of cells per node for RTT percentiles.
import { PAIR_KINDS, addressFamilies, outcomes, STATUSES, type AddressFamily, type Outcome, type PairKind, type Status } from '../../common/vocabulary.js';
import { CODE_FAILING, CODE_LOSSY, CODE_OK, CODE_SLOW, CODE_UNKNOWN } from '../matrix/rule.js';
import { kindIndex, type CellView, type MatrixStore, type NodeTally } from '../matrix/store.js';
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
}

export interface NodeKindStats {
  readonly in: Tally;
  readonly out: Tally;
  /** Loss over the most recent loss buckets (RECENT_BUCKETS), towards and from the node. */
  readonly recentIn: { readonly samples: number; readonly failures: number };
  readonly recentOut: { readonly samples: number; readonly failures: number };
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
  /** Node index (registry) → position in `nodes`. */
  readonly position: ReadonlyMap<number, number>;
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
  /** Loss samples and failures of one cell over the loss window (by positions). */
  loss(s: number, d: number, kind: PairKind): { samples: number; failures: number };
  /** The same over the most recent loss buckets. */
  recentLoss(s: number, d: number, kind: PairKind): { samples: number; failures: number };
  /** The store's code of one cell (by positions). */
  code(s: number, d: number, kind: PairKind): number;
}

export interface AssessOptions {
  readonly planKinds: readonly PairKind[];
  readonly windowMs: number;
  readonly maxUnhealthy: number;
  /**
   * Keeps the last RTT_PROBERS probers' percentiles per node across
   * evaluations, so each evaluation reads one prober per node and kind (the
   * evaluator has one). Without it, every evaluation reads RTT_PROBERS.
   */
  readonly rtt?: RttSampler;
}

/** Per node and kind, the RTT p50/p99 of the last RTT_PROBERS probers read, one more each evaluation (a rotating prober). */
export class RttSampler {
  private readonly rings = new WeakMap<NodeRecord, Map<PairKind, { p50: Float64Array; p99: Float64Array; n: number; head: number }>>();
  private turn = 0;
  private readonly scratch = new Float64Array(RTT_PROBERS);

  /** Reads one prober's cell towards each node for `kind`, then the node's percentiles over its ring. */
  sample(nodes: readonly NodeRecord[], kind: PairKind, read: (s: number, d: number) => { p50: number; p99: number } | null): { p50: number | null; p99: number | null }[] {
    const n = nodes.length;
    const turn = this.turn++;
    return nodes.map((node, d) => {
      let byKind = this.rings.get(node);
      if (!byKind) this.rings.set(node, (byKind = new Map()));
      let ring = byKind.get(kind);
      if (!ring) byKind.set(kind, (ring = { p50: new Float64Array(RTT_PROBERS), p99: new Float64Array(RTT_PROBERS), n: 0, head: 0 }));
      if (n > 1) {
        // A prober other than the node itself, a different one each turn.
        const s = (d + 1 + (turn % (n - 1))) % n;
        const r = read(s, d);
        if (r) {
          ring.p50[ring.head] = r.p50;
          ring.p99[ring.head] = r.p99;
          ring.head = (ring.head + 1) % RTT_PROBERS;
          if (ring.n < RTT_PROBERS) ring.n++;
        }
      }
      if (ring.n === 0) return { p50: null, p99: null };
      const { scratch } = this;
      scratch.set(ring.p50.subarray(0, ring.n));
      sortPrefix(scratch, ring.n);
      const p50 = round3(percentile(scratch, ring.n, 0.5));
      scratch.set(ring.p99.subarray(0, ring.n));
      sortPrefix(scratch, ring.n);
      return { p50, p99: round3(percentile(scratch, ring.n, 0.99)) };
    });
  }
}

/** Probers per target whose RTT feeds the node's RTT percentiles (the last ones read, rotating each evaluation). */
export const RTT_PROBERS = 8;

export const newTally = (): Tally => ({ known: 0, reachable: 0, failing: 0, lossy: 0, slow: 0, samples: 0, failedSamples: 0 });

export function tallyOf(t: NodeTally): Tally {
  const c = t.codes;
  const known = c[CODE_OK]! + c[CODE_LOSSY]! + c[CODE_SLOW]! + c[CODE_FAILING]!;
  return { known, reachable: known - c[CODE_FAILING]!, failing: c[CODE_FAILING]!, lossy: c[CODE_LOSSY]!, slow: c[CODE_SLOW]!, samples: t.lossSamples, failedSamples: t.lossFailures };
}

let rotation = 0;

export function assess(nodes: readonly NodeRecord[], store: MatrixStore, family: AddressFamily, now: number, o: AssessOptions): Assessment {
  const n = nodes.length;
  const kinds: PairKind[] = o.planKinds.filter((k) => k !== 'mtu');
  const f = addressFamilies.index(family);
  const position = new Map(nodes.map((x, i) => [x.index, i]));
  const staleRows = store.sweep(now).flatMap((src) => {
    const p = position.get(src);
    return p === undefined ? [] : [nodes[p]!.name];
  });
  const matureIn = nodes.map((x) => now - x.knownSince >= o.windowMs);
  const matureOut = nodes.map((x) => x.agent.connected && x.agent.instanceSince !== null && now - x.agent.instanceSince >= o.windowMs);
  const zones = [...new Set(nodes.map((x) => x.zone))].sort();
  const zoneIndex = new Map(zones.map((z, i) => [z, i]));
  const zoneOf = nodes.map((x) => zoneIndex.get(x.zone)!);
  store.setZones((index) => zoneOf[position.get(index) ?? 0] ?? 0, nodes.map((x) => x.index), zones.length);
  const z = zones.length;

  const start = rotation++;
  const recent = store.recentBuckets(now);
  const stats = kinds.map((kind) => {
    const k = kindIndex(kind);
    const sampled = o.rtt?.sample(nodes, kind, (s, d) => store.rtt(nodes[s]!.index, nodes[d]!.index, k, f, now));
    return nodes.map((node, d): NodeKindStats => {
      const st: NodeKindStats = {
        in: tallyOf(store.nodeTally(node.index, 'in', k, f)),
        out: tallyOf(store.nodeTally(node.index, 'out', k, f)),
        recentIn: store.nodeRecentLoss(node.index, 'in', k, f, recent),
        recentOut: store.nodeRecentLoss(node.index, 'out', k, f, recent),
        rttP50Ms: null,
        rttP99Ms: null,
      };
      if (sampled) {
        st.rttP50Ms = sampled[d]!.p50;
        st.rttP99Ms = sampled[d]!.p99;
        return st;
      }
      const p50: number[] = [];
      const p99: number[] = [];
      for (let j = 0; j < Math.min(n - 1, RTT_PROBERS * 2) && p50.length < RTT_PROBERS; j++) {
        const s = (d + 1 + ((start + j) % Math.max(1, n - 1))) % n;
        if (s === d) continue;
        const r = store.rtt(nodes[s]!.index, node.index, k, f, now);
        if (r) (p50.push(r.p50), p99.push(r.p99));
      }
      if (p50.length > 0) {
        p50.sort((a, b) => a - b);
        p99.sort((a, b) => a - b);
        st.rttP50Ms = round3(percentile(p50, p50.length, 0.5));
        st.rttP99Ms = round3(percentile(p99, p99.length, 0.99));
      }
      return st;
    });
  });
  const zoneTallies = kinds.map((kind) => {
    const k = kindIndex(kind);
    const out: Tally[] = [];
    for (let a = 0; a < z; a++) {
      for (let b = 0; b < z; b++) out.push(tallyOf(store.zoneTally(a, b, k, f)));
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

  const judged = new Map(kinds.map((k, i) => [kindIndex(k), i]));
  const planned = new Set(o.planKinds.map(kindIndex));
  const kindOf = PAIR_KINDS.slice();
  const bad: BadCell[] = [];
  for (const c of store.nonOkCells(recent)) {
    if (c.family !== f || !planned.has(c.kind)) continue;
    const s = position.get(c.src);
    const d = position.get(c.dst);
    if (s === undefined || d === undefined || c.code === CODE_UNKNOWN) continue;
    bad.push({
      s,
      d,
      k: judged.get(c.kind) ?? -1,
      kind: kindOf[c.kind]!,
      code: c.code,
      lossSamples: c.lossSamples,
      lossFailures: c.lossFailures,
      recentSamples: c.recentSamples,
      recentFailures: c.recentFailures,
      run: c.run,
      lastOutcome: outcomes.words[c.lastOutcome] ?? null,
    });
  }
  const view = (s: number, d: number, kind: PairKind) => store.view(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f, now);
  const mature = bad.filter((c) => matureOut[c.s] && matureIn[c.d]);
  mature.sort((x, y) => (y.code === CODE_FAILING ? 1 : 0) - (x.code === CODE_FAILING ? 1 : 0) || x.s - y.s || x.d - y.d);
  const unhealthy = mature.slice(0, o.maxUnhealthy).map((c): UnhealthyPair => ({
    src: nodes[c.s]!.name,
    dst: nodes[c.d]!.name,
    kind: c.kind,
    status: c.code === CODE_FAILING ? 'failing' : 'degraded',
    lossRatio: view(c.s, c.d, c.kind)?.lossRatio ?? null,
  }));

  return {
    at: now,
    family,
    kinds,
    nodes,
    position,
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
    loss: (s, d, kind) => store.loss(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f),
    recentLoss: (s, d, kind) => store.cellRecentLoss(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f, recent),
    code: (s, d, kind) => store.code(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f, now),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
