// zoneSummary: the compact matrix's status letters folded by ordered zone pair.
import t from 'tap';
import type { CompactSnapshot } from '../../../aggregator/matrix/query.js';
import { zoneSummary } from '../../../aggregator/matrix/zones.js';
import type { Status } from '../../../common/vocabulary.js';

const LETTER: Record<Status, string> = { ok: 'o', degraded: 'd', failing: 'f', unknown: 'u' };

function snapshot(zones: string[], statuses: (Status | null)[][]): Pick<CompactSnapshot, 'nodes' | 'rows'> {
  const nodes = zones.map((zone, i) => ({ name: `n${i}`, zone })) as unknown as CompactSnapshot['nodes'];
  return { nodes, rows: statuses.map((row) => row.map((s) => (s === null ? '-' : LETTER[s])).join('')) };
}

t.test('counts per ordered zone pair, the diagonal left out, zones sorted', async (t) => {
  const m = snapshot(
    ['b', 'a', 'a', ''],
    [
      [null, 'failing', 'failing', 'ok'],
      ['ok', null, 'degraded', 'unknown'],
      ['ok', 'ok', null, 'unknown'],
      ['ok', 'ok', 'ok', null],
    ],
  );
  const zero = { ok: 0, degraded: 0, failing: 0, unknown: 0 };
  t.same(zoneSummary(m), [
    { srcZone: '', dstZone: 'a', pairs: 2, counts: { ...zero, ok: 2 } },
    { srcZone: '', dstZone: 'b', pairs: 1, counts: { ...zero, ok: 1 } },
    { srcZone: 'a', dstZone: '', pairs: 2, counts: { ...zero, unknown: 2 } },
    { srcZone: 'a', dstZone: 'a', pairs: 2, counts: { ...zero, ok: 1, degraded: 1 } },
    { srcZone: 'a', dstZone: 'b', pairs: 2, counts: { ...zero, ok: 2 } },
    { srcZone: 'b', dstZone: '', pairs: 1, counts: { ...zero, ok: 1 } },
    { srcZone: 'b', dstZone: 'a', pairs: 2, counts: { ...zero, failing: 2 } },
  ]);
  t.same(zoneSummary(snapshot(['a'], [[null]])), [], 'one node: no pairs');
  t.same(zoneSummary(snapshot([], [])), []);
});
