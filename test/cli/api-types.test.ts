// The shape checks: a body passes only when rendering it cannot crash, and
// words that only decide display (kind, severity) may be ones this CLI does not know.
import t from 'tap';
import { isFindingList } from '../../cli/api-types.js';
import { findingsFixture, pendingFinding } from './fixtures.js';

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
