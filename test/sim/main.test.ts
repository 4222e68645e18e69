// netmatrix-sim as users run it (the built bin, dist/sim/main.js) against a
// real aggregator on loopback: --help, a bad setting is one line naming it
// (exit 2), a healthy run's JSON summary adds up (every result of every
// report: the plan's peers × kinds and its DNS probes, which the aggregator
// reads as healthy), an aggregator that is not there is exit 1 within the
// run's bound, and the shared token goes with every stream.
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { simSettings } from '../../sim/config.js';
import type { SimSummary } from '../../sim/run.js';
import { testAggregator } from '../helpers/aggregator.js';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/wait.js';

const BIN = 'dist/sim/main.js';

/** A loopback port nothing listens on (taken from the kernel, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function summaryOf(t: Test, stdout: string): SimSummary {
  const lines = stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line on stdout: the summary');
  return JSON.parse(lines[0]!) as SimSummary;
}

t.test('--help lists every setting and exits 0', async (t) => {
  const r = await runBin(BIN, ['--help']);
  t.equal(r.code, 0);
  for (const s of Object.values(simSettings)) t.match(r.stdout, `--${s.flag}`, `--${s.flag}`);
  t.equal(r.stderr, '');
});

t.test('a bad setting is one line naming it, exit 2', async (t) => {
  const ok = ['--aggregator', '127.0.0.1:1', '--nodes', '6'];
  const cases: [string[], RegExp][] = [
    [['--nodes', '6'], /^netmatrix-sim: --aggregator \(NETMATRIX_SIM_AGGREGATOR\) is required/],
    [['--aggregator', 'nowhere', '--nodes', '6'], /^netmatrix-sim: invalid --aggregator .*"nowhere": expected host:port/],
    [['--aggregator', '127.0.0.1:1', '--nodes', '1'], /^netmatrix-sim: invalid --nodes .*"1": expected an integer from 2 to 65536/],
    [[...ok, '--zones', '7'], /^netmatrix-sim: invalid --zones .*"7": expected at most --nodes \(6\) zones/],
    [[...ok, '--dead', '5'], /^netmatrix-sim: invalid --dead .*"5": expected a count from 0 to 4/],
    [[...ok, '--dead', 'sim-0002,node-x'], /^netmatrix-sim: invalid --dead .*: expected names of simulated nodes \(sim-0000 … sim-0005\); "node-x" is not one/],
    [[...ok, '--loss', 'sim-0001'], /^netmatrix-sim: invalid --loss .*"sim-0001": expected comma-separated NODE=PCT/],
    [[...ok, '--loss', 'sim-0001=120'], /^netmatrix-sim: invalid --loss .*"sim-0001=120": expected comma-separated NODE=PCT/],
    [[...ok, '--slow', 'sim-0009=50'], /^netmatrix-sim: invalid --slow .*: expected names of simulated nodes .*"sim-0009" is not one/],
    [[...ok, '--partition', 'zone-0/zone-0'], /^netmatrix-sim: invalid --partition .*expected a comma-separated list of ZONE\/ZONE pairs/],
    [[...ok, '--partition', 'zone-0/zone-5'], /^netmatrix-sim: invalid --partition .*: expected ZONE\/ZONE pairs of the simulated zones \(zone-0, zone-1, zone-2\); "zone-5" is not one/],
    [[...ok, '--duration', '10s', '--dead', '1', '--fault-after', '10s'], /^netmatrix-sim: invalid --fault-after .*"10s": expected a time before the end of the run/],
    [[...ok, '--churn', 'lots'], /^netmatrix-sim: invalid --churn .*"lots": expected a number from 0 to 60000/],
    [[...ok, '--workers', '0'], /^netmatrix-sim: invalid --workers .*"0": expected an integer from 1 to 64/],
    [[...ok, '--frobnicate', '1'], /^netmatrix-sim: unknown flag --frobnicate/],
    [[...ok, '--tls-server-name', 'x'], /^netmatrix-sim: --tls-server-name is set without --tls-ca/],
    [[...ok, '--tls-ca', '/nonexistent/ca.pem'], /^netmatrix-sim: --tls-ca \(NETMATRIX_SIM_TLS_CA\) "\/nonexistent\/ca.pem": cannot read it/],
  ];
  for (const [args, want] of cases) {
    const r = await runBin(BIN, args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, want);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(r.stdout, '');
  }
  const env = await runBin(BIN, ['--nodes', '6'], { NETMATRIX_SIM_AGGREGATOR: '127.0.0.1:1', NETMATRIX_SIM_LOSS: 'x=5' });
  t.match(env.stderr, /^netmatrix-sim: invalid NETMATRIX_SIM_LOSS "x=5": expected names of simulated nodes/, 'an env var is named as such');
});

t.test('a healthy run: the summary adds up and the aggregator sees every cell and DNS server ok', async (t) => {
  const agg = await testAggregator({ 'probe-interval': '250ms', 'probe-timeout': '100ms', window: '5s', 'dns-servers': 'service=auto', 'probe-kinds': 'icmp,tcp,http,node' });
  t.teardown(() => agg.stop());
  const started = Date.now();
  const run = runBin(BIN, ['--aggregator', agg.grpcAddress, '--nodes', '5', '--zones', '2', '--duration', '4s', '--jitter', '10ms', '--progress', '1s'], {}, 30_000);
  // While it runs: every cell and every node × DNS server cell ok (once the agents leave, their cells are unknown).
  const seen = await waitFor(
    'every icmp cell of the 5 nodes and every DNS cell ok',
    async () => {
      const zones = (await (await fetch(`${agg.httpUrl}/api/v1/matrix/zones?kind=icmp`)).json()) as { pairs: { counts: Record<string, number> }[] };
      const ok = zones.pairs.reduce((a, p) => a + (p.counts.ok ?? 0), 0);
      const dns = (await (await fetch(`${agg.httpUrl}/api/v1/dns`)).json()) as { cells: { status: string }[][] };
      const dnsOk = dns.cells.flat().filter((c) => c.status === 'ok').length;
      return ok === 20 && dnsOk === 5 && { ok, dnsOk };
    },
    4_000,
    100,
  ).catch((e: Error) => e.message);
  t.same(seen, { ok: 20, dnsOk: 5 }, 'every icmp cell (5 × 4) and every node × DNS server cell ok while the run lasts');
  const r = await run;
  t.equal(r.code, 0, r.stderr);
  const s = summaryOf(t, r.stdout);
  t.match(s, { aggregator: agg.grpcAddress, nodes: 5, zones: 2, workers: 1, agentsConnected: 5, agentsPlanned: 5, connects: 5, reconnects: 0, restarts: 0, deaths: 0, plansRefused: 0, plansSampled: 0, roundsSkipped: 0 });
  t.same(s.errors, { total: 0, connect: 0, stream: 0, workers: 0, samples: [] });
  t.ok(s.plansReceived >= 5 && s.planEpoch > 0, 'every agent got its plan');
  // 4 s at 250 ms: ~16 rounds each, minus connecting.
  t.ok(s.reportsSent >= 5 * 8 && s.reportsSent <= 5 * 17, `${s.reportsSent} reports`);
  // A full round is 4 peers × 4 kinds and the DNS server asked its name, the name that must not exist and over TCP;
  // the first plans, sent while the others were still connecting, list fewer peers.
  t.ok(s.results <= s.reportsSent * (4 * 4 + 3) && s.results >= (s.reportsSent - 5 * 3) * (4 * 4 + 3), `${s.results} results in ${s.reportsSent} reports`);
  const stored = agg.sessions.stats;
  t.ok(stored.reports <= s.reportsSent && stored.reports >= s.reportsAcked, `the aggregator stored ${stored.reports} reports: every one acknowledged, at most every one sent`);
  t.ok(stored.results <= s.results && stored.results >= s.results - 5 * (4 * 4 + 3), `the aggregator stored ${stored.results} of the ${s.results} results sent (the last round may have been cut off by the end)`);
  t.ok(s.reportsAcked >= s.reportsSent - 5 && s.reportsAcked <= s.reportsSent, `${s.reportsAcked} of ${s.reportsSent} acknowledged before the streams closed`);
  t.match(s.faults, { dead: [], partitions: [], loss: {}, slowMs: {}, backgroundLoss: 0, badCells: 0, churnPerMinute: 0 });
  t.ok(Date.parse(s.faults.at!) >= started && Date.parse(s.faults.at!) <= started + 3_000, 'no --fault-after: the faults (none) start with the run');
  t.ok(s.cpuS > 0 && s.maxRssMiB > 0);
  const progress = r.stderr.trim().split('\n').slice(1);
  t.ok(progress.length >= 2, 'progress lines on stderr');
  t.match(JSON.parse(progress.at(-1)!), { agentsConnected: 5, errors: 0 });
  t.match(r.stderr.split('\n')[0], /^netmatrix-sim: 5 agents in 2 zones → 127\.0\.0\.1:\d+ for 4 s on 1 worker thread$/);
});

t.test('no aggregator there: exit 1 within the run, the summary says why', async (t) => {
  const port = await closedPort();
  const t0 = Date.now();
  const r = await runBin(BIN, ['--aggregator', `127.0.0.1:${port}`, '--nodes', '3', '--duration', '3s', '--connect-timeout', '1s', '--progress', '0s'], {}, 30_000);
  t.equal(r.code, 1);
  t.ok(Date.now() - t0 < 3_000 + 10_000, 'bounded by --duration');
  const s = summaryOf(t, r.stdout);
  t.match(s, { agentsPlanned: 0, agentsConnected: 0, reportsSent: 0 });
  t.ok(s.errors.total >= 3, `${s.errors.total} errors`);
  t.match(s.errors.samples.join('\n'), /UNAVAILABLE|no plan within 1000 ms/);
});

t.test('the shared token goes with every stream (NETMATRIX_TOKEN); without it the aggregator refuses', async (t) => {
  const token = 'sim-token-0123456789abcdef';
  const agg = await testAggregator({ 'probe-interval': '250ms', 'probe-timeout': '100ms' }, undefined, 0, { NETMATRIX_TOKEN: token });
  t.teardown(() => agg.stop());
  const args = ['--aggregator', agg.grpcAddress, '--nodes', '3', '--duration', '2s', '--progress', '0s', '--connect-timeout', '1s'];
  const good = await runBin(BIN, args, { NETMATRIX_TOKEN: token }, 30_000);
  t.equal(good.code, 0, good.stderr);
  t.match(summaryOf(t, good.stdout), { agentsPlanned: 3, errors: { total: 0 } });
  const bad = await runBin(BIN, args, {}, 30_000);
  t.equal(bad.code, 1);
  const s = summaryOf(t, bad.stdout);
  t.equal(s.agentsPlanned, 0);
  t.match(s.errors.samples.join('\n'), /UNAUTHENTICATED/);
});
