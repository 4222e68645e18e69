// One pass over the matrix per evaluation: every cell of the primary address
// family is read once, and what the findings and the metrics need is kept in
// compact arrays (a byte per pair and kind) and per-node, per-zone sums. Both
// outlets read this, so a scrape or an API call never walks the N² matrix.
import { addressFamilies, STATUSES, type AddressFamily, type PairKind, type Status } from '../../common/vocabulary.js';
import { kindIndex, type CellView, type MatrixStore } from '../matrix/store.js';
import { percentile } from '../matrix/window.js';
import type { NodeRecord } from '../nodes/registry.js';

/** Pair bits (pairBits[s * n + d]) over the judged kinds. */
export const PAIR_KNOWN = 1;
export const PAIR_FAILING = 2;
export const PAIR_LOSSY = 4;
export const PAIR_SLOW = 8;

/** Per-kind cell codes (codes[k][s * n + d]). */
export const CELL_UNKNOWN = 0;
export const CELL_OK = 1;
export const CELL_LOSSY = 2;
export const CELL_SLOW = 3;
export const CELL_FAILING = 4;

export interface Tally {
  /** Cells with a fresh status (not unknown). */
  known: number;
  /** Of those, not failing. */
  reachable: number;
  lossy: number;
  slow: number;
  /** Samples in the window over those cells, and how many of them failed. */
  samples: number;
  failedSamples: number;
}

export interface NodeKindStats {
  readonly in: Tally;
  readonly out: Tally;
  /** Median of the probers' RTT p50 towards the node (ms), null without data. */
  rttP50Ms: number | null;
  /** 0.99 quantile of the probers' RTT p99 towards the node (ms). */
  rttP99Ms: number | null;
}

export interface UnhealthyPair {
  readonly src: string;
  readonly dst: string;
  readonly kind: PairKind;
  readonly status: 'failing' | 'degraded';
  readonly lossRatio: number | null;
}

export interface Assessment {
  readonly at: number;
  readonly family: AddressFamily;
  /** Kinds judged for reachability (the plan's kinds but mtu). */
  readonly kinds: readonly PairKind[];
  readonly nodes: readonly NodeRecord[];
  readonly pairBits: Uint8Array;
  readonly codes: readonly Uint8Array[];
  /** stats[k][node position] */
  readonly stats: readonly (readonly NodeKindStats[])[];
  /** Known for a full window (counted as a target in metrics), agent connected for a full window (as a prober). */
  readonly matureIn: readonly boolean[];
  readonly matureOut: readonly boolean[];
  readonly zones: readonly string[];
  readonly zoneOf: readonly number[];
  /** Tallies of cells between mature nodes: zoneTallies[k][a * zones + b]. */
  readonly zoneTallies: readonly (readonly Tally[])[];
  /** Failing and degraded cells of every planned kind between mature nodes, at most maxUnhealthy of them. */
  readonly unhealthy: readonly UnhealthyPair[];
  /** Unhealthy cells left out of `unhealthy` by the cap. */
  readonly unhealthyDropped: number;
  /** Cell counts by kind and status (every planned kind, mtu included). */
  readonly summary: Readonly<Record<string, Record<Status, number>>>;
  /** The cell of one pair and kind, read from the store on demand (for a finding's evidence). */
  view(src: number, dst: number, kind: PairKind): CellView | undefined;
}

export interface AssessOptions {
  readonly planKinds: readonly PairKind[];
  readonly windowMs: number;
  readonly maxUnhealthy: number;
}

const newTally = (): Tally => ({ known: 0, reachable: 0, lossy: 0, slow: 0, samples: 0, failedSamples: 0 });

function codeOf(v: CellView | undefined): number {
  if (!v || v.status === 'unknown') return CELL_UNKNOWN;
  if (v.status === 'failing') return CELL_FAILING;
  if (v.status === 'degraded') return v.degradedBy === 'latency' ? CELL_SLOW : CELL_LOSSY;
  return CELL_OK;
}

function add(t: Tally, code: number, v: CellView): void {
  t.known++;
  if (code !== CELL_FAILING) t.reachable++;
  if (code === CELL_LOSSY) t.lossy++;
  if (code === CELL_SLOW) t.slow++;
  t.samples += v.samples;
  t.failedSamples += Math.round((v.lossRatio ?? 0) * v.samples);
}

export function assess(nodes: readonly NodeRecord[], store: MatrixStore, family: AddressFamily, now: number, o: AssessOptions): Assessment {
  const n = nodes.length;
  const kinds: PairKind[] = o.planKinds.filter((k) => k !== 'mtu');
  const f = addressFamilies.index(family);
  const pairBits = new Uint8Array(n * n);
  const codes = kinds.map(() => new Uint8Array(n * n));
  const matureIn = nodes.map((x) => now - x.knownSince >= o.windowMs);
  const matureOut = nodes.map((x) => x.agent.connected && x.agent.instanceSince !== null && now - x.agent.instanceSince >= o.windowMs);
  const zones = [...new Set(nodes.map((x) => x.zone))].sort();
  const zoneIndex = new Map(zones.map((z, i) => [z, i]));
  const zoneOf = nodes.map((x) => zoneIndex.get(x.zone)!);
  const z = zones.length;
  const stats = kinds.map(() => nodes.map((): NodeKindStats => ({ in: newTally(), out: newTally(), rttP50Ms: null, rttP99Ms: null })));
  const zoneTallies = kinds.map(() => Array.from({ length: z * z }, newTally));
  const summary: Record<string, Record<Status, number>> = {};
  const unhealthy: UnhealthyPair[] = [];
  let unhealthyDropped = 0;
  // RTTs towards each target, gathered per kind while reading source-major
  // (cells of one source sit together in the store: twice as fast as by target).
  const p50s = kinds.map(() => new Float32Array(n * n));
  const p99s = kinds.map(() => new Float32Array(n * n));
  const rttCount = kinds.map(() => new Int32Array(n));
  const planned = o.planKinds.map((kind) => ({ kind, k: kindIndex(kind), judged: kinds.indexOf(kind) }));
  for (const kind of o.planKinds) summary[kind] = Object.fromEntries(STATUSES.map((st) => [st, 0])) as Record<Status, number>;

  for (let s = 0; s < n; s++) {
    const src = nodes[s]!;
    for (let d = 0; d < n; d++) {
      if (s === d) continue;
      const dst = nodes[d]!;
      const at = s * n + d;
      for (const { kind, k, judged } of planned) {
        const v = store.view(src.index, dst.index, k, f, now);
        summary[kind]![v?.status ?? 'unknown']++;
        if (v && (v.status === 'failing' || v.status === 'degraded') && matureOut[s] && matureIn[d]) {
          if (unhealthy.length < o.maxUnhealthy) unhealthy.push({ src: src.name, dst: dst.name, kind, status: v.status, lossRatio: v.lossRatio });
          else unhealthyDropped++;
        }
        if (judged < 0 || !v) continue;
        const code = codeOf(v);
        if (code === CELL_UNKNOWN) continue;
        codes[judged]![at] = code;
        pairBits[at]! |= PAIR_KNOWN | (code === CELL_FAILING ? PAIR_FAILING : code === CELL_LOSSY ? PAIR_LOSSY : code === CELL_SLOW ? PAIR_SLOW : 0);
        const ks = stats[judged]!;
        add(ks[d]!.in, code, v);
        add(ks[s]!.out, code, v);
        if (matureOut[s] && matureIn[d]) add(zoneTallies[judged]![zoneOf[s]! * z + zoneOf[d]!]!, code, v);
        if (v.rttP50Ms !== null && v.rttP99Ms !== null) {
          const c = rttCount[judged]!;
          const slot = d * n + c[d]!;
          p50s[judged]![slot] = v.rttP50Ms;
          p99s[judged]![slot] = v.rttP99Ms;
          c[d]!++;
        }
      }
    }
  }
  kinds.forEach((_, k) => {
    for (let d = 0; d < n; d++) {
      const m = rttCount[k]![d]!;
      if (m === 0) continue;
      const st = stats[k]![d]!;
      st.rttP50Ms = round3(percentile(p50s[k]!.subarray(d * n, d * n + m).sort(), m, 0.5));
      st.rttP99Ms = round3(percentile(p99s[k]!.subarray(d * n, d * n + m).sort(), m, 0.99));
    }
  });

  return {
    at: now,
    family,
    kinds,
    nodes,
    pairBits,
    codes,
    stats,
    matureIn,
    matureOut,
    zones,
    zoneOf,
    zoneTallies,
    unhealthy,
    unhealthyDropped,
    summary,
    view: (s, d, kind) => store.view(nodes[s]!.index, nodes[d]!.index, kindIndex(kind), f, now),
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
