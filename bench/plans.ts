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
import * as grpc from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AgentSessions } from '../aggregator/agents.js';
import { Collector, PlanPushStats } from '../aggregator/grpc/collector.js';
import { startGrpcServer } from '../aggregator/grpc/server.js';
import { MatrixStore } from '../aggregator/matrix/store.js';
import { NodeRegistry, type NodeIdentity } from '../aggregator/nodes/registry.js';
import { fullMeshPlanner, type Planner } from '../aggregator/plan/planner.js';
import { PlanBook } from '../aggregator/plan/plans.js';
import { systemClock } from '../common/clock.js';
import { capabilities } from '../common/vocabulary.js';
import { loadProto, type AgentMessage } from '../proto/load.js';
import { median } from './proc-stats.js';

const AGENTS = Number(process.env.BENCH_PLAN_AGENTS ?? 1000);
const CHANGES = Number(process.env.BENCH_PLAN_CHANGES ?? 5);

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
}

async function measure(planner: Planner): Promise<Run> {
  const nodes = new NodeRegistry();
  // Known before the agents connect (as from the Kubernetes API): their Hellos change nothing, so
  // setting up costs no N × N pushes, and the measured change is the only one.
  for (let i = 0; i < AGENTS; i++) nodes.upsert(identity(i), systemClock.monotonic());
  const matrix = new MatrixStore({ windowMs: 60_000, intervalMs: 5_000, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 100, staleAfterMs: 15_000 } }, systemClock.monotonic());
  const sessions = new AgentSessions(nodes, matrix, systemClock, { maxResultsPerReport: 10_000, maxResultAgeMs: 90_000 });
  const plans = new PlanBook(nodes, planner, { kinds: ['icmp', 'tcp', 'http', 'node'], intervalMs: 5_000, timeoutMs: 1_000 }, () => Date.now());
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
      const until = Date.now() + 120_000;
      while (!epochs.every((e) => e === epoch)) {
        if (Date.now() > until) throw new Error(`plans: timed out waiting for ${what} (${epochs.filter((e) => e === epoch).length} of ${AGENTS})`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await everyone(plans.currentEpoch(), 'every agent to connect and get its plan');
    const run: Run = { pushMs: [], slices: [], deliveredMs: [], encodedBytes: [], writtenBytes: [], planBytes: 0 };
    for (let c = 0; c < CHANGES; c++) {
      const before = { ...stats };
      globalThis.gc?.();
      const t0 = performance.now();
      nodes.upsert(identity(AGENTS + c), systemClock.monotonic()); // a push round to every stream starts now
      const epoch = plans.currentEpoch();
      await everyone(epoch, 'every agent to get the new epoch');
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
}
