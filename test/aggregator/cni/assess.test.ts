// The CNI comparison on hand-built snapshots: drift groups and their diffs,
// plugin binary skew, IP pools and CIDR overlaps, and the conditions each raises.
// Addresses are documentation ranges where no cluster convention is the point.
import t from 'tap';
import { canonicalJson, sha256Hex } from '../../../agent/cni/normalize.js';
import { assessCni, DEFAULT_POOL_THRESHOLD, MAX_OVERLAPS, nodeCniDetail, type CniAssessOptions, type CniNodeInput } from '../../../aggregator/cni/assess.js';
import { parseCidr } from '../../../common/cidr.js';
import type { CniBinary, CniFileInfo, CniPool, CniSnapshot } from '../../../common/cni.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const OPTIONS: CniAssessOptions = { poolThreshold: DEFAULT_POOL_THRESHOLD, serviceCidrs: [], externalCidrs: [], staleAfterMs: 60_000 };
const SHA = { bridgeA: 'a'.repeat(64), bridgeB: 'b'.repeat(64), portmap: 'c'.repeat(64), hostLocal: 'd'.repeat(64) };

type Config = { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
const baseConfig = (): Config => ({
  cniVersion: '1.0.0',
  name: 'k8s-pod-network',
  plugins: [
    { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, mtu: 1450, ipam: { type: 'host-local', ranges: '<per-node>' } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});

interface SnapOpts {
  config?: Config | null;
  podCidrs?: string[];
  binaries?: CniBinary[];
  pools?: CniPool[];
  files?: CniFileInfo[];
  errors?: string[];
}

const defaultBinaries = (): CniBinary[] => [
  { plugin: 'bridge', size: 4_000_000, sha256: SHA.bridgeA, error: null },
  { plugin: 'portmap', size: 3_500_000, sha256: SHA.portmap, error: null },
];

function snapshot(o: SnapOpts = {}): CniSnapshot {
  const config = o.config === undefined ? baseConfig() : o.config;
  const file: CniFileInfo = config
    ? { name: '10-bridge.conflist', size: 400, sha256: 'e'.repeat(64), valid: true, error: null, cniVersion: config.cniVersion, network: config.name, plugins: config.plugins.map((p) => String(p.type)), ipamType: 'host-local', ranges: o.podCidrs ?? [] }
    : { name: '10-bridge.conflist', size: 12, sha256: 'f'.repeat(64), valid: false, error: 'parse error: Unexpected end of JSON input', cniVersion: null, network: null, plugins: [], ipamType: null, ranges: [] };
  const normalized = config ? canonicalJson(config) : '';
  return {
    takenAtMs: 1_000,
    full: true,
    files: o.files ?? [file],
    effective: config
      ? {
          file: '10-bridge.conflist',
          network: config.name,
          cniVersion: config.cniVersion,
          plugins: config.plugins.map((p) => String(p.type)),
          ipamType: 'host-local',
          normalized,
          hash: sha256Hex(normalized),
          perNode: { 'plugins[0].ipam.ranges': JSON.stringify([[{ subnet: o.podCidrs?.[0] ?? '' }]]) },
          podCidrs: o.podCidrs ?? [],
        }
      : null,
    binaries: o.binaries ?? (config ? defaultBinaries() : []),
    pools: o.pools ?? [],
    errors: o.errors ?? [],
  };
}

function node(name: string, snap: CniSnapshot | null, receivedAt: number | null = NOW - 5_000): CniNodeInput {
  return { node: name, snapshot: snap, receivedAt: snap ? receivedAt : null };
}

function five(outlier?: (c: Config) => void): CniNodeInput[] {
  return [1, 2, 3, 4, 5].map((i) => {
    const c = baseConfig();
    if (i === 5 && outlier) outlier(c);
    return node(`node-${i}`, snapshot({ config: c, podCidrs: [`10.244.${i}.0/24`] }));
  });
}

const kinds = (a: { conditions: readonly { kind: string; subject: Readonly<Record<string, string>> }[] }) => a.conditions.map((c) => `${c.kind} ${Object.values(c.subject).join(',')}`);

t.test('same config everywhere: one majority group, no findings', async (t) => {
  const a = assessCni(five(), NOW, OPTIONS);
  t.same(a.conditions, []);
  t.equal(a.groups.length, 1);
  t.ok(a.groups[0]!.majority);
  t.same(a.groups[0]!.nodes, ['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
  t.equal(a.groups[0]!.comparedWith, null);
  t.same(a.nodes.map((n) => n.state), ['majority', 'majority', 'majority', 'majority', 'majority']);
  t.equal(a.summary.majorityHash, a.groups[0]!.hash);
  t.equal(a.summary.compared, 5);
  t.same(a.nodes[0]!.plugins, ['bridge', 'portmap']);
  t.equal(a.nodes[0]!.group, 0);
  t.ok(a.plugins.every((p) => !p.skewed));
  t.same(a.overlaps, []);
});

t.test('five nodes, one with another MTU: CniConfigDrift for it, naming the key', async (t) => {
  const a = assessCni(five((c) => (c.plugins[0]!.mtu = 1400)), NOW, OPTIONS);
  t.same(kinds(a), ['CniConfigDrift node-5']);
  const c = a.conditions[0]!;
  t.match(c.summary, /node-5's CNI config differs from the majority's \(4 of 5 nodes\): plugins\[0\]\.mtu: 1450 → 1400/);
  t.match(c.description, /plugins\[0\]\.mtu: 1450 → 1400/);
  t.match(c.description, /node-1, node-2, node-3, node-4/);
  t.match(c.description, /GET \/api\/v1\/cni\/node-5/);
  t.equal(a.groups.length, 2);
  t.same(a.groups[0]!.nodes, ['node-1', 'node-2', 'node-3', 'node-4']);
  t.ok(a.groups[0]!.majority);
  t.same(a.groups[1]!, { ...a.groups[1]!, nodes: ['node-5'], majority: false, comparedWith: 0, differingKeys: ['plugins[0].mtu'], moreDifferences: 0 });
  t.same(a.nodes.map((n) => n.state), ['majority', 'majority', 'majority', 'majority', 'drifted']);
  t.equal(a.nodes[4]!.group, 1);
  t.equal(a.summary.drifted, 1);

  const inputs = five((c) => (c.plugins[0]!.mtu = 1400));
  const d = nodeCniDetail(inputs, assessCni(inputs, NOW, OPTIONS), 'node-5')!;
  t.same(d.diff, ['plugins[0].mtu: 1450 → 1400']);
  t.equal(d.reference!.majority, true);
  t.same(d.reference!.nodes, ['node-1', 'node-2', 'node-3', 'node-4']);
  t.equal((d.config as Config).plugins[0]!.mtu, 1400);
  t.equal((d.reference!.config as Config).plugins[0]!.mtu, 1450);
  t.same(Object.keys(d.perNode), ['plugins[0].ipam.ranges']);
  const same = nodeCniDetail(inputs, assessCni(inputs, NOW, OPTIONS), 'node-1')!;
  t.same(same.diff, [], 'a majority node has nothing to show');
  t.equal(same.reference!.group, 0);
  t.equal(nodeCniDetail(inputs, assessCni(inputs, NOW, OPTIONS), 'node-9'), undefined);
});

t.test('an added plugin is named by its type', async (t) => {
  const a = assessCni(five((c) => c.plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } })), NOW, OPTIONS);
  t.same(kinds(a), ['CniConfigDrift node-5']);
  t.match(a.conditions[0]!.description, /plugins\[2\] added \(bandwidth\)/);
});

t.test('a 2/1/1/1 split: the group of two is the majority, the three others drifted', async (t) => {
  const nodes = five();
  const mk = (mtu: number) => {
    const c = baseConfig();
    c.plugins[0]!.mtu = mtu;
    return snapshot({ config: c });
  };
  const inputs = [nodes[0]!, nodes[1]!, node('node-3', mk(1400)), node('node-4', mk(1300)), node('node-5', mk(1200))];
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['CniConfigDrift node-3', 'CniConfigDrift node-4', 'CniConfigDrift node-5']);
  t.ok(a.groups[0]!.majority);
  t.same(a.groups[0]!.nodes, ['node-1', 'node-2']);
});

t.test('a tie: no majority, every node flagged, and the description says so', async (t) => {
  const mk = (mtu: number) => {
    const c = baseConfig();
    c.plugins[0]!.mtu = mtu;
    return snapshot({ config: c });
  };
  const two = assessCni([node('node-1', mk(1450)), node('node-2', mk(1400))], NOW, OPTIONS);
  t.same(kinds(two), ['CniConfigDrift node-1', 'CniConfigDrift node-2']);
  t.match(two.conditions[0]!.description, /No majority/);
  t.match(two.conditions[0]!.description, /compared with the config of 1 of 2 nodes \(node-2;/);
  t.match(two.conditions[0]!.description, /cannot be told/);
  t.match(two.conditions[0]!.description, /plugins\[0\]\.mtu: 1400 → 1450/, 'node-1 against node-2');
  t.match(two.conditions[1]!.description, /plugins\[0\]\.mtu: 1450 → 1400/, 'node-2 against node-1');
  t.same(two.groups.map((g) => [g.majority, g.comparedWith]), [[false, 1], [false, 0]]);
  t.equal(two.summary.majorityHash, null);
  t.same(two.nodes.map((n) => n.state), ['split', 'split']);

  const four = assessCni([node('a', mk(1450)), node('b', mk(1400)), node('c', mk(1450)), node('d', mk(1400)), node('e', mk(1300))], NOW, OPTIONS);
  t.equal(four.conditions.length, 5, 'a 2/2/1 split flags all five');
  t.match(four.conditions[4]!.summary, /no majority \(2\/2\/1 of 5 nodes\)/);
  t.same(four.groups.map((g) => g.nodes), [['a', 'c'], ['b', 'd'], ['e']]);
  const d = nodeCniDetail([node('a', mk(1450)), node('b', mk(1400)), node('c', mk(1450)), node('d', mk(1400)), node('e', mk(1300))], four, 'e')!;
  t.equal(d.reference!.group, 0, 'a small group is compared with the first largest group');
  t.equal(d.reference!.majority, false);
  t.same(d.diff, ['plugins[0].mtu: 1450 → 1300']);
});

t.test('a node without a valid config: CniConfigDrift with the reasons, outside the vote', async (t) => {
  const inputs = five();
  inputs[2] = node('node-3', snapshot({ config: null, errors: [] }));
  inputs[3] = node('node-4', snapshot({ config: null, files: [], errors: [] }));
  inputs[4] = node('node-5', snapshot({ config: null, files: [], errors: ['/etc/cni/net.d: ENOENT'] }));
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['CniConfigDrift node-3', 'CniConfigDrift node-4', 'CniConfigDrift node-5']);
  t.match(a.conditions[0]!.description, /^no valid CNI config: 10-bridge\.conflist: parse error: Unexpected end of JSON input\./);
  t.match(a.conditions[1]!.description, /no config file/);
  t.match(a.conditions[2]!.description, /\/etc\/cni\/net\.d: ENOENT/);
  t.match(a.conditions[2]!.description, /cannot get a network/);
  t.equal(a.nodes[2]!.state, 'invalid');
  t.equal(a.nodes[2]!.group, null);
  t.same(a.nodes[2]!.errors, ['10-bridge.conflist: parse error: Unexpected end of JSON input', 'no valid CNI config']);
  t.same(a.nodes[4]!.errors, ['/etc/cni/net.d: ENOENT', 'no valid CNI config']);
  t.equal(a.summary.invalid, 3);
  t.equal(a.summary.compared, 2);
  t.ok(a.groups[0]!.majority, 'the two valid nodes agree');
  const d = nodeCniDetail(inputs, a, 'node-3')!;
  t.equal(d.config, null);
  t.same(d.diff, []);
  t.equal(d.files[0]!.error, 'parse error: Unexpected end of JSON input');
});

t.test('stale and missing snapshots are listed and take part in nothing', async (t) => {
  const inputs = five((c) => (c.plugins[0]!.mtu = 1400));
  inputs[4] = { ...inputs[4]!, receivedAt: NOW - 61_000 };
  inputs.push(node('node-6', null));
  inputs.push(node('node-7', snapshot({ config: null }), NOW - 120_000));
  inputs.push(node('node-8', snapshot({ pools: [{ network: 'k8s-pod-network', range: '10.244.8.0/24', size: 254, used: 254 }], podCidrs: ['10.244.1.0/24'] }), NOW - 120_000));
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(a.conditions, [], 'no drift, no invalid config, no pool, no overlap from stale data');
  t.same(a.nodes.map((n) => n.state), ['majority', 'majority', 'majority', 'majority', 'stale', 'unreported', 'stale', 'stale']);
  t.same(a.nodes.map((n) => n.stale), [false, false, false, false, true, false, true, true]);
  t.equal(a.groups.length, 1);
  t.equal(a.nodes[4]!.hash !== null && a.nodes[4]!.hash !== a.groups[0]!.hash, true, 'its last hash is still shown');
  t.equal(a.nodes[4]!.group, null);
  t.same(a.nodes[5], { ...a.nodes[5]!, state: 'unreported', file: null, hash: null, plugins: [], binaries: [], pools: [], errors: [], group: null, receivedAt: null });
  t.ok(a.nodes[7]!.pools[0]!.nearExhaustion, 'the stale pool is still shown as near exhaustion');
  t.same(a.summary, { ...a.summary, nodes: 8, reported: 7, stale: 3, compared: 4, drifted: 0, poolsNearExhaustion: 0, overlaps: 0 });
  const d = nodeCniDetail(inputs, a, 'node-5')!;
  t.same(d.diff, ['plugins[0].mtu: 1450 → 1400'], 'a stale node is still diffed against the majority on request');
  t.same(nodeCniDetail(inputs, a, 'node-6')!.diff, []);
  t.equal(nodeCniDetail(inputs, a, 'node-6')!.config, null);
  const noReceipt = assessCni([node('x', snapshot()), { node: 'y', snapshot: snapshot(), receivedAt: null }], NOW, OPTIONS);
  t.same(noReceipt.nodes.map((n) => n.state), ['majority', 'stale'], 'a snapshot without a receipt time is stale');
});

t.test('plugin skew: another bridge binary on one node, missing on another', async (t) => {
  const inputs = five();
  const other: CniBinary[] = [{ plugin: 'bridge', size: 3_900_000, sha256: SHA.bridgeB, error: null }, defaultBinaries()[1]!];
  const missing: CniBinary[] = [{ plugin: 'bridge', size: 0, sha256: null, error: 'not found in /opt/cni/bin' }, defaultBinaries()[1]!];
  inputs[3] = node('node-4', snapshot({ binaries: other, podCidrs: ['10.244.4.0/24'] }));
  inputs[4] = node('node-5', snapshot({ binaries: missing, podCidrs: ['10.244.5.0/24'] }));
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['CniPluginVersionSkew bridge']);
  const c = a.conditions[0]!;
  t.equal(c.summary, "CNI plugin bridge is missing on node-5 (not found in /opt/cni/bin); 1 more node has another build than the majority's", 'the missing binary first: it breaks every sandbox there');
  t.match(c.description, /3 of 5 nodes have bridge aaaaaaaaaaaa \(3\.8 MiB\)/);
  t.match(c.description, /node-4 → bbbbbbbbbbbb \(3\.7 MiB\)/);
  t.match(c.description, /node-5 → missing \(not found in \/opt\/cni\/bin\)/);
  const bridge = a.plugins.find((p) => p.plugin === 'bridge')!;
  t.same(bridge, {
    plugin: 'bridge',
    groups: [
      { sha256: SHA.bridgeA, size: 4_000_000, nodes: ['node-1', 'node-2', 'node-3'] },
      { sha256: SHA.bridgeB, size: 3_900_000, nodes: ['node-4'] },
      { sha256: null, size: null, nodes: ['node-5'] },
    ],
    majoritySha256: SHA.bridgeA,
    skewed: true,
  });
  t.same(a.plugins.map((p) => [p.plugin, p.skewed]), [['bridge', true], ['portmap', false]]);
  t.equal(a.summary.skewedPlugins, 1);

  const tie = assessCni([node('n1', snapshot()), node('n2', snapshot({ binaries: other }))], NOW, OPTIONS);
  t.same(kinds(tie), ['CniPluginVersionSkew bridge']);
  t.match(tie.conditions[0]!.description, /No majority binary for bridge: aaaaaaaaaaaa \(3\.8 MiB\) on n1; bbbbbbbbbbbb \(3\.7 MiB\) on n2/);
  t.equal(tie.plugins[0]!.majoritySha256, null);

  const stale = assessCni([...five().slice(0, 4), node('node-5', snapshot({ binaries: missing }), NOW - 999_999)], NOW, OPTIONS);
  t.same(stale.conditions, [], 'a stale node\'s binaries are not compared');
});

t.test('a plugin binary missing on every node, or on the only node, is CniPluginVersionSkew too', async (t) => {
  const missing = (b: CniBinary): CniBinary => (b.plugin === 'portmap' ? { plugin: 'portmap', size: 0, sha256: null, error: 'not found in /opt/cni/bin' } : b);
  const everywhere = five().map((n) => ({ ...n, snapshot: { ...n.snapshot!, binaries: n.snapshot!.binaries.map(missing) } }));
  const a = assessCni(everywhere, NOW, OPTIONS);
  t.same(kinds(a), ['CniPluginVersionSkew portmap'], 'one group, all missing: still a finding');
  t.equal(a.conditions[0]!.summary, 'CNI plugin portmap is missing on every node that uses it (5)');
  t.match(a.conditions[0]!.description, /No node whose CNI chain uses portmap can run it: node-1 → missing \(not found in \/opt\/cni\/bin\), node-2 → missing/);
  t.match(a.conditions[0]!.description, /Every new pod sandbox on those nodes fails/);
  const portmap = a.plugins.find((p) => p.plugin === 'portmap')!;
  t.same(portmap, { plugin: 'portmap', groups: [{ sha256: null, size: null, nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'] }], majoritySha256: null, skewed: true });
  t.equal(a.summary.skewedPlugins, 1);

  const alone = assessCni(everywhere.slice(0, 1), NOW, OPTIONS);
  t.same(kinds(alone), ['CniPluginVersionSkew portmap'], 'a one-node cluster');
  t.equal(alone.conditions[0]!.summary, 'CNI plugin portmap is missing on node-1 (not found in /opt/cni/bin)');
  t.match(alone.conditions[0]!.description, /Every new pod sandbox on that node fails \(failed to find plugin "portmap" in path\)/);
});

t.test('a binary that is not executable counts as unusable, even with the majority\'s hash', async (t) => {
  const inputs = five();
  const noExec: CniBinary[] = [{ plugin: 'bridge', size: 4_000_000, sha256: SHA.bridgeA, error: 'not executable (mode 0644)' }, defaultBinaries()[1]!];
  inputs[2] = node('node-3', snapshot({ binaries: noExec, podCidrs: ['10.244.3.0/24'] }));
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['CniPluginVersionSkew bridge']);
  t.equal(a.conditions[0]!.summary, 'CNI plugin bridge is unusable on node-3 (not executable (mode 0644))');
  t.match(a.conditions[0]!.description, /4 of 5 nodes have bridge aaaaaaaaaaaa \(3\.8 MiB\); outliers: node-3 → unusable \(not executable \(mode 0644\)\)/);
  t.same(a.plugins[0]!.groups.map((g) => [g.sha256, g.nodes]), [[SHA.bridgeA, ['node-1', 'node-2', 'node-4', 'node-5']], [null, ['node-3']]]);
});

t.test('many outliers: ten named, the rest counted; every drifted node a group of its own', async (t) => {
  const inputs = Array.from({ length: 60 }, (_, i) => {
    const c = baseConfig();
    if (i >= 30) c.plugins[0]!.mtu = 1000 + i;
    const binaries = i >= 30 ? [{ plugin: 'bridge', size: 4_000_000, sha256: String(i).padEnd(64, 'e'), error: null }, defaultBinaries()[1]!] : defaultBinaries();
    return node(`n${String(i).padStart(2, '0')}`, snapshot({ config: c, binaries }));
  });
  const a = assessCni(inputs, NOW, OPTIONS);
  const skew = a.conditions.find((c) => c.kind === 'CniPluginVersionSkew')!;
  t.match(skew.description, /outliers: n30 → 30eeeeeeeeee \(3\.8 MiB\), .*n39 → 39eeeeeeeeee \(3\.8 MiB\), and 20 more\./);
  t.equal(a.groups.length, 31);
  t.equal(a.conditions.filter((c) => c.kind === 'CniConfigDrift').length, 30);

  // No majority among 30 configs of one node each: the sizes are cut, not written out 30 times over.
  const split = assessCni(inputs.slice(30), NOW, OPTIONS);
  t.match(split.conditions[0]!.summary, /^CNI configs differ with no majority \(1\/1\/1\/1\/1\/1\/1\/1\/1\/1\/… of 30 nodes\); n30's is one of 30$/);
});

t.test('an invalid file before the effective one: CniConfigDrift for the node (containerd stops there, CRI-O skips it)', async (t) => {
  const broken: CniFileInfo = { name: '00-broken.conflist', size: 90, sha256: 'f'.repeat(64), valid: false, error: "invalid JSON at position 55 (line 5, column 34): trailing comma before '}'", cniVersion: '1.0.0', network: 'k8s-pod-network', plugins: ['bridge'], ipamType: null, ranges: [] };
  const withFiles = (i: number, files: (f: CniFileInfo) => CniFileInfo[], mtu?: number) => {
    const c = baseConfig();
    if (mtu !== undefined) c.plugins[0]!.mtu = mtu;
    const s = snapshot({ config: c, podCidrs: [`10.244.${i}.0/24`] });
    return node(`node-${i}`, { ...s, files: files(s.files[0]!) });
  };
  const inputs = five();
  inputs[1] = withFiles(2, (good) => [broken, good]);
  inputs[2] = withFiles(3, (good) => [good, { ...broken, name: '99-after.conflist' }]);
  inputs[3] = withFiles(4, (good) => [{ ...broken, name: '05-dir.conf', error: 'a directory, not a file (the runtime skips it)' }, good]);
  inputs[4] = withFiles(5, (good) => [broken, { ...broken, name: '01-empty.conf', error: 'empty file' }, good], 1400);
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['CniConfigDrift node-2', 'CniConfigDrift node-5'], 'not for a file after the effective one, nor for a directory the runtime skips');
  const n2 = a.conditions[0]!;
  t.equal(n2.summary, "node-2's CNI conf dir has an invalid file before the effective 10-bridge.conflist: 00-broken.conflist; containerd refuses it, CRI-O skips it");
  t.match(n2.description, /^00-broken\.conflist: invalid JSON at position 55 .*\. It sorts before 10-bridge\.conflist, the first valid file: containerd \(go-cni\) stops at the first config file it cannot load/);
  t.match(n2.description, /CRI-O skips it and uses 10-bridge\.conflist\. Move it out of the CNI conf dir\. node-2's effective config \(10-bridge\.conflist\) is the majority's\.$/);
  t.same(a.nodes.map((n) => [n.state, n.invalidBeforeEffective]), [
    ['majority', []],
    ['majority', ['00-broken.conflist']],
    ['majority', []],
    ['majority', []],
    ['drifted', ['00-broken.conflist', '01-empty.conf']],
  ]);
  const n5 = a.conditions[1]!;
  t.match(n5.summary, /differs from the majority's/, 'one finding per node: the drift, with the files added');
  t.match(n5.description, /Also: 00-broken\.conflist: invalid JSON .*; 01-empty\.conf: empty file\. They sort before 10-bridge\.conflist/);

  const stale = assessCni([...inputs.slice(0, 1), { ...inputs[1]!, receivedAt: NOW - 61_000 }], NOW, OPTIONS);
  t.same(stale.conditions, [], 'a stale snapshot raises nothing');
});

t.test('pod CIDRs from the Kubernetes API: judged for stale, unreported and non-host-local nodes', async (t) => {
  const inputs: CniNodeInput[] = [
    node('fresh', snapshot({ podCidrs: ['10.244.1.0/24'] })),
    // No agent yet, but the API says its pod CIDR: the same range.
    { node: 'no-agent', snapshot: null, receivedAt: null, kubePodCidrs: ['10.244.1.0/24'] },
    // Stale: its old snapshot says 10.244.9.0/24 (which would overlap nothing), the API says 10.244.1.128/25.
    { ...node('stale', snapshot({ podCidrs: ['10.244.9.0/24'] }), NOW - 61_000), kubePodCidrs: ['10.244.1.128/25'] },
    // Stale without the API: its last ranges are shown and not judged.
    node('stale-no-kube', snapshot({ podCidrs: ['10.244.1.0/24'] }), NOW - 61_000),
    // Fresh, another IPAM (no host-local ranges in the snapshot): the API's.
    { ...node('calico', snapshot({ podCidrs: [] })), kubePodCidrs: ['10.245.0.0/24'] },
    { ...node('calico-2', snapshot({ podCidrs: [] })), kubePodCidrs: ['10.245.0.0/24'] },
  ];
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['PodCidrOverlap fresh', 'PodCidrOverlap no-agent', 'PodCidrOverlap stale', 'PodCidrOverlap calico', 'PodCidrOverlap calico-2']);
  t.same(a.nodes.map((n) => [n.node, n.state, n.podCidrs, n.overlapCount]), [
    ['fresh', 'majority', ['10.244.1.0/24'], 2],
    ['no-agent', 'unreported', ['10.244.1.0/24'], 2],
    ['stale', 'stale', ['10.244.1.128/25'], 2],
    ['stale-no-kube', 'stale', ['10.244.1.0/24'], 0],
    ['calico', 'majority', ['10.245.0.0/24'], 1],
    ['calico-2', 'majority', ['10.245.0.0/24'], 1],
  ]);
  t.match(a.conditions[2]!.description, /^Pod CIDRs of stale: 10\.244\.1\.128\/25 overlaps fresh's pod CIDR 10\.244\.1\.0\/24 \(contains stale's\); 10\.244\.1\.128\/25 overlaps no-agent's pod CIDR/, "the API's range, not the stale snapshot's");
  t.equal(a.summary.overlaps, 4);
});

t.test('5,000 nodes in one /16: every node its finding, each counted, in well under a second', async (t) => {
  const inputs = Array.from({ length: 5_000 }, (_, i) => node(`n${String(i).padStart(4, '0')}`, snapshot({ podCidrs: ['10.244.0.0/16'] })));
  const started = performance.now();
  const a = assessCni(inputs, NOW, OPTIONS);
  const ms = performance.now() - started;
  t.equal(a.summary.overlaps, (5_000 * 4_999) / 2);
  t.equal(a.overlaps.length, MAX_OVERLAPS);
  t.equal(a.conditions.length, 5_000);
  t.ok(a.nodes.every((n) => n.overlapCount === 4_999));
  t.match(a.conditions[4_999]!.description, /; and 4994 more\. Effect: two nodes hand out the same pod IPs/);
  // Comparing every pair (and copying each node's list on every add) took minutes for this.
  t.ok(ms < 3_000, `${ms.toFixed(0)} ms`);
});

t.test('pools: 89% is fine, 90% and 100% raise IpPoolNearExhaustion', async (t) => {
  const pool = (used: number): CniPool => ({ network: 'k8s-pod-network', range: '192.0.2.0/24', size: 100, used });
  const inputs = [node('n89', snapshot({ pools: [pool(89)] })), node('n90', snapshot({ pools: [pool(90)] })), node('n100', snapshot({ pools: [pool(10), pool(100)] })), node('empty', snapshot({ pools: [{ ...pool(0), size: 0 }] }))];
  const a = assessCni(inputs, NOW, OPTIONS);
  t.same(kinds(a), ['IpPoolNearExhaustion n90', 'IpPoolNearExhaustion n100']);
  t.equal(a.conditions[0]!.summary, "n90's IP pool 192.0.2.0/24 is 90.0% used (90/100)");
  t.match(a.conditions[0]!.description, /k8s-pod-network 192\.0\.2\.0\/24: 90 of 100 addresses used \(90\.0%\)/);
  t.match(a.conditions[1]!.description, /100 of 100 addresses used \(100\.0%\)/);
  t.notMatch(a.conditions[1]!.description, /10 of 100/, 'only the pools over the threshold are listed');
  t.same(a.nodes[0]!.pools[0], { ...pool(89), ratio: 0.89, nearExhaustion: false });
  t.same(a.nodes[3]!.pools[0]!.ratio, null, 'an empty range has no ratio');
  t.equal(a.summary.poolsNearExhaustion, 2);
  const lower = assessCni(inputs, NOW, { ...OPTIONS, poolThreshold: 0.8 });
  t.same(kinds(lower), ['IpPoolNearExhaustion n89', 'IpPoolNearExhaustion n90', 'IpPoolNearExhaustion n100']);
});

t.test('overlaps: two nodes with the same /24, a service CIDR, an external CIDR, IPv6', async (t) => {
  const cidrs = (...x: string[]) => x.map((c) => parseCidr(c)!);
  const o: CniAssessOptions = { ...OPTIONS, serviceCidrs: cidrs('10.96.0.0/12', 'fd00:96::/112'), externalCidrs: cidrs('198.51.100.0/24') };
  const inputs = [
    node('node-1', snapshot({ podCidrs: ['10.244.1.0/24', 'fd00:244:1::/64'] })),
    node('node-2', snapshot({ podCidrs: ['10.244.1.0/24', 'fd00:244:2::/64'] })),
    node('node-3', snapshot({ podCidrs: ['10.100.0.0/24', 'fd00:244:3::/64'] })),
    node('node-4', snapshot({ podCidrs: ['198.51.100.128/25', 'fd00:244::/32'] })),
    node('node-5', snapshot({ podCidrs: ['10.244.5.0/24', 'fd00:96::/120', 'not-a-cidr'] })),
  ];
  const a = assessCni(inputs, NOW, o);
  t.same(kinds(a), ['PodCidrOverlap node-1', 'PodCidrOverlap node-2', 'PodCidrOverlap node-3', 'PodCidrOverlap node-4', 'PodCidrOverlap node-5']);
  const by = (n: string) => a.conditions.find((c) => c.subject.node === n)!;
  t.equal(by('node-1').summary, "node-1's pod CIDR 10.244.1.0/24 overlaps node-2's pod CIDR 10.244.1.0/24 (+1 more)");
  t.match(by('node-1').description, /fd00:244:1::\/64 overlaps node-4's pod CIDR fd00:244::\/32 \(contains node-1's\)/);
  t.match(by('node-1').description, /duplicate addresses/);
  t.match(by('node-2').description, /10\.244\.1\.0\/24 overlaps node-1's pod CIDR 10\.244\.1\.0\/24 \(the same range\)/);
  t.match(by('node-3').description, /10\.100\.0\.0\/24 overlaps the service CIDR 10\.96\.0\.0\/12 \(contains node-3's\)/);
  t.match(by('node-3').description, /kube-proxy/);
  t.match(by('node-4').description, /198\.51\.100\.128\/25 overlaps the external CIDR 198\.51\.100\.0\/24/);
  t.match(by('node-4').description, /fd00:244::\/32 overlaps node-1's pod CIDR fd00:244:1::\/64 \(inside node-4's\)/);
  t.match(by('node-4').description, /NETMATRIX_EXTERNAL_CIDRS/);
  t.match(by('node-5').description, /fd00:96::\/120 overlaps the service CIDR fd00:96::\/112/);
  t.same(a.nodes[4]!.errors, ['pod CIDR "not-a-cidr" is not a CIDR']);
  t.same(a.overlaps[0], { a: { kind: 'node', node: 'node-1', cidr: '10.244.1.0/24' }, b: { kind: 'node', node: 'node-2', cidr: '10.244.1.0/24' }, relation: 'equal' });
  t.same(a.overlaps.find((x) => x.b.kind === 'service' && x.a.node === 'node-3'), { a: { kind: 'node', node: 'node-3', cidr: '10.100.0.0/24' }, b: { kind: 'service', node: null, cidr: '10.96.0.0/12' }, relation: 'b-contains-a' });
  t.equal(a.summary.overlaps, a.overlaps.length);
  t.equal(a.overlaps.length, 7);
  t.equal(a.overlapsDropped, 0);
  t.same(assessCni(inputs.slice(2, 3), NOW, OPTIONS).conditions, [], 'without service CIDRs nothing overlaps');
});

t.test('overlaps are bounded in the list but every node still gets its finding', async (t) => {
  const inputs = Array.from({ length: 30 }, (_, i) => node(`n${i}`, snapshot({ podCidrs: ['10.244.0.0/16'] })));
  const a = assessCni(inputs, NOW, OPTIONS);
  t.equal(a.summary.overlaps, (30 * 29) / 2);
  t.equal(a.overlaps.length, MAX_OVERLAPS);
  t.equal(a.overlapsDropped, (30 * 29) / 2 - MAX_OVERLAPS);
  t.equal(a.conditions.length, 30);
  t.match(a.conditions[0]!.description, /and 24 more/);
  t.match(a.conditions[0]!.summary, /\(\+28 more\)$/);
  t.same(new Set(a.nodes.map((n) => n.overlapCount)), new Set([29]), 'each node counts all of its overlaps');
});

t.test('the assessment is plain JSON', async (t) => {
  const a = assessCni(five((c) => (c.plugins[0]!.mtu = 1400)), NOW, OPTIONS);
  t.same(JSON.parse(JSON.stringify(a)), a);
});
