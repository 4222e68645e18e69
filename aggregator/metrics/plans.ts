// Plan push metrics (docs/metrics.md): what a node-set change costs on the
// wire. With the full mesh, encodes grow by one per epoch and pushes by one per
// connected agent; superseded plans and waiting streams show agents that do not
// read their stream. Counters mirror the collector's plain PlanPushStats.
// With a sampled plan (docs/scaling.md): whether it runs, its suspects, the
// most rounds between two probes of a pair, and what its layout could not
// place (a bound hit: zones or probers without room), read at scrape.
import { Gauge, type Registry } from 'prom-client';
import type { PlanPushStats } from '../grpc/collector.js';
import { mirroredCounter } from './evaluation.js';

export interface PlanMetricsSource {
  readonly stats: PlanPushStats;
  /** Streams with messages waiting for their agent to read (computed at scrape). */
  readonly waitingStreams: () => number;
  /** The current plan's sampling, read at scrape (plan/plans.ts PlanBook). */
  readonly sampling?: () => PlanSamplingView;
}

export interface PlanSamplingView {
  readonly sampled: boolean;
  readonly suspects: number;
  readonly maxGapRounds: number;
  /** What the layout could not place: nodes whose probers share one zone, zone pairs without a fixed edge, suspect probers. */
  readonly short: { readonly zoneDiversity: number; readonly zonePairs: number; readonly suspectProbers: number };
}

export function registerPlanMetrics(registry: Registry, src: PlanMetricsSource | undefined): void {
  if (!src) return;
  const s = src.stats;
  const mirror = (name: string, help: string, read: () => number) => mirroredCounter(registry, name, help, read);
  mirror('netmatrix_plan_encodes_total', 'Plans encoded: one per epoch with the full mesh (shared by every stream), one per agent and epoch with a per-agent planner.', () => s.encodes);
  mirror('netmatrix_plan_pushes_total', 'Plans written to agent streams.', () => s.pushes);
  mirror('netmatrix_plan_push_bytes_total', 'Bytes of the plans written to agent streams (protobuf message size).', () => s.bytes);
  mirror('netmatrix_plans_superseded_total', 'Plans that waited behind an agent stream that was not reading and were replaced by a newer plan before being written.', () => s.superseded);
  mirror('netmatrix_plans_unchanged_total', 'Agent streams moved to a new epoch without a write: their sampled plan was the same under it (a suspect elsewhere).', () => s.unchanged);
  const sampling = src.sampling;
  if (!sampling) return registerWaiting(registry, src);
  const gauge = (name: string, help: string, read: (v: PlanSamplingView) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(sampling()));
      },
    });
  gauge('netmatrix_plan_sampled', '1 while the plan is sampled (more nodes than --full-mesh-max), 0 for the full mesh.', (v) => (v.sampled ? 1 : 0));
  gauge('netmatrix_plan_suspects', 'Nodes whose column a sampled plan probes with many probers (agent away, NotReady, a finding about the node).', (v) => v.suspects);
  gauge('netmatrix_plan_max_gap_rounds', 'Most rounds between two probes of one ordered pair under the current plan (1: the full mesh).', (v) => v.maxGapRounds);
  new Gauge({
    name: 'netmatrix_plan_layout_short',
    help: 'What a sampled plan\'s layout could not place, all probers having their fixed peers (half a round): what=zone_diversity (nodes whose probers share one zone), zone_pairs (ordered zone pairs without a fixed edge), suspect_probers.',
    labelNames: ['what'],
    registers: [registry],
    collect() {
      const v = sampling();
      this.set({ what: 'zone_diversity' }, v.short.zoneDiversity);
      this.set({ what: 'zone_pairs' }, v.short.zonePairs);
      this.set({ what: 'suspect_probers' }, v.short.suspectProbers);
    },
  });
  registerWaiting(registry, src);
}

function registerWaiting(registry: Registry, src: PlanMetricsSource): void {
  new Gauge({
    name: 'netmatrix_agent_streams_waiting',
    help: 'Agent streams with messages waiting because the agent is not reading (flow control or a full send buffer).',
    registers: [registry],
    collect() {
      this.set(src.waitingStreams());
    },
  });
}
