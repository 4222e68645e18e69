// netmatrix-sim's fault model as a real aggregator judges it: the built bin on
// loopback, 12 simulated agents in 3 zones, the faults from 1 s into the run.
// A dead node is one NodeUnreachable, a partition between two zones one
// ZonePartition, a lossy node one PacketLoss about it, and nothing else is
// raised; agent restarts (churn) make nothing fire, as a DaemonSet rollout
// must not. Each run ends early by Ctrl-C (SIGINT) once the aggregator has judged,
// and still prints its summary.
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import type { RunningAggregator } from '../../aggregator/server.js';
import type { SimSummary } from '../../sim/run.js';
import { testAggregator } from '../helpers/aggregator.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const BIN = 'dist/sim/main.js';
const NODES = 12;
const AGGREGATOR = { 'probe-interval': '250ms', 'probe-timeout': '100ms', window: '5s', 'loss-window': '10s', 'probe-kinds': 'icmp,tcp,http,node' };

interface Run {
  /** SIGUSR1: the faults start now. */
  faultsNow(): void;
  /** Ctrl-C, then the summary (killed if it does not exit within 10 s). */
  stop(): Promise<{ code: number | null; summary: SimSummary; stderr: string }>;
}

/** The bin against `agg` for at most 60 s; stopped by the test (and on teardown, whatever happens). */
function sim(t: Test, agg: RunningAggregator, args: string[]): Run {
  const child = spawn(process.execPath, [BIN, '--aggregator', agg.grpcAddress, '--nodes', String(NODES), '--zones', '3', '--duration', '60s', '--progress', '0s', '--jitter', '20ms', ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b));
  child.stderr.on('data', (b: Buffer) => (stderr += b));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    faultsNow: () => child.kill('SIGUSR1'),
    async stop() {
      child.kill('SIGINT');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(kill);
      return { code, summary: JSON.parse(stdout.trim()) as SimSummary, stderr };
    },
  };
}

interface Finding {
  readonly kind: string;
  readonly state: string;
  readonly labels: Record<string, string>;
}

async function findings(agg: RunningAggregator): Promise<Finding[]> {
  const res = await fetch(`${agg.httpUrl}/api/v1/findings?state=all`, { signal: AbortSignal.timeout(5_000) });
  return ((await res.json()) as { findings: Finding[] }).findings.filter((f) => f.state !== 'resolved');
}

const describe = (f: Finding) => `${f.kind}{${Object.entries(f.labels).filter(([k]) => ['node', 'src', 'dst', 'kind', 'src_zone', 'dst_zone'].includes(k)).map(([k, v]) => `${k}=${v}`).join(',')}} ${f.state}`;

/** Waits until `want` (kind and labels) fires, then requires it to be the only finding, firing or pending. */
async function onlyFinding(t: Test, agg: RunningAggregator, want: { kind: string; labels: Record<string, string> }, timeoutMs = 40_000): Promise<void> {
  const matches = (f: Finding) => f.kind === want.kind && Object.entries(want.labels).every(([k, v]) => f.labels[k] === v);
  const all = await waitFor(`${want.kind} ${JSON.stringify(want.labels)} firing`, async () => {
    const fs = await findings(agg);
    return fs.some((f) => matches(f) && f.state === 'firing') && fs;
  }, timeoutMs, 200);
  t.same(all.map(describe), [describe({ ...want, state: 'firing' })], `one ${want.kind}, and nothing else`);
}

t.test('a dead node is one NodeUnreachable (worker threads)', async (t) => {
  const agg = await testAggregator(AGGREGATOR);
  t.teardown(() => agg.stop());
  const run = sim(t, agg, ['--dead', 'sim-0007', '--fault-after', '1s', '--workers', '2']);
  await onlyFinding(t, agg, { kind: 'NodeUnreachable', labels: { node: 'sim-0007' } });
  const { code, summary } = await run.stop();
  t.equal(code, 0);
  t.match(summary, { workers: 2, agentsPlanned: NODES, agentsConnected: NODES - 1, deaths: 1, faults: { dead: ['sim-0007'] }, errors: { total: 0 } });
});

t.test('a sampled plan (past --full-mesh-max): the agents walk it, and a dead node is still one NodeUnreachable', async (t) => {
  const agg = await testAggregator({ ...AGGREGATOR, 'full-mesh-max': '6', 'peers-per-round': '4', 'min-probers': '2' });
  t.teardown(() => agg.stop());
  const run = sim(t, agg, ['--dead', 'sim-0003', '--fault-after', '2s']);
  await onlyFinding(t, agg, { kind: 'NodeUnreachable', labels: { node: 'sim-0003' } });
  const { code, summary } = await run.stop();
  t.equal(code, 0);
  t.match(summary, { agentsPlanned: NODES, deaths: 1, errors: { total: 0 } });
  t.ok(summary.plansSampled >= NODES, `${summary.plansSampled} sampled plans`);
  // Each round: peers-per-round peers × 4 kinds (no DNS servers here); the first plans, while the others connected, were a full mesh of a few.
  const perReport = summary.results / summary.reportsSent;
  t.ok(Math.abs(perReport - 4 * 4) < 1, `${perReport.toFixed(2)} results per report: 4 peers × 4 kinds`);
});

t.test('a partition between two zones is one ZonePartition (started by SIGUSR1)', async (t) => {
  const agg = await testAggregator(AGGREGATOR);
  t.teardown(() => agg.stop());
  const run = sim(t, agg, ['--partition', 'zone-2/zone-0', '--fault-after', '50s']);
  await waitFor('every agent connected', async () => ((await (await fetch(`${agg.httpUrl}/api/v1/nodes`)).json()) as { nodes: unknown[] }).nodes.length === NODES, 20_000);
  const signalled = Date.now();
  run.faultsNow();
  await onlyFinding(t, agg, { kind: 'ZonePartition', labels: { src_zone: 'zone-0', dst_zone: 'zone-2' } });
  const { code, summary } = await run.stop();
  t.equal(code, 0);
  t.match(summary, { agentsConnected: NODES, deaths: 0, faults: { partitions: ['zone-2/zone-0'] }, errors: { total: 0 } });
  const at = Date.parse(summary.faults.at!);
  t.ok(at >= signalled - 50 && at <= signalled + 5_000, 'the faults started at the signal, not at --fault-after');
});

t.test('a lossy node is one PacketLoss about it', async (t) => {
  const agg = await testAggregator(AGGREGATOR);
  t.teardown(() => agg.stop());
  const run = sim(t, agg, ['--loss', 'sim-0004=30', '--fault-after', '1s']);
  await onlyFinding(t, agg, { kind: 'PacketLoss', labels: { node: 'sim-0004' } }, 60_000);
  const { code, summary } = await run.stop();
  t.equal(code, 0);
  t.match(summary, { agentsConnected: NODES, faults: { loss: { 'sim-0004': 0.3 } }, errors: { total: 0 } });
});

t.test('agent restarts (churn) make nothing fire; each restart is a new instance the aggregator takes', async (t) => {
  const agg = await testAggregator(AGGREGATOR);
  t.teardown(() => agg.stop());
  // 60 restarts a minute, each away 1.5 s: about one agent away at any time.
  const run = sim(t, agg, ['--churn', '60', '--churn-downtime', '1500ms']);
  await waitFor('every agent connected', async () => {
    const nodes = ((await (await fetch(`${agg.httpUrl}/api/v1/nodes`)).json()) as { nodes: unknown[] }).nodes;
    return nodes.length === NODES;
  }, 20_000);
  // A restarted agent's node may be AgentStale for a moment (pending: no report since before it went away), never firing.
  await holdsFor(t, 'nothing fires while agents restart', async () => (await findings(agg)).filter((f) => f.state === 'firing').map(describe), 8_000);
  const { code, summary } = await run.stop();
  t.equal(code, 0);
  t.ok(summary.restarts >= 4, `${summary.restarts} restarts`);
  // Agents still away at the end restarted but did not connect again.
  const away = NODES - summary.agentsConnected;
  t.ok(summary.connects <= NODES + summary.restarts && summary.connects >= NODES + summary.restarts - away, `${summary.connects} connects: every restart connected again, but ${away} still away at the end`);
  t.equal(summary.errors.total, 0);
});
