// Read side of the matrix for the outlets (HTTP API, metrics, CLI through the
// API): whole matrices per kind and family, and one pair in detail. Times are
// aggregator-clock milliseconds; outlets format them.
import { PAIR_KINDS, addressFamilies, type AddressFamily, type PairKind, type Status } from '../../common/vocabulary.js';
import { primaryFamily, type NodeRecord, type NodeRegistry } from '../nodes/registry.js';
import { kindIndex, type CellView, type MatrixStore, type Sample } from './store.js';

export interface MatrixSnapshot {
  readonly kind: PairKind;
  readonly family: AddressFamily;
  readonly nodes: readonly NodeRecord[];
  /** cells[src][dst]; null on the diagonal. A pair never probed is `unknown` with no data. */
  readonly cells: (CellView | null)[][];
  readonly summary: Record<Status, number>;
}

export interface PairSnapshot {
  readonly src: NodeRecord;
  readonly dst: NodeRecord;
  readonly family: AddressFamily;
  readonly kinds: Record<PairKind, { readonly cell: CellView; readonly targetIp: string | null; readonly samples: readonly Sample[] }>;
}

const NO_DATA: CellView = Object.freeze({
  status: 'unknown',
  reason: 'no probe results yet',
  lossRatio: null,
  lossSamples: 0,
  lossSpanMs: 0,
  rttP50Ms: null,
  rttP99Ms: null,
  lastOutcome: null,
  since: null,
  lastAt: null,
  samples: 0,
  windowSpanMs: 0,
  failureRun: 0,
});

export class MatrixQuery {
  /** Targets whose agent is away while the node is fine (set by each evaluation): their cells read unknown. */
  private away: ReadonlyMap<number, string> = new Map();

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly store: MatrixStore,
    /** Monotonic ms: the store's time. */
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** Called by the evaluator: node index → why its column is unknown. */
  setAway(away: ReadonlyMap<number, string>): void {
    this.away = away;
  }

  /** The cell as outlets show it: unknown towards a target whose agent is away. */
  private cell(src: number, dst: number, k: number, f: number, now: number): CellView {
    const v = this.store.view(src, dst, k, f, now) ?? NO_DATA;
    const away = this.away.get(dst);
    return away === undefined || v === NO_DATA ? v : { ...v, status: 'unknown', reason: away, degradedBy: undefined };
  }

  /** The cluster's primary family: that of the first node's primary pod IP (ipv4 when empty). */
  defaultFamily(): AddressFamily {
    const first = this.nodes.list()[0];
    return first ? primaryFamily(first.podIPs) : 'ipv4';
  }

  /** The matrix now (the store's monotonic time: outlets never pass a time, their clock is not the store's). */
  matrix(kind: PairKind, family: AddressFamily): MatrixSnapshot {
    const now = this.monotonic();
    const nodes = this.nodes.list();
    const k = kindIndex(kind);
    const f = addressFamilies.index(family);
    const summary: Record<Status, number> = { ok: 0, degraded: 0, failing: 0, unknown: 0 };
    const cells = nodes.map((src) =>
      nodes.map((dst) => {
        if (src === dst) return null;
        const v = this.cell(src.index, dst.index, k, f, now);
        summary[v.status]++;
        return v;
      }),
    );
    return { kind, family, nodes, cells, summary };
  }

  pair(src: NodeRecord, dst: NodeRecord, family: AddressFamily): PairSnapshot {
    const now = this.monotonic();
    const f = addressFamilies.index(family);
    const kinds = {} as Record<PairKind, PairSnapshot['kinds'][PairKind]>;
    for (const kind of PAIR_KINDS) {
      const k = kindIndex(kind);
      const ips = kind === 'node' ? dst.nodeIPs : dst.podIPs;
      kinds[kind] = {
        cell: this.cell(src.index, dst.index, k, f, now),
        targetIp: ips.find((ip) => (ip.includes(':') ? 'ipv6' : 'ipv4') === family) ?? null,
        samples: this.store.samples(src.index, dst.index, k, f),
      };
    }
    return { src, dst, family, kinds };
  }
}
