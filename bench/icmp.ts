// ICMP benchmark, both parts measured in one run against fping in the same lab:
//
// accuracy  node-1's agent probes node-2 every 200 ms while node-2's egress is
//           delayed 20 ms (the lab's NFQUEUE delayer); its RTT median (samples
//           from the pairs API, taken after the delay started) minus the median
//           of `fping -C` over the same path in the same window (first without
//           the delay, as a reference). Target: |difference| ≤ 0.2 ms.
// cost      node-1's agent probes 10 peers, ICMP only, every 100 ms (the other
//           agents run with --icmp off: they neither probe nor load it). Its CPU
//           time (/proc utime+stime) over the window (after 30 s of probing, for
//           V8's optimizing compiler to settle) per 1,000 probes sent (its
//           metrics), against fping sending as many probes at the same rate to
//           the same targets from the same namespace (its CPU from getrusage of
//           the waited-for child, µs resolution). The agent's figure includes
//           everything it does meanwhile: building and streaming a report over
//           gRPC every round, its timers and GC. Target: ratio ≤ 1.5. An agent
//           with the same plan and --icmp off shows the floor: rounds and
//           reports alone.
import { existsSync } from 'node:fs';
import { run } from '../test/e2e/lab/command.js';
import { createLab, type Lab } from '../test/e2e/lab/lab.js';
import { waitUntil } from '../test/e2e/lab/wait.js';
import { assertBuilt, buildStamp, LabCluster, metricSum, metricValue } from './lab-cluster.js';
import { cpuMs, median, RUSAGE_SCRIPT, type RusageResult } from './proc-stats.js';

const DELAY_MS = 20;
const ACCURACY_INTERVAL_MS = 200;
const ACCURACY_SAMPLES = Number(process.env.BENCH_ICMP_SAMPLES ?? 40);
const ACCURACY_TARGET_MS = 0.2;
const COST_PEERS = 10;
const COST_INTERVAL_MS = 100;
const COST_SECONDS = Number(process.env.BENCH_ICMP_SECONDS ?? 30);
// V8 is still optimizing the agent's hot paths for about a minute after it starts (profiled: ~20 % of
// its CPU 15–35 s in went to TurboFan); the target is about a running agent, so the window starts later.
const COST_WARMUP_SECONDS = Number(process.env.BENCH_ICMP_WARMUP_SECONDS ?? 30);
const COST_TARGET_RATIO = 1.5;

export async function icmpBenchmark(): Promise<void> {
  assertBuilt();
  console.log(`icmp: built agent against fping ${await fpingVersion()} in the namespace lab (${buildStamp()})`);
  await accuracy();
  await cost();
}

async function fpingVersion(): Promise<string> {
  const r = await run(['fping', '--version'], { timeoutMs: 5_000, allowFailure: true });
  return /Version\s+(\S+)/.exec(r.stdout + r.stderr)?.[1] ?? '(version unknown)';
}

async function accuracy(): Promise<void> {
  const lab = await createLab({ nodes: 2 });
  const cluster = new LabCluster(lab);
  try {
    await cluster.startAggregator({ 'probe-kinds': 'icmp', 'probe-interval': `${ACCURACY_INTERVAL_MS}ms`, 'probe-timeout': `${ACCURACY_INTERVAL_MS - 50}ms` });
    cluster.startAgent('node-1');
    cluster.startAgent('node-2', { icmp: 'off' }); // announces node-2; sends nothing on the measured path
    await waitUntil('node-1 → node-2 icmp ok', async () => (await cluster.pair('node-1', 'node-2')).kinds.icmp?.status === 'ok', 20_000, 100);

    console.log(`  accuracy: node-1 → node-2's pod IP, agent probing every ${ACCURACY_INTERVAL_MS} ms, fping -C ${ACCURACY_SAMPLES} -p ${ACCURACY_INTERVAL_MS} over the same path in the same window`);
    console.log(`    (fping prints 0.1 ms steps from 10 ms up, so its median is within ±0.05 ms of the true one there)`);
    const base = await sideBySide(cluster, lab, Date.now());
    report('no added delay (reference)', base, false);
    await lab.delay('node-2', DELAY_MS, 0);
    const delayed = await sideBySide(cluster, lab, Date.now());
    report(`${DELAY_MS} ms added delay on node-2's egress`, delayed, true);
  } finally {
    await cluster.stop().catch(() => {});
    await lab.down();
  }
}

interface SideBySide {
  readonly agentRtts: number[];
  readonly agentSamples: number;
  readonly fpingRtts: number[];
  readonly fpingSent: number;
}

/** Runs fping from node-1 to node-2 while collecting as many agent samples of the same path, all started after `since`. */
async function sideBySide(cluster: LabCluster, lab: Lab, since: number): Promise<SideBySide> {
  const [n1, n2] = [lab.node('node-1'), lab.node('node-2')];
  const fpingRun = lab.exec(n1.ns, ['fping', '-C', String(ACCURACY_SAMPLES), '-p', String(ACCURACY_INTERVAL_MS), '-t', '500', '-q', n2.podIP], {
    allowFailure: true,
    timeoutMs: ACCURACY_SAMPLES * ACCURACY_INTERVAL_MS + 15_000,
  });
  // Samples of probes that started after `since` (sample times have 100 ms ticks: keep a margin).
  const after = async () => (await cluster.pair('node-1', 'node-2')).kinds.icmp!.recent.filter((s) => Date.parse(s.at) >= since + 300);
  await waitUntil(`${ACCURACY_SAMPLES} agent samples`, async () => (await after()).length >= ACCURACY_SAMPLES, ACCURACY_SAMPLES * ACCURACY_INTERVAL_MS * 3 + 10_000, 250);
  const samples = (await after()).slice(0, ACCURACY_SAMPLES);
  const fp = await fpingRun;
  // -C output: "198.18.0.12 : 20.3 20.2 - 20.4 ..." ("-" for a lost probe).
  const line = (fp.stderr + fp.stdout).split('\n').find((l) => l.startsWith(`${n2.podIP} :`)) ?? '';
  const fields = line.split(':')[1]?.trim().split(/\s+/) ?? [];
  const r = {
    agentRtts: samples.filter((s) => s.outcome === 'ok' && s.rttMs !== null).map((s) => s.rttMs!),
    agentSamples: samples.length,
    fpingRtts: fields.filter((f) => f !== '-').map(Number),
    fpingSent: fields.length,
  };
  if (r.agentRtts.length === 0 || r.fpingRtts.length === 0) throw new Error(`no RTTs to compare (agent ${r.agentRtts.length}, fping ${r.fpingRtts.length}; fping said: ${fp.stderr.trim().slice(0, 200)})`);
  return r;
}

function report(label: string, r: SideBySide, judged: boolean): void {
  const a = median(r.agentRtts);
  const f = median(r.fpingRtts);
  const diff = a - f;
  const spread = (v: number[]) => `min ${Math.min(...v).toFixed(3)}, max ${Math.max(...v).toFixed(3)}`;
  // fping's 0.1 ms steps above 10 ms leave the difference known to ±0.05 ms there.
  const step = f >= 10 ? 0.05 : 0;
  const range = step ? ` (${(diff - step).toFixed(2)} to ${(diff + step).toFixed(2)} given fping's steps)` : '';
  const verdict = judged ? `${range}   (target |diff| ≤ ${ACCURACY_TARGET_MS} ms: ${Math.abs(diff) <= ACCURACY_TARGET_MS ? 'met' : 'NOT met'})` : '';
  console.log(`    ${label}:`);
  console.log(`      agent (pairs API)  median ${a.toFixed(3)} ms of ${r.agentRtts.length} ok samples out of ${r.agentSamples} (${spread(r.agentRtts)})`);
  console.log(`      fping              median ${f.toFixed(3)} ms of ${r.fpingRtts.length} replies out of ${r.fpingSent} (${spread(r.fpingRtts)})`);
  console.log(`      agent − fping      ${diff >= 0 ? '+' : ''}${diff.toFixed(3)} ms${verdict}`);
}

async function cost(): Promise<void> {
  const lab = await createLab({ nodes: COST_PEERS + 1 });
  const cluster = new LabCluster(lab);
  try {
    const n1 = lab.node('node-1');
    const targets = lab.nodes.filter((n) => n !== n1).map((n) => n.podIP);
    await cluster.startAggregator({ 'probe-kinds': 'icmp', 'probe-interval': `${COST_INTERVAL_MS}ms`, 'probe-timeout': `${COST_INTERVAL_MS / 2}ms` });
    const pid = cluster.startAgent('node-1');
    // The other agents announce their nodes and send nothing. Each has the same plan and --icmp off,
    // so it runs every round and report with no probes: the first one's CPU over the same window
    // shows what an agent costs at this interval before probing anything.
    const idlePids = lab.nodes.filter((n) => n !== n1).map((n) => cluster.startAgent(n.name, { icmp: 'off' }));
    const idlePid = idlePids[0]!;
    const icmpProbes = async () => metricSum(await cluster.agentMetrics('node-1'), 'netmatrix_agent_probes_total', 'kind="icmp"');
    await waitUntil(`node-1's agent probing ${COST_PEERS} peers`, async () => metricValue(await cluster.agentMetrics('node-1'), 'netmatrix_agent_peers') === COST_PEERS && (await icmpProbes()) > 0, 30_000, 200);
    // Warm-up: JIT, first reports, the last agents' hellos; then the window.
    const warm = await icmpProbes();
    const warmProbes = COST_WARMUP_SECONDS * COST_PEERS * (1000 / COST_INTERVAL_MS);
    await waitUntil('warm-up probes', async () => (await icmpProbes()) >= warm + warmProbes, COST_WARMUP_SECONDS * 2000 + 30_000, 500);

    const c0 = cpuMs(pid);
    const i0 = cpuMs(idlePid);
    const t0 = performance.now();
    const m0 = await cluster.agentMetrics('node-1');
    await new Promise((r) => setTimeout(r, COST_SECONDS * 1000));
    const m1 = await cluster.agentMetrics('node-1');
    const c1 = cpuMs(pid);
    const i1 = cpuMs(idlePid);
    const wall = (performance.now() - t0) / 1000;
    const sent = metricSum(m1, 'netmatrix_agent_probes_total', 'kind="icmp"') - metricSum(m0, 'netmatrix_agent_probes_total', 'kind="icmp"');
    const ok = metricValue(m1, 'netmatrix_agent_probes_total', 'kind="icmp",outcome="ok"') - metricValue(m0, 'netmatrix_agent_probes_total', 'kind="icmp",outcome="ok"');
    const reports = metricValue(m1, 'netmatrix_agent_reports_total') - metricValue(m0, 'netmatrix_agent_reports_total');
    const agentCpu = c1 - c0;
    const agentPer1k = (agentCpu / sent) * 1000;

    // The agent's raw socket would see fping's packets (and fping the agent's): stop it first.
    await cluster.stopAgent('node-1');
    const count = Math.ceil(sent / targets.length);
    const fpingArgv = ['fping', '-q', '-c', String(count), '-p', String(COST_INTERVAL_MS), '-i', String(COST_INTERVAL_MS / targets.length), '-t', String(COST_INTERVAL_MS / 2), ...targets];
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'; // not a version manager's shim
    const r = await lab.exec(n1.ns, [python, '-c', RUSAGE_SCRIPT, ...fpingArgv], { timeoutMs: count * COST_INTERVAL_MS + 30_000 });
    const fr = JSON.parse(r.stdout) as RusageResult;
    const xmt = [...fr.out.matchAll(/xmt\/rcv\/%loss = (\d+)\/(\d+)\//g)];
    const fpingSent = xmt.reduce((s, m) => s + Number(m[1]), 0);
    const fpingRcv = xmt.reduce((s, m) => s + Number(m[2]), 0);
    if (fpingSent === 0) throw new Error(`fping sent nothing: ${fr.out.slice(0, 300)}`);
    const fpingCpu = (fr.userS + fr.sysS) * 1000;
    const fpingPer1k = (fpingCpu / fpingSent) * 1000;
    const ratio = agentPer1k / fpingPer1k;

    console.log(`  cost: node-1's agent probing ${targets.length} peers, ICMP only, every ${COST_INTERVAL_MS} ms (the other ${targets.length} agents --icmp off), ${wall.toFixed(1)} s window after ${COST_WARMUP_SECONDS} s of probing (JIT warm-up)`);
    console.log(
      `    agent   ${sent.toLocaleString('en')} probes (${ok.toLocaleString('en')} ok), ${reports} reports, CPU ${agentCpu} ms (${((agentCpu / (wall * 1000)) * 100).toFixed(1)} % of a core) = ${agentPer1k.toFixed(0)} CPU-ms per 1,000 probes`,
    );
    console.log(`            (includes building and streaming a report over gRPC every ${COST_INTERVAL_MS} ms round, timers, GC; /proc ticks of 10 ms)`);
    console.log(
      `    fping   ${fpingSent.toLocaleString('en')} probes (${fpingRcv.toLocaleString('en')} replies) to the same ${targets.length} targets, -p ${COST_INTERVAL_MS} -i ${COST_INTERVAL_MS / targets.length}, ${fr.wallS.toFixed(1)} s, CPU ${fpingCpu.toFixed(1)} ms = ${fpingPer1k.toFixed(1)} CPU-ms per 1,000 probes`,
    );
    console.log(`    agent/fping = ${ratio.toFixed(2)}   (target ≤ ${COST_TARGET_RATIO}: ${ratio <= COST_TARGET_RATIO ? 'met' : 'NOT met'})`);
    const idleCpu = i1 - i0;
    const marginal = ((agentCpu - idleCpu) / sent) * 1000;
    const floor = (idleCpu / sent) * 1000;
    console.log(`    reference: an agent with the same plan and --icmp off (rounds and empty reports, no probes) used ${idleCpu} ms CPU over the same window:`);
    console.log(`               ${floor.toFixed(0)} CPU-ms per 1,000 of the probes above = ${(floor / fpingPer1k).toFixed(2)} × fping before sending any (the fixed cost of ${COST_INTERVAL_MS} ms rounds, each reported over gRPC);`);
    console.log(`               the agent's CPU above that: ${marginal.toFixed(0)} CPU-ms per 1,000 probes = ${(marginal / fpingPer1k).toFixed(2)} × fping`);
  } finally {
    await cluster.stop().catch(() => {});
    await lab.down();
  }
}
