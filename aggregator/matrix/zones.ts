// The matrix folded by zone: for each ordered pair of zones (source zone,
// target zone), how many cells have each status. Read from the compact
// matrix's status letters (a code per cell from the store, with the same
// overlay as the API: a target whose agent is away is unknown), so the zone
// view agrees cell for cell with /api/v1/matrix.
import { STATUSES, type Status } from '../../common/vocabulary.js';
import { STATUS_LETTERS, type CompactSnapshot } from './query.js';

export interface ZonePairCounts {
  readonly srcZone: string;
  readonly dstZone: string;
  /** Node pairs from a source node in srcZone to a target node in dstZone (a node and itself excluded). */
  readonly pairs: number;
  readonly counts: Readonly<Record<Status, number>>;
}

/** Every ordered zone pair with at least one node pair, sorted by source zone, then target zone. */
export function zoneSummary(snapshot: Pick<CompactSnapshot, 'nodes' | 'rows'>): ZonePairCounts[] {
  const zones = [...new Set(snapshot.nodes.map((n) => n.zone))].sort();
  const zoneIndex = new Map(zones.map((z, i) => [z, i]));
  const of = snapshot.nodes.map((n) => zoneIndex.get(n.zone)!);
  const z = zones.length;
  // One counter per (source zone, target zone, status): no object per cell.
  const tally = new Float64Array(z * z * STATUSES.length);
  const letterIndex: Record<string, number> = Object.fromEntries(STATUSES.map((st, i) => [STATUS_LETTERS[st], i]));
  snapshot.rows.forEach((row, s) => {
    const base = of[s]! * z;
    for (let d = 0; d < row.length; d++) {
      const k = letterIndex[row[d]!];
      if (k === undefined) continue; // the diagonal
      const at = (base + of[d]!) * STATUSES.length + k;
      tally[at] = tally[at]! + 1;
    }
  });
  const out: ZonePairCounts[] = [];
  for (let a = 0; a < z; a++) {
    for (let b = 0; b < z; b++) {
      const at = (a * z + b) * STATUSES.length;
      const counts = Object.fromEntries(STATUSES.map((st, i) => [st, tally[at + i]!])) as Record<Status, number>;
      const pairs = STATUSES.reduce((sum, st) => sum + counts[st], 0);
      if (pairs > 0) out.push({ srcZone: zones[a]!, dstZone: zones[b]!, pairs, counts });
    }
  }
  return out;
}
