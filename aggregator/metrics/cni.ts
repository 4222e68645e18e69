// CNI metrics from the last evaluation (docs/metrics.md). Per node: pool use
// (O(nodes × pools), a node has one or two), snapshot age; the rest only while
// something is wrong (a drifted node, a skewed plugin, an overlap, errors), so
// a healthy cluster exports O(nodes) CNI series.
import type { Gauge, Registry } from 'prom-client';
import { rebuiltGauge } from './evaluation.js';
import type { MetricsSources } from './metrics.js';

export function registerCniMetrics(registry: Registry, src: MetricsSources): void {
  if (!src.cni) return;
  const last = () => src.evaluator.last?.cni;
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void) => rebuiltGauge(registry, name, help, labelNames, fill);
  const known = (node: string) => src.nodes.get(node) !== undefined;

  gauge('netmatrix_cni_config_groups', 'Distinct effective CNI configs (by normalized hash) among nodes with a fresh, valid snapshot; 1 when every node agrees.', [], (g) => {
    const a = last();
    if (a) g.set(a.groups.length);
  });
  gauge('netmatrix_cni_nodes', 'Nodes by CNI state: majority, drifted, split (no majority), invalid (no valid config), stale, unreported.', ['state'], (g) => {
    const a = last();
    if (!a) return;
    const counts = new Map<string, number>(['majority', 'drifted', 'split', 'invalid', 'stale', 'unreported'].map((s) => [s, 0]));
    for (const n of a.nodes) if (known(n.node)) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
    for (const [state, n] of counts) g.set({ state }, n);
  });
  gauge('netmatrix_cni_config_drift', 'A node whose effective CNI config differs from the majority\'s, or that has none valid (1); absent otherwise.', ['node', 'state'], (g) => {
    for (const n of last()?.nodes ?? []) if (known(n.node) && (n.state === 'drifted' || n.state === 'split' || n.state === 'invalid')) g.set({ node: n.node, state: n.state }, 1);
  });
  gauge('netmatrix_cni_invalid_files_before_effective', 'Invalid CNI config files that sort before a node\'s effective one (containerd stops at them; CRI-O skips them), for nodes with a fresh snapshot; absent while there are none.', ['node'], (g) => {
    for (const n of last()?.nodes ?? []) if (known(n.node) && !n.stale && n.invalidBeforeEffective.length > 0) g.set({ node: n.node }, n.invalidBeforeEffective.length);
  });
  gauge('netmatrix_cni_plugin_versions', 'Distinct binaries (by sha256; a missing one counts) of each plugin type the nodes\' chains use.', ['plugin'], (g) => {
    for (const p of last()?.plugins ?? []) g.set({ plugin: p.plugin }, p.groups.length);
  });
  gauge('netmatrix_cni_plugin_skew', 'A node whose binary of a plugin differs from the majority\'s or is missing (1); absent otherwise.', ['plugin', 'node'], (g) => {
    for (const p of last()?.plugins ?? []) {
      if (!p.skewed) continue;
      for (const grp of p.groups) if (grp.sha256 === null || grp.sha256 !== p.majoritySha256) for (const node of grp.nodes) if (known(node)) g.set({ plugin: p.plugin, node }, 1);
    }
  });
  gauge('netmatrix_ip_pool_threshold_ratio', 'The aggregator\'s --ip-pool-threshold: IpPoolNearExhaustion when a pool\'s used / size is at or over it.', [], (g) => {
    if (src.ipPoolThreshold !== undefined) g.set(src.ipPoolThreshold);
  });
  gauge('netmatrix_ip_pool_size', 'Addresses a node\'s host-local IPAM range can hand out.', ['node', 'network', 'range'], (g) => {
    for (const n of last()?.nodes ?? []) if (known(n.node) && !n.stale) for (const p of n.pools) g.set({ node: n.node, network: p.network, range: p.range }, p.size);
  });
  gauge('netmatrix_ip_pool_used', 'Addresses allocated from a node\'s host-local IPAM range.', ['node', 'network', 'range'], (g) => {
    for (const n of last()?.nodes ?? []) if (known(n.node) && !n.stale) for (const p of n.pools) g.set({ node: n.node, network: p.network, range: p.range }, p.used);
  });
  gauge('netmatrix_pod_cidr_overlap', 'A node\'s pod CIDR overlapping another node\'s, a Service CIDR or an external CIDR (1, one series per overlap, capped); absent otherwise.', ['node', 'cidr', 'with_kind', 'with'], (g) => {
    for (const o of last()?.overlaps ?? []) {
      for (const [me, other] of [[o.a, o.b], [o.b, o.a]] as const) {
        if (me.kind === 'node' && me.node && known(me.node)) g.set({ node: me.node, cidr: me.cidr, with_kind: other.kind, with: other.node ?? other.cidr }, 1);
      }
    }
  });
  gauge('netmatrix_pod_cidr_overlaps', 'Overlaps of a node\'s pod CIDRs with other nodes\', Service and external CIDRs, listed as netmatrix_pod_cidr_overlap series or not; absent while there are none.', ['node'], (g) => {
    for (const n of last()?.nodes ?? []) if (known(n.node) && n.overlapCount > 0) g.set({ node: n.node }, n.overlapCount);
  });
  gauge('netmatrix_pod_cidr_overlaps_dropped', 'Overlaps past the listing cap (256) not exported as netmatrix_pod_cidr_overlap series (netmatrix_pod_cidr_overlaps still counts them per node).', [], (g) => {
    const a = last();
    if (a) g.set(a.overlapsDropped);
  });
  gauge('netmatrix_cni_errors', 'Problems in a node\'s CNI snapshot (invalid files, missing dirs, unreadable binaries); absent while there are none.', ['node'], (g) => {
    for (const n of last()?.nodes ?? []) {
      const errors = n.errors.length + n.binaries.filter((b) => b.error !== null).length;
      if (known(n.node) && errors > 0) g.set({ node: n.node }, errors);
    }
  });
  gauge('netmatrix_cni_snapshot_age_seconds', 'Seconds since the node\'s last CNI snapshot arrived (absent before the first).', ['node'], (g) => {
    const now = src.now();
    for (const n of src.nodes.list()) {
      const s = src.cni!.get(n.name);
      if (s) g.set({ node: n.name }, (now - s.receivedAt) / 1000);
    }
  });
}
