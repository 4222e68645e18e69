// Scale benchmark: one aggregator process fed by netmatrix-sim (the built bin,
// a process of its own) over real gRPC on loopback, 4 probe kinds, a 5 s
// interval, in three cases by default:
//   1,000 nodes full mesh   (--full-mesh-max above 1,000)
//   1,000 nodes sampled     (--full-mesh-max 200, 64 peers a round): the
//                           reference for the sampled plan's ratio to a full
//                           mesh, at the same size, in the same run
//   5,000 nodes sampled     (64 peers a round); a 5,000-node full mesh (100 M
//                           cells) is not measurable here: its cost is
//                           extrapolated from the 1,000-node one and said so
// Per case: the agents connect (all at once, as after an aggregator restart,
// each waiting up to 2 min for its plan: how long until every one has it, and
// what the plan pushes cost meanwhile), a warm-up of a window so nodes are mature, then
//   (A) a measured window without other load: the aggregator's CPU (share of
//       a core, /proc; target ≤ 1 core at 5,000), RSS (target ≤ 1 GiB),
//       event-loop delay p99 (target ≤ 50 ms), its evaluations (the timer's),
//       the results it ingested against what the agents owe; the simulator's
//       own CPU, since on this 2-core machine it competes with the aggregator;
//       one /metrics scrape: its series (O(nodes + zones² + failing pairs)),
//       per node;
//   (B) GET /api/v1/matrix?kind=icmp&format=compact and
//       /api/v1/matrix/zones?kind=icmp over HTTP on loopback, alternately,
//       back to back: p99 over the requests that built a body (the first
//       after a new evaluation: its ETag is new) and over all;
//   (C) one node joining (a stream from this process): the collector's plan
//       push rounds (its "plans pushed" records: busy time, plans and bytes
//       written), and the node forgotten again (DELETE /api/v1/nodes);
//   (E) sampled: after one turn of the ring since every agent connected
//       (⌈(N − 1) / 64⌉ rounds: every pair probed at least once, so the
//       matrix holds what it will hold), RSS and tracked cells again: the
//       memory figure that counts for a sampled plan;
//   (D) SIGUSR1 to the simulator: a node dies (its agent goes, nothing
//       answers it) and zone-1 is cut from zone-2, at once: the time from
//       then to one firing NodeUnreachable about it and to one firing
//       ZonePartition (the findings' own firingSince), against interval +
//       timeout + --finding-for; every other finding raised meanwhile is
//       listed; the plan pushes the suspect caused.
// Background loss 0.5 % on every cell (DESIGN's background loss) all along.
// The first line prints the load average: other work on the machine shows in
// wall-clock figures; CPU figures much less.
//
// BENCH_SCALE_CASES (1000:full,1000:sampled,5000:sampled),
// BENCH_SCALE_CONNECT_RATE (agents/s; 0, the default: all at once), BENCH_SCALE_WARMUP_SECONDS (65),
// BENCH_SCALE_SECONDS (30, window A), BENCH_SCALE_API_SECONDS (20, window B).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { aggregatorSettings } from '../aggregator/config.js';
import type { SimSummary } from '../sim/run.js';
import { PlanCache } from '../sim/plan.js';
import { AgentStream } from '../sim/stream.js';
import { simNodes } from '../sim/nodes.js';
import { AggregatorProcess } from './aggregator-process.js';
import type { PlanPush } from './aggregator-child.js';
import { cpuMs, max, mb, median, memory } from './proc-stats.js';

const SIM = fileURLToPath(new URL('../sim/main.js', import.meta.url));
const CASES = (process.env.BENCH_SCALE_CASES ?? '1000:full,1000:sampled,5000:sampled').split(',').map((c) => {
  const [n, plan] = c.split(':');
  if (!/^\d+$/.test(n ?? '') || (plan !== 'full' && plan !== 'sampled')) throw new Error(`bench scale: a case is NODES:full or NODES:sampled, not ${JSON.stringify(c)}`);
  return { n: Number(n), plan: plan as 'full' | 'sampled' };
});
const CONNECT_RATE = Number(process.env.BENCH_SCALE_CONNECT_RATE ?? 0);
const WARMUP_S = Number(process.env.BENCH_SCALE_WARMUP_SECONDS ?? 65);
const WINDOW_S = Number(process.env.BENCH_SCALE_SECONDS ?? 30);
const API_S = Number(process.env.BENCH_SCALE_API_SECONDS ?? 20);
const ZONES = 4;
const KINDS = 4;
const INTERVAL_MS = 5_000;
const TIMEOUT_MS = 1_000;
const FINDING_FOR_MS = 2 * INTERVAL_MS;
const PEERS_PER_ROUND = 64;
const FULL_MESH_MAX = 200;
const CONNECT_TIMEOUT_MS = 600_000;
const TARGETS = { cpuCores: 1, rssBytes: 2 ** 30, loopP99Ms: 50, apiP99Ms: 100, detectMs: INTERVAL_MS + TIMEOUT_MS + FINDING_FOR_MS };
const API_TOKEN = 'bench-scale-api-token';

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
}

interface Figures {
  readonly label: string;
  readonly n: number;
  readonly sampled: boolean;
  readonly connected: number;
  readonly connectS: number;
  readonly cpuCores: number;
  readonly simCores: number;
  readonly rss: number;
  readonly hwm: number;
  readonly evaluationMs: number;
  readonly loopP99Ms: number;
  readonly resultsPerS: number;
  readonly owedPerS: number;
  readonly series: number;
  readonly cells: number;
  readonly compactP99Ms: number;
  readonly zonesP99Ms: number;
  readonly joinBusyMs: number;
  readonly joinBytes: number;
  readonly nodeUnreachableS: number;
  readonly zonePartitionS: number;
}

export async function scaleBenchmark(): Promise<void> {
  const [load1] = loadavg();
  console.log(
    `scale: netmatrix-sim (its own process) → one aggregator process over gRPC on loopback; ${KINDS} kinds (icmp,tcp,http,node), ${ZONES} zones, ${INTERVAL_MS / 1000} s interval, 0.5 % background loss; agents connect ${CONNECT_RATE > 0 ? `at ${CONNECT_RATE}/s` : 'all at once'}, ${WARMUP_S} s warm-up, ${WINDOW_S} s measured; load average ${load1!.toFixed(1)} on ${cpus().length} cores (the simulator's CPU competes with the aggregator's: both are printed)`,
  );
  if (!('fullMeshMax' in aggregatorSettings)) console.log('  this aggregator has no --full-mesh-max: every case is a full mesh');
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-bench-scale-'));
  const tokenFile = join(dir, 'api-token');
  writeFileSync(tokenFile, API_TOKEN);
  const done: Figures[] = [];
  try {
    for (const c of CASES) {
      try {
        done.push(await runCase(c.n, c.plan === 'sampled', tokenFile));
      } catch (e) {
        console.log(`  ${c.n} nodes ${c.plan}: could not run: ${(e as Error).message}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  summarize(done);
}

/** The simulator as a child process, its progress lines read as they come. */
class SimProcess {
  private readonly child: ChildProcess;
  private stdout = '';
  private stderrTail: string[] = [];
  latest: { agentsConnected: number; agentsPlanned: number; errors: number } = { agentsConnected: 0, agentsPlanned: 0, errors: 0 };
  private readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [SIM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (b: Buffer) => (this.stdout += b));
    let partial = '';
    this.child.stderr!.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('{')) this.latest = JSON.parse(line) as SimProcess['latest'];
        else {
          this.stderrTail.push(line);
          if (this.stderrTail.length > 5) this.stderrTail.shift();
        }
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  faultsNow(): void {
    this.child.kill('SIGUSR1');
  }

  /** Ctrl-C and the summary; killed after 30 s. */
  async stop(): Promise<SimSummary | undefined> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(kill);
    const line = this.stdout.trim().split('\n').pop();
    try {
      return line ? (JSON.parse(line) as SimSummary) : undefined;
    } catch {
      return undefined;
    }
  }

  get stderr(): string {
    return this.stderrTail.join(' | ');
  }
}

interface Reply {
  /** 0: no answer (error says why). */
  readonly status: number;
  readonly ms: number;
  readonly bytes: number;
  readonly etag: string;
  readonly body: string;
  readonly error?: string;
}

/** One request with the API token; never throws: an aggregator too busy to answer is a figure too. */
async function get(url: string, keep = false): Promise<Reply> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(60_000) });
    const body = await res.text();
    return { status: res.status, ms: performance.now() - t0, bytes: body.length, etag: res.headers.get('etag') ?? '', body: keep ? body : '' };
  } catch (e) {
    return { status: 0, ms: performance.now() - t0, bytes: 0, etag: '', body: '', error: `${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ''}` };
  }
}

/** A JSON body, or undefined when the request failed. */
async function getJson<T>(url: string): Promise<T | undefined> {
  const r = await get(url, true);
  return r.status === 200 ? (JSON.parse(r.body) as T) : undefined;
}

interface Finding {
  readonly kind: string;
  readonly state: string;
  readonly labels: Record<string, string>;
  readonly since: string;
  readonly firingSince: string | null;
}

const describe = (f: Finding) => `${f.kind}{${Object.entries(f.labels).filter(([k]) => ['node', 'src', 'dst', 'kind', 'src_zone', 'dst_zone'].includes(k)).map(([k, v]) => `${k}=${v}`).join(',')}}`;

/** A gauge's value in a /metrics text (its first sample). */
function gauge(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

function pushFigures(rounds: readonly PlanPush[]): string {
  if (rounds.length === 0) return 'no push round';
  const busy = rounds.reduce((s, r) => s + r.busyMs, 0);
  const written = rounds.reduce((s, r) => s + r.written, 0);
  const bytes = rounds.reduce((s, r) => s + r.bytes, 0);
  return `${rounds.length} push round${rounds.length === 1 ? '' : 's'}: ${fmt(written)} plans written, ${mb(bytes)}, collector busy ${fmt(busy)} ms (${fmt(max(rounds.map((r) => r.slices)))} slices at most, longest round ${fmt(max(rounds.map((r) => r.ms)))} ms end to end)`;
}

async function runCase(n: number, sampled: boolean, tokenFile: string): Promise<Figures> {
  const label = `${fmt(n)} nodes ${sampled ? `sampled (${PEERS_PER_ROUND} peers a round)` : 'full mesh'}`;
  const nodes = simNodes(n, ZONES);
  // The dead node: the last one of zone-0, outside the partitioned zones.
  let deadIndex = n - 1;
  while (nodes.zoneOf[deadIndex] !== 0) deadIndex--;
  const dead = nodes.names[deadIndex]!;
  const perAgent = (sampled ? Math.min(PEERS_PER_ROUND, n - 1) : n - 1) * KINDS;
  console.log(`  ${label}: every agent ${fmt(perAgent)} results a round; faults at (D): ${dead} dies, zone-1/zone-2 cut`);
  const agg = await AggregatorProcess.start({
    // A full mesh still with the node that joins in (C).
    'full-mesh-max': String(sampled ? FULL_MESH_MAX : n + 10),
    'peers-per-round': String(PEERS_PER_ROUND),
    'grpc-max-message-bytes': String(16 * 1024 * 1024),
    'api-token-file': tokenFile,
  });
  const budgetS = CONNECT_TIMEOUT_MS / 1000 + WARMUP_S + WINDOW_S + API_S + 300;
  const sim = new SimProcess([
    '--aggregator', agg.grpcAddress, '--nodes', String(n), '--zones', String(ZONES), '--duration', `${budgetS}s`, '--fault-after', `${budgetS - 1}s`,
    '--dead', dead, '--partition', 'zone-1/zone-2', '--background-loss', '0.5', '--connect-rate', String(CONNECT_RATE), '--connect-timeout', '120s', '--progress', '1s',
  ]);
  let joiner: AgentStream | undefined;
  try {
    // Connecting.
    const t0 = performance.now();
    const connectUntil = t0 + CONNECT_TIMEOUT_MS;
    while (sim.latest.agentsConnected < n && performance.now() < connectUntil) await sleep(250);
    const connectS = (performance.now() - t0) / 1000;
    const connectedAt = performance.now();
    const connected = sim.latest.agentsConnected;
    const ramp = await agg.planPushes();
    console.log(
      `    connect             ${fmt(connected)} of ${fmt(n)} agents with a plan after ${fmt(connectS, 1)} s${connected < n ? ` (NOT all within ${CONNECT_TIMEOUT_MS / 1000} s; ${fmt(sim.latest.errors)} connect or stream errors: ${sim.stderr})` : ''}; meanwhile ${pushFigures(ramp)}`,
    );

    // Warm-up: a window, so nodes are mature.
    await sleep(WARMUP_S * 1000);

    // (A) steady state, nothing else loading the aggregator.
    const s0 = await agg.measureStart();
    const c0 = agg.cpuMs();
    const sc0 = cpuMs(sim.pid);
    const w0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const f = await agg.measureStop();
    const wall = (performance.now() - w0) / 1000;
    const cpuCores = (agg.cpuMs() - c0) / 1000 / wall;
    const simCores = (cpuMs(sim.pid) - sc0) / 1000 / wall;
    const mem = memory(agg.pid);
    const resultsPerS = (f.results - s0.results) / wall;
    const owedPerS = (sim.latest.agentsConnected * perAgent * 1000) / INTERVAL_MS;
    const evaluationMs = median(f.evaluationsMs);
    console.log(
      `    (A) aggregator CPU  ${fmt(100 * cpuCores)} % of a core${n >= 5000 ? `   (target ≤ ${TARGETS.cpuCores} core: ${met(cpuCores <= TARGETS.cpuCores)}; ${cpuCores.toFixed(2)} × the target)` : ''}; its event loop busy ${fmt(100 * f.utilization)} %; the simulator ${fmt(100 * simCores)} % of a core (${fmt(100 * (cpuCores + simCores))} % of the machine's ${cpus().length * 100} %)`,
    );
    console.log(`        RSS             ${mb(mem.rss)}, peak ${mb(mem.hwm)}   (target ≤ 1 GiB: ${met(mem.hwm <= TARGETS.rssBytes)}; peak ${(mem.hwm / TARGETS.rssBytes).toFixed(2)} × the target)`);
    console.log(
      `        evaluation      median ${fmt(evaluationMs)} ms, max ${fmt(max(f.evaluationsMs))} ms of ${f.evaluationsMs.length} on the aggregator's timer; event-loop delay p99 ${fmt(f.delayP99Ms, 1)} ms, p50 ${fmt(f.delayP50Ms, 1)} ms, max ${fmt(f.delayMaxMs)} ms   (target ≤ ${TARGETS.loopP99Ms} ms: ${met(f.delayP99Ms <= TARGETS.loopP99Ms)})`,
    );
    console.log(`        ingested        ${fmt(resultsPerS)} results/s (${fmt((100 * resultsPerS) / owedPerS)} % of the ${fmt(owedPerS)}/s the connected agents owe); ${fmt(f.rejected)} results rejected since the start${f.rejected > 0 ? ` (${Object.entries(f.rejectedBy).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})` : ''}; ${fmt(resultsPerS / Math.max(cpuCores, 1e-9))} results per aggregator CPU-second`);
    const scrape = await get(`${agg.httpUrl}/metrics`, true);
    const metrics = scrape.body;
    const samples = metrics.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const byFamily = new Map<string, number>();
    for (const l of samples) {
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0].replace(/_(bucket|sum|count)$/, '');
      byFamily.set(name, (byFamily.get(name) ?? 0) + 1);
    }
    const top = [...byFamily].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
    const zones = await getJson<{ pairs: { counts: Record<string, number> }[] }>(`${agg.httpUrl}/api/v1/matrix/zones?kind=icmp`);
    const cells = zones?.pairs.reduce((s, p) => s + (p.counts.ok ?? 0) + (p.counts.degraded ?? 0) + (p.counts.failing ?? 0), 0) ?? NaN;
    const failing = zones?.pairs.reduce((s, p) => s + (p.counts.failing ?? 0), 0) ?? NaN;
    const bound = n + ZONES * ZONES + failing;
    const trackedA = gauge(metrics, 'netmatrix_matrix_tracked_cells');
    console.log(
      scrape.status === 200
        ? `        /metrics        ${fmt(samples.length)} series = ${(samples.length / n).toFixed(2)} per node, ${(samples.length / bound).toFixed(2)} × (nodes + zones² + failing icmp cells = ${fmt(bound)}); most: ${top}; icmp cells with data ${fmt(cells)} (${fmt(failing)} failing); ${fmt(trackedA)} cells tracked (every kind); the scrape took ${fmt(scrape.ms)} ms`
        : `        /metrics        no scrape: ${scrape.status || scrape.error} after ${fmt(scrape.ms)} ms`,
    );

    // (B) the matrix API.
    const times = { compact: [] as number[], zones: [] as number[] };
    const fresh = { compact: [] as number[], zones: [] as number[] };
    const sizes = { compact: 0, zones: 0 };
    const etags = { compact: '', zones: '' };
    const apiUntil = performance.now() + API_S * 1000;
    const urls = { compact: `${agg.httpUrl}/api/v1/matrix?kind=icmp&format=compact`, zones: `${agg.httpUrl}/api/v1/matrix/zones?kind=icmp` };
    const failed = { compact: 0, zones: 0 };
    while (performance.now() < apiUntil) {
      for (const form of ['compact', 'zones'] as const) {
        const r = await get(urls[form]);
        if (r.status !== 200) {
          failed[form]++;
          continue;
        }
        times[form].push(r.ms);
        if (r.etag !== etags[form]) fresh[form].push(r.ms);
        etags[form] = r.etag;
        sizes[form] = r.bytes;
      }
    }
    const compactP99Ms = percentile(fresh.compact, 0.99);
    const zonesP99Ms = percentile(fresh.zones, 0.99);
    for (const form of ['compact', 'zones'] as const) {
      const p99 = percentile(fresh[form], 0.99);
      console.log(
        `    (B) ${form === 'compact' ? 'matrix compact' : 'matrix zones  '}  p99 ${fmt(p99)} ms over the ${fresh[form].length} requests that built a body (new ETag), p50 ${fmt(median(fresh[form]))} ms; all ${times[form].length}: p99 ${fmt(percentile(times[form], 0.99), 1)} ms${failed[form] ? ` (${failed[form]} more got no answer within 60 s)` : ''}; ${fmt(sizes[form] / 1024)} KiB identity   (target < ${TARGETS.apiP99Ms} ms: ${met(p99 < TARGETS.apiP99Ms)})`,
      );
    }

    // (C) a node joins, and is forgotten.
    const before = (await agg.planPushes()).length;
    const tJoin = performance.timeOrigin + performance.now();
    joiner = new AgentStream(
      {
        address: agg.grpcAddress,
        credentials: { channel: grpc.credentials.createInsecure() },
        maxSendBytes: 4 * 1024 * 1024,
        deadline: Date.now() + 120_000,
        plans: new PlanCache(new Map()),
        onMessage: () => {},
        onEnd: () => {},
      },
      { nodeName: 'bench-joiner', podIps: ['198.18.255.250'], nodeIps: ['198.19.255.250'], zone: 'zone-0', agentVersion: 'bench', capabilities: ['CAPABILITY_TCP'], responderPort: 9402, instanceId: 'bench-joiner-1' },
    );
    await sleep(8_000);
    const joinRounds = (await agg.planPushes()).slice(before).filter((r) => r.at >= tJoin);
    joiner.close();
    joiner = undefined;
    const forgot = await fetch(`${agg.httpUrl}/api/v1/nodes/bench-joiner`, { method: 'DELETE', headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
    const tForget = performance.timeOrigin + performance.now();
    await sleep(8_000);
    const forgetRounds = (await agg.planPushes()).filter((r) => r.at >= tForget);
    console.log(`    (C) a node joins    ${pushFigures(joinRounds)}`);
    console.log(`        and is forgotten ${forgot.status === 200 ? pushFigures(forgetRounds) : `(DELETE answered ${forgot.status})`}`);
    const joinBusyMs = joinRounds.reduce((s, r) => s + r.busyMs, 0);
    const joinBytes = joinRounds.reduce((s, r) => s + r.bytes, 0);

    // (E) sampled: memory once every pair has been probed.
    let rss = mem.rss;
    let hwm = mem.hwm;
    if (sampled) {
      const turnMs = Math.ceil((n - 1) / PEERS_PER_ROUND) * INTERVAL_MS;
      const wait = connectedAt + turnMs + INTERVAL_MS - performance.now();
      if (wait > 0) await sleep(wait);
      const m2 = memory(agg.pid);
      const tracked = gauge((await get(`${agg.httpUrl}/metrics`, true)).body, 'netmatrix_matrix_tracked_cells');
      rss = m2.rss;
      hwm = m2.hwm;
      console.log(
        `    (E) one turn        ${fmt(turnMs / 1000)} s after every agent connected (every pair probed once): RSS ${mb(m2.rss)}, peak ${mb(m2.hwm)}   (target ≤ 1 GiB: ${met(m2.hwm <= TARGETS.rssBytes)}; peak ${(m2.hwm / TARGETS.rssBytes).toFixed(2)} × the target); ${fmt(tracked)} cells tracked (${(tracked / trackedA).toFixed(1)} × at (A); ${fmt(n * (n - 1) * KINDS)} possible)`,
      );
    }

    // (D) faults.
    const tFault = Date.now();
    const pushesBefore = (await agg.planPushes()).length;
    sim.faultsNow();
    const deadline = Date.now() + 3 * TARGETS.detectMs;
    let all: Finding[] = [];
    const firing = (kind: string, labels: Record<string, string>) => all.find((x) => x.kind === kind && x.state === 'firing' && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    const seen = new Map<string, number>();
    while (Date.now() < deadline) {
      all = (await getJson<{ findings: Finding[] }>(`${agg.httpUrl}/api/v1/findings?state=all`))?.findings ?? all;
      for (const x of all) if (!seen.has(describe(x))) seen.set(describe(x), Date.now() - tFault);
      if (firing('NodeUnreachable', { node: dead }) && firing('ZonePartition', { src_zone: 'zone-1', dst_zone: 'zone-2' })) break;
      await sleep(250);
    }
    const faultPushes = (await agg.planPushes()).slice(pushesBefore);
    const summary = await sim.stop();
    const faultAt = summary?.faults.at ? Date.parse(summary.faults.at) : tFault;
    const after = (x: Finding | undefined) => (x?.firingSince ? (Date.parse(x.firingSince) - faultAt) / 1000 : NaN);
    const nu = firing('NodeUnreachable', { node: dead });
    const zp = firing('ZonePartition', { src_zone: 'zone-1', dst_zone: 'zone-2' });
    const target = TARGETS.detectMs / 1000;
    console.log(
      `    (D) faults          NodeUnreachable{node=${dead}} firing ${fmt(after(nu), 1)} s after the fault; ZonePartition{zone-1,zone-2} ${fmt(after(zp), 1)} s   (target ≤ interval + timeout + --finding-for = ${target} s: ${met(after(nu) <= target)}, ${met(after(zp) <= target)})`,
    );
    const others = all.filter((x) => x.state !== 'resolved' && x !== nu && x !== zp);
    console.log(`        other findings  ${others.length === 0 ? 'none' : others.slice(0, 6).map((x) => `${describe(x)} ${x.state} (first seen ${fmt((seen.get(describe(x)) ?? NaN) / 1000, 1)} s)`).join(', ')}${others.length > 6 ? ` and ${others.length - 6} more` : ''}; the suspect's plans: ${pushFigures(faultPushes)}`);
    if (summary) {
      console.log(
        `    simulator           ${fmt(summary.agentsPlanned)} agents planned, ${fmt(summary.connects)} connects (${fmt(summary.errors.total)} errors${summary.errors.samples.length ? `: ${summary.errors.samples[0]}` : ''}), ${fmt(summary.plansReceived)} plans (${fmt(summary.plansSampled)} sampled, ${fmt(summary.planDecodes)} directories decoded), ${fmt(summary.roundsSkipped)} rounds skipped (4 unacknowledged), reports p99 ${fmt(summary.lateP99Ms ?? NaN)} ms behind their phase; ${fmt(summary.cpuS)} CPU-s in ${fmt(summary.durationS)} s, peak RSS ${fmt(summary.maxRssMiB)} MiB, ${summary.workers} worker thread${summary.workers === 1 ? '' : 's'}`,
      );
    }
    return {
      label,
      n,
      sampled,
      connected,
      connectS,
      cpuCores,
      simCores,
      rss,
      hwm,
      evaluationMs,
      loopP99Ms: f.delayP99Ms,
      resultsPerS,
      owedPerS,
      series: samples.length,
      cells,
      compactP99Ms,
      zonesP99Ms,
      joinBusyMs,
      joinBytes,
      nodeUnreachableS: after(nu),
      zonePartitionS: after(zp),
    };
  } finally {
    joiner?.close();
    await sim.stop();
    await agg.stop();
  }
}

function summarize(done: readonly Figures[]): void {
  const full = done.find((x) => !x.sampled);
  if (!full) return;
  for (const x of done) {
    if (x === full) continue;
    const ratio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)} ×` : 'n/a');
    const perNode = (a: number, b: number) => ratio(a / x.n / (b / full.n));
    const same = x.n === full.n;
    console.log(
      `  ${x.label} / ${full.label}${same ? '' : ' (per node)'}: aggregator CPU ${same ? `${(x.cpuCores / full.cpuCores).toFixed(2)} ×` : perNode(x.cpuCores, full.cpuCores)}, RSS ${same ? `${(x.rss / full.rss).toFixed(2)} ×` : perNode(x.rss, full.rss)}, results ingested ${same ? `${(x.resultsPerS / full.resultsPerS).toFixed(3)} ×` : perNode(x.resultsPerS, full.resultsPerS)}, evaluation ${(x.evaluationMs / full.evaluationMs).toFixed(2)} ×, series ${same ? `${(x.series / full.series).toFixed(2)} ×` : perNode(x.series, full.series)}, a join's plan bytes ${same ? ratio(x.joinBytes / full.joinBytes) : perNode(x.joinBytes, full.joinBytes)}`,
    );
  }
  const big = done.find((x) => x.sampled && x.n > full.n);
  if (big) {
    // A full mesh of big.n nodes, from the measured one: cells and results grow with n², CPU with the results.
    const scale = (big.n * (big.n - 1)) / (full.n * (full.n - 1));
    console.log(
      `  a ${fmt(big.n)}-node full mesh is not measurable here: ${fmt((big.n * (big.n - 1) * KINDS) / 1e6, 1)} M cells, ${fmt((full.resultsPerS * scale) / 1e6, 1)} M results/s; from the ${fmt(full.n)}-node one it would need ~${fmt(full.cpuCores * scale, 1)} cores and ~${fmt((full.rss * scale) / 2 ** 30, 1)} GiB; sampled it took ${(big.cpuCores / (full.cpuCores * scale)).toFixed(3)} × that CPU and ${(big.rss / (full.rss * scale)).toFixed(3)} × that memory`,
    );
  }
}
