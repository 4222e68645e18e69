// The shape checks: a body passes only when rendering it cannot crash, and
// words that only decide display (kind, severity) may be ones this CLI does not know.
import t from 'tap';
import { isDnsView, isFindingList } from '../../cli/api-types.js';
import { dnsFixture, dnsOff, findingsFixture, pendingFinding } from './fixtures.js';

t.test('findings: the API body passes, before the first evaluation too', async (t) => {
  t.ok(isFindingList(findingsFixture()));
  t.ok(isFindingList({ evaluatedAt: null, findings: [] }));
  t.ok(isFindingList({ evaluatedAt: null, findings: [pendingFinding()] }));
  const newer = { ...pendingFinding(), kind: 'SomethingNew', severity: 'page', extra: 1 };
  t.ok(isFindingList({ evaluatedAt: null, findings: [newer] }), 'a newer aggregator\'s kinds, severities and fields');
});

t.test('findings: anything a renderer would trip on fails', async (t) => {
  const f = findingsFixture().findings[0]!;
  const bad: [string, unknown][] = [
    ['not an object', []],
    ['no evaluatedAt', { findings: [] }],
    ['evaluatedAt a number', { evaluatedAt: 0, findings: [] }],
    ['findings not a list', { evaluatedAt: null, findings: {} }],
    ['a state outside the set (it decides the exit code)', { evaluatedAt: null, findings: [{ ...f, state: 'burning' }] }],
    ['a label that is not a string', { evaluatedAt: null, findings: [{ ...f, labels: { node: 1 } }] }],
    ['no annotations', { evaluatedAt: null, findings: [{ ...f, annotations: undefined }] }],
    ['no runbook_url', { evaluatedAt: null, findings: [{ ...f, annotations: { summary: '', description: '' } }] }],
    ['firingSince missing', { evaluatedAt: null, findings: [{ ...f, firingSince: undefined }] }],
    ['since null', { evaluatedAt: null, findings: [{ ...f, since: null }] }],
    ['no summary', { evaluatedAt: null, findings: [{ ...f, summary: undefined }] }],
  ];
  for (const [why, body] of bad) t.notOk(isFindingList(body), why);
});

t.test('dns: the API body passes, with DNS off and with no nodes too', async (t) => {
  t.ok(isDnsView(dnsFixture()));
  t.ok(isDnsView(dnsOff()));
  t.ok(isDnsView({ ...dnsFixture(), nodes: [], cells: [], resolvers: [] }));
  const v = dnsFixture();
  const newer = { ...v, servers: [{ ...v.servers[0]!, role: 'anycast' }, ...v.servers.slice(1)], answers: [{ ...v.answers[0]!, type: 'HTTPS' }], extra: 1 };
  t.ok(isDnsView(newer), "a newer aggregator's roles, record types and fields");
});

t.test('dns: anything a renderer would trip on fails', async (t) => {
  const v = dnsFixture();
  const c = v.cells[0]![0]!;
  const withCell = (x: unknown) => ({ ...v, cells: [[x, ...v.cells[0]!.slice(1)], ...v.cells.slice(1)] });
  const bad: [string, unknown][] = [
    ['not an object', []],
    ['no generatedAt', { ...v, generatedAt: undefined }],
    ['a row short of the servers', { ...v, cells: [v.cells[0]!.slice(1), ...v.cells.slice(1)] }],
    ['fewer rows than nodes', { ...v, cells: v.cells.slice(1) }],
    ['a status outside the set (it decides the exit code)', withCell({ ...c, status: 'fine' })],
    ['an error count that is not a number', withCell({ ...c, errors: { timeout: '3' } })],
    ['nxCheck without ok', withCell({ ...c, nxCheck: { lastOutcome: 'ok', since: c.since } })],
    ['samples missing', withCell({ ...c, samples: undefined })],
    ['a server without a name', { ...v, servers: [{ ...v.servers[0]!, name: 1 }, ...v.servers.slice(1)] }],
    ['an answer that is not a list', { ...v, answers: [{ ...v.answers[0]!, servers: { service: '10.96.0.1' } }] }],
    ['divergent missing', { ...v, answers: [{ ...v.answers[0]!, divergent: undefined }] }],
    ['a resolver without lookups', { ...v, resolvers: [{ ...v.resolvers[0]!, lookups: undefined }] }],
    ['a lookup without queries', { ...v, resolvers: [{ ...v.resolvers[0]!, lookups: [{ name: 'x', tried: [], worstCaseSeconds: 1 }] }] }],
    ['nameserverKnown a string', { ...v, resolvers: [{ ...v.resolvers[0]!, nameserverKnown: 'yes' }] }],
  ];
  for (const [why, body] of bad) t.notOk(isDnsView(body), why);
});
