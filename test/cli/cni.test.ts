// netmatrix cni with fixtures: the shape checks, the exit code, the rendering,
// and the command in-process against a real HTTP server serving the fixtures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import t from 'tap';
import { isCniNodeView, isCniView } from '../../cli/api-types.js';
import { EXIT } from '../../cli/client.js';
import { renderCni, renderCniNode, poolText, shortHash, overlapLine, cniVerdictLine } from '../../cli/render.js';
import { cniExitCode, cniNodeExitCode, cniVerdict } from '../../cli/verdict.js';
import { json, startApiServer, runCli } from './api-server.js';
import { CNI_DRIFTED_HASH, CNI_HASH, GENERATED_AT, cniFixture, cniNode, cniNodeFixture, okCni, visible } from './fixtures.js';

const plain = { color: false };

// ---------------------------------------------------------------- shapes

t.test('the API bodies pass, with no nodes and with a newer aggregator\'s words too', async (t) => {
  t.ok(isCniView(cniFixture()));
  t.ok(isCniView(okCni()));
  t.ok(isCniView({ ...okCni(), nodes: [], groups: [], plugins: [] }));
  const v = cniFixture();
  t.ok(isCniView({ ...v, overlaps: [{ ...v.overlaps[0]!, relation: 'adjacent', b: { kind: 'cloud', node: null, cidr: '10.0.0.0/8' } }], extra: 1 }), 'relations and owner kinds are shown as they come');
  t.ok(isCniNodeView(cniNodeFixture()));
  t.ok(isCniNodeView({ ...cniNodeFixture(), reference: null, config: null, diff: [] }));
});

t.test('anything a renderer would trip on fails', async (t) => {
  const v = cniFixture();
  const withNode = (x: unknown) => ({ ...v, nodes: [x, ...v.nodes.slice(1)] });
  const bad: [string, unknown][] = [
    ['not an object', []],
    ['no generatedAt', { ...v, generatedAt: undefined }],
    ['a summary count missing', { ...v, summary: { ...v.summary, overlaps: undefined } }],
    ['a state outside the set (it decides the exit code)', withNode({ ...v.nodes[0]!, state: 'fine' })],
    ['a pool without nearExhaustion', withNode({ ...v.nodes[0]!, pools: [{ ...v.nodes[0]!.pools[0]!, nearExhaustion: undefined }] })],
    ['errors not strings', withNode({ ...v.nodes[0]!, errors: [1] })],
    ['a group index past the groups', withNode({ ...v.nodes[0]!, group: 7 })],
    ['comparedWith past the groups', { ...v, groups: [v.groups[0]!, { ...v.groups[1]!, comparedWith: 2 }] }],
    ['differingKeys missing', { ...v, groups: [v.groups[0]!, { ...v.groups[1]!, differingKeys: undefined }] }],
    ['a plugin without skewed', { ...v, plugins: [{ ...v.plugins[0]!, skewed: 'yes' }] }],
    ['an overlap without a cidr', { ...v, overlaps: [{ ...v.overlaps[0]!, a: { kind: 'node', node: 'node-a' } }] }],
    ['no overlapsDropped', { ...v, overlapsDropped: undefined }],
  ];
  for (const [why, body] of bad) t.notOk(isCniView(body), why);
  const n = cniNodeFixture();
  const badNode: [string, unknown][] = [
    ['the list body', cniFixture()],
    ['diff not strings', { ...n, diff: [1] }],
    ['a file without valid', { ...n, files: [{ ...n.files[0]!, valid: undefined }] }],
    ['perNode values not strings', { ...n, perNode: { a: 1 } }],
    ['a reference without nodes', { ...n, reference: { ...n.reference!, nodes: undefined } }],
  ];
  for (const [why, body] of badNode) t.notOk(isCniNodeView(body), why);
});

// ---------------------------------------------------------------- exit codes

t.test('exit 1 on drift, split, invalid, a skewed plugin, a full pool or an overlap; not on stale or unreported', async (t) => {
  t.equal(cniExitCode(okCni()), EXIT.ok);
  t.same(cniVerdict(cniFixture()), { nodes: 1, blockedNodes: 0, skewedPlugins: 2, fullPools: 1, overlaps: 1, exitCode: EXIT.problems });
  const ok = okCni();
  const one = (i: number, over: Parameters<typeof cniNode>[2]) => ({ ...ok, nodes: ok.nodes.map((n, k) => (k === i ? cniNode(n.node, k + 1, over) : n)) });
  for (const state of ['drifted', 'split', 'invalid'] as const) t.equal(cniExitCode(one(1, { state })), EXIT.problems, state);
  for (const state of ['stale', 'unreported'] as const) t.equal(cniExitCode(one(1, { state, stale: state === 'stale' })), EXIT.ok, state);
  const full = { network: 'pods', range: '10.244.2.0/28', size: 13, used: 12, ratio: 12 / 13, nearExhaustion: true };
  t.equal(cniExitCode(one(1, { pools: [full] })), EXIT.problems, 'a pool near exhaustion');
  t.equal(cniExitCode(one(1, { state: 'stale', stale: true, pools: [full] })), EXIT.ok, "a stale node's pool is not judged, as the aggregator does not");
  t.equal(cniExitCode({ ...ok, plugins: [{ ...ok.plugins[0]!, skewed: true }] }), EXIT.problems, 'a skewed plugin');
  t.equal(cniExitCode({ ...ok, overlapsDropped: 3 }), EXIT.problems, 'overlaps past the listed ones');
  t.equal(cniExitCode({ ...ok, nodes: [], groups: [], plugins: [] }), EXIT.ok, 'no nodes is not a failure');
  t.equal(cniNodeExitCode(cniNodeFixture()), EXIT.problems);
  t.equal(cniNodeExitCode({ ...cniNodeFixture(), node: cniNode('node-a', 1) }), EXIT.ok);
  t.equal(cniNodeExitCode({ ...cniNodeFixture(), node: cniNode('node-c', 3, { pools: [full] }) }), EXIT.problems, 'its pool');

  // An invalid file before the effective one: containerd stops there, so the aggregator raises CniConfigDrift although the node is in the majority.
  const blocked = one(1, { invalidBeforeEffective: ['00-broken.conflist'], files: [{ name: '00-broken.conflist', valid: false, error: 'empty file' }, { name: '10-pods.conflist', valid: true, error: null }] });
  t.match(cniVerdict(blocked), { nodes: 0, blockedNodes: 1, exitCode: EXIT.problems });
  t.equal(cniExitCode(one(1, { state: 'stale', stale: true, invalidBeforeEffective: ['00-broken.conflist'] })), EXIT.ok, 'not judged on a stale node');
  t.equal(cniExitCode(one(1, { invalidBeforeEffective: [] })), EXIT.ok);
  t.equal(cniNodeExitCode({ ...cniNodeFixture(), node: blocked.nodes[1]! }), EXIT.problems, 'netmatrix cni --node too');
  t.match(renderCniNode({ ...cniNodeFixture(), node: blocked.nodes[1]! }, { color: false }), /containerd stops at 00-broken\.conflist \(invalid, before the effective 10-pods\.conflist\): no network on containerd; CRI-O skips it/);
  t.match(cniVerdictLine(blocked, { color: false }), /1 node with an invalid config file before the effective one \(containerd stops there\)/);
});

// ---------------------------------------------------------------- rendering

t.test('a row per node, the counts by state, the verdict, then what is wrong', async (t) => {
  t.equal(
    renderCni(cniFixture(), plain),
    [
      `CNI config on each node, generated ${GENERATED_AT}`,
      'NODE    STATE       FILE              HASH          PLUGINS         POOL        ERRORS',
      'node-a  majority    10-pods.conflist  a1b2c3d4e5f6  bridge,portmap  3/13 23%    0',
      'node-b  drifted     10-pods.conflist  77aa00112233  bridge,portmap  3/13 23%    1',
      'node-c  majority    10-pods.conflist  a1b2c3d4e5f6  bridge,portmap  13/13 100%  0',
      'node-d  majority    10-pods.conflist  a1b2c3d4e5f6  bridge,portmap  3/13 23%    0',
      'node-e  unreported  -                 -             -               -           0',
      '',
      '✓ majority 3   ✗ drifted 1   ✗ split 0   ✗ invalid 0   ? stale 0   ? unreported 1',
      '✗ 1 of 5 nodes drifted, split or invalid; 2 plugins skewed; 1 pool near exhaustion; 1 pod CIDR overlap',
      '',
      "Config drift: 3 of 4 compared nodes share the majority's config:",
      '  majority  a1b2c3d4e5f6  node-a, node-c, node-d',
      '  outlier   77aa00112233  node-b                  differs in plugins[0].mtu',
      "  (netmatrix cni --node NAME: that node's diff)",
      '',
      'CNI plugin binaries that differ across nodes:',
      '  bridge: 9f86d081884c on node-a, node-c, node-d (majority); 60303ae22b99 on node-b',
      '  portmap: fd61a03af4f7 on node-a, node-c, node-d (majority); missing on node-b',
      '',
      'IP pools near exhaustion (at or over 90%):',
      '  node-c  pods  10.244.3.0/28  13/13 100%',
      '',
      'Pod CIDR overlaps:',
      "  node-a's 10.244.1.0/28 is the same range as node-d's 10.244.1.0/28",
      '',
      'Errors:',
      '  node-b: 99-old.conf: not JSON: Unexpected token } in JSON at position 12',
    ].join('\n'),
  );
});

t.test('nothing wrong: the table, the counts and a green verdict only', async (t) => {
  const lines = renderCni(okCni(), plain).split('\n');
  t.equal(lines.length, 9);
  t.equal(lines.at(-1), '✓ no drift, no skewed plugin, no full pool, no overlap');
});

t.test('no majority: every group, each against another', async (t) => {
  const v = okCni();
  const split = {
    ...v,
    nodes: v.nodes.map((n, i) => cniNode(n.node, i + 1, { state: 'split', group: i < 2 ? 0 : 1, hash: i < 2 ? CNI_HASH : CNI_DRIFTED_HASH })),
    groups: [
      { ...v.groups[0]!, nodes: ['node-a', 'node-b'], majority: false, comparedWith: 1, differingKeys: ['plugins[0].mtu', 'plugins[1]'], moreDifferences: 2 },
      { ...v.groups[0]!, hash: CNI_DRIFTED_HASH, nodes: ['node-c', 'node-d'], majority: false, comparedWith: 0, differingKeys: ['plugins[0].mtu', 'plugins[1]'], moreDifferences: 2 },
    ],
  };
  const out = renderCni(split, plain);
  t.match(out, '✓ majority 0   ✗ drifted 0   ✗ split 4');
  t.match(out, '✗ 4 of 4 nodes drifted, split or invalid\n');
  t.match(
    out,
    "Config drift, no majority: 4 compared nodes split 2/2, which side drifted cannot be told:\n  group 1  a1b2c3d4e5f6  node-a, node-b  differs from group 2 in plugins[0].mtu, plugins[1] and 2 more\n  group 2  77aa00112233  node-c, node-d  differs from group 1 in plugins[0].mtu, plugins[1] and 2 more\n",
  );
});

t.test('cells: short hashes, the fullest pool, overlaps by relation', async (t) => {
  t.equal(shortHash(CNI_HASH), 'a1b2c3d4e5f6');
  t.equal(shortHash(null), '-');
  const pool = (used: number, size: number) => ({ network: 'pods', range: 'r', size, used, ratio: size > 0 ? used / size : null, nearExhaustion: false });
  t.equal(poolText([]), '-');
  t.equal(poolText([pool(3, 13), pool(250, 254), pool(0, 0)]), '250/254 98% +2', 'the fullest, and how many more');
  t.equal(poolText([pool(1, 254)]), '1/254 0.4%');
  t.equal(poolText([pool(0, 0)]), '0/0 -');
  const a = { kind: 'node', node: 'node-a', cidr: '10.96.0.0/16' };
  t.equal(overlapLine({ a, b: { kind: 'service', node: null, cidr: '10.96.0.0/12' }, relation: 'b-contains-a' }), "node-a's 10.96.0.0/16 is inside the service CIDR 10.96.0.0/12");
  t.equal(overlapLine({ a, b: { kind: 'external', node: null, cidr: '10.96.1.0/24' }, relation: 'a-contains-b' }), "node-a's 10.96.0.0/16 contains the external CIDR 10.96.1.0/24");
  t.equal(overlapLine({ a, b: { kind: 'node', node: 'node-b\x1b[2J', cidr: '10.96.0.0/16' }, relation: 'equal' }), "node-a's 10.96.0.0/16 is the same range as node-b?[2J's 10.96.0.0/16", 'names from the network are made printable');
});

t.test('overlaps past the listed ones, and a node with many errors', async (t) => {
  const v = cniFixture();
  const errors = ['e1', 'e2', 'e3', 'e4', 'e5'];
  const out = renderCni({ ...v, overlapsDropped: 12, nodes: v.nodes.map((n) => (n.node === 'node-b' ? { ...n, errors } : n)) }, plain);
  t.match(out, "is the same range as node-d's 10.244.1.0/28\n  and 12 more the aggregator does not list\n");
  t.match(out, /Errors:\n {2}node-b: e1\n {2}node-b: e2\n {2}node-b: e3\n {2}node-b: and 2 more \(netmatrix cni --node node-b\)$/);
  t.match(out, '13 pod CIDR overlaps');
});

t.test('colour: states by status, full pools and errors red, and the same text without it', async (t) => {
  const coloured = renderCni(cniFixture(), { color: true });
  t.match(coloured, '\x1b[32mmajority  \x1b[0m');
  t.match(coloured, '\x1b[31mdrifted   \x1b[0m');
  t.match(coloured, '\x1b[90munreported\x1b[0m');
  t.match(coloured, '\x1b[31m13/13 100%\x1b[0m');
  t.match(coloured, '\x1b[31m✗ 1 of 5 nodes');
  t.equal(visible(coloured), renderCni(cniFixture(), plain));
  t.equal(visible(renderCniNode(cniNodeFixture(), { color: true })), renderCniNode(cniNodeFixture(), plain));
});

t.test('no nodes yet: the same words as the other commands', async (t) => {
  t.equal(
    renderCni({ ...okCni(), nodes: [], groups: [], plugins: [] }, { color: false, server: 'http://192.0.2.10:8080' }),
    `CNI config on each node, generated ${GENERATED_AT}\nno nodes yet: are agents connected to http://192.0.2.10:8080?`,
  );
});

t.test('--node: its row, its files, the per-node fields, what it is compared with and the diff', async (t) => {
  t.equal(
    renderCniNode(cniNodeFixture(), plain),
    [
      'CNI config on node-b',
      'NODE    STATE    FILE              HASH          PLUGINS         POOL      ERRORS',
      'node-b  drifted  10-pods.conflist  77aa00112233  bridge,portmap  3/13 23%  1',
      '',
      'Files (the runtime uses the first valid one):',
      '  10-pods.conflist  valid',
      '  99-old.conf       invalid  not JSON: Unexpected token } in JSON at position 12',
      '',
      'Per-node fields (set aside before comparing):',
      '  plugins[0].ipam.ranges[0][0].subnet  "10.244.2.0/28"',
      '',
      'Compared with the majority (node-a, node-c, node-d, hash a1b2c3d4e5f6):',
      '  plugins[0].mtu: 1450 → 1400',
    ].join('\n'),
    "the file's error is not repeated under Errors",
  );
  const a = { ...cniNodeFixture(), node: cniNode('node-a', 1), files: [cniNodeFixture().files[0]!], perNode: {}, diff: [] };
  t.match(renderCniNode(a, plain), /\n\nCompared with the majority:\n {2}same as the majority$/);
  const split = { ...cniNodeFixture(), node: { ...cniNodeFixture().node, state: 'split' as const }, reference: { ...cniNodeFixture().reference!, majority: false } };
  t.match(renderCniNode(split, plain), /Compared with group 1 \(node-a, node-c, node-d, hash a1b2c3d4e5f6\), no majority:\n {2}plugins\[0\]\.mtu: 1450 → 1400$/);
  const unreported = { ...cniNodeFixture(), node: cniFixture().nodes[4]!, files: [], perNode: {}, reference: null, diff: [] };
  t.match(renderCniNode(unreported, plain), /Files:\n {2}none .*\n\nCompared with:\n {2}nothing: not reported: /);
  const invalid = { ...unreported, node: cniNode('node-x', 9, { state: 'invalid', file: null, hash: null, group: null, errors: ['no valid CNI config'] }), reference: cniNodeFixture().reference };
  t.match(renderCniNode(invalid, plain), 'Errors:\n  node-x: no valid CNI config\n\nCompared with:\n  nothing: no valid CNI config: pods scheduled here cannot get a network');
  const full = cniNode('node-c', 3, { pools: [{ network: 'pods', range: '10.244.3.0/28', size: 13, used: 13, ratio: 1, nearExhaustion: true }] });
  t.match(renderCniNode({ ...a, node: full }, plain), 'IP pools:\n  pods  10.244.3.0/28  13/13 100%  near exhaustion\n');
});

// ---------------------------------------------------------------- the command

function fixtures(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/api/v1/cni') return json(res, 200, cniFixture());
  if (url.pathname === '/api/v1/cni/node-b') return json(res, 200, cniNodeFixture());
  if (url.pathname === '/api/v1/cni/node-a') return json(res, 200, { ...cniNodeFixture(), node: cniNode('node-a', 1), diff: [] });
  if (url.pathname.startsWith('/api/v1/cni/')) {
    const name = decodeURIComponent(url.pathname.slice('/api/v1/cni/'.length));
    return json(res, 404, { statusCode: 404, code: 'NODE_NOT_FOUND', error: 'Not Found', message: `no node named ${JSON.stringify(name)}` });
  }
  json(res, 404, { statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found', message: `no route GET ${url.pathname}` });
}

const api = await startApiServer(fixtures);
t.teardown(() => api.close());
t.beforeEach(() => {
  api.requests.length = 0;
  api.handle(fixtures);
});

const cli = (args: string[], env: Record<string, string> = {}, tty: { isTTY: boolean; columns?: number } = { isTTY: false }) => runCli(args, ['--server', api.url], env, tty);

t.test('cni: one GET with the token, the table, exit 1', async (t) => {
  const r = await cli(['cni', '--token', 's3cret']);
  t.equal(r.code, 1);
  t.equal(r.err, '');
  t.same(api.requests.map((q) => q.url), ['/api/v1/cni']);
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret');
  t.equal(r.out, renderCni(cniFixture(), plain));
  t.notMatch(r.out, /\x1b\[/, 'no colour when not a terminal');
  api.handle((_req, res) => json(res, 200, okCni()));
  t.equal((await cli(['cni'])).code, 0);
});

t.test('cni: colour on a terminal only', async (t) => {
  const coloured = (await cli(['cni'], {}, { isTTY: true, columns: 120 })).out;
  t.match(coloured, '\x1b[31mdrifted');
  t.equal(visible(coloured), (await cli(['cni'])).out);
  t.notMatch((await cli(['cni'], { NO_COLOR: '1' }, { isTTY: true })).out, /\x1b\[/);
});

t.test('cni --json prints the API body unchanged and keeps the exit code', async (t) => {
  const r = await cli(['cni', '--json']);
  t.equal(r.code, 1);
  t.equal(r.out, JSON.stringify(cniFixture(), null, 2));
  t.equal(r.outLines, 1);
  const n = await cli(['cni', '--node', 'node-b', '--json']);
  t.equal(n.code, 1);
  t.equal(n.out, JSON.stringify(cniNodeFixture(), null, 2));
});

t.test('cni --node: GET /api/v1/cni/{node}, the diff, that node\'s exit code', async (t) => {
  const b = await cli(['cni', '--node', 'node-b']);
  t.equal(b.code, 1);
  t.same(api.requests.map((q) => q.url), ['/api/v1/cni/node-b']);
  t.match(b.out, 'Compared with the majority (node-a, node-c, node-d, hash a1b2c3d4e5f6):\n  plugins[0].mtu: 1450 → 1400');
  const a = await cli(['cni', '--node', 'node-a']);
  t.equal(a.code, 0);
  api.requests.length = 0;
  await cli(['cni', '--node', 'a/b c']);
  t.same(api.requests.map((q) => q.url), ['/api/v1/cni/a%2Fb%20c'], 'the name is one path segment');
});

t.test('cni --node with a node the aggregator does not know: its NODE_NOT_FOUND, exit 3', async (t) => {
  const r = await cli(['cni', '--node', 'node-z']);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/cni/node-z: HTTP 404 NODE_NOT_FOUND: no node named "node-z"`);
  t.equal(r.errLines, 1);
  t.equal(r.out, '');
});

t.test('cni: an aggregator without the CNI API exits 3 naming the route', async (t) => {
  api.handle((req, res) => json(res, 404, { statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found', message: `no route GET ${new URL(req.url!, 'http://x').pathname}` }));
  const r = await cli(['cni']);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/cni: HTTP 404 ROUTE_NOT_FOUND: no route GET /api/v1/cni: this aggregator is older than the CNI API (/api/v1/cni); upgrade it to use netmatrix cni`);
  const n = await cli(['cni', '--node', 'node-b']);
  t.equal(n.code, 3);
  t.equal(n.err, `netmatrix: ${api.url}/api/v1/cni/node-b: HTTP 404 ROUTE_NOT_FOUND: no route GET /api/v1/cni/node-b: this aggregator is older than the CNI API (/api/v1/cni); upgrade it to use netmatrix cni`);
  api.handle((_req, res) => res.writeHead(404, 'Not Found').end('<html>nope</html>'));
  t.equal((await cli(['cni'])).err, `netmatrix: ${api.url}/api/v1/cni: HTTP 404 Not Found`, 'a 404 from a proxy stays as it is');
});

t.test('cni: a body that is not a CNI view exits 3', async (t) => {
  api.handle((_req, res) => json(res, 200, { ...cniFixture(), nodes: [{}] }));
  const r = await cli(['cni']);
  t.equal(r.code, 3);
  t.equal(r.err, `netmatrix: ${api.url}/api/v1/cni: HTTP 200 but the body is not a CNI view: is this a netmatrix aggregator?`);
  const n = await cli(['cni', '--node', 'node-b']);
  t.equal(n.err, `netmatrix: ${api.url}/api/v1/cni/node-b: HTTP 200 but the body is not a node's CNI view: is this a netmatrix aggregator?`);
});
