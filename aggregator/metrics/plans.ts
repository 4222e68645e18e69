// Plan push metrics (docs/metrics.md): what a node-set change costs on the
// wire. With the full mesh, encodes grow by one per epoch and pushes by one per
// connected agent; superseded plans and waiting streams show agents that do not
// read their stream. Counters mirror the collector's plain PlanPushStats.
import { Gauge, type Registry } from 'prom-client';
import type { PlanPushStats } from '../grpc/collector.js';
import { mirroredCounter } from './evaluation.js';

export interface PlanMetricsSource {
  readonly stats: PlanPushStats;
  /** Streams with messages waiting for their agent to read (computed at scrape). */
  readonly waitingStreams: () => number;
}

export function registerPlanMetrics(registry: Registry, src: PlanMetricsSource | undefined): void {
  if (!src) return;
  const s = src.stats;
  const mirror = (name: string, help: string, read: () => number) => mirroredCounter(registry, name, help, read);
  mirror('netmatrix_plan_encodes_total', 'Plans encoded: one per epoch with the full mesh (shared by every stream), one per agent and epoch with a per-agent planner.', () => s.encodes);
  mirror('netmatrix_plan_pushes_total', 'Plans written to agent streams.', () => s.pushes);
  mirror('netmatrix_plan_push_bytes_total', 'Bytes of the plans written to agent streams (protobuf message size).', () => s.bytes);
  mirror('netmatrix_plans_superseded_total', 'Plans that waited behind an agent stream that was not reading and were replaced by a newer plan before being written.', () => s.superseded);
  new Gauge({
    name: 'netmatrix_agent_streams_waiting',
    help: 'Agent streams with messages waiting because the agent is not reading (flow control or a full send buffer).',
    registers: [registry],
    collect() {
      this.set(src.waitingStreams());
    },
  });
}
