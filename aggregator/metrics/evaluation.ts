// Metrics read from the last evaluation (never from the matrix at scrape
// time): per node, per zone, per unhealthy pair (capped), findings, and the
// Alertmanager sender. Series are rebuilt on every scrape from what is known
// then, so a node that left takes its series with it. docs/metrics.md.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Tally } from '../localize/assess.js';
import { RAISED_KINDS, FINDING_SPECS } from '../findings/kinds.js';
import type { MetricsSources } from './metrics.js';

const ratio = (part: number, whole: number) => part / whole;

/** A counter whose value lives elsewhere (a plain counter in the core): set from `read` on every scrape. */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge whose series are rebuilt from scratch on every scrape by `fill`. */
export function rebuiltGauge(registry: Registry, name: string, help: string, labelNames: string[], fill: (g: Gauge) => void): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      fill(this);
    },
  });
}

export function registerEvaluationMetrics(registry: Registry, src: MetricsSources): void {
  const last = () => src.evaluator.last;
  /** Nodes of the last evaluation that are still known (same record). */
  const current = () => {
    const e = last();
    if (!e) return undefined;
    const a = e.assessment;
    return { e, a, still: a.nodes.map((n) => src.nodes.get(n.name) === n) };
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void) => rebuiltGauge(registry, name, help, labelNames, fill);

  gauge('netmatrix_node_info', 'One per known node, with its zone and agent version.', ['node', 'zone', 'version'], (g) => {
    for (const n of src.nodes.list()) g.set({ node: n.name, zone: n.zone, version: n.agent.version }, 1);
  });

  const perNode = (g: Gauge, value: (t: Tally) => number | null) => {
    const c = current();
    if (!c) return;
    c.a.kinds.forEach((kind, k) => {
      c.a.nodes.forEach((node, i) => {
        if (!c.still[i]) return;
        const st = c.a.stats[k]![i]!;
        // Towards a node whose agent is away on a fine node, the cells are unknown (as the API shows them).
        for (const [direction, t, mature] of [['in', st.in, c.a.matureIn[i] && !c.e.away.has(node.name)], ['out', st.out, c.a.matureOut[i]]] as const) {
          if (!mature || t.known === 0) continue;
          const v = value(t);
          if (v !== null) g.set({ node: node.name, kind, direction }, v);
        }
      });
    });
  };
  gauge(
    'netmatrix_node_reachability_ratio',
    'Share of fresh cells towards (direction="in") or from (direction="out") the node that are not failing. Absent until the node has had a full window.',
    ['node', 'kind', 'direction'],
    (g) => perNode(g, (t) => ratio(t.reachable, t.known)),
  );
  gauge(
    'netmatrix_node_loss_ratio',
    'Lost probes over all probes in the window, towards (in) or from (out) the node.',
    ['node', 'kind', 'direction'],
    (g) => perNode(g, (t) => (t.samples === 0 ? null : ratio(t.failedSamples, t.samples))),
  );
  gauge(
    'netmatrix_node_rtt_seconds',
    'RTT towards the node: quantile 0.5 = median of the probers\' p50, 0.99 = 0.99 quantile of their p99.',
    ['node', 'kind', 'quantile'],
    (g) => {
      const c = current();
      if (!c) return;
      c.a.kinds.forEach((kind, k) =>
        c.a.nodes.forEach((node, i) => {
          const st = c.a.stats[k]![i]!;
          if (!c.still[i] || !c.a.matureIn[i] || c.e.away.has(node.name) || st.rttP50Ms === null || st.rttP99Ms === null) return;
          g.set({ node: node.name, kind, quantile: '0.5' }, st.rttP50Ms / 1000);
          g.set({ node: node.name, kind, quantile: '0.99' }, st.rttP99Ms / 1000);
        }),
      );
    },
  );

  const perZone = (g: Gauge, cross: boolean, value: (t: Tally) => number | null) => {
    const c = current();
    if (!c) return;
    const z = c.a.zones.length;
    c.a.kinds.forEach((kind, k) => {
      for (let a = 0; a < z; a++) {
        for (let b = 0; b < z; b++) {
          if ((a !== b) !== cross) continue;
          const t = c.a.zoneTallies[k]![a * z + b]!;
          if (t.known === 0) continue;
          const v = value(t);
          if (v === null) continue;
          if (cross) g.set({ src_zone: c.a.zones[a]!, dst_zone: c.a.zones[b]!, kind }, v);
          else g.set({ zone: c.a.zones[a]!, kind }, v);
        }
      }
    });
  };
  const reach = (t: Tally) => ratio(t.reachable, t.known);
  const loss = (t: Tally) => (t.samples === 0 ? null : ratio(t.failedSamples, t.samples));
  gauge('netmatrix_zone_reachability_ratio', 'Share of pairs inside the zone that are not failing.', ['zone', 'kind'], (g) => perZone(g, false, reach));
  gauge('netmatrix_zone_loss_ratio', 'Lost probes over all probes between nodes of the zone.', ['zone', 'kind'], (g) => perZone(g, false, loss));
  gauge('netmatrix_zone_pair_reachability_ratio', 'Share of pairs from one zone to another that are not failing.', ['src_zone', 'dst_zone', 'kind'], (g) => perZone(g, true, reach));
  gauge('netmatrix_zone_pair_loss_ratio', 'Lost probes over all probes from one zone to another.', ['src_zone', 'dst_zone', 'kind'], (g) => perZone(g, true, loss));

  const unhealthy = () => {
    const c = current();
    if (!c) return [];
    return c.a.unhealthy.filter((p) => src.nodes.get(p.src) !== undefined && src.nodes.get(p.dst) !== undefined && !c.e.away.has(p.dst));
  };
  gauge('netmatrix_pair_unhealthy', 'One per failing or degraded pair and kind (only those pairs, capped by --max-pair-series).', ['src', 'dst', 'kind', 'status'], (g) => {
    for (const p of unhealthy()) g.set({ src: p.src, dst: p.dst, kind: p.kind, status: p.status }, 1);
  });
  gauge('netmatrix_pair_loss_ratio', 'Loss ratio in the window of each pair in netmatrix_pair_unhealthy.', ['src', 'dst', 'kind'], (g) => {
    for (const p of unhealthy()) if (p.lossRatio !== null) g.set({ src: p.src, dst: p.dst, kind: p.kind }, p.lossRatio);
  });
  gauge('netmatrix_pair_series_dropped', 'Unhealthy pairs left out of the per-pair series at the last evaluation (--max-pair-series hit).', [], (g) => {
    g.set(last()?.assessment.unhealthyDropped ?? 0);
  });

  gauge('netmatrix_findings_active', 'Firing findings by kind.', ['kind', 'severity'], (g) => {
    const counts = new Map<string, number>(RAISED_KINDS.map((k) => [k, 0]));
    for (const f of last()?.firing ?? []) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    for (const [kind, n] of counts) g.set({ kind, severity: FINDING_SPECS[kind as keyof typeof FINDING_SPECS]?.severity ?? 'warning' }, n);
  });
  gauge('netmatrix_findings_pending', 'Conditions holding but not yet firing (inside --finding-for), by kind.', ['kind'], (g) => {
    const counts = new Map<string, number>(RAISED_KINDS.map((k) => [k, 0]));
    for (const f of src.findings.pending()) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    for (const [kind, n] of counts) g.set({ kind }, n);
  });
  new Counter({
    name: 'netmatrix_findings_dropped_total',
    help: 'Findings about single pairs left out by --max-pair-findings, by kind (counted per evaluation).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of src.evaluator.stats.dropped) this.inc({ kind }, n);
    },
  });
  new Counter({
    name: 'netmatrix_evaluations_total',
    help: 'Evaluations of the matrix (assessment, localization, findings).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.evaluator.stats.evaluations);
    },
  });
  gauge('netmatrix_evaluation_duration_seconds', 'How long the last evaluation took.', [], (g) => {
    const e = last();
    if (e) g.set(e.durationMs / 1000);
  });

  const alertCounter = (name: string, help: string, field: 'sent' | 'failed' | 'dropped') =>
    new Counter({
      name,
      help,
      labelNames: ['alertmanager'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [url, s] of src.alerts?.() ?? []) this.inc({ alertmanager: url }, s[field]);
      },
    });
  alertCounter('netmatrix_alerts_sent_total', 'Alerts Alertmanager accepted, per Alertmanager.', 'sent');
  alertCounter('netmatrix_alerts_failed_total', 'Alerts not delivered by a post attempt, per Alertmanager: retried with backoff, except an alert refused alone as invalid (400), which is dropped.', 'failed');
  alertCounter('netmatrix_alerts_dropped_total', 'Alerts dropped, per Alertmanager: queue full, or an alert Alertmanager refused as invalid (400) when posted alone.', 'dropped');
  gauge('netmatrix_alerts_queued', 'Alerts waiting to be posted, per Alertmanager.', ['alertmanager'], (g) => {
    for (const [url, s] of src.alerts?.() ?? []) g.set({ alertmanager: url }, s.queued);
  });
  if (src.alertReadBack) {
    const readBack = src.alertReadBack;
    new Counter({
      name: 'netmatrix_alerts_readback_failed_total',
      help: 'Failed reads of the alerts a previous instance left firing, per Alertmanager (retried until the first window ends).',
      labelNames: ['alertmanager'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [url, n] of readBack().failed) this.inc({ alertmanager: url }, n);
      },
    });
    new Counter({
      name: 'netmatrix_alerts_readback_resolved_total',
      help: 'Alerts a previous instance left firing whose finding no longer held after the first window, sent as resolved.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(readBack().resolved);
      },
    });
  }
}
