// The CLI in-process, against a real HTTP server on 127.0.0.1 port 0 serving fixtures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import t from 'tap';
import { FINDING_KINDS } from '../../common/vocabulary.js';
import { closedPort, json, startApiServer, runCli } from './api-server.js';
import type { ApiCell, ApiFinding, ApiFindings, ApiMatrix } from '../../cli/api-types.js';
import { GENERATED_AT, dnsFixture, dnsOff, emptyMatrix, findingsFixture, matrixFixture, noDataMatrix, nodesFixture, okDns, okMatrix, pendingFinding, visible } from './fixtures.js';

const notFound = (res: ServerResponse, url: URL) => json(res, 404, { statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found', message: `no route GET ${url.pathname}` });

/** The aggregator's findings route over `all`: filtered by state (firing by default) and kind, like the real one. */
function findingsRoute(res: ServerResponse, url: URL, all: readonly ApiFinding[], evaluatedAt: string | null = GENERATED_AT): void {
  const state = url.searchParams.get('state') ?? 'firing';
  const kind = url.searchParams.get('kind');
  const body: ApiFindings = { evaluatedAt, findings: all.filter((f) => (state === 'all' || f.state === state) && (kind === null || f.kind === kind)) };
  json(res, 200, body);
}

/** The compact form of a full matrix, as the aggregator makes it (docs/api.md). */
function compactOf(m: ApiMatrix) {
  const letter = { ok: 'o', degraded: 'd', failing: 'f', unknown: 'u' } as const;
  const details: Record<string, Record<string, ApiCell>> = {};
  const rows = m.cells.map((row, s) =>
    row
      .map((c, d) => {
        if (c === null) return '-';
        if (c.status !== 'ok' && !(c.status === 'unknown' && c.samples === 0 && c.lastOutcome === null)) (details[s] ??= {})[d] = c;
        return letter[c.status];
      })
      .join(''),
  );
  const { cells: _cells, ...rest } = m;
  return { ...rest, format: 'compact', rows, details };
}

/** The fixture aggregator: node-c disconnected; tcp with node-d's column failing; http never probed; three findings firing, one pending. */
function fixtures(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/api/v1/nodes') return json(res, 200, { nodes: nodesFixture() });
  if (url.pathname === '/api/v1/matrix') {
    const kind = url.searchParams.get('kind') ?? 'icmp';
    const full = kind === 'tcp' ? matrixFixture('tcp') : kind === 'http' ? noDataMatrix('http') : okMatrix(kind);
    return json(res, 200, url.searchParams.get('format') === 'compact' ? compactOf(full) : full);
  }
  if (url.pathname === '/api/v1/findings') return findingsRoute(res, url, [...findingsFixture().findings, pendingFinding()]);
  if (url.pathname === '/api/v1/dns') return json(res, 200, dnsFixture());
  notFound(res, url);
}

/** The fixture aggregator from before the findings API. */
function withoutFindings(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/api/v1/findings') return notFound(res, url);
  fixtures(req, res);
}

/** Everything healthy: every agent connected, every matrix ok, only a pending finding. */
function healthy(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/api/v1/nodes') return json(res, 200, { nodes: nodesFixture().map((n) => ({ ...n, agent: { ...n.agent, connected: true } })) });
  if (url.pathname === '/api/v1/findings') return findingsRoute(res, url, [pendingFinding()]);
  json(res, 200, okMatrix(url.searchParams.get('kind') ?? 'icmp'));
}

const api = await startApiServer(fixtures);
t.teardown(() => api.close());
t.beforeEach(() => {
  api.requests.length = 0;
  api.handle(fixtures);
});

const cli = (args: string[], env: Record<string, string> = {}, tty: { isTTY: boolean; columns?: number } = { isTTY: false }) => runCli(args, [], env, tty);

t.test('matrix: asks for the kind and family with the token, exits 1 on failing cells', async (t) => {
  const r = await cli(['matrix', '--kind', 'tcp', '--family', 'ipv4', '--server', api.url, '--token', 's3cret']);
  t.equal(r.code, 1);
  t.equal(r.err, '');
  t.match(r.out, /^tcp matrix \(ipv4\)/);
  t.match(r.out, /^1 node-a {3}· {2}✓ {2}✓ {2}✗$/m);
  t.match(r.out, /node-a {2}→ {2}node-d {2}failing .* refused/);
  t.same(api.requests.map((q) => q.url), ['/api/v1/matrix?kind=tcp&family=ipv4&format=compact'], 'the compact form for the grid');
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret');
  t.notMatch(r.out, /\x1b\[/, 'no colour when not a terminal');
});

t.test('matrix from an aggregator without the compact form: the full form it answers is read the same', async (t) => {
  api.handle((_req, res) => json(res, 200, matrixFixture('tcp')));
  const old = await cli(['matrix', '--kind', 'tcp', '--server', api.url]);
  api.handle(fixtures);
  const compact = await cli(['matrix', '--kind', 'tcp', '--server', api.url]);
  t.equal(old.code, 1);
  t.equal(old.out, compact.out);
});

t.test('matrix: env gives the server and token; no family unless asked; all ok exits 0', async (t) => {
  const r = await cli(['matrix'], { NETMATRIX_SERVER: api.url, NETMATRIX_API_TOKEN: 'env-token' });
  t.equal(r.code, 0);
  t.same(api.requests.map((q) => q.url), ['/api/v1/matrix?format=compact'], 'no kind: the aggregator\'s default');
  t.equal(api.requests[0]!.headers.authorization, 'Bearer env-token');
  t.match(r.out, /every pair is ok$/);
  t.equal((await cli(['matrix', '--server', api.url])).code, 0);
  t.equal(api.requests[1]!.headers.authorization, undefined, 'no token, no header');
});

t.test('matrix --json prints the API body unchanged, pretty, and keeps the exit code', async (t) => {
  const r = await cli(['matrix', '--kind', 'tcp', '--json', '--server', api.url]);
  t.equal(r.code, 1);
  t.equal(r.out, JSON.stringify(matrixFixture('tcp'), null, 2));
  t.equal(r.outLines, 1, 'one write');
});

t.test('colour on a terminal only, not with NO_COLOR, --no-color or TERM=dumb', async (t) => {
  const tty = { isTTY: true, columns: 200 };
  t.match((await cli(['matrix', '--kind', 'tcp', '--server', api.url], {}, tty)).out, '\x1b[31m✗\x1b[0m');
  t.notMatch((await cli(['matrix', '--kind', 'tcp', '--server', api.url], { NO_COLOR: '1' }, tty)).out, /\x1b\[/);
  t.notMatch((await cli(['matrix', '--kind', 'tcp', '--server', api.url, '--no-color'], {}, tty)).out, /\x1b\[/);
  t.notMatch((await cli(['matrix', '--kind', 'tcp', '--server', api.url], { TERM: 'dumb' }, tty)).out, /\x1b\[/);
});

t.test('a terminal narrower than the grid gets the list; a pipe always gets the grid', async (t) => {
  const narrow = await cli(['matrix', '--kind', 'tcp', '--server', api.url], {}, { isTTY: true, columns: 15 });
  t.match(narrow.out, '(the grid of 4 columns needs 21 characters, the terminal has 15');
  t.notMatch(visible(narrow.out), /^1 node-a/m);
  t.match(visible(narrow.out), /node-a {2}→ {2}node-d/);
  const piped = await cli(['matrix', '--kind', 'tcp', '--server', api.url], {}, { isTTY: false, columns: 15 });
  t.match(piped.out, /^1 node-a/m);
});

t.test('matrix with no nodes says where it looked', async (t) => {
  api.handle((_req, res) => json(res, 200, emptyMatrix('icmp')));
  const r = await cli(['matrix', '--server', api.url]);
  t.equal(r.code, 0);
  t.match(r.out, `no nodes yet: are agents connected to ${api.url}?`);
});

t.test('status: nodes, a line per kind, the verdict, the findings; a disconnected agent or failing cell exits 1', async (t) => {
  const r = await cli(['status', '--server', api.url]);
  t.equal(r.code, 1);
  t.equal(r.err, '');
  t.same(api.requests.map((q) => q.url).sort(), [
    '/api/v1/findings?state=firing',
    '/api/v1/matrix?kind=http&format=compact',
    '/api/v1/matrix?kind=icmp&format=compact',
    '/api/v1/matrix?kind=node&format=compact',
    '/api/v1/matrix?kind=tcp&format=compact',
    '/api/v1/nodes',
  ]);
  t.match(r.out, /^NAME {4}ZONE {4}POD-IP {5}AGENT {9}LAST-REPORT {2}VERSION {2}CAPABILITIES$/m);
  t.match(r.out, /^node-a {2}zone-1 {2}192\.0\.2\.1 {2}connected {5}2s ago {7}0\.1\.0 {4}icmp,tcp,http,node$/m, "age on the aggregator's clock (generatedAt)");
  t.match(r.out, /^node-c {2}zone-2 {2}192\.0\.2\.3 {2}disconnected {2}2m ago/m);
  t.match(r.out, /^icmp {2}12 {2}0 {9}0 {8}0$/m);
  t.match(r.out, /^tcp {3}7 {3}1 {9}3 {8}1 {8}see netmatrix matrix --kind tcp$/m);
  t.match(r.out, /^http {2}- {3}- {9}- {8}- {8}no data$/m);
  t.notMatch(r.out, /^mtu/m);
  t.match(r.out, /✗ 1 of 4 agents disconnected \(node-c\); failing cells: tcp 3\n\nFindings: 3 firing/);
  t.match(r.out, /\n\nFindings: 3 firing \(NodeUnreachable 1, ZonePartition 1, PairUnreachable 1\)\n {2}critical {2}node-d is unreachable from 3 of 3 nodes {4}for 3m\n/);
  t.notMatch(r.out, 'PacketLoss', 'pending findings are not asked for');

  api.handle(healthy);
  const ok = await cli(['status', '--server', api.url]);
  t.equal(ok.code, 0, 'a pending finding does not fail it');
  t.match(ok.out, /✓ all 4 agents connected, no failing cell\n\nFindings: none firing$/);
});

t.test('status: a firing finding alone exits 1', async (t) => {
  api.handle((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/api/v1/findings') return findingsRoute(res, url, [findingsFixture().findings[0]!]);
    healthy(req, res);
  });
  const r = await cli(['status', '--server', api.url]);
  t.equal(r.code, 1);
  t.match(r.out, /✓ all 4 agents connected, no failing cell\n\nFindings: 1 firing \(PairUnreachable 1\)\n {2}warning {2}node-b can't reach node-a {2}for 60s$/);
});

t.test('status against an aggregator without the findings API: no Findings section, no findings in JSON', async (t) => {
  api.handle(withoutFindings);
  const r = await cli(['status', '--server', api.url]);
  t.equal(r.code, 1);
  t.equal(r.err, '');
  t.match(r.out, /✗ 1 of 4 agents disconnected \(node-c\); failing cells: tcp 3$/);
  t.notMatch(r.out, 'Findings');
  const j = await cli(['status', '--json', '--server', api.url]);
  t.equal(j.err, '');
  t.same(Object.keys(JSON.parse(j.out) as object), ['nodes', 'matrices']);

  // Healthy otherwise: exit 0, as before the findings API existed.
  api.handle((req, res) => (new URL(req.url!, 'http://x').pathname === '/api/v1/findings' ? notFound(res, new URL(req.url!, 'http://x')) : healthy(req, res)));
  t.equal((await cli(['status', '--server', api.url])).code, 0);
});

t.test('status: any other findings error is the command\'s error', async (t) => {
  api.handle((req, res) => {
    if (req.url!.startsWith('/api/v1/findings')) return json(res, 500, { statusCode: 500, code: 'INTERNAL', error: 'Internal Server Error', message: 'internal error (logged on the aggregator)' });
    fixtures(req, res);
  });
  const r = await cli(['status', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/findings?state=firing: HTTP 500 INTERNAL: internal error (logged on the aggregator)`);
  t.equal(r.out, '');

  api.handle((req, res) => (req.url!.startsWith('/api/v1/findings') ? json(res, 200, { evaluatedAt: null, findings: [{ kind: 'NodeUnreachable' }] }) : fixtures(req, res)));
  const bad = await cli(['status', '--server', api.url]);
  t.equal(bad.code, 3);
  t.equal(bad.err, `netmatrix: ${api.url}/api/v1/findings?state=firing: HTTP 200 but the body is not a findings list: is this a netmatrix aggregator?`);
});

t.test('status --json: nodes, a summary per kind, the firing findings', async (t) => {
  const r = await cli(['status', '--json', '--server', api.url]);
  t.equal(r.code, 1);
  const body = JSON.parse(r.out) as { nodes: unknown; matrices: Record<string, unknown>; findings: unknown };
  t.same(Object.keys(body), ['nodes', 'matrices', 'findings']);
  t.same(body.nodes, nodesFixture());
  t.same(Object.keys(body.matrices), ['icmp', 'tcp', 'http', 'node']);
  t.same(body.matrices.tcp, { ok: 7, degraded: 1, failing: 3, unknown: 1 });
  t.same(body.findings, findingsFixture().findings, 'as the API serves them, firing only');
  t.match(r.out, /^\{\n {2}"nodes": \[/, 'pretty, two spaces');
});

t.test('usage errors: exit 2, one line, nothing asked of the server', async (t) => {
  const cases: [string[], string][] = [
    [['matrix', '--kind', 'udp'], 'netmatrix: unknown --kind "udp": expected one of icmp, tcp, http, mtu, node'],
    [['frobnicate'], 'netmatrix: unknown command "frobnicate": expected status, matrix, findings, dns, cni or forget (see netmatrix --help)'],
    [[], 'netmatrix: which command? status, matrix, findings, dns, cni or forget (see netmatrix --help)'],
    [['findings', '--kind', 'NodeDown'], `netmatrix: unknown --kind "NodeDown": expected one of ${FINDING_KINDS.join(', ')}`],
    [['findings', '--pending', '--all'], 'netmatrix: --pending and --all exclude each other: --all lists pending findings too'],
    [['status', '--pending'], 'netmatrix: --pending is an option of netmatrix findings, not of status (see netmatrix status --help)'],
    [['matrix', '--bogus'], 'netmatrix: unknown option --bogus (see netmatrix --help)'],
    [['status', '--family', 'ipv4'], 'netmatrix: --family is an option of netmatrix matrix, not of status (see netmatrix status --help)'],
    [['matrix', '--timeout', 'soon'], 'netmatrix: invalid --timeout "soon": expected a duration over zero, like 5s or 500ms'],
    [['matrix', '--family', 'ipx'], 'netmatrix: unknown --family "ipx": expected ipv4 or ipv6'],
    [['matrix', '--server', 'not a url'], 'netmatrix: invalid --server "not a url": expected a URL like http://127.0.0.1:8080'],
  ];
  for (const [args, line] of cases) {
    const r = await cli([...args, ...(args.includes('--server') ? [] : ['--server', api.url])]);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.err, line);
    t.equal(r.errLines, 1);
    t.equal(r.out, '');
  }
  t.equal(api.requests.length, 0);
});

t.test('help and version exit 0 on stdout', async (t) => {
  for (const args of [['--help'], ['matrix', '--help'], ['status', '-h'], ['findings', '--help'], ['dns', '--help'], ['cni', '--help']]) {
    const r = await cli(args);
    t.equal(r.code, 0);
    t.match(r.out, /^Usage: netmatrix/);
    t.match(r.out, 'Exit codes:');
    t.equal(r.err, '');
  }
  t.match((await cli(['matrix', '--help'])).out, '--kind K');
  t.notMatch((await cli(['status', '--help'])).out, '--kind');
  t.match((await cli(['findings', '--help'])).out, /--kind K {9}only this kind: NodeUnreachable/);
  t.match((await cli(['--help'])).out, /^ {2}findings {9}what is wrong now/m);
  const v = await cli(['--version']);
  t.equal(v.code, 0);
  t.match(v.out, /^\d+\.\d+\.\d+/);
});

t.test('an API error exits 3 with the URL and its message', async (t) => {
  api.handle((_req, res) => json(res, 400, { statusCode: 400, code: 'INVALID_FAMILY', error: 'Bad Request', message: 'no nodes have ipv6 pod IPs' }));
  const r = await cli(['matrix', '--family', 'ipv6', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/matrix?family=ipv6&format=compact: HTTP 400 INVALID_FAMILY: no nodes have ipv6 pod IPs`);
  t.equal(r.out, '');
});

t.test('something that is not an aggregator exits 3', async (t) => {
  api.handle((_req, res) => json(res, 200, { hello: 'world' }));
  const r = await cli(['status', '--server', api.url]);
  t.equal(r.code, 3);
  t.match(r.err, /: HTTP 200 but the body is not a (node list|matrix|findings list): is this a netmatrix aggregator\?$/);
  const f = await cli(['findings', '--server', api.url]);
  t.equal(f.code, 3);
  t.equal(f.err, `netmatrix: ${api.url}/api/v1/findings?state=firing: HTTP 200 but the body is not a findings list: is this a netmatrix aggregator?`);
  t.equal(r.errLines, 1);
});

t.test('a server that is down exits 3 naming ECONNREFUSED', async (t) => {
  const port = await closedPort();
  for (const command of ['matrix', 'status', 'findings', 'dns', 'cni']) {
    const r = await cli([command, '--server', `http://127.0.0.1:${port}`]);
    t.equal(r.code, 3, command);
    t.match(r.err, new RegExp(`^netmatrix: cannot reach http://127\\.0\\.0\\.1:${port}/api/v1/\\S+: ECONNREFUSED$`));
    t.equal(r.errLines, 1);
  }
});

t.test('a server that does not answer hits --timeout', async (t) => {
  api.handle(() => {}); // never answers
  const started = performance.now();
  const r = await cli(['matrix', '--server', api.url, '--timeout', '200ms']);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: cannot reach ${api.url}/api/v1/matrix?format=compact: timeout: no complete answer within 200ms (--timeout)`);
  t.ok(performance.now() - started < 3000, 'it did not wait for the server');
  await api.requests[0]!.closed;
});

t.test('status: the first failure ends the other calls at once', async (t) => {
  // /nodes fails at once, the matrices never answer: without cancelling, the
  // command would hold their sockets until the 5 s default deadline.
  let nodesRes: ServerResponse | undefined;
  api.handle((req, res) => {
    if (req.url === '/api/v1/nodes') nodesRes = res;
    // Fail /nodes once all six calls are in, so each has a socket to release.
    if (api.requests.length === 6) json(nodesRes!, 503, { statusCode: 503, code: 'NOT_READY', error: 'Service Unavailable', message: 'starting' });
  });
  const started = performance.now();
  const r = await cli(['status', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/nodes: HTTP 503 NOT_READY: starting`);
  t.ok(performance.now() - started < 2500, 'did not wait for the deadline');
  t.equal(api.requests.length, 6);
  await Promise.all(api.requests.map((q) => q.closed));
  t.pass('every request was closed');
});

t.test('findings: firing ones, critical first, each with where, for how long, description and runbook; exit 1', async (t) => {
  const r = await cli(['findings', '--server', api.url, '--token', 's3cret']);
  t.equal(r.code, 1);
  t.equal(r.err, '');
  t.same(api.requests.map((q) => q.url), ['/api/v1/findings?state=firing']);
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret');
  const blocks = r.out.split('\n\n');
  t.equal(blocks.length, 3);
  t.same(blocks[0]!.split('\n'), [
    'critical  NodeUnreachable  node-d         node-d is unreachable from 3 of 3 nodes    for 3m',
    "    tcp: refused 3/3; icmp ok from 3/3; node-d's agent reports.",
    '    runbook: https://example.org/netmatrix/docs/runbooks/NodeUnreachable.md',
  ]);
  t.match(blocks[1]!, /^critical {2}ZonePartition {4}zone-1→zone-2 {2}zone-1 and zone-2 cannot reach each other {2}for 3h\n/);
  t.match(blocks[2]!, /^warning {3}PairUnreachable {2}node-b→node-a {2}node-b can't reach node-a {18}for 60s\n/);
  t.notMatch(r.out, /\x1b\[/, 'no colour when not a terminal');
});

t.test('findings: --kind and --pending / --all ask the API; only firing ones fail the command', async (t) => {
  const kind = await cli(['findings', '--kind', 'PairUnreachable', '--server', api.url]);
  t.equal(kind.code, 1);
  t.match(kind.out, /^warning {2}PairUnreachable {2}node-b→node-a/);
  t.notMatch(kind.out, 'NodeUnreachable');

  const pending = await cli(['findings', '--pending', '--server', api.url]);
  t.equal(pending.code, 0, 'pending findings do not fail it');
  t.match(pending.out, /^warning {2}PacketLoss {2}node-a→node-c {2}node-a → node-c loses 8% of probes {2}pending for 20s\n/);

  const all = await cli(['findings', '--all', '--server', api.url]);
  t.equal(all.code, 1);
  t.equal(all.out.split('\n\n').length, 4);

  const none = await cli(['findings', '--kind', 'AgentStale', '--server', api.url]);
  t.equal(none.code, 0);
  t.equal(none.out, 'No AgentStale findings firing.');
  t.same(api.requests.map((q) => q.url), [
    '/api/v1/findings?state=firing&kind=PairUnreachable',
    '/api/v1/findings?state=pending',
    '/api/v1/findings?state=all',
    '/api/v1/findings?state=firing&kind=AgentStale',
  ]);
});

t.test('findings: none says so, exit 0; before the first evaluation says that', async (t) => {
  api.handle(healthy);
  const r = await cli(['findings', '--server', api.url]);
  t.equal(r.code, 0);
  t.equal(r.out, 'No findings: nothing is wrong now.');
  api.handle((req, res) => findingsRoute(res, new URL(req.url!, 'http://x'), [], null));
  const early = await cli(['findings', '--server', api.url]);
  t.equal(early.code, 0);
  t.equal(early.out, 'No findings yet: the aggregator has not evaluated the matrix yet.');
});

t.test('findings --json prints the API body unchanged, pretty, and keeps the exit code', async (t) => {
  const r = await cli(['findings', '--json', '--server', api.url]);
  t.equal(r.code, 1);
  t.equal(r.out, JSON.stringify(findingsFixture(), null, 2));
  t.equal(r.outLines, 1, 'one write');
  const pending = await cli(['findings', '--json', '--pending', '--server', api.url]);
  t.equal(pending.code, 0);
  t.same(JSON.parse(pending.out), { evaluatedAt: GENERATED_AT, findings: [pendingFinding()] });
});

t.test('findings: severity coloured on a terminal only', async (t) => {
  const tty = { isTTY: true, columns: 200 };
  const coloured = (await cli(['findings', '--all', '--server', api.url], {}, tty)).out;
  t.match(coloured, /^\x1b\[31mcritical\x1b\[0m {2}NodeUnreachable/m, 'critical red');
  t.match(coloured, /^\x1b\[33mwarning \x1b\[0m {2}PairUnreachable/m, 'warning yellow');
  t.equal(visible(coloured), (await cli(['findings', '--all', '--server', api.url])).out, 'same text as in a pipe');
  t.notMatch((await cli(['findings', '--server', api.url], { NO_COLOR: '1' }, tty)).out, /\x1b\[/);
});

t.test('findings: the API\'s error for a kind it does not raise exits 3 with its message', async (t) => {
  api.handle((_req, res) =>
    json(res, 400, { statusCode: 400, code: 'INVALID_REQUEST', error: 'Bad Request', message: 'invalid request: querystring/kind must be equal to one of the allowed values' }),
  );
  const r = await cli(['findings', '--kind', 'DnsFailing', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/findings?state=firing&kind=DnsFailing: HTTP 400 INVALID_REQUEST: invalid request: querystring/kind must be equal to one of the allowed values`);
  t.equal(r.out, '');
});

t.test('findings: an aggregator without the findings API exits 3 naming the route', async (t) => {
  api.handle(withoutFindings);
  const r = await cli(['findings', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/findings?state=firing: HTTP 404 ROUTE_NOT_FOUND: no route GET /api/v1/findings`);
});

t.test('dns: a row per node, a column per server, then what else is wrong; a failing cell exits 1', async (t) => {
  const r = await cli(['dns', '--server', api.url, '--token', 's3cret']);
  t.equal(r.code, 1);
  t.equal(r.err, '');
  t.same(api.requests.map((q) => q.url), ['/api/v1/dns']);
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret');
  t.match(r.out, /^NODE {4}service {9}dns-a {6}dns-b$/m);
  t.match(r.out, /^node-b {2}✓ 1\.11ms {8}✓ 0\.32ms {3}✗ timeout 100%$/m);
  t.match(r.out, 'web.shop.svc.cluster.local A: dns-a answered 10.96.4.7, dns-b answered 10.96.9.9 (no consensus)');
  t.match(r.out, 'dns-b: NOERROR from node-a');
  t.match(r.out, 'node-c: nameserver 198.51.100.53 is not a server netmatrix checks');
  t.match(r.out, /^Lookups \(node-a's resolv\.conf\): ndots:5 with 3 search domains: a lookup of example\.com sends 8 queries$/m);
  t.notMatch(r.out, /\x1b\[/, 'no colour when not a terminal');

  api.handle((_req, res) => json(res, 200, okDns()));
  const ok = await cli(['dns', '--server', api.url]);
  t.equal(ok.code, 0);
  t.match(ok.out, '✓ ok 9   ~ degraded 0   ✗ failing 0   ? unknown 0');
});

t.test('dns: colour on a terminal only, the same text without it', async (t) => {
  const tty = { isTTY: true, columns: 100 };
  const coloured = (await cli(['dns', '--server', api.url], {}, tty)).out;
  t.match(coloured, '\x1b[31m✗ timeout 100%\x1b[0m');
  t.match(coloured, '\x1b[33m~ 100.5ms');
  t.equal(visible(coloured), (await cli(['dns', '--server', api.url])).out);
  t.notMatch((await cli(['dns', '--server', api.url], { NO_COLOR: '1' }, tty)).out, /\x1b\[/);
});

t.test('dns --node: that node\'s row and its resolv.conf in full; the exit code is that row\'s', async (t) => {
  const c = await cli(['dns', '--node', 'node-c', '--server', api.url]);
  t.equal(c.code, 0, 'node-c has no failing cell');
  t.notMatch(c.out, /^node-[ab] /m);
  t.match(c.out, /^node-c {2}~ servfail 25%/m);
  t.match(c.out, "node-c's resolv.conf:\n  nameserver 198.51.100.53 (not a DNS server netmatrix checks");
  t.match(c.out, /^ {2}example\.com {9}8 {8}40s {9}example\.com\.default\.svc\.cluster\.local /m);
  t.equal((await cli(['dns', '--node', 'node-b', '--server', api.url])).code, 1);

  const j = await cli(['dns', '--node', 'node-b', '--json', '--server', api.url]);
  t.equal(j.code, 1);
  const body = JSON.parse(j.out) as ReturnType<typeof dnsFixture>;
  t.same(body.nodes, ['node-b']);
  t.same(body.cells, [dnsFixture().cells[1]]);
  t.same(body.resolvers.map((r) => r.node), ['node-b']);
  t.same(body.answers, dnsFixture().answers, 'the answers are the cluster\'s');
});

t.test('dns --node with a node the aggregator does not know: exit 3 naming the nodes it has', async (t) => {
  const r = await cli(['dns', '--node', 'node-z', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/dns: no node named "node-z" (its nodes: node-a, node-b, node-c)`);
  t.equal(r.errLines, 1);
  t.equal(r.out, '');
});

t.test('dns --json prints the API body unchanged, pretty, and keeps the exit code', async (t) => {
  const r = await cli(['dns', '--json', '--server', api.url]);
  t.equal(r.code, 1);
  t.equal(r.out, JSON.stringify(dnsFixture(), null, 2));
  t.equal(r.outLines, 1, 'one write');
});

t.test('dns: with --dns-servers none one line says so, exit 0; no nodes says where it looked', async (t) => {
  api.handle((_req, res) => json(res, 200, dnsOff()));
  for (const args of [['dns'], ['dns', '--node', 'node-z']]) {
    const r = await cli([...args, '--server', api.url]);
    t.equal(r.code, 0);
    t.equal(r.out, 'DNS checks are off: the aggregator has no DNS servers (--dns-servers none).');
  }
  api.handle((_req, res) => json(res, 200, { ...dnsFixture(), nodes: [], cells: [], resolvers: [] }));
  const empty = await cli(['dns', '--server', api.url]);
  t.equal(empty.code, 0);
  t.match(empty.out, new RegExp(`\nno nodes yet: are agents connected to ${api.url.replace(/[.]/g, '\\.')}\\?$`));
  const node = await cli(['dns', '--node', 'node-a', '--server', api.url]);
  t.equal(node.code, 3);
  t.equal(node.err, `netmatrix: ${api.url}/api/v1/dns: no node named "node-a" (it has no nodes yet)`);
});

t.test('dns: an aggregator without the DNS API exits 3 naming the route', async (t) => {
  api.handle((req, res) => notFound(res, new URL(req.url!, 'http://x')));
  const r = await cli(['dns', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(
    r.err,
    `netmatrix: ${api.url}/api/v1/dns: HTTP 404 ROUTE_NOT_FOUND: no route GET /api/v1/dns: this aggregator is older than the DNS API (/api/v1/dns); upgrade it to use netmatrix dns`,
  );
  // A 404 from something that is not the API (a proxy) stays as it is.
  api.handle((_req, res) => res.writeHead(404, 'Not Found').end('<html>nope</html>'));
  const proxy = await cli(['dns', '--server', api.url]);
  t.equal(proxy.code, 3);
  t.equal(proxy.err, `netmatrix: ${api.url}/api/v1/dns: HTTP 404 Not Found`);
});

t.test('dns: a body that is not a DNS view exits 3', async (t) => {
  api.handle((_req, res) => json(res, 200, { ...dnsFixture(), cells: [[]] }));
  const r = await cli(['dns', '--server', api.url]);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/dns: HTTP 200 but the body is not a DNS view: is this a netmatrix aggregator?`);
});
