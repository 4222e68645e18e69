import t from 'tap';
import { age, renderMatrix, renderNodes, table } from '../../cli/render.js';
import { matrixFixture, nodesFixture } from './fixtures.js';

const plain = { color: false };

t.test('matrix: rows are sources, columns numbered, glyphs per status', (t) => {
  const out = renderMatrix(matrixFixture(), plain);
  const lines = out.split('\n');
  t.match(lines[0], 'tcp matrix (ipv4), window 60s, at 2026-11-25T06:00:00.000Z');
  const header = lines.find((l) => /^\s+1\s+2\s+3\s+4$/.test(l));
  t.ok(header, 'column numbers');
  const rowA = lines.find((l) => l.startsWith('1 node-a'))!;
  const rowB = lines.find((l) => l.startsWith('2 node-b'))!;
  const rowD = lines.find((l) => l.startsWith('4 node-d'))!;
  t.match(rowA, /·\s+✓\s+✓\s+✗$/);
  t.match(rowB, /~\s+·\s+✓\s+✗$/);
  t.match(rowD, /✓\s+✓\s+\?\s+·$/);
  // Each glyph sits under its column number.
  for (const [i, n] of ['1', '2', '3', '4'].entries()) t.equal(rowA[header!.indexOf(n)], ['·', '✓', '✓', '✗'][i], `column ${n} aligned`);
  t.match(out, '✓ ok 7   ~ degraded 1   ✗ failing 3   ? unknown 1');
  t.match(out, /node-a\s+→\s+node-d\s+failing\s+refused\s+100\.0%\s+-\/-/);
  t.match(out, /node-b\s+→\s+node-a\s+degraded\s+ok\s+8\.3%\s+0\.30\/12\.5/);
  t.match(out, /node-d\s+→\s+node-c\s+unknown\s+-/);
  t.notMatch(out, /\x1b\[/, 'no colour codes when colour is off');
  t.end();
});

t.test('matrix: colour codes only with colour on', (t) => {
  const out = renderMatrix(matrixFixture(), { color: true });
  t.match(out, '\x1b[31m✗\x1b[0m');
  t.match(out, '\x1b[32m✓\x1b[0m');
  t.match(out, '\x1b[33m~\x1b[0m');
  t.end();
});

t.test('matrix: no nodes, and too wide for the terminal', (t) => {
  t.match(renderMatrix({ ...matrixFixture(), nodes: [], cells: [], summary: { ok: 0, degraded: 0, failing: 0, unknown: 0 } }, plain), 'no nodes yet');
  const narrow = renderMatrix(matrixFixture(), { color: false, width: 20 });
  t.match(narrow, '(4 columns do not fit in 20 characters: showing the cells that are not ok)');
  t.notMatch(narrow, /^1 node-a/m, 'no grid');
  t.match(narrow, /node-a\s+→\s+node-d\s+failing/);
  t.end();
});

t.test('every pair ok says so', (t) => {
  const m = matrixFixture();
  const cells = m.cells.map((row) => row.map((c) => (c === null ? null : { ...c, status: 'ok' as const })));
  t.match(renderMatrix({ ...m, cells, summary: { ok: 12, degraded: 0, failing: 0, unknown: 0 } }, plain), 'every pair is ok');
  t.end();
});

t.test('nodes table', (t) => {
  const out = renderNodes(nodesFixture(), { color: false, now: Date.parse('2026-11-25T06:00:00.000Z') });
  const lines = out.split('\n');
  t.match(lines[0], /^NAME\s+ZONE\s+POD-IP\s+AGENT\s+LAST-REPORT\s+VERSION\s+CAPABILITIES$/);
  t.match(lines[1], /^node-a\s+zone-1\s+192\.0\.2\.1\s+connected\s+2s ago\s+0\.1\.0\s+icmp,tcp,http$/);
  t.match(lines[3], /^node-c\s+zone-2\s+192\.0\.2\.3\s+disconnected/);
  t.equal(renderNodes([], plain), 'no nodes yet: are agents connected to this aggregator?');
  t.end();
});

t.test('table aligns and ages read naturally', (t) => {
  t.equal(table(['A', 'BB'], [['xyz', '1'], ['q', '22']]), 'A    BB\nxyz  1\nq    22');
  const now = Date.parse('2026-11-25T06:00:00Z');
  t.equal(age(null, now), 'never');
  t.equal(age('2026-11-25T05:59:55Z', now), '5s ago');
  t.equal(age('2026-11-25T05:50:00Z', now), '10m ago');
  t.equal(age('2026-11-25T01:00:00Z', now), '5h ago');
  t.end();
});
