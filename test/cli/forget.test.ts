// netmatrix forget NODE in-process against a real HTTP server standing in for
// the aggregator: one DELETE with the token, the answer printed as text or
// JSON (exit 0), and each refusal one line saying why and what to do (exit 3).
import t from 'tap';
import { isForgotten, type ApiForgotten } from '../../cli/api-types.js';
import { renderForgotten } from '../../cli/commands/forget.js';
import { json, runCli, startApiServer, type Handler } from './api-server.js';

const FORGOTTEN: ApiForgotten = {
  node: 'node-d',
  forgottenAt: '2026-11-25T09:30:00.000Z',
  agent: { disconnectedAt: '2026-11-25T09:08:35.000Z', lastReportAt: '2026-11-25T09:08:30.000Z' },
  findings: [
    { id: '60cd5c7d8d2b7982', kind: 'NodeUnreachable', severity: 'critical', state: 'firing' },
    { id: '0b1c2d3e4f5a6b7c', kind: 'PairUnreachable', severity: 'warning', state: 'pending' },
  ],
};

const refusal = (status: number, code: string, message: string): Handler => (_req, res) => json(res, status, { statusCode: status, code, error: 'x', message });

const api = await startApiServer((_req, res) => json(res, 200, FORGOTTEN));
t.teardown(() => api.close());
t.beforeEach(() => {
  api.requests.length = 0;
  api.handle((_req, res) => json(res, 200, FORGOTTEN));
});
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, ['--server', api.url], env);

t.test('the answer passes the shape check; anything else does not', async (t) => {
  t.ok(isForgotten(FORGOTTEN));
  t.ok(isForgotten({ ...FORGOTTEN, findings: [], agent: { disconnectedAt: null, lastReportAt: null } }));
  t.ok(isForgotten({ ...FORGOTTEN, findings: [{ ...FORGOTTEN.findings[0]!, kind: 'SomethingNewer' }] }), 'kinds are shown as they come');
  for (const [why, body] of [
    ['a node list', { nodes: [] }],
    ['no agent', { ...FORGOTTEN, agent: undefined }],
    ['findings not a list', { ...FORGOTTEN, findings: {} }],
    ['a finding without an id', { ...FORGOTTEN, findings: [{ kind: 'NodeUnreachable', severity: 'critical', state: 'firing' }] }],
  ] as const) t.notOk(isForgotten(body), why);
});

t.test('one DELETE with the token; what went and what resolves; exit 0', async (t) => {
  const r = await cli(['forget', 'node-d', '--token', 's3cret']);
  t.equal(r.err, '');
  t.equal(r.code, 0);
  t.same(api.requests.map((q) => `${q.method} ${q.url}`), ['DELETE /api/v1/nodes/node-d']);
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret');
  t.equal(
    r.out,
    [
      'Forgot node-d (its agent left at 2026-11-25T09:08:35.000Z): it left the node list, the matrix, DNS and CNI checks.',
      "Its 2 findings resolve at the aggregator's next evaluation:",
      '  critical  NodeUnreachable  firing   60cd5c7d8d2b7982',
      '  warning   PairUnreachable  pending  0b1c2d3e4f5a6b7c',
      'If its agent comes back, node-d is a new node again.',
    ].join('\n'),
  );
  t.equal(renderForgotten({ ...FORGOTTEN, findings: [], agent: { disconnectedAt: null, lastReportAt: null } }).split('\n')[1], 'No findings about it were open.');
  t.match(renderForgotten({ ...FORGOTTEN, findings: [FORGOTTEN.findings[0]!] }), "\nIts finding resolves at the aggregator's next evaluation:\n");
});

t.test('--json prints the answer unchanged; NETMATRIX_API_TOKEN is the token too; the name is one path segment', async (t) => {
  const r = await cli(['forget', '--json', 'node-d'], { NETMATRIX_API_TOKEN: 'from-env' });
  t.equal(r.code, 0);
  t.same(JSON.parse(r.out), FORGOTTEN);
  t.equal(api.requests[0]!.headers.authorization, 'Bearer from-env');
  api.requests.length = 0;
  await cli(['forget', 'a/b c']);
  t.same(api.requests.map((q) => q.url), ['/api/v1/nodes/a%2Fb%20c']);
});

t.test('each refusal is one line with the aggregator\'s reason and what to do; exit 3', async (t) => {
  const url = `${api.url}/api/v1/nodes/node-d`;
  const cases: [Handler, string][] = [
    [
      refusal(403, 'READ_ONLY', 'the API is read-only: this aggregator has no API token; start it with --api-token-file (or NETMATRIX_API_TOKEN) to allow changes'),
      `netmatrix: ${url}: HTTP 403 READ_ONLY: the API is read-only: this aggregator has no API token; start it with --api-token-file (or NETMATRIX_API_TOKEN) to allow changes (then give this command the token with --token or NETMATRIX_API_TOKEN)`,
    ],
    [
      refusal(401, 'UNAUTHORIZED', 'this API needs "Authorization: Bearer <token>" with the aggregator\'s API token'),
      `netmatrix: ${url}: HTTP 401 UNAUTHORIZED: this API needs "Authorization: Bearer <token>" with the aggregator's API token (set --token or NETMATRIX_API_TOKEN)`,
    ],
    [refusal(404, 'NODE_NOT_FOUND', 'no node named "node-d"'), `netmatrix: ${url}: HTTP 404 NODE_NOT_FOUND: no node named "node-d" (netmatrix status lists the nodes it knows)`],
    [
      refusal(409, 'NODE_AGENT_CONNECTED', 'the agent of "node-d" is connected, so the node is not gone and would come straight back: stop its agent first, or wait until it disconnects'),
      `netmatrix: ${url}: HTTP 409 NODE_AGENT_CONNECTED: the agent of "node-d" is connected, so the node is not gone and would come straight back: stop its agent first, or wait until it disconnects`,
    ],
    [
      refusal(409, 'NODE_IN_KUBERNETES', 'the Kubernetes API lists "node-d": delete the Node object (kubectl delete node node-d) and it leaves at once'),
      `netmatrix: ${url}: HTTP 409 NODE_IN_KUBERNETES: the Kubernetes API lists "node-d": delete the Node object (kubectl delete node node-d) and it leaves at once`,
    ],
    [
      refusal(404, 'ROUTE_NOT_FOUND', 'no route DELETE /api/v1/nodes/node-d'),
      `netmatrix: ${url}: HTTP 404 ROUTE_NOT_FOUND: no route DELETE /api/v1/nodes/node-d (this aggregator is older than DELETE /api/v1/nodes/{name}; upgrade it to use netmatrix forget)`,
    ],
    [(_req, res) => json(res, 200, { nodes: [] }), `netmatrix: ${url}: HTTP 200 but the body is not a forgotten node: is this a netmatrix aggregator?`],
  ];
  for (const [handler, line] of cases) {
    api.handle(handler);
    const r = await cli(['forget', 'node-d', '--token', 's3cret']);
    t.equal(r.code, 3, line);
    t.equal(r.err, line);
    t.equal(r.errLines, 1);
    t.equal(r.out, '');
  }
});

t.test('a usage error asks nothing of the server', async (t) => {
  const r = await cli(['forget']);
  t.equal(r.code, 2);
  t.equal(r.err, 'netmatrix: which node? netmatrix forget NODE (see netmatrix forget --help)');
  t.equal(api.requests.length, 0);
});
