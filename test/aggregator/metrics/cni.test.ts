// CNI series from a real scrape of the aggregator's registry after an
// evaluation: the pool threshold the IpPoolNearExhaustion rule compares with,
// every node's overlap count although the per-overlap series are capped, the
// invalid files that sort before a node's effective config, and a plugin
// binary missing on every node. Pod CIDRs are private or documentation ranges.
import { createHash } from 'node:crypto';
import t from 'tap';
import { CniAssessor } from '../../../aggregator/cni/assessor.js';
import { MAX_OVERLAPS, type CniNodeInput } from '../../../aggregator/cni/assess.js';
import { CniStore } from '../../../aggregator/cni/store.js';
import { createAggregatorMetrics } from '../../../aggregator/metrics/metrics.js';
import { cniToWire, type CniBinary, type CniFileInfo, type CniSnapshot } from '../../../common/cni.js';
import type { CniSnapshot__Output } from '../../../proto/load.js';
import { Cluster, clusterEvaluator } from '../localize/cluster-fixture.js';

const NORMALIZED = '{"cniVersion":"1.0.0","name":"pods","plugins":[{"ipam":{"type":"host-local"},"mtu":1450,"type":"bridge"},{"type":"portmap"}]}';

function snapshot(podCidr: string, o: { files?: CniFileInfo[]; portmap?: CniBinary } = {}): CniSnapshot {
  const good: CniFileInfo = { name: '10-pods.conflist', size: 200, sha256: 'e'.repeat(64), valid: true, error: null, cniVersion: '1.0.0', network: 'pods', plugins: ['bridge', 'portmap'], ipamType: 'host-local', ranges: [podCidr] };
  return {
    takenAtMs: 1,
    full: true,
    files: o.files ?? [good],
    effective: { file: '10-pods.conflist', network: 'pods', cniVersion: '1.0.0', plugins: ['bridge', 'portmap'], ipamType: 'host-local', normalized: NORMALIZED, hash: createHash('sha256').update(NORMALIZED).digest('hex'), perNode: {}, podCidrs: [podCidr] },
    binaries: [
      { plugin: 'bridge', size: 4_000_000, sha256: 'b'.repeat(64), error: null },
      o.portmap ?? { plugin: 'portmap', size: 0, sha256: null, error: 'not found in /opt/cni/bin' },
    ],
    pools: [{ network: 'pods', range: podCidr, size: 253, used: 10 }],
    errors: [],
  };
}

const N = 300;
const c = new Cluster();
const names = c.add('n', N);
const cni = new CniStore();
const broken: CniFileInfo = { name: '00-broken.conflist', size: 9, sha256: 'f'.repeat(64), valid: false, error: 'empty file', cniVersion: null, network: null, plugins: [], ipamType: null, ranges: [] };
/** The snapshot as the collector hands it to the store, decoded off the wire. */
const received = (s: CniSnapshot) => ({ effective: null, ...cniToWire(s) }) as CniSnapshot__Output;
const refused = names.flatMap((name, i) => {
  // Every node on the same /16: N(N-1)/2 overlaps. n-7 also has a broken file before its config.
  const s = snapshot('10.244.0.0/16', i === 6 ? { files: [broken, snapshot('10.244.0.0/16').files[0]!] } : {});
  return cni.record(name, received(s), c.clock.now()) ?? [];
});
t.same(refused, [], 'every snapshot stored');
const inputs = (): CniNodeInput[] => c.nodes.list().map((n) => ({ node: n.name, snapshot: cni.get(n.name)!.snapshot, receivedAt: cni.get(n.name)!.receivedAt }));
const { findings, evaluator, sessions } = clusterEvaluator(c, { inputs, assessor: new CniAssessor({ poolThreshold: 0.8, serviceCidrs: [], externalCidrs: [], staleAfterMs: 60_000 }) });
const metrics = createAggregatorMetrics({ nodes: c.nodes, sessions, store: c.store, cni, ipPoolThreshold: 0.8, evaluator, findings, now: () => c.clock.now() });
const lines = async (name: string) => (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

t.test('before the first evaluation: the threshold, no per-node CNI series', async (t) => {
  t.same(await lines('netmatrix_ip_pool_threshold_ratio'), ['netmatrix_ip_pool_threshold_ratio 0.8'], '--ip-pool-threshold, for the rule to compare with');
  t.same(await lines('netmatrix_pod_cidr_overlaps'), []);
});

t.test('one /16 on every node: each node counts its overlaps, the per-overlap series stay capped and the rest is counted', async (t) => {
  evaluator.evaluate();
  const perNode = await lines('netmatrix_pod_cidr_overlaps');
  t.equal(perNode.length, N, 'one series per node, not per overlap');
  t.same(new Set(perNode.map((l) => l.split(' ')[1])), new Set([String(N - 1)]), `each node overlaps the ${N - 1} others`);
  const listed = await lines('netmatrix_pod_cidr_overlap');
  t.ok(listed.length <= 2 * MAX_OVERLAPS, `${listed.length} per-overlap series`);
  t.same(await lines('netmatrix_pod_cidr_overlaps_dropped'), [`netmatrix_pod_cidr_overlaps_dropped ${(N * (N - 1)) / 2 - MAX_OVERLAPS}`]);
});

t.test('an invalid file before the effective one, and a plugin missing on every node', async (t) => {
  t.same(await lines('netmatrix_cni_invalid_files_before_effective'), ['netmatrix_cni_invalid_files_before_effective{node="n-7"} 1']);
  t.same(await lines('netmatrix_cni_config_drift'), [], 'n-7 is in the majority: no drift series');
  const skew = await lines('netmatrix_cni_plugin_skew');
  t.equal(skew.length, N, 'portmap is missing on every node: every node is out of step');
  t.ok(skew.every((l) => l.includes('plugin="portmap"')));
  t.same(await lines('netmatrix_cni_plugin_versions'), ['netmatrix_cni_plugin_versions{plugin="bridge"} 1', 'netmatrix_cni_plugin_versions{plugin="portmap"} 1']);
  const kinds = evaluator.last!.cni!.conditions.map((x) => `${x.kind} ${x.subject.node ?? x.subject.plugin}`);
  t.ok(kinds.includes('CniConfigDrift n-7') && kinds.includes('CniPluginVersionSkew portmap'), 'and the aggregator raises both');
});
