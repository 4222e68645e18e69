// Plan push benchmark: what one node-set change costs the aggregator when
// 1,000 agents hold a stream to it (full mesh, real gRPC on loopback, one
// process). The change is a node joining (no agent of its own, as the
// Kubernetes API adds one), pushed at once (no debounce).
//
// shared     what the aggregator does: one plan for the epoch, listing every
//            node, encoded once; the same bytes written to every stream.
// reference  measured in the same run: per-agent encoding, as before plans
//            were shared: a plan object per agent with its N−1 peers, encoded
//            per agent (the same collector with a per-agent full-mesh planner;
//            the old per-agent plan comparison, a field walk, is not counted,
//            so the ratio understates the old cost a little).
//
// "push" is the collector's own time for the change, as its debug log reports
// it (busyMs: plans built, encoded and handed to grpc-js for every stream,
// which includes grpc-js copying each message behind its 5-byte frame header),
// spread over event-loop turns of at most ~10 ms ("slices"). "delivered" is
// until every agent has the new epoch; the agents are in this process too, so
// their receiving counts in it (they read only the epoch, not the whole plan).
// BENCH_PLAN_AGENTS (default 1000) and BENCH_PLAN_CHANGES (default 5, median
// printed).
//
// sampled    then the sampled plan of a large cluster (--full-mesh-max 200,
//            --peers-per-round 64, --min-probers 3, --suspect-probers-max 256)
//            at BENCH_PLAN_SAMPLED_NODES nodes (default 5000), of which
//            BENCH_PLAN_SAMPLED_STREAMS (default 1000) have an agent streaming:
//            5,000 streams of a 300 KiB plan in one process did not all connect
//            within two minutes on a shared 2-core machine, so the cost per
//            agent is measured and multiplied out to every node;
//            every agent gets the directory (every node) and its own Sampling
//            part; the directory is encoded once per epoch, the part per agent.
//            Two changes are measured: a node joining, and a node becoming a
//            suspect (its agent went away): each is a new epoch pushed to
//            every agent. Also the layout's own time (plan/sampled.ts) and,
//            for scale, the bytes a full mesh would write at that size.
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AgentSessions } from '../aggregator/agents.js';
import { Collector, PlanPushStats } from '../aggregator/grpc/collector.js';
import { encodePlan } from '../aggregator/grpc/plan-wire.js';
import { startGrpcServer } from '../aggregator/grpc/server.js';
import { MatrixStore } from '../aggregator/matrix/store.js';
import { NodeRegistry, type NodeIdentity } from '../aggregator/nodes/registry.js';
import { fullMeshPlanner, sampledPlanner, type Planner } from '../aggregator/plan/planner.js';
import { PlanBook } from '../aggregator/plan/plans.js';
import { sampledLayout } from '../aggregator/plan/sampled.js';
import { systemClock } from '../common/clock.js';
import { capabilities } from '../common/vocabulary.js';
import { loadProto, type AgentMessage } from '../proto/load.js';
import { median } from './proc-stats.js';

const AGENTS = Number(process.env.BENCH_PLAN_AGENTS ?? 1000);
const CHANGES = Number(process.env.BENCH_PLAN_CHANGES ?? 5);
const SAMPLED_NODES = Number(process.env.BENCH_PLAN_SAMPLED_NODES ?? 5000);
const SAMPLED_STREAMS = Number(process.env.BENCH_PLAN_SAMPLED_STREAMS ?? Math.min(1000, SAMPLED_NODES));
const SAMPLED_CHANGES = Number(process.env.BENCH_PLAN_SAMPLED_CHANGES ?? 3);
const SAMPLING = { peersPerRound: 64, minProbers: 3, suspectProbersMax: 256 };

/** The plan every agent would get before plans were shared: its own, without itself. */
const perAgentFullMesh: Planner = {
  name: 'per-agent full mesh (reference)',
  scope: 'per-agent',
  peersFor: (self, nodes) => nodes.filter((n) => n.name !== self.name),
};

/** A node as a cloud cluster names it; addresses from the documentation range (nothing is sent to them). */
function identity(i: number): NodeIdentity {
  return {
    name: `ip-10-0-${i >> 8}-${i & 255}.ec2.internal`,
    zone: `eu-west-1${'abc'[i % 3]}`,
    podIPs: [`2001:db8:1::${i.toString(16)}`],
    nodeIPs: [`2001:db8:2::${i.toString(16)}`],
    responderPort: 9402,
  };
}

/** The epoch of an encoded AggregatorMessage carrying a plan (field 1, and its field 1), read without decoding the peers. */
function planEpoch(b: Buffer): number | undefined {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = b[i++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
  };
  if (b[i++] !== 0x0a) return undefined; // not a plan (an ack)
  varint(); // the plan's length
  if (b[i++] !== 0x08) return undefined;
  return varint();
}

interface Run {
  readonly pushMs: number[];
  readonly slices: number[];
  readonly deliveredMs: number[];
  readonly encodedBytes: number[];
  readonly writtenBytes: number[];
  readonly planBytes: number;
  /** A sampled plan's directory: the part encoded once per epoch (0 otherwise). */
  directoryBytes: number;
  /** Streams moved to the new epoch without a write (a suspect's change: not its probers). */
  readonly unchanged: number[];
}

interface MeasureOptions {
  /** Nodes in the registry, and how many of them have an agent streaming (the first ones). */
  readonly nodes: number;
  readonly streams: number;
  readonly changes: number;
  /** What changes: a node joins, or a node's agent goes away (a suspect of a sampled plan). */
  readonly change: 'join' | 'suspect';
}

async function measure(planner: Planner, o: MeasureOptions = { nodes: AGENTS, streams: AGENTS, changes: CHANGES, change: 'join' }): Promise<Run> {
  const AGENTS = o.streams;
  const nodes = new NodeRegistry();
  // Known before the agents connect (as from the Kubernetes API): their Hellos change nothing, so
  // setting up costs no N × N pushes, and the measured change is the only one.
  for (let i = 0; i < o.nodes; i++) nodes.upsert(identity(i), systemClock.monotonic());
  const suspects = { version: 0, names: new Set<string>() };
  const matrix = new MatrixStore({ windowMs: 60_000, intervalMs: 5_000, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 100, staleAfterMs: 15_000 } }, systemClock.monotonic());
  const sessions = new AgentSessions(nodes, matrix, systemClock, { maxResultsPerReport: 10_000, maxResultAgeMs: 90_000 });
  const plans = new PlanBook(nodes, planner, { kinds: ['icmp', 'tcp', 'http', 'node'], intervalMs: 5_000, timeoutMs: 1_000 }, () => Date.now(), suspects);
  const stats = new PlanPushStats();
  // The collector's debug log says what each push round cost it.
  const rounds: { busyMs: number; slices: number; epoch: number }[] = [];
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line.includes('"plans pushed"')) rounds.push(JSON.parse(line) as (typeof rounds)[number]);
        cb();
      },
    }),
  );
  const collector = new Collector({ sessions, plans, nodes, log, planStats: stats, planDebounceMs: 0, stallTimeoutMs: 600_000 });
  const server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, handlers: collector.handlers, log, maxMessageBytes: 16 * 1024 * 1024 });
  const def = loadProto().netmatrix.v1.Collector.service.Connect;
  const epochs = new Float64Array(AGENTS);
  const clients: grpc.Client[] = [];
  const calls: grpc.ClientDuplexStream<AgentMessage, Buffer>[] = [];
  try {
    for (let i = 0; i < AGENTS; i++) {
      // One connection per agent, as on a cluster.
      const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
      clients.push(client);
      const call = client.makeBidiStreamRequest(def.path, def.requestSerialize, (b: Buffer) => b, new grpc.Metadata(), { deadline: Date.now() + 600_000 });
      call.on('data', (b: Buffer) => {
        const e = planEpoch(b);
        if (e !== undefined) epochs[i] = e;
      });
      call.on('error', () => {});
      calls.push(call);
      const id = identity(i);
      call.write({ hello: { nodeName: id.name, podIps: [...id.podIPs], nodeIps: [...id.nodeIPs], zone: id.zone, agentVersion: 'bench', capabilities: [capabilities.toProto('tcp')], responderPort: 9402, instanceId: `bench-${i}` } });
    }
    const everyone = async (epoch: number, what: string) => {
      const until = Date.now() + Math.max(120_000, 60 * AGENTS);
      while (!epochs.every((e) => e === epoch)) {
        if (Date.now() > until) throw new Error(`plans: timed out waiting for ${what} (${epochs.filter((e) => e === epoch).length} of ${AGENTS})`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await everyone(plans.currentEpoch(), 'every agent to connect and get its plan');
    const run: Run = { pushMs: [], slices: [], deliveredMs: [], encodedBytes: [], writtenBytes: [], planBytes: 0, directoryBytes: 0, unchanged: [] };
    for (let c = 0; c < o.changes; c++) {
      const before = { ...stats };
      globalThis.gc?.();
      const t0 = performance.now();
      if (o.change === 'join') nodes.upsert(identity(o.nodes + c), systemClock.monotonic()); // a push round to every stream starts now
      else {
        // As server.ts does when an evaluation changes the suspects.
        suspects.names.add(identity(o.nodes - 1 - c).name);
        suspects.version++;
        collector.refresh();
      }
      const epoch = plans.currentEpoch();
      if (o.change === 'join') await everyone(epoch, 'every agent to get the new epoch');
      else {
        // A suspect is written to the agents whose plan it changes; the other streams move to its epoch without a write.
        const until = Date.now() + 120_000;
        while (stats.pushes - before.pushes + stats.unchanged - before.unchanged < AGENTS || epochs.filter((e) => e === epoch).length < stats.pushes - before.pushes) {
          if (Date.now() > until) throw new Error('plans: timed out waiting for the suspect\'s probers to get the new epoch');
          await new Promise((r) => setTimeout(r, 2));
        }
        run.unchanged.push(stats.unchanged - before.unchanged);
      }
      run.deliveredMs.push(performance.now() - t0);
      const round = rounds.find((r) => r.epoch === epoch);
      if (!round) throw new Error('plans: no "plans pushed" log line for the change');
      run.pushMs.push(round.busyMs);
      run.slices.push(round.slices);
      const encodes = stats.encodes - before.encodes;
      const written = stats.bytes - before.bytes;
      run.writtenBytes.push(written);
      // Each encoding is one plan's size: the bytes written to one stream.
      run.encodedBytes.push((encodes * written) / (stats.pushes - before.pushes));
      Object.assign(run, { planBytes: written / (stats.pushes - before.pushes) });
      if (plans.isSampled) {
        // One directory per epoch, then a Sampling part per agent (grpc/plan-wire.ts).
        const { sampling: _, ...directory } = plans.planFor(nodes.list()[0]!);
        run.directoryBytes = encodePlan(directory).length;
        run.encodedBytes[run.encodedBytes.length - 1] = run.directoryBytes + encodes * (run.planBytes - run.directoryBytes);
      }
    }
    return run;
  } finally {
    for (const call of calls) call.cancel();
    for (const client of clients) client.close();
    collector.close();
    await server.close(2_000);
  }
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** The layout of a sampled plan at `n` nodes, timed (median of 5). */
function layoutCost(n: number): { ms: number; maxFixed: number; meanFixed: number } {
  const nodes = Array.from({ length: n }, (_, i) => identity(i));
  const times: number[] = [];
  let layout = sampledLayout(nodes, SAMPLING, [identity(1).name]);
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    layout = sampledLayout(nodes, SAMPLING, [identity(1).name]);
    times.push(performance.now() - t0);
  }
  return { ms: median(times), maxFixed: layout.stats.maxFixed, meanFixed: layout.fixed.reduce((a, f) => a + f.length, 0) / n };
}

export async function planBenchmark(): Promise<void> {
  console.log(`plans: full mesh, ${AGENTS.toLocaleString('en')} agents over real gRPC on loopback (one connection each, one process), a node joins; median of ${CHANGES} changes`);
  const shared = await measure(fullMeshPlanner);
  const reference = await measure(perAgentFullMesh);
  const row = (name: string, r: Run) =>
    console.log(
      `  ${name} push ${median(r.pushMs).toFixed(1)} ms in ${median(r.slices)} slices (${((1000 * median(r.pushMs)) / AGENTS).toFixed(1)} µs per agent), delivered to every agent in ${median(r.deliveredMs).toFixed(0)} ms; encoded ${median(r.encodedBytes) >= 1024 * 1024 ? mb(median(r.encodedBytes)) : kb(median(r.encodedBytes))}, written ${mb(median(r.writtenBytes))} (${kb(r.planBytes)} per agent)`,
    );
  row('shared plan           ', shared);
  row('per-agent (reference) ', reference);
  console.log(
    `  shared / per-agent: push ${(median(shared.pushMs) / median(reference.pushMs)).toFixed(3)} ×, delivered ${(median(shared.deliveredMs) / median(reference.deliveredMs)).toFixed(2)} ×, bytes encoded ${(median(shared.encodedBytes) / median(reference.encodedBytes)).toFixed(4)} ×, bytes written ${(median(shared.writtenBytes) / median(reference.writtenBytes)).toFixed(3)} × (the shared plan also names the agent itself)`,
  );

  const planner = sampledPlanner(200, SAMPLING);
  const lay = layoutCost(SAMPLED_NODES);
  console.log(
    `plans: sampled (--peers-per-round ${SAMPLING.peersPerRound}, --min-probers ${SAMPLING.minProbers}), ${SAMPLED_NODES.toLocaleString('en')} nodes, ${SAMPLED_STREAMS.toLocaleString('en')} agents streaming; median of ${SAMPLED_CHANGES} changes each`,
  );
  console.log(`  layout (plan/sampled.ts, one suspect) ${lay.ms.toFixed(1)} ms per epoch; fixed peers per agent ${lay.meanFixed.toFixed(2)} on average, ${lay.maxFixed} at most`);
  const opts = { nodes: SAMPLED_NODES, streams: SAMPLED_STREAMS, changes: SAMPLED_CHANGES };
  const joins = await measure(planner, { ...opts, change: 'join' });
  const suspect = await measure(planner, { ...opts, change: 'suspect' });
  const sampledRow = (name: string, r: Run) =>
    console.log(
      `  ${name} push ${median(r.pushMs).toFixed(0)} ms in ${median(r.slices)} slices (${((1000 * median(r.pushMs)) / SAMPLED_STREAMS).toFixed(1)} µs per agent), delivered to every agent in ${median(r.deliveredMs).toFixed(0)} ms; encoded ${mb(median(r.encodedBytes))} (the directory once, ${kb(r.directoryBytes)}, and ${(r.planBytes - r.directoryBytes).toFixed(0)} bytes per agent), written ${mb(median(r.writtenBytes))} (${kb(r.planBytes)} per agent)`,
    );
  sampledRow('a node joins        ', joins);
  sampledRow('a suspect more      ', suspect);
  console.log(`  a suspect more: written to ${SAMPLED_STREAMS - median(suspect.unchanged)} of ${SAMPLED_STREAMS} agents (its probers among them), the others moved to the epoch without a write`);
  // A full mesh at this size would write the same directory to every agent: its bytes, for scale (not run).
  const fullMeshBytes = SAMPLED_STREAMS * joins.planBytes;
  const scale = SAMPLED_NODES / SAMPLED_STREAMS;
  console.log(
    `  with an agent on every one of the ${SAMPLED_NODES.toLocaleString('en')} nodes (× ${scale.toFixed(1)}): push ≈ ${((median(joins.pushMs) * scale) / 1000).toFixed(1)} s of the collector's time per change, ${mb(median(joins.writtenBytes) * scale)} written (a full mesh of that size would write about the same, ${mb(fullMeshBytes * scale)}: every agent needs every address once per turn of the ring); between changes nothing is pushed`,
  );
  console.log(`  probes per agent and round ${SAMPLING.peersPerRound} instead of ${(SAMPLED_NODES - 1).toLocaleString('en')} (${((SAMPLED_NODES - 1) / SAMPLING.peersPerRound).toFixed(0)} × fewer)`);
}
