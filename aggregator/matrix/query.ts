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
  rttP50Ms: null,
  rttP99Ms: null,
  lastOutcome: null,
  since: null,
  lastAt: null,
  samples: 0,
});

export class MatrixQuery {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly store: MatrixStore,
  ) {}

  /** The cluster's primary family: that of the first node's primary pod IP (ipv4 when empty). */
  defaultFamily(): AddressFamily {
    const first = this.nodes.list()[0];
    return first ? primaryFamily(first.podIPs) : 'ipv4';
  }

  matrix(kind: PairKind, family: AddressFamily, now: number): MatrixSnapshot {
    const nodes = this.nodes.list();
    const k = kindIndex(kind);
    const f = addressFamilies.index(family);
    const summary: Record<Status, number> = { ok: 0, degraded: 0, failing: 0, unknown: 0 };
    const cells = nodes.map((src) =>
      nodes.map((dst) => {
        if (src === dst) return null;
        const v = this.store.view(src.index, dst.index, k, f, now) ?? NO_DATA;
        summary[v.status]++;
        return v;
      }),
    );
    return { kind, family, nodes, cells, summary };
  }

  pair(src: NodeRecord, dst: NodeRecord, family: AddressFamily, now: number): PairSnapshot {
    const f = addressFamilies.index(family);
    const kinds = {} as Record<PairKind, PairSnapshot['kinds'][PairKind]>;
    for (const kind of PAIR_KINDS) {
      const k = kindIndex(kind);
      const ips = kind === 'node' ? dst.nodeIPs : dst.podIPs;
      kinds[kind] = {
        cell: this.store.view(src.index, dst.index, k, f, now) ?? NO_DATA,
        targetIp: ips.find((ip) => (ip.includes(':') ? 'ipv6' : 'ipv4') === family) ?? null,
        samples: this.store.samples(src.index, dst.index, k, f, now),
      };
    }
    return { src, dst, family, kinds };
  }
}
