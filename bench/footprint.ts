// Agent footprint benchmark: RSS and CPU of ONE agent probing 100 peers at the
// default interval (5 s) and timeout (1 s), kinds icmp,tcp,http,node (the
// aggregator's defaults). The 100 peers are made cheap, not simulated: a 2-node
// lab where node-2 carries 100 extra pod IPs and 100 extra node IPs on its eth0
// (node-1 has permanent neighbour entries for them) and runs one responder on
// 0.0.0.0:9402 (an agent with --icmp off --max-peers 1), so every probe of
// node-1 crosses the bridge and is answered by a real kernel and a real
// responder. This process announces the 100 peers to the aggregator with raw
// gRPC Hello streams through the lab's forwarder, so node-1's plan holds 101
// peers. Target (DESIGN.md): RSS < 60 MB.
import * as grpc from '@grpc/grpc-js';
import { loadProto, type AggregatorMessage__Output, type Hello } from '../proto/load.js';
import { createLab, type Lab } from '../test/e2e/lab/lab.js';
import { waitUntil } from '../test/e2e/lab/wait.js';
import { assertBuilt, buildStamp, LabCluster, metricSum, metricValue } from './lab-cluster.js';
import { cpuMs, max, mb, median, memory } from './proc-stats.js';

const FAKE_PEERS = 100;
/** Fake peer i (0-based) has pod IP 198.18.0.(100+i) and node IP 198.18.1.(100+i): clear of the lab's own hosts. */
const FIRST_FAKE_HOST = 100;
const WINDOW_S = Math.max(60, Number(process.env.BENCH_FOOTPRINT_SECONDS ?? 60));
const WARMUP_ROUNDS = 3;
const RSS_TARGET = 60 * 2 ** 20;
const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;

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
async function bareNodeRss(lab: Lab, ns: string): Promise<number> {
  const child = lab.spawn(ns, [process.execPath, '-e', "process.stdout.write('ready\\n'); setInterval(() => {}, 1000); process.stdin.on('end', () => process.exit(0)).resume();"], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bare node process did not start within 10 s')), 10_000);
      child.stdout?.once('data', () => (clearTimeout(t), resolve()));
      child.once('exit', () => (clearTimeout(t), reject(new Error('bare node process exited'))));
    });
    return memory(child.pid!).rss;
  } finally {
    child.kill('SIGTERM');
  }
}

export async function footprintBenchmark(): Promise<void> {
  assertBuilt();
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
    const pid = cluster.startAgent('node-1');
    const metrics = () => cluster.agentMetrics('node-1');
    await waitUntil(`node-1's plan to hold ${FAKE_PEERS + 1} peers`, async () => metricValue(await metrics(), 'netmatrix_agent_peers') === FAKE_PEERS + 1, 20_000, 200);
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
    const wall = (performance.now() - t0) / 1000;
    const end = memory(pid);
    const responder = memory(responderPid);
    const bare = await bareNodeRss(lab, n2.ns);

    const delta = (kind: string, outcome?: string) => {
      const labels = outcome ? `kind="${kind}",outcome="${outcome}"` : `kind="${kind}"`;
      return metricSum(m1, 'netmatrix_agent_probes_total', labels) - metricSum(m0, 'netmatrix_agent_probes_total', labels);
    };
    const probes = KINDS.reduce((s, k) => s + delta(k), 0);
    const rounds = metricValue(m1, 'netmatrix_agent_rounds_total') - metricValue(m0, 'netmatrix_agent_rounds_total');
    const cpu = c1 - c0;
    const peak = max(rss);
    const row = await Promise.all(
      KINDS.map(async (k) => {
        const m = await cluster.matrix(k);
        const i = m.nodes.indexOf('node-1');
        const cells = (m.cells[i] ?? []).filter((c, j) => j !== i && c !== null);
        return `${k} ${cells.filter((c) => c?.status === 'ok').length}/${cells.length}`;
      }),
    );

    console.log(`footprint: one agent (node-1) probing ${FAKE_PEERS + 1} peers at the default interval 5 s, timeout 1 s, kinds ${KINDS.join(',')} (${buildStamp()})`);
    console.log(`  peers: node-2 plus ${FAKE_PEERS} addresses on node-2 announced by raw Hello streams; ${wall.toFixed(1)} s window after ${WARMUP_ROUNDS} warm-up rounds`);
    console.log(
      `  work    ${rounds} rounds, ${probes.toLocaleString('en')} probes (${(probes / wall).toFixed(1)}/s): ${KINDS.map((k) => `${k} ${delta(k, 'ok')}/${delta(k)} ok`).join(', ')}; node-1's row in the matrix ok: ${row.join(', ')}`,
    );
    console.log(
      `  RSS     end ${mb(end.rss)}, median ${mb(median(rss))}, peak ${mb(peak)} (VmRSS every 1 s in the window); VmHWM since start ${mb(end.hwm)}   (target < 60 MB: ${Math.max(peak, end.rss) < RSS_TARGET ? 'met' : 'NOT met'})`,
    );
    console.log(`  CPU     ${cpu} ms over ${wall.toFixed(1)} s = ${((cpu / (wall * 1000)) * 100).toFixed(2)} % of a core; ${((cpu / probes) * 1000).toFixed(0)} CPU-ms per 1,000 probes (all kinds, reports included)`);
    console.log(`  reference: the responder agent on node-2 (same binary, 1 peer, answering node-1's tcp/http probes) RSS ${mb(responder.rss)}; node-1/node-2 = ${(end.rss / responder.rss).toFixed(2)}`);
    console.log(`             a bare Node.js ${process.version} process (a timer, no modules) RSS ${mb(bare)}: the floor of any agent written for this runtime`);
  } finally {
    peers?.close();
    await cluster.stop().catch(() => {});
    await lab.down();
  }
}
