import t from 'tap';
import { EXIT } from '../../cli/client.js';
import { dnsExitCode, findingsExitCode, hasNoData, matrixExitCode, statusVerdict } from '../../cli/verdict.js';
import { dnsFixture, dnsOff, emptyMatrix, findingsFixture, matrixFixture, noDataMatrix, nodesFixture, okDns, okMatrix, pendingFinding } from './fixtures.js';

t.test('a matrix fails the command only with failing cells', async (t) => {
  t.equal(matrixExitCode(matrixFixture()), EXIT.problems);
  t.equal(matrixExitCode(okMatrix('icmp')), EXIT.ok);
  t.equal(matrixExitCode({ ...okMatrix('icmp'), summary: { ok: 8, degraded: 2, failing: 0, unknown: 2 } }), EXIT.ok, 'degraded and unknown do not');
});

t.test('status fails on a disconnected agent or any failing cell', async (t) => {
  const connected = nodesFixture().map((n) => ({ ...n, agent: { ...n.agent, connected: true } }));
  t.same(statusVerdict(nodesFixture(), [{ kind: 'icmp', matrix: okMatrix('icmp') }]), { nodes: 4, disconnected: ['node-c'], failing: [], degraded: 0, firing: 0, exitCode: EXIT.problems });
  t.same(statusVerdict(connected, [{ kind: 'icmp', matrix: okMatrix('icmp') }, { kind: 'tcp', matrix: matrixFixture() }]), {
    nodes: 4,
    disconnected: [],
    failing: [{ kind: 'tcp', count: 3 }],
    degraded: 1,
    firing: 0,
    exitCode: EXIT.problems,
  });
  t.equal(statusVerdict(connected, [{ kind: 'icmp', matrix: okMatrix('icmp') }]).exitCode, EXIT.ok);
  t.equal(statusVerdict([], [{ kind: 'icmp', matrix: emptyMatrix('icmp') }]).exitCode, EXIT.ok, 'no nodes is not a failure');
});

t.test('a firing finding fails findings and status; a pending one does not', async (t) => {
  const firing = findingsFixture().findings;
  t.equal(findingsExitCode(firing), EXIT.problems);
  t.equal(findingsExitCode([pendingFinding()]), EXIT.ok);
  t.equal(findingsExitCode([]), EXIT.ok);
  const connected = nodesFixture().map((n) => ({ ...n, agent: { ...n.agent, connected: true } }));
  const ok = [{ kind: 'icmp', matrix: okMatrix('icmp') }];
  t.match(statusVerdict(connected, ok, firing), { firing: 3, exitCode: EXIT.problems }, 'even with every cell ok and every agent connected');
  t.match(statusVerdict(connected, ok, [pendingFinding()]), { firing: 0, exitCode: EXIT.ok });
  t.match(statusVerdict(connected, ok), { firing: 0, exitCode: EXIT.ok }, 'no findings API: as before');
});

t.test('no data: no cell has a sample in the window', async (t) => {
  t.ok(hasNoData(noDataMatrix('http')));
  t.ok(hasNoData(emptyMatrix('http')));
  t.notOk(hasNoData(matrixFixture()), 'some unknown cells, but data');
});

t.test('dns fails the command only with a failing cell', async (t) => {
  t.equal(dnsExitCode(dnsFixture()), EXIT.problems);
  t.equal(dnsExitCode(okDns()), EXIT.ok);
  const v = dnsFixture();
  const noFailing = { ...v, cells: v.cells.map((row) => row.map((c) => (c.status === 'failing' ? { ...c, status: 'degraded' as const } : c))) };
  t.equal(dnsExitCode(noFailing), EXIT.ok, 'degraded, unknown, divergent answers and NXDOMAIN-check failures do not');
  t.equal(dnsExitCode(dnsOff()), EXIT.ok, 'DNS checks off');
});
