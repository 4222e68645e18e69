// Agent footprint benchmark: RSS and CPU of ONE agent probing 100 peers at the
// default interval (5 s) and timeout (1 s), kinds icmp,tcp,http,node (the
// aggregator's defaults). The 100 peers are made cheap, not simulated: a 2-node
// lab where node-2 carries 100 extra pod IPs and 100 extra node IPs on its eth0
// (node-1 has permanent neighbour entries for them) and runs one responder on
// 0.0.0.0:9402 (an agent with --icmp off --max-peers 1), so every probe of
// node-1 crosses the bridge and is answered by a real kernel and a real
// responder. This process announces the 100 peers to the aggregator with raw
// gRPC Hello streams through the lab's forwarder, so node-1's plan holds 101
// peers. Target: RSS < 60 MB.
//
// node-1's agent runs twice, one after the other: as the bin entry runs it
// (the script executed, so its #! line's node flags apply, the flags the
// image's ENTRYPOINT repeats), then as `node dist/agent/main.js` without them,
// the reference that says what the flags buy. Before the lab: what each
// package costs at start (bench/footprint-modules.ts), and the floor, Node with
// the modules of its own that the agent needs.
import * as grpc from '@grpc/grpc-js';
import { execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadProto, type AggregatorMessage__Output, type Hello } from '../proto/load.js';
import { stopChild } from '../test/e2e/lab/child-process.js';
import { createLab, type Lab } from '../test/e2e/lab/lab.js';
import { waitUntil } from '../test/e2e/lab/wait.js';
import { AGENT_MODULES, MODULES, type ModuleCost } from './footprint-modules.js';
import { AGENT_PORT, assertBuilt, buildStamp, LabCluster, metricSum, metricValue } from './lab-cluster.js';
import { cpuMs, max, mb, median, memory } from './proc-stats.js';

const FAKE_PEERS = 100;
/** Fake peer i (0-based) has pod IP 198.18.0.(100+i) and node IP 198.18.1.(100+i): clear of the lab's own hosts. */
const FIRST_FAKE_HOST = 100;
const WINDOW_S = Math.max(60, Number(process.env.BENCH_FOOTPRINT_SECONDS ?? 60));
const WARMUP_ROUNDS = 3;
const RSS_TARGET = 60 * 2 ** 20;
const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;
/** Processes per package in the start-cost table (medians). */
const MODULE_RUNS = 3;
const AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));
const MODULES_SCRIPT = fileURLToPath(new URL('./footprint-modules.js', import.meta.url));

/** The node flags of the agent's #! line (`#!/usr/bin/env -S node FLAGS`): what its bin entry runs it with. */
export function agentNodeFlags(main = AGENT_MAIN): string[] {
  const first = readFileSync(main, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env(?: -S)? node((?: --?[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!m) throw new Error(`${main}: first line ${JSON.stringify(first)} is not "#!/usr/bin/env [-S] node [flags]"`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}

/** VmRSS split into private (anonymous) and file-backed pages (the node binary, shared libraries). */
function rssSplit(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Medians over MODULE_RUNS processes of what each package costs at start, and the floor. */
async function moduleCosts(nodeFlags: readonly string[]): Promise<{ costs: Map<string, ModuleCost>; floor: ModuleCost; floorWithFlags: ModuleCost }> {
  const run = async (arg: string, flags: readonly string[]): Promise<ModuleCost> =>
    JSON.parse((await promisify(execFile)(process.execPath, ['--expose-gc', ...flags, MODULES_SCRIPT, arg], { timeout: 60_000 })).stdout) as ModuleCost;
  const med = async (arg: string, flags: readonly string[] = []): Promise<ModuleCost> => {
    const rs: ModuleCost[] = [];
    for (let i = 0; i < MODULE_RUNS; i++) rs.push(await run(arg, flags));
    return { rss: median(rs.map((r) => r.rss)), anon: median(rs.map((r) => r.anon)), file: median(rs.map((r) => r.file)), heap: median(rs.map((r) => r.heap)) };
  };
  const costs = new Map<string, ModuleCost>();
  for (const name of Object.keys(MODULES)) costs.set(name, await med(name));
  return { costs, floor: await med('--floor'), floorWithFlags: await med('--floor', nodeFlags) };
}

interface FakePeer {
  readonly name: string;
  readonly podIP: string;
  readonly nodeIP: string;
}

function fakePeers(): FakePeer[] {
  return Array.from({ length: FAKE_PEERS }, (_, i) => ({
    name: `peer-${String(i + 1).padStart(3, '0')}`,
    podIP: `198.18.0.${FIRST_FAKE_HOST + i}`,
    nodeIP: `198.18.1.${FIRST_FAKE_HOST + i}`,
  }));
}

/** Opens one Collector stream per fake peer on one channel and says Hello; close() ends them all. */
function announce(target: string, peers: readonly FakePeer[]): { close: () => void } {
  const Collector = loadProto().netmatrix.v1.Collector;
  const client = new Collector(target, grpc.credentials.createInsecure());
  const calls = peers.map((p) => {
    const call = client.Connect({ deadline: Date.now() + 30 * 60_000 });
    call.on('data', (_m: AggregatorMessage__Output) => {}); // plans: read and ignored (keeps flow control open)
    call.on('error', () => {});
    const hello: Hello = {
      nodeName: p.name,
      podIps: [p.podIP],
      nodeIps: [p.nodeIP],
      zone: 'lab',
      agentVersion: 'bench-fake-peer',
      capabilities: ['CAPABILITY_ICMP', 'CAPABILITY_TCP', 'CAPABILITY_HTTP'],
      responderPort: 9402,
      instanceId: `bench-${p.name}`,
    };
    call.write({ hello });
    return call;
  });
  return {
    close() {
      for (const c of calls) c.cancel();
      client.close();
    },
  };
}

/** RSS of a Node.js process that loads nothing and idles, started in the lab (so down() ends it). */
async function bareNodeRss(lab: Lab, ns: string): Promise<{ rss: number; anon: number; file: number }> {
  const child = lab.spawn(ns, [process.execPath, '-e', "process.stdout.write('ready\\n'); setInterval(() => {}, 1000); process.stdin.on('end', () => process.exit(0)).resume();"], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bare node process did not start within 10 s')), 10_000);
      child.stdout?.once('data', () => (clearTimeout(t), resolve()));
      child.once('exit', () => (clearTimeout(t), reject(new Error('bare node process exited'))));
    });
    return { rss: memory(child.pid!).rss, ...rssSplit(child.pid!) };
  } finally {
    child.kill('SIGTERM');
  }
}

interface AgentRun {
  readonly how: string;
  readonly rounds: number;
  readonly probes: number;
  readonly byKind: string;
  readonly cpuMs: number;
  readonly wallS: number;
  readonly rss: number[];
  readonly end: { rss: number; hwm: number; anon: number; file: number };
  readonly atPlan: number;
  readonly v8: string;
}

/**
 * Starts node-1's agent (`bin`: the script executed, its #! flags apply;
 * `plain`: `node script`), waits for its plan and the warm-up rounds, samples
 * its RSS every second over the window, and stops it.
 */
async function measureAgent(lab: Lab, cluster: LabCluster, how: 'bin' | 'plain', aggregator: string): Promise<AgentRun> {
  const n = lab.node('node-1');
  const flags = { aggregator, 'node-name': n.name, 'pod-ip': n.podIP, 'node-ip': n.nodeIP, listen: `${n.podIP}:${AGENT_PORT}`, 'allowed-cidrs': '198.18.0.0/15', 'log-level': 'warn', cni: 'off' };
  const args = Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
  const argv = how === 'bin' ? [AGENT_MAIN, ...args] : [process.execPath, AGENT_MAIN, ...args];
  const child: ChildProcess = lab.spawn(n.ns, argv, { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error(`node-1's agent (${how}) did not start`);
    const metrics = () => cluster.agentMetrics('node-1');
    await waitUntil(`node-1's plan to hold ${FAKE_PEERS + 1} peers`, async () => metricValue(await metrics(), 'netmatrix_agent_peers') === FAKE_PEERS + 1, 20_000, 200);
    const atPlan = memory(pid).rss;
    await waitUntil(`${WARMUP_ROUNDS} warm-up rounds`, async () => metricValue(await metrics(), 'netmatrix_agent_rounds_total') >= WARMUP_ROUNDS, (WARMUP_ROUNDS + 3) * 5_000, 500);

    const c0 = cpuMs(pid);
    const t0 = performance.now();
    const m0 = await metrics();
    const rss: number[] = [];
    const until = t0 + WINDOW_S * 1000;
    while (performance.now() < until) {
      rss.push(memory(pid).rss);
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, until - performance.now()))));
    }
    const m1 = await metrics();
    const c1 = cpuMs(pid);
    const wallS = (performance.now() - t0) / 1000;
    const end = { ...memory(pid), ...rssSplit(pid) };
    const delta = (kind: string, outcome?: string) => {
      const labels = outcome ? `kind="${kind}",outcome="${outcome}"` : `kind="${kind}"`;
      return metricSum(m1, 'netmatrix_agent_probes_total', labels) - metricSum(m0, 'netmatrix_agent_probes_total', labels);
    };
    const space = (name: string) => metricValue(m1, 'netmatrix_agent_process_nodejs_heap_space_size_total_bytes', `space="${name}"`);
    const used = metricValue(m1, 'netmatrix_agent_process_nodejs_heap_size_used_bytes');
    return {
      how,
      rounds: metricValue(m1, 'netmatrix_agent_rounds_total') - metricValue(m0, 'netmatrix_agent_rounds_total'),
      probes: KINDS.reduce((s, k) => s + delta(k), 0),
      byKind: KINDS.map((k) => `${k} ${delta(k, 'ok')}/${delta(k)} ok`).join(', '),
      cpuMs: c1 - c0,
      wallS,
      rss,
      end,
      atPlan,
      v8: used > 0 ? `V8 heap committed: new ${mb(space('new'))}, old ${mb(space('old'))}, code ${mb(space('code'))}; used ${mb(used)} (at the end)` : 'V8 heap: (no default metrics)',
    };
  } finally {
    await stopChild(child);
  }
}

export async function footprintBenchmark(): Promise<void> {
  assertBuilt();
  const nodeFlags = agentNodeFlags();
  const { costs, floor, floorWithFlags } = await moduleCosts(nodeFlags);
  const lab = await createLab({ nodes: 2 });
  const cluster = new LabCluster(lab);
  let peers: { close: () => void } | undefined;
  try {
    const [n1, n2] = [lab.node('node-1'), lab.node('node-2')];
    const fakes = fakePeers();
    await lab.exec(n2.ns, ['ip', '-batch', '-'], { input: fakes.map((f) => `addr add ${f.podIP}/32 dev eth0\naddr add ${f.nodeIP}/32 dev eth0\n`).join('') });
    await lab.exec(n1.ns, ['ip', '-batch', '-'], {
      input: fakes.map((f) => `neigh replace ${f.podIP} lladdr ${n2.mac} dev eth0 nud permanent\nneigh replace ${f.nodeIP} lladdr ${n2.mac} dev eth0 nud permanent\n`).join(''),
    });

    await cluster.startAggregator(); // default interval, timeout and kinds
    const responderPid = cluster.startAgent('node-2', { listen: '0.0.0.0:9402', icmp: 'off', 'max-peers': '1' });
    peers = announce(await cluster.aggregatorGrpcTarget(), fakes);
    await waitUntil(`the aggregator to know node-2 and ${FAKE_PEERS} fake peers`, async () => (await cluster.get<{ nodes: number }>('/readyz')).nodes === FAKE_PEERS + 1, 20_000, 100);

    const runs = [await measureAgent(lab, cluster, 'bin', cluster.aggregatorAddress), await measureAgent(lab, cluster, 'plain', cluster.aggregatorAddress)];
    const row = await Promise.all(
      KINDS.map(async (k) => {
        const m = await cluster.matrix(k);
        const i = m.nodes.indexOf('node-1');
        const cells = (m.cells[i] ?? []).filter((c, j) => j !== i && c !== null);
        return `${k} ${cells.filter((c) => c?.status === 'ok').length}/${cells.length}`;
      }),
    );
    const responder = { ...memory(responderPid), ...rssSplit(responderPid) };
    const bare = await bareNodeRss(lab, n2.ns);

    const split = (m: { anon: number; file: number }) => `anon ${mb(m.anon)} + file ${mb(m.file)}`;
    console.log(`footprint: one agent (node-1) probing ${FAKE_PEERS + 1} peers at the default interval 5 s, timeout 1 s, kinds ${KINDS.join(',')} (${buildStamp()})`);
    console.log(`  peers: node-2 plus ${FAKE_PEERS} addresses on node-2 announced by raw Hello streams; each run a ${WINDOW_S} s window after ${WARMUP_ROUNDS} warm-up rounds`);
    for (const r of runs) {
      const peak = max(r.rss);
      const label = r.how === 'bin' ? `as the bin entry runs it (its #! flags: ${nodeFlags.join(' ') || 'none'})` : 'reference: `node dist/agent/main.js`, no node flags';
      console.log(`  node-1 ${label}`);
      console.log(`    work    ${r.rounds} rounds, ${r.probes.toLocaleString('en')} probes (${(r.probes / r.wallS).toFixed(1)}/s): ${r.byKind}`);
      console.log(
        `    RSS     end ${mb(r.end.rss)} (${split(r.end)}), median ${mb(median(r.rss))}, peak ${mb(peak)} (VmRSS every 1 s in the window); VmHWM since start ${mb(r.end.hwm)}; at its plan ${mb(r.atPlan)}   (target < 60 MB: ${Math.max(peak, r.end.rss) < RSS_TARGET ? 'met' : 'NOT met'})`,
      );
      console.log(`    ${r.v8}`);
      console.log(`    CPU     ${r.cpuMs} ms over ${r.wallS.toFixed(1)} s = ${((r.cpuMs / (r.wallS * 1000)) * 100).toFixed(2)} % of a core; ${((r.cpuMs / r.probes) * 1000).toFixed(0)} CPU-ms per 1,000 probes (all kinds, reports included)`);
    }
    console.log(`  node-1's row in the matrix ok: ${row.join(', ')}`);
    console.log(`  reference: the responder agent on node-2 (\`node dist/agent/main.js\`, 1 peer, answering node-1's tcp/http probes) RSS ${mb(responder.rss)} (${split(responder)})`);
    console.log(`             a bare Node.js ${process.version} process (a timer, no modules) RSS ${mb(bare.rss)} (${split(bare)})`);
    console.log(`             the floor: Node.js with the modules of its own that the agent loads (net, http, http2, tls, dgram, zlib, crypto), one HTTP/1.1 and one HTTP/2 exchange, no package: RSS ${mb(floor.rss)} (${split(floor)}), V8 heap used ${mb(floor.heap)}; with the agent's flags RSS ${mb(floorWithFlags.rss)} (${split(floorWithFlags)})`);
    console.log(`  start cost per package: loaded after the agent's other packages (${AGENT_MODULES.join(', ')}), after full GCs, median of ${MODULE_RUNS} processes (bench/footprint-modules.ts)`);
    const pad = (v: number) => `${v >= 0 ? '+' : ''}${(v / 2 ** 20).toFixed(1)}`.padStart(6);
    console.log(`    ${'package'.padEnd(26)}   RSS   anon   file  V8 heap  (MB)`);
    for (const [name, c] of costs) console.log(`    ${name.padEnd(26)} ${pad(c.rss)} ${pad(c.anon)} ${pad(c.file)} ${pad(c.heap)}    ${MODULES[name]!.what}`);
  } finally {
    peers?.close();
    await cluster.stop().catch(() => {});
    await lab.down();
  }
}
