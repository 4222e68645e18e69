import t from 'tap';
import { DNS_OFF, age, columns, dnsCellText, findingLocation, findingsSection, renderFindings, renderKinds, renderMatrix, renderDns, renderNodes, renderStatus, span, table, verdictLine } from '../../cli/render.js';
import { dnsForNode } from '../../cli/commands/dns.js';
import { statusVerdict } from '../../cli/verdict.js';
import { GENERATED_AT, NOW, bigMatrix, dnsFixture, dnsOff, dnsOkCell, dnsUnknownCell, okDns, resolver, emptyMatrix, finding, findingsFixture, matrixFixture, noDataMatrix, nodesFixture, okMatrix, pendingFinding, visible } from './fixtures.js';

const plain = { color: false };

/** Column (character offset) of each glyph in a grid row, after the label. */
function glyphColumns(line: string, labelEnd: number): number[] {
  const cols: number[] = [];
  for (let i = labelEnd; i < line.length; i++) if (line[i] !== ' ') cols.push(i);
  return cols;
}

t.test('matrix: sources as rows, targets as numbered columns, a glyph per cell', async (t) => {
  const lines = renderMatrix(matrixFixture(), plain).split('\n');
  t.equal(lines[0], 'tcp matrix (ipv4), window 60s, generated 2026-11-25T06:00:00.000Z');
  t.equal(lines[1], 'rows: source node; columns: target node, numbered like the rows', 'the row labels are the legend of the column numbers');
  t.same(lines.slice(2, 7), [
    '           1  2  3  4',
    '1 node-a   ·  ✓  ✓  ✗',
    '2 node-b   ~  ·  ✓  ✗',
    '3 node-c   ✓  ✓  ·  ✗',
    '4 node-d   ✓  ✓  ?  ·',
  ]);
  t.equal(lines[8], '✓ ok 7   ~ degraded 1   ✗ failing 3   ? unknown 1');
});

t.test('matrix: every cell that is not ok is listed, failing first, with why', async (t) => {
  const out = renderMatrix(matrixFixture(), plain);
  const list = out.split('\n\n')[2]!.split('\n');
  t.same(list, [
    'SOURCE     TARGET  STATUS    SINCE    LAST-OUTCOME  LOSS    RTT-P50/P99-MS',
    'node-a  →  node-d  failing   60s ago  refused       100.0%  -/-',
    'node-b  →  node-d  failing   60s ago  refused       100.0%  -/-',
    'node-c  →  node-d  failing   60s ago  refused       100.0%  -/-',
    'node-b  →  node-a  degraded  90s ago  ok            8.3%    0.30/12.5',
    'node-d  →  node-c  unknown   -        -             -       -/-',
  ]);
  t.notMatch(out, /node-a\s+→\s+node-b/, 'ok cells are not listed');
  t.notMatch(out, /\x1b\[/, 'no escape codes with colour off');
});

t.test('matrix: colour on paints glyphs, counts and statuses, and keeps the layout', async (t) => {
  const coloured = renderMatrix(matrixFixture(), { color: true });
  t.match(coloured, '\x1b[32m✓\x1b[0m', 'ok green');
  t.match(coloured, '\x1b[33m~\x1b[0m', 'degraded yellow');
  t.match(coloured, '\x1b[31m✗\x1b[0m', 'failing red');
  t.match(coloured, '\x1b[90m?\x1b[0m', 'unknown grey');
  t.match(coloured, '\x1b[90m·\x1b[0m', 'self grey');
  t.match(coloured, '\x1b[31mfailing \x1b[0m', 'status in the list');
  t.match(coloured, '\x1b[1mtcp matrix', 'bold title');
  t.equal(visible(coloured), renderMatrix(matrixFixture(), plain), 'same text as without colour: escape codes take no width');
});

t.test('matrix: no nodes names the server', async (t) => {
  t.equal(
    renderMatrix(emptyMatrix('tcp'), { color: false, server: 'http://192.0.2.10:8080' }),
    'tcp matrix (ipv4), window 60s, generated 2026-11-25T06:00:00.000Z\nno nodes yet: are agents connected to http://192.0.2.10:8080?',
  );
});

t.test('matrix: every pair ok, and a single node', async (t) => {
  const ok = renderMatrix(okMatrix('icmp'), plain);
  t.match(ok, /\n\nevery pair is ok$/);
  t.match(ok, '✓ ok 12   ~ degraded 0   ✗ failing 0   ? unknown 0');
  const one = { ...okMatrix('icmp'), nodes: ['node-a'], cells: [[null]], summary: { ok: 0, degraded: 0, failing: 0, unknown: 0 } };
  t.match(renderMatrix(one, plain), /1 node-a {3}·\n/);
  t.match(renderMatrix(one, plain), /no pairs: one node only$/);
});

t.test('matrix: long names of varying length and two-digit indices stay aligned', async (t) => {
  const m = bigMatrix(12);
  const lines = renderMatrix(m, plain).split('\n');
  const header = lines[2]!;
  const rows = lines.slice(3, 15);
  t.equal(rows.length, 12);
  const labelEnd = Math.max(...m.nodes.map((n) => n.length)) + 3;
  // Each column number ends where its glyphs are.
  const numberEnds = [...header.matchAll(/\d+/g)].map((x) => x.index! + x[0].length - 1);
  t.equal(numberEnds.length, 12);
  rows.forEach((row, s) => {
    t.match(row, new RegExp(`^${String(s + 1).padStart(2)} ${m.nodes[s]!.replaceAll('.', '\\.')} +`), `row ${s + 1} labelled`);
    t.same(glyphColumns(row, labelEnd), numberEnds, `row ${s + 1} glyphs under their column numbers`);
  });
  t.equal(rows[0]!.at(-1), '✗', 'node 1 → node 12 failing');
  t.equal(rows[11]!.at(-1), '·', 'diagonal');
});

t.test('matrix: wider than the terminal falls back to the list', async (t) => {
  const m = bigMatrix(40);
  const gridLine = renderMatrix(m, plain).split('\n')[3]!;
  const needed = gridLine.length;
  const narrow = renderMatrix(m, { color: false, width: needed - 1 });
  t.match(narrow, `(the grid of 40 columns needs ${needed} characters, the terminal has ${needed - 1}: listing the cells that are not ok; --json has them all)`);
  t.notMatch(narrow, /^ 1 ip-10-0-0-/m, 'no grid');
  t.match(narrow, '✓ ok 1559   ~ degraded 0   ✗ failing 1   ? unknown 0');
  t.match(narrow, /ip-10-0-0-\.eu-west-1\.compute\.internal\s+→\s+ip-10-0-39-7777\.eu-west-1\.compute\.internal\s+failing\s+60s ago\s+refused/);
  t.match(renderMatrix(m, { color: false, width: needed }), /^ 1 ip-10-0-0-/m, 'exactly fitting: the grid');
  t.match(renderMatrix(m, plain), /^ 1 ip-10-0-0-/m, 'no width (not a terminal): the grid');
});

t.test('text from the server cannot drive the terminal', async (t) => {
  const m = matrixFixture();
  const evil = { ...m, nodes: ['node-a\x1b]0;pwned\x07', ...m.nodes.slice(1)] };
  const out = renderMatrix(evil, plain);
  t.notMatch(out, /[\x1b\x07]/);
  t.match(out, '1 node-a?]0;pwned?   ·');
});

t.test('nodes table', async (t) => {
  const lines = renderNodes(nodesFixture(), { color: false, now: NOW }).split('\n');
  t.same(lines, [
    'NAME    ZONE    POD-IP     AGENT         LAST-REPORT  VERSION  CAPABILITIES',
    'node-a  zone-1  192.0.2.1  connected     2s ago       0.1.0    icmp,tcp,http,node',
    'node-b  zone-1  192.0.2.2  connected     2s ago       0.1.0    icmp,tcp,http,node',
    'node-c  zone-2  192.0.2.3  disconnected  2m ago       0.1.0    icmp,tcp,http,node',
    'node-d  zone-2  192.0.2.4  connected     2s ago       0.1.0    icmp,tcp,http,node',
  ]);
  const coloured = renderNodes(nodesFixture(), { color: true, now: NOW });
  t.match(coloured, '\x1b[31mdisconnected\x1b[0m');
  t.match(coloured, '\x1b[32mconnected   \x1b[0m');
  t.equal(renderNodes([], { color: false, server: 'http://192.0.2.10:8080' }), 'no nodes yet: are agents connected to http://192.0.2.10:8080?');
});

t.test('status: kinds by status, no data, verdict', async (t) => {
  const matrices = [
    { kind: 'icmp', matrix: okMatrix('icmp') },
    { kind: 'tcp', matrix: matrixFixture('tcp') },
    { kind: 'http', matrix: noDataMatrix('http') },
    { kind: 'node', matrix: okMatrix('node') },
  ];
  t.same(renderKinds(matrices, plain).split('\n'), [
    'KIND  OK  DEGRADED  FAILING  UNKNOWN  NOTE',
    'icmp  12  0         0        0',
    'tcp   7   1         3        1        see netmatrix matrix --kind tcp',
    'http  -   -         -        -        no data',
    'node  12  0         0        0',
  ]);
  t.equal(renderKinds([matrices[0]!], plain), 'KIND  OK  DEGRADED  FAILING  UNKNOWN\nicmp  12  0         0        0', 'no NOTE column without notes');
  t.match(renderKinds(matrices, { color: true }), '\x1b[31m3      \x1b[0m', 'failing count red');

  const out = renderStatus(nodesFixture(), matrices, { color: false, now: NOW });
  const parts = out.split('\n\n');
  t.equal(parts.length, 3);
  t.equal(parts[0], renderNodes(nodesFixture(), { color: false, now: NOW }));
  t.equal(parts[2], '✗ 1 of 4 agents disconnected (node-c); failing cells: tcp 3');
  t.equal(renderStatus([], matrices, { color: false, server: 'http://192.0.2.10:8080' }), 'no nodes yet: are agents connected to http://192.0.2.10:8080?');
});

t.test('verdict lines', async (t) => {
  const healthy = nodesFixture().map((n) => ({ ...n, agent: { ...n.agent, connected: true } }));
  const ok = [{ kind: 'icmp', matrix: okMatrix('icmp') }];
  t.equal(verdictLine(statusVerdict(healthy, ok), plain), '✓ all 4 agents connected, no failing cell');
  const degraded = { ...okMatrix('tcp'), summary: { ok: 10, degraded: 2, failing: 0, unknown: 0 } };
  t.equal(verdictLine(statusVerdict(healthy, [...ok, { kind: 'tcp', matrix: degraded }]), plain), '✓ all 4 agents connected, no failing cell, 2 degraded');
  const many = Array.from({ length: 7 }, (_, i) => ({ ...healthy[0]!, name: `n${i}`, agent: { ...healthy[0]!.agent, connected: false } }));
  t.equal(verdictLine(statusVerdict(many, ok), plain), '✗ 7 of 7 agents disconnected (n0, n1, n2, n3, n4 and 2 more)');
  t.equal(verdictLine(statusVerdict(healthy, ok), { color: true }), '\x1b[32m✓ all 4 agents connected, no failing cell\x1b[0m');
});

t.test('table aligns and ages read naturally', async (t) => {
  t.equal(table(['A', 'BB'], [['xyz', '1'], ['q', '22']]), 'A    BB\nxyz  1\nq    22');
  t.equal(age(null, NOW), 'never');
  t.equal(age('2026-11-25T05:59:55Z', NOW), '5s ago');
  t.equal(age('2026-11-25T06:00:03Z', NOW), '0s ago', 'a clock ahead is not a negative age');
  t.equal(age('2026-11-25T05:50:00Z', NOW), '10m ago');
  t.equal(age('2026-11-25T01:00:00Z', NOW), '5h ago');
  t.equal(age('2026-11-20T06:00:00Z', NOW), '5d ago');
  t.equal(age('yesterday', NOW), '-');
  t.equal(span(59.6), '60s');
  t.equal(span(-3), '0s');
  t.same(columns([['a', 'bb', 'c'], ['ccc', 'd']]), ['a    bb  c', 'ccc  d'], 'no header; a short row ends early');
});

t.test('findings: a line per finding, critical first, aligned; its description and runbook under it', async (t) => {
  const out = renderFindings(findingsFixture(), { state: 'firing' }, plain);
  t.same(out.split('\n'), [
    'critical  NodeUnreachable  node-d         node-d is unreachable from 3 of 3 nodes    for 3m',
    "    tcp: refused 3/3; icmp ok from 3/3; node-d's agent reports.",
    '    runbook: https://example.org/netmatrix/docs/runbooks/NodeUnreachable.md',
    '',
    'critical  ZonePartition    zone-1→zone-2  zone-1 and zone-2 cannot reach each other  for 3h',
    '    4 of 4 pairs between the zones fail.',
    '    runbook: https://example.org/netmatrix/docs/runbooks/ZonePartition.md',
    '',
    "warning   PairUnreachable  node-b→node-a  node-b can't reach node-a                  for 60s",
    '    tcp: refused 1/1.',
    '    runbook: https://example.org/netmatrix/docs/runbooks/PairUnreachable.md',
  ]);
});

t.test('findings: "for" is judged on the aggregator\'s clock (evaluatedAt), not this host\'s', async (t) => {
  const body = findingsFixture();
  const later = NOW + 3_600_000;
  t.match(renderFindings(body, { state: 'firing' }, { color: false, now: later }), /for 3m$/m, 'evaluatedAt wins over now');
  t.match(renderFindings({ ...body, evaluatedAt: null }, { state: 'firing' }, { color: false, now: later }), /for 63m$/m, 'now when not evaluated');
  const fresh = { evaluatedAt: GENERATED_AT, findings: [{ ...body.findings[1]!, firingSince: null, since: '2026-11-25T05:59:30.000Z' }] };
  t.match(renderFindings(fresh, { state: 'firing' }, plain), /for 30s$/m, 'since when firingSince is missing');
  const resolved = { evaluatedAt: GENERATED_AT, findings: [{ ...body.findings[1]!, state: 'resolved' as const, resolvedAt: '2026-11-25T05:55:00.000Z' }] };
  t.match(renderFindings(resolved, { state: 'all' }, plain), /resolved 5m ago$/m);
});

t.test('findings: pending ones say so; colour by severity on, layout kept', async (t) => {
  const body = { ...findingsFixture(), findings: [...findingsFixture().findings, pendingFinding()] };
  t.match(renderFindings(body, { state: 'all' }, plain), /^warning {3}PacketLoss {7}node-a→node-c {2}node-a → node-c loses 8% of probes {9}pending for 20s$/m);
  const coloured = renderFindings(body, { state: 'all' }, { color: true });
  t.match(coloured, '\x1b[31mcritical\x1b[0m  NodeUnreachable', 'critical red');
  t.match(coloured, '\x1b[33mwarning \x1b[0m  PairUnreachable', 'warning yellow, padded before painting');
  t.equal(visible(coloured), renderFindings(body, { state: 'all' }, plain), 'same text as without colour');
  const info = finding('CniConfigDrift', 'info', { node: 'node-a' }, 'node-a has another CNI config', '', { since: GENERATED_AT, firingSince: GENERATED_AT });
  const odd = renderFindings({ evaluatedAt: GENERATED_AT, findings: [info] }, { state: 'firing' }, { color: true });
  t.equal(odd, 'info  CniConfigDrift  node-a  node-a has another CNI config  for 0s\n    runbook: https://example.org/netmatrix/docs/runbooks/CniConfigDrift.md', 'no colour for other severities; no empty description line');
});

t.test('findings: where it is, from the location labels', async (t) => {
  t.equal(findingLocation({ alertname: 'NodeIsolated', node: 'node-a' }), 'node-a');
  t.equal(findingLocation({ src: 'node-a', dst: 'node-b' }), 'node-a→node-b');
  t.equal(findingLocation({ src_zone: 'zone-1', dst_zone: 'zone-2' }), 'zone-1→zone-2');
  t.equal(findingLocation({ alertname: 'X', cluster: 'c' }), '-');
  t.equal(findingLocation({ alertname: 'ProbeKindFailing', kind: 'tcp', node: 'node-d' }), 'node-d', 'a kind failing towards one node');
  t.equal(findingLocation({ alertname: 'ProbeKindFailing', kind: 'tcp' }), 'cluster', 'a kind failing across the cluster');
  t.equal(findingLocation({ alertname: 'PairUnreachable', cluster: 'c' }), '-', "the pair cap's aggregate finding");
});

t.test('findings: none, by what was asked', async (t) => {
  const none = { evaluatedAt: GENERATED_AT, findings: [] };
  t.equal(renderFindings(none, { state: 'firing' }, plain), 'No findings: nothing is wrong now.');
  t.equal(renderFindings(none, { state: 'firing', kind: 'NodeUnreachable' }, plain), 'No NodeUnreachable findings firing.');
  t.equal(renderFindings(none, { state: 'pending' }, plain), 'No pending findings.');
  t.equal(renderFindings(none, { state: 'pending', kind: 'PacketLoss' }, plain), 'No pending PacketLoss findings.');
  t.equal(renderFindings(none, { state: 'all' }, plain), 'No findings, firing or pending: nothing is wrong now.');
  t.equal(renderFindings({ evaluatedAt: null, findings: [] }, { state: 'firing' }, plain), 'No findings yet: the aggregator has not evaluated the matrix yet.');
});

t.test('findings: text from the server cannot drive the terminal', async (t) => {
  const evil = finding('NodeUnreachable\x1b[2J', 'critical', { node: 'node-a\x07' }, 'sum\x1b]0;x\x07', 'desc\x9b', { since: GENERATED_AT, firingSince: GENERATED_AT });
  const body = { evaluatedAt: GENERATED_AT, findings: [evil] };
  const out = renderFindings(body, { state: 'firing' }, plain);
  for (const line of out.split('\n')) t.notMatch(line, /[\x00-\x1f\x7f-\x9f]/, line);
  t.match(out, /^critical {2}NodeUnreachable\?\[2J {2}node-a\? {2}sum\?\]0;x\? {2}for 0s\n {4}desc\?\n/);
  for (const line of findingsSection(body, plain).split('\n')) t.notMatch(line, /[\x00-\x1f\x7f-\x9f]/, line);
});

t.test('status: the Findings section counts by kind and names the first three, worst first', async (t) => {
  const body = findingsFixture();
  const extra = finding('PairUnreachable', 'warning', { src: 'node-c', dst: 'node-a' }, "node-c can't reach node-a", '', { since: GENERATED_AT, firingSince: GENERATED_AT });
  t.same(findingsSection({ ...body, findings: [...body.findings, extra, pendingFinding()] }, plain).split('\n'), [
    'Findings: 4 firing (NodeUnreachable 1, ZonePartition 1, PairUnreachable 2)',
    '  critical  node-d is unreachable from 3 of 3 nodes    for 3m',
    '  critical  zone-1 and zone-2 cannot reach each other  for 3h',
    "  warning   node-b can't reach node-a                  for 60s",
    '  and 1 more: netmatrix findings',
  ]);
  t.equal(findingsSection({ evaluatedAt: GENERATED_AT, findings: [pendingFinding()] }, plain), 'Findings: none firing', 'pending ones are not counted');
  t.equal(findingsSection({ evaluatedAt: GENERATED_AT, findings: [] }, { color: true }), '\x1b[32mFindings: none firing\x1b[0m');
  t.equal(findingsSection({ evaluatedAt: null, findings: [] }, plain), 'Findings: none yet, the aggregator has not evaluated the matrix yet');
  const coloured = findingsSection(body, { color: true });
  t.match(coloured, '\x1b[1mFindings: 3 firing');
  t.match(coloured, '  \x1b[31mcritical\x1b[0m  node-d');
  t.equal(visible(coloured), findingsSection(body, plain));
});

t.test('status: the Findings section comes last, and only when the aggregator has findings', async (t) => {
  const matrices = [{ kind: 'icmp', matrix: okMatrix('icmp') }];
  const o = { color: false, now: NOW };
  const without = renderStatus(nodesFixture(), matrices, o);
  const withSection = renderStatus(nodesFixture(), matrices, o, findingsFixture());
  t.equal(withSection, `${without}\n\n${findingsSection(findingsFixture(), o)}`);
  const noNodes = { color: false, server: 'http://192.0.2.10:8080' };
  t.equal(renderStatus([], matrices, noNodes, { evaluatedAt: GENERATED_AT, findings: [] }), 'no nodes yet: are agents connected to http://192.0.2.10:8080?', 'no nodes, nothing firing: the one line');
  t.match(renderStatus([], matrices, noNodes, findingsFixture()), /^no nodes yet: .*\n\nFindings: 3 firing/, 'but what fires is shown');
});

// ---------------------------------------------------------------- dns

t.test('dns: nodes as rows, servers as columns with their role, then the rest of what is wrong', async (t) => {
  t.equal(
    renderDns(dnsFixture(), plain),
    [
      'DNS from each node to each server, generated 2026-11-25T06:00:00.000Z',
      'rows: node; columns: server (role); p50, or last failing outcome and error ratio',
      'NODE    service         dns-a      dns-b',
      '        (service)       (replica)  (replica)',
      'node-a  ✓ 1.11ms        ✓ 0.32ms   ~ 100.5ms',
      'node-b  ✓ 1.11ms        ✓ 0.32ms   ✗ timeout 100%',
      'node-c  ~ servfail 25%  ✓ 0.32ms   ? no data',
      '',
      '✓ ok 5   ~ degraded 2   ✗ failing 1   ? unknown 1',
      '',
      'Divergent answers (replicas that disagree):',
      '  web.shop.svc.cluster.local A: dns-a answered 10.96.4.7, dns-b answered 10.96.9.9 (no consensus)',
      '',
      'NXDOMAIN check failing (a random name that must not exist):',
      '  dns-b: NOERROR from node-a (a wildcard, or an upstream hijacking NXDOMAIN)',
      '',
      'Resolvers:',
      '  node-c: nameserver 198.51.100.53 is not a server netmatrix checks (its pods ask another resolver)',
      '',
      "Lookups (node-a's resolv.conf): ndots:5 with 3 search domains: a lookup of example.com sends 8 queries",
    ].join('\n'),
  );
});

t.test('dns: a TCP check failing where UDP answers is its own section; a cell failing over UDP is not repeated there', async (t) => {
  const base = okDns();
  const refused = { lastOutcome: 'refused' as const, ok: false, since: '2026-11-25T05:58:00.000Z' };
  const cells = base.cells.map((row) => [...row]);
  cells[0]![1] = { ...cells[0]![1]!, tcpCheck: refused };
  cells[2]![1] = { ...cells[2]![1]!, tcpCheck: refused };
  cells[1]![2] = { ...cells[1]![2]!, status: 'failing', lastOutcome: 'timeout', errorRatio: 1, latencyP50Ms: null, tcpCheck: { ...refused, lastOutcome: 'timeout' } };
  const v = { ...base, cells };
  const out = renderDns(v, plain);
  t.match(out, 'TCP check failing (answers too large for UDP will fail):\n  dns-a: refused over TCP from node-a, node-c (UDP answers)');
  t.notMatch(out, /dns-b: timeout over TCP/, 'node-b fails dns-b over UDP already');
  t.notMatch(renderDns(okDns(), plain), /TCP check/, 'nothing when every TCP check is fine or absent');
});

t.test('dns: a cell says latency when answered, else the failing outcome and error ratio', async (t) => {
  t.equal(dnsCellText(dnsOkCell), '✓ 1.11ms');
  t.equal(dnsCellText({ ...dnsOkCell, latencyP50Ms: 23.456 }), '✓ 23.5ms');
  t.equal(dnsCellText({ ...dnsOkCell, status: 'failing', lastOutcome: 'dns_refused', errorRatio: 1, latencyP50Ms: null }), '✗ dns_refused 100%');
  t.equal(dnsCellText({ ...dnsOkCell, lastOutcome: 'timeout', errorRatio: 0.025 }), '✓ timeout 2.5%', 'an ok cell whose last query failed says so');
  t.equal(dnsCellText({ ...dnsOkCell, status: 'degraded', errors: { timeout: 1, servfail: 3 }, errorRatio: 0.333 }), '~ servfail 33%', 'recurring errors, last answered: the commonest');
  t.equal(dnsCellText(dnsUnknownCell), '? no data');
  t.equal(dnsCellText({ ...dnsUnknownCell, samples: 2 }), '?');
  t.equal(dnsCellText({ ...dnsOkCell, lastOutcome: 'bad\x1b[2Jword', status: 'failing' }), '✗ bad?[2Jword 0%', 'outcomes from the network are made printable');
});

t.test('dns: colour paints each cell by status and keeps the layout', async (t) => {
  const coloured = renderDns(dnsFixture(), { color: true });
  t.match(coloured, '\x1b[32m✓ 1.11ms      \x1b[0m', 'ok green, padded inside');
  t.match(coloured, '\x1b[33m~ 100.5ms\x1b[0m', 'degraded yellow');
  t.match(coloured, '\x1b[31m✗ timeout 100%\x1b[0m', 'failing red');
  t.match(coloured, '\x1b[90m? no data\x1b[0m', 'unknown grey');
  t.match(coloured, '\x1b[1mDNS from each node', 'bold title');
  t.equal(visible(coloured), renderDns(dnsFixture(), plain));
});

t.test('dns: five servers fit 100 columns, failing ones too', async (t) => {
  const v = dnsFixture();
  const servers = [...v.servers, { name: 'dns-c', role: 'replica', address: '192.0.2.103', port: 53 }, { name: 'nodelocal', role: 'nodelocal', address: '169.254.20.10', port: 53 }];
  const failing = { ...dnsOkCell, status: 'failing' as const, lastOutcome: 'servfail', errorRatio: 1, latencyP50Ms: null };
  const row = [dnsOkCell, { ...dnsOkCell, latencyP50Ms: 123.45 }, failing, { ...dnsOkCell, status: 'degraded' as const, errorRatio: 0.125, errors: { timeout: 3 } }, failing];
  const wide = { ...v, nodes: ['ip-10-0-1-7.ec2.internal', 'node-b', 'node-c'], servers, cells: [row, row, row] };
  const grid = renderDns(wide, plain).split('\n').slice(2, 7);
  t.equal(grid[2], 'ip-10-0-1-7.ec2.internal  ✓ 1.11ms   ✓ 123.5ms  ✗ servfail 100%  ~ timeout 13%  ✗ servfail 100%');
  for (const line of grid) t.ok(line.length <= 100, `${line.length}: ${line}`);
});

t.test('dns: consensus and replicas that did not answer', async (t) => {
  const v = dnsFixture();
  const out = renderDns({ ...v, answers: [{ name: 'web.shop.svc.cluster.local', type: 'AAAA', servers: { 'dns-a': ['2001:db8::1'], 'dns-b': null, 'dns-c': [] }, consensus: ['2001:db8::1'], divergent: ['dns-b', 'dns-c'] }] }, plain);
  t.match(out, '\n  web.shop.svc.cluster.local AAAA: dns-b answered no answer, dns-c answered no address (consensus 2001:db8::1)\n');
  t.notMatch(renderDns(okDns(), plain), 'Divergent', 'agreeing replicas: no section');
});

t.test('dns: every cell ok leaves the summary and the lookup cost', async (t) => {
  const lines = renderDns(okDns(), plain).split('\n');
  t.equal(lines.at(-3), '✓ ok 9   ~ degraded 0   ✗ failing 0   ? unknown 0');
  t.equal(lines.at(-1), "Lookups (node-a's resolv.conf): ndots:5 with 3 search domains: a lookup of example.com sends 8 queries");
  const noResolvers = renderDns({ ...okDns(), resolvers: [] }, plain);
  t.match(noResolvers, /unknown 0$/, 'agents older than resolv.conf reporting: no lookup line');
  const oneDomain = renderDns({ ...okDns(), resolvers: [{ ...resolver('node-a'), search: ['cluster.local'], ndots: 1, lookups: [{ name: 'example.com', tried: ['example.com'], queries: 2, worstCaseSeconds: 10 }] }] }, plain);
  t.match(oneDomain, /ndots:1 with 1 search domain: a lookup of example\.com sends 2 queries$/);
});

t.test('dns: a resolv.conf that could not be read is listed', async (t) => {
  const v = { ...okDns(), resolvers: [resolver('node-a'), { ...resolver('node-b'), nameservers: [], nameserverKnown: null, lookups: [], error: 'ENOENT: /etc/resolv.conf' }] };
  t.match(renderDns(v, plain), '\nResolvers:\n  node-b: resolv.conf not read: ENOENT: /etc/resolv.conf\n');
});

t.test('dns --node: one row, its resolv.conf in full', async (t) => {
  const v = dnsForNode(dnsFixture(), 'node-a');
  const withWarning = { ...v, resolvers: [{ ...v.resolvers[0]!, warnings: ['nameserver 192.0.2.9: past the third, never asked'] }] };
  const out = renderDns(withWarning, plain, 'node-a');
  t.match(out, /\nnode-a {2}✓ 1\.11ms {3}✓ 0\.32ms {3}~ 100\.5ms\n\n✓ ok 2 {3}~ degraded 1 {3}✗ failing 0 {3}\? unknown 0\n/);
  t.notMatch(out, /^node-[bc]/m);
  t.notMatch(out, 'Lookups (', 'the full table instead');
  t.match(
    out,
    [
      "node-a's resolv.conf:",
      '  nameserver 192.0.2.53 (checked by netmatrix)',
      '  search default.svc.cluster.local svc.cluster.local cluster.local',
      '  options ndots:5 timeout:5 attempts:2',
      '  warning: nameserver 192.0.2.9: past the third, never asked',
      '',
      '  LOOKUP              QUERIES  WORST-CASE  NAMES-TRIED',
      '  kubernetes.default  4        40s         kubernetes.default.default.svc.cluster.local kubernetes.default.svc.cluster.local',
      '  example.com         8        40s         example.com.default.svc.cluster.local example.com.svc.cluster.local example.com.cluster.local example.com',
    ].join('\n'),
  );
  t.match(renderDns({ ...v, resolvers: [] }, plain, 'node-a'), /node-a's resolv\.conf:\n {2}not reported \(an agent older than the DNS checks does not send it\)$/);
  t.match(renderDns(dnsForNode(dnsFixture(), 'node-c'), plain, 'node-c'), 'nameserver 198.51.100.53 (not a DNS server netmatrix checks');
});

t.test('dns: off, and no nodes yet', async (t) => {
  t.equal(renderDns(dnsOff(), plain), DNS_OFF);
  t.equal(DNS_OFF, 'DNS checks are off: the aggregator has no DNS servers (--dns-servers none).');
  t.equal(
    renderDns({ ...dnsFixture(), nodes: [], cells: [], resolvers: [] }, { color: false, server: 'http://192.0.2.10:8080' }),
    'DNS from each node to each server, generated 2026-11-25T06:00:00.000Z\nno nodes yet: are agents connected to http://192.0.2.10:8080?',
  );
});
