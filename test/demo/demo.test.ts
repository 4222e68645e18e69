// `npm start` for real: the built demo spawns an aggregator and four agents as
// processes; node-d's tcp column fails with refused and every other cell is ok
// (one ProbeKindFailing{kind=tcp,node=node-d}, a warning: ICMP reaches it);
// the CLI shows the same; Ctrl-C (SIGINT) leaves no process behind.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { alertmanagerAvailable, startAlertmanager } from '../helpers/alertmanager.js';
import { waitFor } from '../helpers/wait.js';

const grpcPort = 20000 + Math.floor(Math.random() * 10000);
const httpPort = grpcPort + 1;
const api = `http://127.0.0.1:${httpPort}`;

/** PIDs of processes started for this demo run (they carry our gRPC port in their environment). */
function demoProcesses(): number[] {
  const marker = `127.0.0.1:${grpcPort}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) {
        const state = /State:\s+(\w)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
        if (state !== 'Z') pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

// A real Alertmanager for the demo's --alertmanager-url, where Debian's is installed.
const am = alertmanagerAvailable ? await startAlertmanager() : undefined;
t.teardown(() => am?.stop());
const demo = spawn(process.execPath, ['dist/demo/main.js', '--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--interval', '1s', ...(am ? ['--alertmanager-url', am.url] : [])], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
demo.stderr.on('data', (d: Buffer) => (out += d.toString()));
const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
t.teardown(async () => {
  if (demo.exitCode === null) demo.kill('SIGKILL');
  for (const pid of demoProcesses()) process.kill(pid, 'SIGKILL');
});

t.test('the demo prints where to look and fills the matrix', async (t) => {
  await waitFor('the demo to say it is running', () => out.includes('netmatrix demo is running') || /demo: /.test(out), 30_000, 100);
  t.match(out, /netmatrix demo is running \(4 nodes/);
  t.match(out, new RegExp(`${api}/api/v1/matrix\\?kind=tcp`));
  t.match(out, /npx netmatrix matrix --kind tcp/);
  type Cell = { status: string; lastOutcome: string } | null;
  const m = await waitFor('node-d column to fail', async () => {
    const body = (await (await fetch(`${api}/api/v1/matrix?kind=tcp`, { signal: AbortSignal.timeout(2000) })).json()) as { nodes: string[]; cells: Cell[][] };
    const d = body.nodes.indexOf('node-d');
    return body.cells.every((row, s) => row.every((c, col) => s === col || (col === d ? c?.status === 'failing' : c?.status === 'ok'))) && body;
  }, 15_000, 200);
  t.same(m.nodes, ['node-a', 'node-b', 'node-c', 'node-d']);
  for (const [s, row] of m.cells.entries()) {
    for (const [d, c] of row.entries()) {
      if (s === d) continue;
      if (m.nodes[d] === 'node-d') t.match(c, { status: 'failing', lastOutcome: 'refused' }, `${m.nodes[s]} → node-d refused`);
      else t.match(c, { status: 'ok' }, `${m.nodes[s]} → ${m.nodes[d]} ok`);
    }
  }
});

t.test('node-d is one finding, a warning ProbeKindFailing for its tcp (not a dead node), at /api/v1/findings and in Alertmanager', async (t) => {
  t.match(out, /Findings firing:\n(  .*\n)*  ProbeKindFailing kind=tcp node=node-d: tcp and http probes towards node-d fail from 3 of 3 nodes; other probes reach it/);
  const body = (await (await fetch(`${api}/api/v1/findings`, { signal: AbortSignal.timeout(2000) })).json()) as { findings: { kind: string; labels: Record<string, string>; description: string }[] };
  const pairFindings = body.findings.filter((f) => !f.kind.startsWith('Dns') && !f.kind.startsWith('Cni'));
  t.same(pairFindings.map((f) => [f.kind, f.labels.kind, f.labels.node]), [['ProbeKindFailing', 'tcp', 'node-d']], 'one finding, not a NodeUnreachable nor three PairUnreachable');
  t.match(pairFindings[0]!.description, /tcp: refused 3; http: refused 3\. node-d's agent reports normally\. The node is up/);
});

t.test('--alertmanager-url: the finding is in a real Alertmanager', { skip: am ? false : 'prometheus-alertmanager is not installed' }, async (t) => {
  if (!am) return;
  const alerts = await waitFor('the alert in Alertmanager', async () => {
    const a = await am.alerts({ alertname: 'ProbeKindFailing' });
    return a.length > 0 && a;
  }, 10_000, 200);
  t.match(alerts[0]!.labels, { alertname: 'ProbeKindFailing', kind: 'tcp', node: 'node-d', cluster: 'demo', severity: 'warning' });
  t.match(alerts[0]!.generatorURL, new RegExp(`^${api}/api/v1/findings/[0-9a-f]{16}$`));
});

t.test('the slow DNS replica: /api/v1/dns and one DnsReplicaUnhealthy naming dns-b', async (t) => {
  t.match(out, /DnsReplicaUnhealthy server=dns-b: DNS replica dns-b \(127\.0\.3\.2\) is slow from 4 of 4 nodes/);
  type DnsBody = { nodes: string[]; servers: { name: string; role: string }[]; cells: { status: string; latencyP50Ms: number | null; nxCheck: { ok: boolean } | null; degradedBy?: string }[][]; resolvers: { node: string; ndots: number; nameserverKnown: boolean | null; lookups: { name: string; queries: number }[] }[] };
  const body = (await (await fetch(`${api}/api/v1/dns`, { signal: AbortSignal.timeout(2000) })).json()) as DnsBody;
  t.same(body.nodes, ['node-a', 'node-b', 'node-c', 'node-d']);
  t.same(body.servers.map((s) => [s.name, s.role]), [['service', 'service'], ['dns-a', 'replica'], ['dns-b', 'replica']]);
  for (const [i, row] of body.cells.entries()) {
    t.match(row[1], { status: 'ok' }, `${body.nodes[i]} → dns-a ok`);
    t.match(row[2], { status: 'degraded' }, `${body.nodes[i]} → dns-b degraded`);
    // setTimeout may fire up to a millisecond early: the delay less that slack.
    t.ok(row[2]!.latencyP50Ms! >= 99, `${body.nodes[i]} → dns-b p50 ${row[2]!.latencyP50Ms} ms ≥ the 100 ms delay (1 ms timer slack)`);
    t.ok(row[1]!.nxCheck?.ok, 'the random name is NXDOMAIN');
  }
  const r = body.resolvers.find((x) => x.node === 'node-a')!;
  t.match(r, { ndots: 5, nameserverKnown: true });
  t.match(r.lookups.find((l) => l.name === 'example.com'), { queries: 8 }, 'ndots:5 and 3 search domains: an external name costs 4 names × A and AAAA');
  const f = (await (await fetch(`${api}/api/v1/findings?kind=DnsReplicaUnhealthy`, { signal: AbortSignal.timeout(2000) })).json()) as { findings: { labels: Record<string, string> }[] };
  t.same(f.findings.map((x) => x.labels.server), ['dns-b']);
  const all = (await (await fetch(`${api}/api/v1/findings`, { signal: AbortSignal.timeout(2000) })).json()) as { findings: { kind: string }[] };
  t.notOk(all.findings.some((x) => x.kind === 'DnsFailing' || x.kind === 'DnsLatencyHigh'), 'the slow replica explains the service address: no DnsLatencyHigh or DnsFailing');
});

t.test('node-c\'s drifted CNI config: /api/v1/cni, its diff, one CniConfigDrift', async (t) => {
  t.match(out, /CniConfigDrift node=node-c: node-c's CNI config differs from the majority's \(3 of 4 nodes\): plugins\[0\]\.mtu: 1450 → 1400/);
  type CniBody = { summary: { nodes: number; compared: number; drifted: number; skewedPlugins: number }; nodes: { node: string; state: string; errors: string[]; pools: { used: number; size: number }[]; binaries: { error: string | null }[] }[] };
  const body = (await (await fetch(`${api}/api/v1/cni`, { signal: AbortSignal.timeout(2000) })).json()) as CniBody;
  t.match(body.summary, { nodes: 4, compared: 4, drifted: 1, skewedPlugins: 0 });
  t.same(body.nodes.map((n) => [n.node, n.state]), [['node-a', 'majority'], ['node-b', 'majority'], ['node-c', 'drifted'], ['node-d', 'majority']]);
  for (const n of body.nodes) {
    t.same(n.errors, [], `${n.node}: no CNI errors`);
    t.ok(n.binaries.every((b) => b.error === null), `${n.node}: plugin binaries found and hashed`);
    t.match(n.pools, [{ size: 253 }], `${n.node}: one host-local /24`);
  }
  const detail = (await (await fetch(`${api}/api/v1/cni/node-c`, { signal: AbortSignal.timeout(2000) })).json()) as { diff: string[]; perNode: Record<string, string> };
  t.same(detail.diff, ['plugins[0].mtu: 1450 → 1400']);
  t.same(detail.perNode, { 'plugins[0].ipam.ranges': '[[{"subnet":"10.244.3.0/24"}]]' }, 'the per-node subnet is set aside, not drift');
  const f = (await (await fetch(`${api}/api/v1/findings?kind=CniConfigDrift`, { signal: AbortSignal.timeout(2000) })).json()) as { findings: { labels: Record<string, string> }[] };
  t.same(f.findings.map((x) => x.labels.node), ['node-c']);
});

t.test('the CLI shows the same matrix', async (t) => {
  const stdout = await new Promise<string>((resolve) =>
    execFile(process.execPath, ['dist/cli/main.js', 'matrix', '--kind', 'tcp', '--server', api], { timeout: 10_000 }, (_err, so, se) => resolve(so + se)),
  );
  t.match(stdout, /node-a/);
  t.match(stdout, /node-d/);
  t.match(stdout, /refused/, 'the failing cells name their outcome');
});

t.test('SIGINT stops every process the demo started', async (t) => {
  t.ok(demoProcesses().length >= 5, 'aggregator and four agents were running');
  demo.kill('SIGINT');
  t.equal(await exited, 0, 'the demo exits 0');
  await waitFor('every demo process to be gone', () => demoProcesses().length === 0, 10_000, 100);
  t.same(demoProcesses(), [], 'no process left');
  const logDir = /logs\s+(\S+)/.exec(out)?.[1];
  t.ok(logDir && !existsSync(logDir), `its log directory ${logDir} is removed`);
  await t.rejects(fetch(`${api}/healthz`, { signal: AbortSignal.timeout(1000) }), 'the API is down');
});
