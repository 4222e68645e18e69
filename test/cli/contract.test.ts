// The CLI against a real aggregator and two real agents on loopback: what the
// API really serves passes the CLI's shape checks, and the CLI asks for what
// the API really answers. Fixtures cannot drift from the server unnoticed here.
// A second aggregator, fed by simulated agents, has a finding firing; a third
// asks a real DNS responder through real agents.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { RunningAgent } from '../../agent/agent.js';
import { isDnsView, type ApiDnsView, type ApiFindings } from '../../cli/api-types.js';
import { startDnsResponder } from '../../demo/dns-responder.js';
import { main, type Io } from '../../cli/run.js';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { simCluster } from '../helpers/sim-cluster.js';
import { waitFor } from '../helpers/wait.js';

const agg = await testAggregator({ 'probe-interval': '300ms', 'probe-timeout': '150ms', window: '10s' });
const agents: RunningAgent[] = [];
t.teardown(async () => {
  for (const a of agents) await a.stop();
  await agg.stop();
});

async function cli(args: string[], server = agg.httpUrl) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: {}, isTTY: false };
  const code = await main([...args, '--server', server], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('before any agent: no nodes, exit 0', async (t) => {
  const m = await cli(['matrix', '--kind', 'tcp']);
  t.equal(m.err, '');
  t.equal(m.code, 0);
  t.match(m.out, `no nodes yet: are agents connected to ${agg.httpUrl}?`);
  const s = await cli(['status']);
  t.equal(s.code, 0);
  t.equal(s.out, `no nodes yet: are agents connected to ${agg.httpUrl}?`);
  const f = await cli(['findings']);
  t.equal(f.err, '');
  t.equal(f.code, 0);
  t.match(f.out, /^No findings(: nothing is wrong now| yet: the aggregator has not evaluated the matrix yet)\.$/);
  const d = await cli(['dns']);
  t.equal(d.err, '');
  t.equal(d.code, 0);
  t.equal(d.out, 'DNS checks are off: the aggregator has no DNS servers (--dns-servers none).', 'the test aggregator runs with --dns-servers none');
});

t.test('two agents: the tcp matrix all ok, status healthy', async (t) => {
  for (const [i, name] of ['node-a', 'node-b'].entries()) {
    agents.push(await testAgent({ name, podIP: `127.0.0.${61 + i}`, nodeIP: `127.0.1.${61 + i}`, aggregator: agg.grpcAddress }));
  }
  await waitFor('both tcp cells ok', async () => (await cli(['matrix', '--kind', 'tcp', '--json'])).out.match(/"status": "ok"/g)?.length === 2, 15_000, 100);
  const m = await cli(['matrix', '--kind', 'tcp']);
  t.equal(m.err, '');
  t.equal(m.code, 0);
  t.match(m.out, /^1 node-a {3}· {2}✓$/m);
  t.match(m.out, /^2 node-b {3}✓ {2}·$/m);
  t.match(m.out, /every pair is ok$/);

  const s = await cli(['status']);
  t.equal(s.err, '');
  t.equal(s.code, 0, s.out);
  t.match(s.out, /^node-a {2}.*connected/m);
  t.match(s.out, /^tcp {3}2 {3}0 {9}0 {8}0/m);
  t.match(s.out, /✓ all 2 agents connected, no failing cell\n\nFindings: none firing$/);

  const j = JSON.parse((await cli(['status', '--json'])).out) as { nodes: { name: string }[]; matrices: Record<string, unknown>; findings: unknown };
  t.same(j.nodes.map((n) => n.name), ['node-a', 'node-b']);
  t.same(Object.keys(j.matrices), ['icmp', 'tcp', 'http', 'node']);
  t.same(j.findings, []);
  const f = await cli(['findings', '--all']);
  t.equal(f.code, 0, f.out);
  t.equal(f.out, 'No findings, firing or pending: nothing is wrong now.');
});

t.test('node-c refusing tcp from every prober while icmp reaches it: findings and status show one ProbeKindFailing for node-c, exit 1', async (t) => {
  const fed = await testAggregator({ 'probe-interval': '200ms', 'probe-timeout': '100ms', 'probe-kinds': 'icmp,tcp', window: '10s', 'finding-for': '0s' });
  // Documentation addresses: the simulated agents send no packet anywhere.
  const nodes = ['node-a', 'node-b', 'node-c'].map((name, i) => ({ name, zone: 'zone-1', podIP: `192.0.2.${i + 1}` }));
  const sim = simCluster(fed.grpcAddress, {
    nodes,
    kinds: ['icmp', 'tcp'],
    intervalMs: 200,
    outcome: (_src, dst, kind) => (dst === 'node-c' && kind === 'tcp' ? { outcome: 'refused', rttUs: 0 } : { outcome: 'ok', rttUs: 300 }),
  });
  try {
    await sim.ready();
    const body = await waitFor(
      'the ProbeKindFailing finding',
      async () => {
        const r = await cli(['findings', '--json'], fed.httpUrl);
        const b = JSON.parse(r.out) as ApiFindings;
        return r.code === 1 && b.findings.some((f) => f.kind === 'ProbeKindFailing') ? b : false;
      },
      15_000,
      100,
    );
    t.same(body.findings.map((f) => `${f.kind} ${f.severity} ${f.state} ${JSON.stringify(f.labels.node)} ${JSON.stringify(f.labels.kind)}`), ['ProbeKindFailing warning firing "node-c" "tcp"'], 'the one finding, where it is: a refused port, not a dead node');

    const f = await cli(['findings'], fed.httpUrl);
    t.equal(f.err, '');
    t.equal(f.code, 1);
    const lines = f.out.split('\n');
    t.match(lines[0], /^warning {2}ProbeKindFailing {2}node-c {2}tcp probes towards node-c fail from 2 of 2 nodes; other probes reach it {2}for \d+s$/);
    t.match(lines[1], /^ {4}tcp: refused 2\. node-c's agent reports normally\./, 'the description, indented');
    t.match(lines[2], /^ {4}runbook: https:\/\/\S+\/ProbeKindFailing\.md$/);
    t.equal(lines.length, 3);

    const kind = await cli(['findings', '--kind', 'ProbeKindFailing', '--all'], fed.httpUrl);
    t.equal(kind.code, 1);
    t.match(kind.out, /^warning {2}ProbeKindFailing/);
    const none = await cli(['findings', '--kind', 'NodeUnreachable'], fed.httpUrl);
    t.equal(none.code, 0);
    t.equal(none.out, 'No NodeUnreachable findings firing.');
    const other = await cli(['findings', '--kind', 'PairUnreachable'], fed.httpUrl);
    t.equal(other.code, 0);
    t.equal(other.out, 'No PairUnreachable findings firing.');
    const pending = await cli(['findings', '--pending'], fed.httpUrl);
    t.equal(pending.code, 0, 'with --finding-for 0s nothing waits');
    t.equal(pending.out, 'No pending findings.');

    const s = await cli(['status'], fed.httpUrl);
    t.equal(s.err, '');
    t.equal(s.code, 1);
    t.match(s.out, /✗ failing cells: tcp 2\n\nFindings: 1 firing \(ProbeKindFailing 1\)\n {2}warning {2}tcp probes towards node-c fail from 2 of 2 nodes; other probes reach it {2}for \d+s$/);
    const sj = JSON.parse((await cli(['status', '--json'], fed.httpUrl)).out) as { findings: { kind: string }[] };
    t.same(sj.findings.map((x) => x.kind), ['ProbeKindFailing']);

    // A kind this aggregator raises (the CNI checks) but nothing fires: none, exit 0.
    const cni = await cli(['findings', '--kind', 'CniConfigDrift'], fed.httpUrl);
    t.equal(cni.err, '');
    t.equal(cni.code, 0);
    t.equal(cni.out, 'No CniConfigDrift findings firing.');
  } finally {
    sim.stop();
    await fed.stop();
  }
});

t.test('dns: two agents asking a real DNS responder, as the service and as a replica', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-cli-dns-'));
  const records = { 'kubernetes.default.svc.cluster.local': ['10.96.0.1'] };
  const service = await startDnsResponder({ host: '127.0.7.1', port: 0, records });
  const replica = await startDnsResponder({ host: '127.0.7.2', port: 0, records });
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, 'nameserver 127.0.7.1\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  const dnsAgg = await testAggregator({
    'probe-interval': '300ms',
    'probe-timeout': '150ms',
    window: '5s',
    'dns-servers': `service=127.0.7.1:${service.port},replica:dns-a=127.0.7.2:${replica.port}`,
  });
  const dnsAgents: RunningAgent[] = [];
  let replicaClosed = false;
  try {
    for (const [i, name] of ['node-a', 'node-b'].entries()) {
      dnsAgents.push(await testAgent({ name, podIP: `127.0.7.${61 + i}`, aggregator: dnsAgg.grpcAddress, flags: { 'resolv-conf': resolvConf } }));
    }
    const body = await waitFor(
      'every DNS cell ok and both resolvers',
      async () => {
        const r = await cli(['dns', '--json'], dnsAgg.httpUrl);
        const b = JSON.parse(r.out) as ApiDnsView;
        return r.code === 0 && b.nodes.length === 2 && b.cells.every((row) => row.every((c) => c.status === 'ok' && c.nxCheck?.ok)) && b.resolvers.length === 2 && b;
      },
      15_000,
      100,
    );
    t.ok(isDnsView(body), 'what the aggregator serves passes the shape check');
    t.same(body.servers.map((s) => [s.name, s.role]), [['service', 'service'], ['dns-a', 'replica']]);
    t.same(body.nodes, ['node-a', 'node-b']);

    const d = await cli(['dns'], dnsAgg.httpUrl);
    t.equal(d.err, '');
    t.equal(d.code, 0, d.out);
    const lines = d.out.split('\n');
    t.match(lines[0], /^DNS from each node to each server, generated \d{4}-/);
    t.match(lines[2], /^NODE {4}service {3,}dns-a$/);
    t.match(lines[3], /^ {8}\(service\) {2}\(replica\)$/);
    t.match(lines[4], /^node-a {2}✓ \d+\.\d+ms {2,}✓ \d+\.\d+ms$/);
    t.match(lines[5], /^node-b {2}✓ \d+\.\d+ms {2,}✓ \d+\.\d+ms$/);
    t.equal(lines[7], '✓ ok 4   ~ degraded 0   ✗ failing 0   ? unknown 0');
    t.notMatch(d.out, /Divergent|NXDOMAIN check|Resolvers:/, 'nothing else wrong');
    t.equal(lines.at(-1), "Lookups (node-a's resolv.conf): ndots:5 with 3 search domains: a lookup of example.com sends 8 queries");

    const one = await cli(['dns', '--node', 'node-b'], dnsAgg.httpUrl);
    t.equal(one.code, 0);
    t.notMatch(one.out, /^node-a /m);
    t.match(one.out, "node-b's resolv.conf:\n  nameserver 127.0.7.1 (checked by netmatrix)\n  search default.svc.cluster.local svc.cluster.local cluster.local\n  options ndots:5 ");
    t.match(one.out, /^ {2}example\.com +8 +\d+s +example\.com\.default\.svc\.cluster\.local /m);

    const unknown = await cli(['dns', '--node', 'node-z'], dnsAgg.httpUrl);
    t.equal(unknown.code, 3);
    t.equal(unknown.err, `netmatrix: ${dnsAgg.httpUrl}/api/v1/dns: no node named "node-z" (its nodes: node-a, node-b)`);

    // The replica stops answering: its column fails, and so does the command.
    await replica.close();
    replicaClosed = true;
    await waitFor('dns-a failing from both nodes', async () => (await cli(['dns'], dnsAgg.httpUrl)).code === 1, 15_000, 100);
    const failing = await cli(['dns'], dnsAgg.httpUrl);
    t.match(failing.out, /^node-a {2}✓ \d+\.\d+ms {2,}✗ (timeout|refused|dns_refused) \d+(\.\d)?%$/m);
  } finally {
    for (const a of dnsAgents) await a.stop();
    await dnsAgg.stop();
    await service.close();
    if (!replicaClosed) await replica.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
