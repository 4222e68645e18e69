// The simulated full mesh the evaluation and ingest benchmarks share: N nodes
// in 4 zones, 4 probe kinds, and what every probe sees round by round, in one
// of two cases:
//   - `noise`: every cell loses 2 % of its probes at random (background
//     noise: the non-ok cells are the chance runs and coincidences the cell
//     rule lets through);
//   - `bad-cells`: 2 % of the cells are bad all along (a hash of src, dst and
//     kind picks them): a third answer refused/unreachable every round
//     (failing), a third lose 30 % of their probes (lossy), a third answer in
//     80 ms (slow, over the 50 ms threshold); every other cell loses 0.5 %
//     (DESIGN's background loss). A stress case: tens of thousands of broken
//     paths at once.
// In both, one node dies after the second round: its agent stops reporting and
// every probe towards it times out. The nodes, their addresses and the fault
// model are netmatrix-sim's (sim/nodes.ts, sim/faults.ts): outcomes are a pure
// function of (src, dst, kind, round), so every run and every consumer sees
// the same mesh, in process (ReportBuilder) or over gRPC (meshAgents).
import * as grpc from '@grpc/grpc-js';
import { parseAggregatorConfig } from '../aggregator/config.js';
import { startAggregator, type RunningAggregator } from '../aggregator/server.js';
import type { HelloInput } from '../aggregator/agents.js';
import { ReportBatch } from '../aggregator/report-batch.js';
import type { Clock } from '../common/clock.js';
import { silentLogger } from '../common/logger.js';
import { addressFamilies, probeKinds, type PairKind } from '../common/vocabulary.js';
import { SimAgents, simNow } from '../sim/agents.js';
import { FaultModel, kindIndex, type Probe } from '../sim/faults.js';
import { helloOf as simHello, nodeIp, podIp, simNodes, type SimNodes } from '../sim/nodes.js';
import type { SimPlan } from '../sim/plan.js';

export type { Probe } from '../sim/faults.js';

export const MESH_KINDS: readonly PairKind[] = ['icmp', 'tcp', 'http', 'node'];
export const MESH_ZONES = 4;

export interface MeshCase {
  readonly name: string;
  /** Share of the cells that are bad all along. */
  readonly badShare: number;
  /** Random loss of every other cell. */
  readonly backgroundLoss: number;
}

export const MESH_CASES: Readonly<Record<string, MeshCase>> = {
  noise: { name: 'noise', badShare: 0, backgroundLoss: 0.02 },
  'bad-cells': { name: 'bad-cells', badShare: 0.02, backgroundLoss: 0.005 },
};

export function meshCase(name: string): MeshCase {
  const c = MESH_CASES[name];
  if (!c) throw new Error(`bench: no mesh case ${JSON.stringify(name)} (have ${Object.keys(MESH_CASES).join(', ')})`);
  return c;
}

/** One line saying what the case is. */
export function describeCase(c: MeshCase): string {
  return c.badShare > 0
    ? `${c.badShare * 100} % of cells bad all along (⅓ refused/unreachable, ⅓ 30 % loss, ⅓ 80 ms), ${c.backgroundLoss * 100} % random loss elsewhere, one node dead`
    : `${c.backgroundLoss * 100} % random loss on every cell, one node dead`;
}

/** The dead node's agent sends its last report in this round (0-based). */
export const DEAD_LAST_ROUND = 1;

export interface Mesh {
  readonly n: number;
  readonly faults: MeshCase;
  readonly nodes: SimNodes;
  readonly names: readonly string[];
  readonly model: FaultModel;
  /** Index of the node that dies. */
  readonly dead: number;
}

export function mesh(n: number, faults: MeshCase): Mesh {
  const nodes = simNodes(n, MESH_ZONES, 'node');
  const model = new FaultModel(n, nodes.zoneOf, { dead: [n - 1], partitions: [], loss: new Map(), slowMs: new Map(), backgroundLoss: faults.backgroundLoss, badCells: faults.badShare, seed: 1 });
  return { n, faults, nodes, names: nodes.names, model, dead: n - 1 };
}

export { nodeIp, podIp };

export function helloOf(m: Mesh, i: number): HelloInput {
  return simHello(m.nodes, i, `bench-${i}`, 'bench') as HelloInput;
}

const MESH_KIND_INDEX = MESH_KINDS.map(kindIndex);

/** What src sees probing dst with MESH_KINDS[k] in `round`; writes into `out` (no allocation). */
export function probe(m: Mesh, s: number, d: number, k: number, round: number, out: Probe): Probe {
  return m.model.probe(s, d, MESH_KIND_INDEX[k]!, round, round > DEAD_LAST_ROUND, 0, out);
}

/** Whether node s reports in `round`. */
export const reports = (m: Mesh, s: number, round: number) => s !== m.dead || round <= DEAD_LAST_ROUND;

/** The plan the aggregator sends with the default settings of the benchmarks: every node, MESH_KINDS, no DNS. */
export function meshPlan(m: Mesh, intervalMs = 5_000): SimPlan {
  return { epoch: 1, intervalMs, timeoutMs: 1_000, kinds: MESH_KIND_INDEX, peers: m.names.map((name, index) => ({ name, index, podIp: podIp(index), nodeIp: nodeIp(index) })), dns: [], bytes: 0 };
}

/**
 * The mesh's agents over real gRPC to `address` (sim/agents.ts), one channel
 * and stream each, following the plan the aggregator sends, each keeping at
 * most `maxUnacked` reports unacknowledged. The dead node's agent goes after
 * two rounds of the run (its timeline is set when `run` starts); streams last
 * `streamMs` at most.
 */
export function meshAgents(address: string, m: Mesh, o: { maxUnacked: number; streamMs: number; intervalMs: number }): SimAgents {
  return new SimAgents({
    address,
    nodes: m.nodes,
    model: m.model,
    shard: m.names.map((_, i) => i),
    credentials: { channel: grpc.credentials.createInsecure() },
    limits: { maxMessageBytes: 64 * 1024 * 1024, maxResultsPerReport: 1_000_000 },
    maxUnacked: o.maxUnacked,
    connectTimeoutMs: 60_000,
    ...meshTimeline(o.streamMs, o.intervalMs),
    jitterMs: 0,
    runId: 'bench',
    agentVersion: 'bench',
  });
}

/** The timeline of a run of meshAgents that starts now and lasts `durationMs`: the dead node goes after two rounds. */
export function meshTimeline(durationMs: number, intervalMs: number) {
  const now = simNow();
  return { startAt: now, faultAt: now + (DEAD_LAST_ROUND + 1) * intervalMs, endAt: now + durationMs };
}

/**
 * One report's results as the gRPC deserializer decodes them (a ReportBatch:
 * wire numbers in columns, the mesh's names as the targets), built once and
 * rewritten in place for every source and round: the aggregator never keeps
 * a batch, and reusing it keeps the sender's garbage out of the heap and CPU
 * figures.
 */
export class ReportBuilder {
  readonly batch: ReportBatch;
  private readonly scratch: Probe = { outcome: 0, rttUs: 0 };
  private readonly kindWire = MESH_KINDS.map((k) => probeKinds.words.indexOf(k) + 1);

  constructor(private readonly m: Mesh) {
    this.batch = new ReportBatch((m.n - 1) * MESH_KINDS.length);
    // Target i of the batch is node i (the source's own name is listed too, and unused).
    this.batch.targets.push(...m.names);
    this.batch.family.fill(addressFamilies.words.indexOf('ipv4') + 1);
  }

  /** Source s's results of `round`, probed at `probedAtMs` (its wall clock). */
  build(s: number, round: number, probedAtMs: number): ReportBatch {
    const { m, batch: b } = this;
    let r = 0;
    for (let d = 0; d < m.n; d++) {
      if (d === s) continue;
      for (let k = 0; k < MESH_KINDS.length; k++) {
        const p = probe(m, s, d, k, round, this.scratch);
        b.kind[r] = this.kindWire[k]!;
        b.target[r] = d;
        b.outcome[r] = p.outcome + 1;
        b.rttUs[r] = p.rttUs;
        b.timestampMs[r] = probedAtMs;
        r++;
      }
    }
    return b;
  }
}

/**
 * A real aggregator in this process (the composition root main.ts uses), on
 * loopback port 0, with the default settings but no DNS servers and no
 * Kubernetes API, on `clock`. Its evaluation timer is stopped: the caller
 * evaluates (running.evaluate) when it wants to measure.
 */
export async function benchAggregator(clock: Clock): Promise<RunningAggregator> {
  const argv = ['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--dns-servers', 'none', '--kubernetes', 'off', '--http-rate-limit', '1000000'];
  const running = await startAggregator(parseAggregatorConfig(argv, {}), { clock, log: silentLogger(), version: 'bench' });
  running.evaluator.stop();
  return running;
}

export interface IngestFigures {
  readonly results: number;
  /** CPU of this process (user + system) spent inside AgentSessions.reportBatch, ms. */
  readonly cpuMs: number;
}

/**
 * Rounds [from, to) of the mesh through AgentSessions.reportBatch, the path a
 * Report decoded off gRPC takes, one interval apart on the manual clock. Only
 * the reportBatch() calls are timed. Nodes must have said hello (records[i] = node i).
 */
export function ingestRounds(
  running: Pick<RunningAggregator, 'sessions'>,
  clock: { advance(ms: number): void; now(): number },
  m: Mesh,
  records: readonly Parameters<RunningAggregator['sessions']['report']>[0][],
  builder: ReportBuilder,
  from: number,
  to: number,
  intervalMs: number,
): IngestFigures {
  let results = 0;
  let cpuUs = 0;
  for (let round = from; round < to; round++) {
    clock.advance(intervalMs);
    for (let s = 0; s < m.n; s++) {
      if (!reports(m, s, round)) {
        if (records[s]!.agent.connected) running.sessions.goodbye(records[s]!);
        continue;
      }
      const sentAt = clock.now();
      const batch = builder.build(s, round, sentAt - 1_000);
      batch.sequence = round + 1;
      batch.sentAtMs = sentAt;
      const c0 = process.cpuUsage();
      const out = running.sessions.reportBatch(records[s]!, batch);
      const c = process.cpuUsage(c0);
      cpuUs += c.user + c.system;
      if (out.accepted !== batch.length) throw new Error(`bench mesh: ${batch.length - out.accepted} results rejected (${JSON.stringify(out.rejected)})`);
      results += out.accepted;
    }
  }
  return { results, cpuMs: cpuUs / 1000 };
}
