// Ingest benchmark: simulated agents in this process stream reports over real
// gRPC on loopback to a real netmatrix-aggregator process. Prints results
// ingested per second per aggregator core (CPU time from /proc, so the sender's
// own CPU does not count), against a reference measured in the same run: how
// fast this runtime merely decodes the same Report bytes (the floor any ingest
// path pays). Then memory per tracked cell of the matrix store, against the
// physical minimum of its samples.
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MatrixStore } from '../aggregator/matrix/store.js';
import { PAIR_KINDS } from '../common/vocabulary.js';
import { loadProto, type AgentMessage, type AggregatorMessage__Output, type WireProbeResult } from '../proto/load.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const WINDOW = 4; // reports in flight per agent
const KINDS = ['PROBE_KIND_ICMP', 'PROBE_KIND_TCP', 'PROBE_KIND_HTTP', 'PROBE_KIND_NODE'] as const;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${String(i).padStart(4, '0')}`);
}

function reportResults(self: number, all: string[], now: number): WireProbeResult[] {
  const out: WireProbeResult[] = [];
  for (let j = 0; j < all.length; j++) {
    if (j === self) continue;
    for (const kind of KINDS) {
      out.push({ kind, targetNode: all[j]!, targetIp: `10.0.${j >> 8}.${j & 255}`, family: 'ADDRESS_FAMILY_IPV4', outcome: 'OUTCOME_OK', rttUs: 200 + ((j * 7) % 300), timestampMs: now });
    }
  }
  return out;
}

async function waitHttp(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(500) })).ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`aggregator not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Decode-only reference: protobuf decode of the same messages, in this process. */
function decodeReference(all: string[]): number {
  const def = loadProto().netmatrix.v1.Collector.service.Connect;
  const msg: AgentMessage = { report: { sequence: 1, round: 1, sentAtMs: Date.now(), results: reportResults(0, all, Date.now()) } };
  const bytes = def.requestSerialize(msg);
  const perMsg = msg.report!.results!.length;
  let n = 0;
  const t0 = process.cpuUsage();
  const until = performance.now() + 1500;
  while (performance.now() < until) {
    def.requestDeserialize(bytes);
    n++;
  }
  const cpu = process.cpuUsage(t0);
  return (n * perMsg) / ((cpu.user + cpu.system) / 1e6);
}

export async function ingestBenchmark(): Promise<void> {
  const grpcPort = 19400 + Math.floor(Math.random() * 500);
  const httpPort = grpcPort + 1000;
  const url = `http://127.0.0.1:${httpPort}`;
  const main = fileURLToPath(new URL('../aggregator/main.js', import.meta.url));
  const proc = spawn(process.execPath, [main], {
    env: { ...process.env, NETMATRIX_GRPC_LISTEN: `127.0.0.1:${grpcPort}`, NETMATRIX_HTTP_LISTEN: `127.0.0.1:${httpPort}`, NETMATRIX_LOG_LEVEL: 'warn', NETMATRIX_DNS_SERVERS: 'none', NETMATRIX_KUBERNETES: 'off', NETMATRIX_HTTP_RATE_LIMIT: '1000000', NETMATRIX_GRPC_MAX_MESSAGE_BYTES: String(16 * 1024 * 1024) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const all = names(AGENTS);
  const clients: grpc.Client[] = [];
  try {
    await waitHttp(url, 10_000);
    const Collector = loadProto().netmatrix.v1.Collector;
    let stop = false;
    const streams = all.map(async (name, i) => {
      const client = new Collector(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 16 * 1024 * 1024 });
      clients.push(client);
      const call = client.Connect({ deadline: Date.now() + (SECONDS + 30) * 1000 });
      call.on('error', () => {});
      let acked = 0;
      let seq = 0;
      let wake: (() => void) | undefined;
      call.on('data', (m: AggregatorMessage__Output) => {
        if (m.ack) acked = m.ack.sequence;
        wake?.();
      });
      call.write({ hello: { nodeName: name, podIps: [`10.0.${i >> 8}.${i & 255}`], nodeIps: [], zone: '', agentVersion: 'bench', capabilities: [], responderPort: 9402, instanceId: `bench-${i}` } });
      // The results of one report are built once; only the header changes.
      const results = reportResults(i, all, Date.now());
      while (!stop) {
        if (seq - acked >= WINDOW) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        seq++;
        call.write({ report: { sequence: seq, round: seq, sentAtMs: Date.now(), results } });
      }
      call.end();
    });
    // Let every agent say hello (the node set grows), then measure.
    await new Promise((r) => setTimeout(r, 1000));
    const r0 = await metric(url, 'netmatrix_results_ingested_total');
    const c0 = cpuSeconds(proc.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const r1 = await metric(url, 'netmatrix_results_ingested_total');
    const c1 = cpuSeconds(proc.pid!);
    const wall = (performance.now() - t0) / 1000;
    stop = true;
    await Promise.race([Promise.all(streams), new Promise((r) => setTimeout(r, 3000))]);
    const results = r1 - r0;
    const cpu = c1 - c0;
    const perCore = results / cpu;
    const reference = decodeReference(all);
    console.log(`ingest: ${AGENTS} agents × ${(AGENTS - 1) * KINDS.length} results/report over gRPC, ${wall.toFixed(1)} s`);
    console.log(`  ingested            ${results.toLocaleString('en')} results, ${(results / wall).toFixed(0)} /s wall, aggregator CPU ${cpu.toFixed(2)} s (${((cpu / wall) * 100).toFixed(0)} % of a core)`);
    console.log(`  per aggregator core ${perCore.toFixed(0)} results/s   (target ≥ 100000: ${perCore >= 100_000 ? 'met' : 'NOT met'})`);
    console.log(`  reference           protobuf decode alone ${reference.toFixed(0)} results/s per core; ingest/decode = ${(perCore / reference).toFixed(2)}`);
  } finally {
    for (const c of clients) c.close();
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

export function memoryBenchmark(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('memory: run node with --expose-gc (npm run bench does)');
    return;
  }
  const nodes = Number(process.env.BENCH_MEMORY_NODES ?? 500);
  const kinds = 4;
  const opts = { windowMs: 60_000, intervalMs: 5_000, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 } };
  gc();
  const before = process.memoryUsage();
  const store = new MatrixStore(opts, 0);
  // Fill every window: ring-size results per cell.
  for (let round = 0; round < store.ring; round++) {
    const at = round * 5_000;
    for (let s = 0; s < nodes; s++) for (let d = 0; d < nodes; d++) if (s !== d) for (let k = 0; k < kinds; k++) store.record(s, d, k, 0, 0, 250, at);
  }
  gc();
  const after = process.memoryUsage();
  const bytes = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  const cells = store.trackedCells;
  const perCell = bytes / cells;
  const floor = store.ring * 9; // 4 B time + 4 B RTT + 1 B outcome per sample
  console.log(`memory: ${nodes} nodes full mesh × ${kinds} kinds = ${cells.toLocaleString('en')} cells, window ${opts.windowMs / 1000}s at ${opts.intervalMs / 1000}s (${store.ring} samples/cell)`);
  console.log(`  per tracked cell    ${perCell.toFixed(0)} bytes   (target < 200: ${perCell < 200 ? 'met' : 'NOT met'}); per node pair (${kinds} kinds) ${(perCell * kinds).toFixed(0)} bytes`);
  console.log(`  reference           the samples themselves need ${floor} bytes/cell; store/samples = ${(perCell / floor).toFixed(2)}`);
  console.log(`  1,000 nodes × ${PAIR_KINDS.length} kinds full mesh would take ~${((perCell * 1000 * 999 * PAIR_KINDS.length) / 2 ** 30).toFixed(2)} GiB`);
}
