// Ingest benchmark: what one aggregator core ingests now that each result
// updates its cell's state at once (ring counts, run, loss buckets, status
// byte, tallies, the non-ok set), and what a tracked cell costs in memory.
//   - over gRPC: simulated agents in this process (netmatrix-sim's,
//     sim/agents.ts, with the mesh of mesh.ts) stream reports over real gRPC
//     on loopback to a real aggregator process of its own, each keeping a few
//     reports unacknowledged; results per second of the aggregator's CPU (from /proc: the sender's CPU does not
//     count). References measured in the same run: how fast the aggregator's
//     Report decoder merely decodes the same bytes, the floor of its ingest
//     path, and how fast proto-loader does (what it used before).
//   - in this process, at 1,000 nodes: rounds of reports through
//     AgentSessions.reportBatch, the path a decoded Report takes, only its
//     calls timed (CPU); the first round allocates the cells.
//   - memory: heap and array buffers after gc with those 1,000 × 999 × 4
//     cells, minus the same aggregator after every node said hello.
// Both throughputs are held to DESIGN's target (≥ 100,000 results/s per core)
// and compared with 874,597/s, the figure of the gRPC form before the state
// moved to ingest.
import { loadavg, cpus } from 'node:os';
import { ManualClock } from '../common/clock.js';
import { PAIR_KINDS } from '../common/vocabulary.js';
import { decodeAgentMessage } from '../aggregator/grpc/report-wire.js';
import { loadProto } from '../proto/load.js';
import { AggregatorProcess } from './aggregator-process.js';
import type { SimAgents } from '../sim/agents.js';
import { ReportEncoder } from '../sim/report-wire.js';
import { benchAggregator, helloOf, ingestRounds, mesh, meshAgents, meshCase, meshPlan, MESH_KINDS, ReportBuilder, type Mesh } from './mesh.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const NODES = Number(process.env.BENCH_MEMORY_NODES ?? 1000);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 14);
const WINDOW = 4; // reports in flight per agent
const TARGET = 100_000;
const PREVIOUS = 874_597;
const BYTES_TARGET = 200;
const INTERVAL_MS = 5_000;
const SAMPLE_BYTES = 7; // time 2, RTT 4, outcome 1 (matrix/store.ts)

const fmt = (x: number, digits = 0) => x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const verdict = (perCore: number) => `(target ≥ ${fmt(TARGET)}: ${perCore >= TARGET ? 'met' : 'NOT met'}); ${(perCore / PREVIOUS).toFixed(2)} × the previous ${fmt(PREVIOUS)}`;

/** Results decoded per CPU-second by `decode`, over the same report bytes, in this process. */
function decodeRate(bytes: Buffer, perMsg: number, decode: (b: Buffer) => unknown): number {
  let n = 0;
  const t0 = process.cpuUsage();
  const until = performance.now() + 1500;
  while (performance.now() < until) {
    decode(bytes);
    n++;
  }
  const cpu = process.cpuUsage(t0);
  return (n * perMsg) / ((cpu.user + cpu.system) / 1e6);
}

/**
 * Decode-only references, of one report's bytes: proto-loader's decoding (what
 * the aggregator used, objects per result), and the aggregator's own Report
 * decoder (aggregator/grpc/report-wire.ts, columns), the floor of its path.
 */
function decodeReference(m: Mesh): { protobuf: number; wire: number } {
  const def = loadProto().netmatrix.v1.Collector.service.Connect;
  const bytes = new ReportEncoder(m.model, { maxMessageBytes: 64 * 1024 * 1024, maxResultsPerReport: 1_000_000 }).encode(0, meshPlan(m), 0, 1, Date.now() - 1_000, Date.now(), false, 0).messages[0]!;
  const perMsg = (m.n - 1) * MESH_KINDS.length;
  return { protobuf: decodeRate(bytes, perMsg, def.requestDeserialize), wire: decodeRate(bytes, perMsg, (b) => decodeAgentMessage(b, def.requestDeserialize)) };
}

export async function ingestBenchmark(): Promise<void> {
  const [load1] = loadavg();
  console.log(`ingest: load average ${load1!.toFixed(1)} on ${cpus().length} cores`);
  await overGrpc();
  await inProcess();
}

async function overGrpc(): Promise<void> {
  const m = mesh(AGENTS, meshCase('noise'));
  const agg = await AggregatorProcess.start({ 'grpc-max-message-bytes': String(16 * 1024 * 1024) });
  let agents: SimAgents | undefined;
  try {
    agents = meshAgents(agg.grpcAddress, m, { maxUnacked: WINDOW, streamMs: (SECONDS + 60) * 1000, intervalMs: INTERVAL_MS });
    const sim = agents;
    await sim.connect();
    await sim.ready(20_000);
    // Every agent said hello (the node set is complete); measure while they stream.
    const flood = sim.flood((SECONDS + 2) * 1000);
    await new Promise((r) => setTimeout(r, 1000));
    const r0 = (await agg.stats()).results;
    const c0 = agg.cpuMs();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const s1 = await agg.stats();
    const cpu = (agg.cpuMs() - c0) / 1000;
    const wall = (performance.now() - t0) / 1000;
    await flood;
    const results = s1.results - r0;
    const perCore = results / cpu;
    const reference = decodeReference(m);
    console.log(`  over gRPC: ${AGENTS} agents × ${(AGENTS - 1) * MESH_KINDS.length} results/report (${m.faults.name}), ${wall.toFixed(1)} s`);
    console.log(`  ingested            ${fmt(results)} results, ${fmt(results / wall)} /s wall, aggregator CPU ${cpu.toFixed(2)} s (${((cpu / wall) * 100).toFixed(0)} % of a core); ${s1.rejected} rejected`);
    console.log(`  per aggregator core ${fmt(perCore)} results/s   ${verdict(perCore)}`);
    console.log(
      `  reference           decode alone: the aggregator's Report decoder ${fmt(reference.wire)} results/s per core, ingest/decode = ${(perCore / reference.wire).toFixed(2)}; proto-loader's (objects) ${fmt(reference.protobuf)}, ingest/decode = ${(perCore / reference.protobuf).toFixed(2)}`,
    );
  } finally {
    agents?.close();
    await agg.stop();
  }
}

async function inProcess(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const m = mesh(NODES, meshCase('noise'));
  const clock = new ManualClock();
  const agg = await benchAggregator(clock);
  try {
    const records = m.names.map((_, i) => {
      const r = agg.sessions.hello(helloOf(m, i));
      if (!('record' in r)) throw new Error(`bench: hello refused: ${r.refusal.message}`);
      return r.record;
    });
    const builder = new ReportBuilder(m);
    gc?.();
    gc?.();
    const before = process.memoryUsage();
    const first = ingestRounds(agg, clock, m, records, builder, 0, 1, INTERVAL_MS);
    const rest = ingestRounds(agg, clock, m, records, builder, 1, ROUNDS, INTERVAL_MS);
    const perCore = rest.results / (rest.cpuMs / 1000);
    console.log(`  in process: ${fmt(NODES)} nodes × ${fmt((NODES - 1) * MESH_KINDS.length)} results/report through AgentSessions.reportBatch (${m.faults.name}), ${ROUNDS} rounds ${INTERVAL_MS / 1000} s apart`);
    console.log(`  first round         ${fmt(first.results / (first.cpuMs / 1000))} results/s per core (the cells allocated)`);
    console.log(`  per aggregator core ${fmt(perCore)} results/s, rounds 2–${ROUNDS} (${fmt(rest.results)} results, ${fmt(rest.cpuMs / 1000, 2)} CPU-s)   ${verdict(perCore)}`);
    if (!gc) {
      console.log('memory: run node with --expose-gc (npm run bench does)');
      return;
    }
    gc();
    gc();
    const after = process.memoryUsage();
    const bytes = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    const cells = agg.store.trackedCells;
    const perCell = bytes / cells;
    const floor = agg.store.ring * SAMPLE_BYTES;
    console.log(`memory: ${fmt(NODES)} nodes full mesh × ${MESH_KINDS.length} kinds = ${fmt(cells)} cells, window 60 s at ${INTERVAL_MS / 1000} s (${agg.store.ring} samples/cell); heap + array buffers after gc, minus the aggregator before the first report`);
    console.log(`  per tracked cell    ${fmt(perCell)} bytes   (target ≤ ${BYTES_TARGET}: ${perCell <= BYTES_TARGET ? 'met' : 'NOT met'}); per node pair (${MESH_KINDS.length} kinds) ${fmt(perCell * MESH_KINDS.length)} bytes; heap ${fmt((after.heapUsed - before.heapUsed) / cells)}, array buffers ${fmt((after.arrayBuffers - before.arrayBuffers) / cells)}`);
    console.log(`  reference           the samples themselves need ${floor} bytes/cell; store/samples = ${(perCell / floor).toFixed(2)}`);
    console.log(`  1,000 nodes × ${PAIR_KINDS.length} kinds full mesh would take ~${((perCell * 1000 * 999 * PAIR_KINDS.length) / 2 ** 30).toFixed(2)} GiB`);
  } finally {
    await agg.stop();
  }
}
