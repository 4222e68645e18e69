// The Collector alone on a real gRPC server on port 0: registry, sessions,
// plan book and collector are built here, so a test can choose the planner,
// count plan encodes and pushes, add nodes straight into the registry, and see
// the server side of every stream.
import { AgentSessions } from '../../aggregator/agents.js';
import { Collector, PlanPushStats, type Call, type RefuseReason } from '../../aggregator/grpc/collector.js';
import { startGrpcServer } from '../../aggregator/grpc/server.js';
import { MatrixStore } from '../../aggregator/matrix/store.js';
import { NodeRegistry } from '../../aggregator/nodes/registry.js';
import { fullMeshPlanner, type Planner } from '../../aggregator/plan/planner.js';
import { PlanBook, type ProbeSettings, type SuspectSource } from '../../aggregator/plan/plans.js';
import { systemClock } from '../../common/clock.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { CollectorHandlers } from '../../proto/load.js';

export interface CollectorServer {
  readonly address: string;
  readonly nodes: NodeRegistry;
  readonly plans: PlanBook;
  readonly collector: Collector;
  readonly stats: PlanPushStats;
  /** The server side of every stream, in the order they arrived. */
  readonly calls: Call[];
  close(): Promise<void>;
}

export interface CollectorServerOptions {
  readonly planner?: Planner;
  readonly settings?: ProbeSettings;
  /** A sampled planner's suspects. */
  readonly suspects?: SuspectSource;
  readonly planDebounceMs?: number;
  readonly stallTimeoutMs?: number;
  readonly log?: Logger;
  readonly onRefused?: (reason: RefuseReason) => void;
}

export async function collectorServer(o: CollectorServerOptions = {}): Promise<CollectorServer> {
  const log = o.log ?? silentLogger();
  const nodes = new NodeRegistry();
  const matrix = new MatrixStore({ windowMs: 30_000, intervalMs: 1_000, thresholds: { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 100, staleAfterMs: 3_000 } }, systemClock.monotonic());
  const sessions = new AgentSessions(nodes, matrix, systemClock, { maxResultsPerReport: 10_000, maxResultAgeMs: 60_000 });
  const plans = new PlanBook(nodes, o.planner ?? fullMeshPlanner, o.settings ?? { kinds: ['tcp'], intervalMs: 1_000, timeoutMs: 500 }, () => Date.now(), o.suspects);
  const stats = new PlanPushStats();
  const collector = new Collector({
    sessions,
    plans,
    nodes,
    log,
    planStats: stats,
    planDebounceMs: o.planDebounceMs ?? 0,
    ...(o.stallTimeoutMs !== undefined ? { stallTimeoutMs: o.stallTimeoutMs } : {}),
    ...(o.onRefused ? { onRefused: o.onRefused } : {}),
  });
  const calls: Call[] = [];
  const handlers: CollectorHandlers = {
    Connect: (call) => {
      calls.push(call as unknown as Call);
      collector.handlers.Connect(call);
    },
  };
  const server = await startGrpcServer({ listen: { host: '127.0.0.1', port: 0 }, handlers, log, maxMessageBytes: 16 * 1024 * 1024 });
  return {
    address: `127.0.0.1:${server.port}`,
    nodes,
    plans,
    collector,
    stats,
    calls,
    async close() {
      collector.close();
      await server.close(500);
    },
  };
}
