import t from 'tap';
import { EXIT } from '../../cli/client.js';
import { hasNoData, matrixExitCode, statusVerdict } from '../../cli/verdict.js';
import { emptyMatrix, matrixFixture, noDataMatrix, nodesFixture, okMatrix } from './fixtures.js';

t.test('a matrix fails the command only with failing cells', async (t) => {
  t.equal(matrixExitCode(matrixFixture()), EXIT.problems);
  t.equal(matrixExitCode(okMatrix('icmp')), EXIT.ok);
  t.equal(matrixExitCode({ ...okMatrix('icmp'), summary: { ok: 8, degraded: 2, failing: 0, unknown: 2 } }), EXIT.ok, 'degraded and unknown do not');
});

t.test('status fails on a disconnected agent or any failing cell', async (t) => {
  const connected = nodesFixture().map((n) => ({ ...n, agent: { ...n.agent, connected: true } }));
  t.same(statusVerdict(nodesFixture(), [{ kind: 'icmp', matrix: okMatrix('icmp') }]), { nodes: 4, disconnected: ['node-c'], failing: [], degraded: 0, exitCode: EXIT.problems });
  t.same(statusVerdict(connected, [{ kind: 'icmp', matrix: okMatrix('icmp') }, { kind: 'tcp', matrix: matrixFixture() }]), {
    nodes: 4,
    disconnected: [],
    failing: [{ kind: 'tcp', count: 3 }],
    degraded: 1,
    exitCode: EXIT.problems,
  });
  t.equal(statusVerdict(connected, [{ kind: 'icmp', matrix: okMatrix('icmp') }]).exitCode, EXIT.ok);
  t.equal(statusVerdict([], [{ kind: 'icmp', matrix: emptyMatrix('icmp') }]).exitCode, EXIT.ok, 'no nodes is not a failure');
});

t.test('no data: no cell has a sample in the window', async (t) => {
  t.ok(hasNoData(noDataMatrix('http')));
  t.ok(hasNoData(emptyMatrix('http')));
  t.notOk(hasNoData(matrixFixture()), 'some unknown cells, but data');
});
