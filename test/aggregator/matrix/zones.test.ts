// zoneSummary: a matrix snapshot folded by ordered zone pair.
import t from 'tap';
import type { MatrixSnapshot } from '../../../aggregator/matrix/query.js';
import { zoneSummary } from '../../../aggregator/matrix/zones.js';
import type { Status } from '../../../common/vocabulary.js';

function snapshot(zones: string[], statuses: (Status | null)[][]): MatrixSnapshot {
  const nodes = zones.map((zone, i) => ({ name: `n${i}`, zone })) as unknown as MatrixSnapshot['nodes'];
  const cells = statuses.map((row) => row.map((s) => (s === null ? null : ({ status: s } as never))));
  return { kind: 'tcp', family: 'ipv4', nodes, cells, summary: { ok: 0, degraded: 0, failing: 0, unknown: 0 } };
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
