// netmatrix cni against a real aggregator and three real agents on loopback,
// each watching CNI dirs of its own: what the API really serves passes the
// CLI's shape checks, node-b's drifted mtu fails the command, and --node shows
// the diff the aggregator computed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { RunningAgent } from '../../agent/agent.js';
import { isCniNodeView, isCniView, type ApiCniView } from '../../cli/api-types.js';
import { main, type Io } from '../../cli/run.js';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { cniFlags, writeCniNode } from '../helpers/cni-dirs.js';
import { waitFor } from '../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'netmatrix-cli-cni-'));
const agg = await testAggregator({ 'probe-interval': '500ms', 'probe-timeout': '200ms' });
const agents: RunningAgent[] = [];
t.teardown(async () => {
  for (const a of agents) await a.stop();
  await agg.stop();
  rmSync(root, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: {}, isTTY: false };
  const code = await main([...args, '--server', agg.httpUrl], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('before any agent: no nodes, exit 0', async (t) => {
  const r = await cli(['cni']);
  t.equal(r.err, '');
  t.equal(r.code, 0);
  t.match(r.out, new RegExp(`^CNI config on each node, generated \\d{4}-.*\nno nodes yet: are agents connected to ${agg.httpUrl.replace(/[.]/g, '\\.')}\\?$`));
});

t.test('three agents, node-b with another mtu: drifted, exit 1; --node shows the diff', async (t) => {
  for (const [i, name] of ['node-a', 'node-b', 'node-c'].entries()) {
    const d = writeCniNode(root, name, i + 1, name === 'node-b' ? 1400 : 1450);
    agents.push(await testAgent({ name, podIP: `127.0.9.${i + 1}`, aggregator: agg.grpcAddress, flags: cniFlags(d) }));
  }
  const body = await waitFor(
    'three nodes compared',
    async () => {
      const r = await cli(['cni', '--json']);
      const b = JSON.parse(r.out) as ApiCniView;
      return b.summary.compared === 3 && { b, code: r.code };
    },
    15_000,
    100,
  );
  t.ok(isCniView(body.b), 'what the aggregator serves passes the shape check');
  t.equal(body.code, 1, '--json keeps the exit code');
  t.same(body.b.nodes.map((n) => n.state), ['majority', 'drifted', 'majority']);

  const r = await cli(['cni']);
  t.equal(r.err, '');
  t.equal(r.code, 1, r.out);
  const lines = r.out.split('\n');
  t.match(lines[0], /^CNI config on each node, generated \d{4}-/);
  t.match(lines[1], /^NODE {4}STATE {5}FILE {14}HASH {10}PLUGINS {9}POOL {6}ERRORS$/);
  t.match(lines[2], /^node-a {2}majority {2}10-pods\.conflist {2}[0-9a-f]{12} {2}bridge,portmap {2}3\/13 23% {2}0$/);
  t.match(lines[3], /^node-b {2}drifted {3}10-pods\.conflist {2}[0-9a-f]{12} {2}bridge,portmap {2}3\/13 23% {2}0$/);
  t.match(lines[4], /^node-c {2}majority {2}/);
  t.not(lines[2]!.split(/ +/)[3], lines[3]!.split(/ +/)[3], "node-b's hash differs");
  t.equal(lines[2]!.split(/ +/)[3], lines[4]!.split(/ +/)[3]);
  t.equal(lines[6], '✓ majority 2   ✗ drifted 1   ✗ split 0   ✗ invalid 0   ? stale 0   ? unreported 0');
  t.equal(lines[7], '✗ 1 of 3 nodes drifted, split or invalid');
  t.equal(lines[9], "Config drift: 2 of 3 compared nodes share the majority's config:");
  t.match(lines[10], /^ {2}majority {2}[0-9a-f]{12} {2}node-a, node-c$/);
  t.match(lines[11], /^ {2}outlier {3}[0-9a-f]{12} {2}node-b {10}differs in plugins\[0\]\.mtu$/);
  t.notMatch(r.out, /plugin binaries|IP pools|overlaps|Errors:/, 'nothing else wrong');

  const one = await cli(['cni', '--node', 'node-b']);
  t.equal(one.err, '');
  t.equal(one.code, 1);
  t.match(one.out, /^CNI config on node-b\nNODE .*\nnode-b {2}drifted /);
  t.match(one.out, 'Files (the runtime uses the first valid one):\n  10-pods.conflist  valid\n');
  t.match(one.out, /Per-node fields \(set aside before comparing\):\n {2}plugins\[0\]\.ipam\.ranges {2}\[\[\{"subnet":"10\.244\.2\.0\/28"\}\]\]\n/);
  t.match(one.out, /Compared with the majority \(node-a, node-c, hash [0-9a-f]{12}\):\n {2}plugins\[0\]\.mtu: 1450 → 1400$/);

  const j = await cli(['cni', '--node', 'node-b', '--json']);
  t.ok(isCniNodeView(JSON.parse(j.out)), 'the node body passes its shape check');

  const a = await cli(['cni', '--node', 'node-a']);
  t.equal(a.code, 0);
  t.match(a.out, /Compared with the majority:\n {2}same as the majority$/);

  const unknown = await cli(['cni', '--node', 'node-z']);
  t.equal(unknown.code, 3);
  t.equal(unknown.err, `netmatrix: ${agg.httpUrl}/api/v1/cni/node-z: HTTP 404 NODE_NOT_FOUND: no node named "node-z"`);
  t.equal(unknown.out, '');
});
