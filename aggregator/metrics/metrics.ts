// The aggregator's Prometheus metrics, on its own registry. Values that the
// core keeps as plain counters are read lazily in collect(), so the core knows
// nothing of prom-client. Series are bounded: per kind/status/reason (closed
// sets) and per node (O(nodes)); never per pair.
import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { STATUSES } from '../../common/vocabulary.js';
import type { AgentSessions } from '../agents.js';
import type { RefuseReason } from '../grpc/collector.js';
import { HTTP_REFUSE_REASONS, type HttpRefuseReason } from '../http/guard.js';
import type { FindingsEngine } from '../findings/engine.js';
import type { Evaluator } from '../findings/evaluator.js';
import type { CniStore } from '../cni/store.js';
import type { KubeWatchStats } from '../kubernetes/watcher.js';
import type { DnsStore } from '../dns/store.js';
import type { MatrixStore } from '../matrix/store.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { registerCniMetrics } from './cni.js';
import { registerDnsMetrics } from './dns.js';
import { mirroredCounter, registerEvaluationMetrics } from './evaluation.js';
import { registerPlanMetrics, type PlanMetricsSource } from './plans.js';

export interface MetricsSources {
  readonly nodes: NodeRegistry;
  /** Nodes past --node-expiry kept for a NodeUnreachable, NodeIsolated or PodNetworkUnreachable finding (nodes/expiry.ts); absent: not exported. */
  readonly nodesExpiryHeld?: () => number;
  readonly sessions: AgentSessions;
  readonly store: MatrixStore;
  readonly dns?: DnsStore;
  /** Cap on netmatrix_dns_node_error_ratio series (default 10,000). */
  readonly maxDnsNodeSeries?: number;
  readonly cni?: CniStore;
  /** --ip-pool-threshold, exported for the IpPoolNearExhaustion rule. */
  readonly ipPoolThreshold?: number;
  /** The Kubernetes watcher's counters (absent without the API) and the DNS endpoints over the plan's cap. */
  readonly kubernetes?: () => { readonly stats: KubeWatchStats | undefined; readonly dnsServersDropped: number };
  readonly evaluator: Evaluator;
  readonly findings: FindingsEngine;
  /** Plan pushes of the gRPC collector; absent: no plan metrics. */
  readonly plans?: PlanMetricsSource;
  /** Per Alertmanager URL; absent without Alertmanagers. */
  readonly alerts?: () => ReadonlyMap<string, AlertStats>;
  /** The start-up read-back of alerts a previous instance left firing; absent without Alertmanagers. */
  readonly alertReadBack?: () => AlertReadBackStats;
  readonly now: () => number;
}

export interface AlertStats {
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
}

export interface AlertReadBackStats {
  /** Failed reads per Alertmanager URL. */
  readonly failed: ReadonlyMap<string, number>;
  /** Alerts sent as resolved. */
  readonly resolved: number;
}

export interface AggregatorMetrics {
  readonly registry: Registry;
  streamRefused(reason: RefuseReason): void;
  streamStatus(code: grpc.status): void;
  httpRefused(reason: HttpRefuseReason): void;
}

export function createAggregatorMetrics(src: MetricsSources, registry = new Registry()): AggregatorMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'netmatrix_aggregator_' });
  const s = src.sessions.stats;
  const mirror = (name: string, help: string, read: () => number) => mirroredCounter(registry, name, help, read);
  mirror('netmatrix_reports_received_total', 'Reports stored from agents (duplicates excluded).', () => s.reports);
  mirror('netmatrix_reports_duplicate_total', 'Reports dropped because their sequence number was already stored (replays).', () => s.duplicates);
  mirror('netmatrix_results_ingested_total', 'Probe results stored in the matrix.', () => s.results);
  mirror('netmatrix_agent_clock_steps_total', 'Agent clock steps detected (a stream\'s clock offset jumped by more than 60 s); no row blanks, the offset estimate starts again.', () => s.clockSteps);
  if (src.kubernetes) {
    const k = src.kubernetes;
    new Counter({
      name: 'netmatrix_kubernetes_watch_total',
      help: 'Kubernetes API activity by resource and what: list (completed), page (list requests answered), continue_expired (a list started over), watch, reconnect, gone (410, then a relist), error, event, bookmark, silent (a watch ended for silence).',
      labelNames: ['resource', 'what'],
      registers: [registry],
      collect() {
        this.reset();
        const s = k().stats;
        if (!s) return;
        for (const [resource, r] of Object.entries(s.byResource)) {
          for (const [what, v] of [['list', r.lists], ['page', r.pages], ['continue_expired', r.continueExpired], ['watch', r.watches], ['reconnect', r.reconnects], ['gone', r.gone], ['error', r.errors], ['event', r.events], ['bookmark', r.bookmarks], ['silent', r.silentWatches]] as const) {
            this.inc({ resource, what }, v);
          }
        }
      },
    });
    new Gauge({
      name: 'netmatrix_dns_servers_dropped',
      help: 'Endpoints of the cluster DNS Service over the 64 servers one plan carries (not probed).',
      registers: [registry],
      collect() {
        this.set(k().dnsServersDropped);
      },
    });
  }
  if (src.cni) {
    const c = src.cni.stats;
    mirror('netmatrix_cni_snapshots_total', 'CNI snapshots stored from agents.', () => c.snapshots);
    mirror('netmatrix_cni_snapshots_rejected_total', 'CNI snapshots refused for breaking the bounds (the previous snapshot of the node stays).', () => c.rejected);
  }
  new Counter({
    name: 'netmatrix_results_rejected_total',
    help: 'Probe results dropped from otherwise valid reports, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of s.rejected) this.inc({ reason }, n);
    },
  });
  const refused = new Counter({
    name: 'netmatrix_agent_streams_refused_total',
    help: 'Agent streams the aggregator refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const statuses = new Counter({
    name: 'netmatrix_agent_stream_errors_total',
    help: 'Agent streams ended with a non-OK gRPC status (including grpc-js refusals such as RESOURCE_EXHAUSTED), by code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const httpRefused = new Counter({
    name: 'netmatrix_http_requests_refused_total',
    help: 'HTTP requests refused before their route ran, by reason (unauthorized, rate_limited, url_too_long).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of HTTP_REFUSE_REASONS) httpRefused.inc({ reason }, 0);
  new Gauge({
    name: 'netmatrix_nodes',
    help: 'Nodes the aggregator knows.',
    registers: [registry],
    collect() {
      this.set(src.nodes.size);
    },
  });
  if (src.nodesExpiryHeld) {
    const held = src.nodesExpiryHeld;
    new Gauge({
      name: 'netmatrix_nodes_expiry_held',
      help: 'Nodes whose agent has been gone longer than --node-expiry, kept because a NodeUnreachable, NodeIsolated or PodNetworkUnreachable finding about them is firing or pending (forget one with DELETE /api/v1/nodes/{name}).',
      registers: [registry],
      collect() {
        this.set(held());
      },
    });
  }
  new Gauge({
    name: 'netmatrix_agents_connected',
    help: 'Agents with an open stream to this aggregator.',
    registers: [registry],
    collect() {
      this.set(src.nodes.list().filter((n) => n.agent.connected).length);
    },
  });
  new Gauge({
    name: 'netmatrix_agent_up',
    help: 'Whether the node\'s agent has an open stream (1) or not (0).',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const n of src.nodes.list()) this.set({ node: n.name }, n.agent.connected ? 1 : 0);
    },
  });
  new Counter({
    name: 'netmatrix_results_loop_delayed_total',
    help: 'Results the node\'s agent marked as taken while its event loop was held up (busy, or waiting for a CPU: loop_delay_us), left unjudged: unjudged="latency" answers whose RTT was not judged, unjudged="loss" timeouts not judged as loss. A starved agent, not the network, when it grows.',
    labelNames: ['node', 'unjudged'],
    registers: [registry],
    collect() {
      this.reset();
      for (const n of src.nodes.list()) {
        const d = n.agent.loopDelayed;
        if (d.latency > 0) this.inc({ node: n.name, unjudged: 'latency' }, d.latency);
        if (d.loss > 0) this.inc({ node: n.name, unjudged: 'loss' }, d.loss);
      }
    },
  });
  new Gauge({
    name: 'netmatrix_agent_last_report_age_seconds',
    help: 'Seconds since the node\'s agent last sent a report (absent before the first).',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      const now = src.now();
      for (const n of src.nodes.list()) if (n.agent.lastReportAt !== null) this.set({ node: n.name }, (now - n.agent.lastReportAt) / 1000);
    },
  });
  new Gauge({
    name: 'netmatrix_matrix_tracked_cells',
    help: 'Cells (source, target, kind, family) with stored samples.',
    registers: [registry],
    collect() {
      this.set(src.store.trackedCells);
    },
  });
  // Cells at rest under a sampled plan (docs/scaling.md "Cells at rest"): a 2-byte record instead of a full cell.
  new Gauge({
    name: 'netmatrix_matrix_resting_cells',
    help: 'Tracked cells at rest (sampled plans): ok with nothing worth a full cell, a 2-byte record each.',
    registers: [registry],
    collect() {
      this.set(src.store.restingCells);
    },
  });
  mirroredCounter(registry, 'netmatrix_matrix_cells_released_total', 'Full cells put at rest (their chunk slot freed for reuse).', () => src.store.restCounts.released);
  mirroredCounter(registry, 'netmatrix_matrix_cells_recreated_total', 'Cells re-created from rest by a new result.', () => src.store.restCounts.recreated);
  new Gauge({
    name: 'netmatrix_matrix_store_bytes',
    help: "Bytes of the matrix store's typed arrays by part: cells (full cells' chunks), rest (records of cells at rest), index (row indexes), tallies.",
    labelNames: ['part'],
    registers: [registry],
    collect() {
      const m = src.store.memory();
      this.set({ part: 'cells' }, m.chunks);
      this.set({ part: 'rest' }, m.rest);
      this.set({ part: 'index' }, m.index);
      this.set({ part: 'tallies' }, m.tallies);
    },
  });
  new Gauge({
    name: 'netmatrix_matrix_cells',
    help: 'Matrix cells of the primary address family by probe kind and status, at the last evaluation.',
    labelNames: ['kind', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      const a = src.evaluator.last?.assessment;
      if (!a) return;
      for (const [kind, counts] of Object.entries(a.summary)) for (const status of STATUSES) this.set({ kind, status }, counts[status]);
    },
  });
  registerEvaluationMetrics(registry, src);
  registerDnsMetrics(registry, src);
  registerCniMetrics(registry, src);
  registerPlanMetrics(registry, src.plans);
  return {
    registry,
    streamRefused: (reason) => refused.inc({ reason }),
    streamStatus: (code) => statuses.inc({ code: grpc.status[code] ?? String(code) }),
    httpRefused: (reason) => httpRefused.inc({ reason }),
  };
}
