// Read side of the matrix for the outlets (HTTP API, metrics, CLI through the
// API): whole matrices per kind and family, and one pair in detail. Times are
// aggregator-clock milliseconds; outlets format them.
import { PAIR_KINDS, addressFamilies, type AddressFamily, type PairKind, type Status } from '../../common/vocabulary.js';
import { primaryFamily, type NodeRecord, type NodeRegistry } from '../nodes/registry.js';
import { kindIndex, NOT_TRACKED, type CellView, type MatrixStore, type Sample } from './store.js';

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

/** The matrix as status letters, with cell views only where there is something to read (not ok, not empty). */
export interface CompactSnapshot {
  readonly kind: PairKind;
  readonly family: AddressFamily;
  readonly nodes: readonly NodeRecord[];
  /** One letter per column: o ok, d degraded, f failing, u unknown, - the diagonal. */
  readonly rows: readonly string[];
  /** details.get(row)?.get(column): cells that are not ok and not without data (none when compact() was asked for rows only). */
  readonly details: ReadonlyMap<number, ReadonlyMap<number, CellView>>;
  readonly summary: Record<Status, number>;
}

/** One letter per cell status in the compact matrix, and `-` for the diagonal (zones.ts reads them back). */
export const STATUS_LETTERS = { ok: 'o', degraded: 'd', failing: 'f', unknown: 'u' } as const satisfies Record<Status, string>;
export const DIAGONAL_LETTER = '-';

// The same as bytes (a row is decoded as latin1), and the letter of each store code.
const OK = STATUS_LETTERS.ok.charCodeAt(0);
const DEGRADED = STATUS_LETTERS.degraded.charCodeAt(0);
const FAILING = STATUS_LETTERS.failing.charCodeAt(0);
const UNKNOWN = STATUS_LETTERS.unknown.charCodeAt(0);
const DIAGONAL = DIAGONAL_LETTER.charCodeAt(0);
const LETTER_COUNT = 0x80;
const LETTER_OF_CODE = Uint8Array.from([UNKNOWN, OK, DEGRADED, DEGRADED, FAILING]); // by store code

export class MatrixQuery {
  /** Targets whose agent is away while the node is fine (set by each evaluation): their cells read unknown. */
  private away: ReadonlyMap<number, string> = new Map();

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly store: MatrixStore,
    /** Monotonic ms: the store's time (the aggregator's clock.monotonic()). */
    private readonly monotonic: () => number,
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

  /**
   * The compact matrix: a status code per cell from the store (no view, no
   * allocation per cell), views only for cells that are not ok. At 1,000
   * nodes that is a million code reads and a few views, not a million views.
   * Codes come a row at a time (rowCodes), and each row string is decoded
   * from a buffer of letters: a flat string, where one built with += letter
   * by letter is a rope of a thousand pieces that JSON.stringify must flatten.
   */
  compact(kind: PairKind, family: AddressFamily, o: { readonly details?: boolean } = {}): CompactSnapshot {
    const withDetails = o.details ?? true;
    const now = this.monotonic();
    const nodes = this.nodes.list();
    const n = nodes.length;
    const k = kindIndex(kind);
    const f = addressFamilies.index(family);
    // Per column: its node index and whether its agent is away, read once and not per cell.
    const column = new Int32Array(n);
    const away = new Uint8Array(n);
    let slots = 0;
    nodes.forEach((dst, d) => {
      column[d] = dst.index;
      away[d] = this.away.has(dst.index) ? 1 : 0;
      slots = Math.max(slots, dst.index + 1);
    });
    const codes = new Uint8Array(slots);
    const line = Buffer.allocUnsafe(n);
    const count = new Int32Array(LETTER_COUNT);
    const details = new Map<number, Map<number, CellView>>();
    const rows = nodes.map((src, s) => {
      this.store.rowCodes(src.index, k, f, now, codes);
      for (let d = 0; d < n; d++) {
        if (d === s) {
          line[d] = DIAGONAL;
          continue;
        }
        const code = codes[column[d]!]!;
        // Never probed, or towards an away target: unknown (rowCodes says unknown for a stale row already).
        const letter = code === NOT_TRACKED || away[d] === 1 ? UNKNOWN : LETTER_OF_CODE[code]!;
        line[d] = letter;
        count[letter] = count[letter]! + 1;
        // Details: what is not ok, and unknown cells that still hold results (a stale row, an away target).
        if (letter === OK || code === NOT_TRACKED || !withDetails) continue;
        const v = this.cell(src.index, column[d]!, k, f, now);
        if (v.status === 'unknown' && v.samples === 0 && v.lastOutcome === null) continue;
        let row = details.get(s);
        if (!row) details.set(s, (row = new Map()));
        row.set(d, v);
      }
      return line.toString('latin1', 0, n);
    });
    const summary: Record<Status, number> = { ok: count[OK]!, degraded: count[DEGRADED]!, failing: count[FAILING]!, unknown: count[UNKNOWN]! };
    return { kind, family, nodes, rows, details, summary };
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
