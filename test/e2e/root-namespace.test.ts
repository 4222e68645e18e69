// The lab never touches the root namespace: its links, addresses, routes,
// rules, permanent neighbours, firewall, the sysctls the lab sets elsewhere, and
// listening sockets are the same before a lab goes up, while it runs every kind
// of fault, and after it is torn down. The snapshot itself is checked too: it
// ignores what ticks (counters) and sees what changes.
import t from 'tap';
import { assertLabRequirements, run } from './lab/command.js';
import { createLab } from './lab/lab.js';
import { ping, tcpConnect, tcpListener } from './lab/reference-probes.js';
import { diffSnapshots, RootNamespaceGuard, takeSnapshot } from './lab/root-snapshot.js';

assertLabRequirements({ extra: [{ bin: 'ping', pkg: 'iputils-ping' }] });

const guard = await RootNamespaceGuard.record();

t.test('two snapshots of an unchanged root namespace are equal', async (t) => {
  t.same(diffSnapshots(guard.before, await takeSnapshot()), []);
  t.ok(guard.before.links.some((l) => l.startsWith('lo ')), 'sees lo');
  t.ok(guard.before.routes.length > 0, 'sees routes');
});

t.test('a lab with every fault leaves the root namespace as it was', async (t) => {
  const lab = await createLab({ nodes: 3, dnsRecords: [{ name: 'kubernetes.default.svc.cluster.local', ip: '198.18.0.1' }] });
  t.teardown(() => lab.down());
  const [n1, n2, n3] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];
  await tcpListener(lab, n2.ns, n2.podIP, 9402);
  await lab.blockPair('node-1', 'node-2', 'drop');
  await lab.blockPair('node-2', 'node-3', 'reject');
  await lab.blockPair('node-3', 'node-1', 'unreachable', 'tcp');
  await lab.blockProtocol('node-3', 'icmp');
  await lab.cutCable('node-3');
  await lab.delay('node-2', 5, 1);
  await lab.loss('node-1', 10);
  await ping(lab, n2.ns, n1.podIP, { count: 3, intervalS: 0.02 });
  await tcpConnect(lab, n1.ns, n2.podIP, 9402, 200);
  t.same(await guard.changes(0), [], 'unchanged while the lab is up with faults');
  await lab.clear();
  await lab.down();
  t.same(await guard.changes(), [], 'unchanged after down');
  void n3;
});

t.test('the snapshot sees changes and ignores counters (checked in a lab namespace, never the root one)', async (t) => {
  const lab = await createLab({ nodes: 1 });
  t.teardown(() => lab.down());
  const ns = lab.aggregatorNs;
  const exec = (...argv: string[]) => lab.exec(ns, argv);
  await exec('iptables', '-A', 'INPUT', '-p', 'icmp', '-j', 'ACCEPT');
  await exec('nft', 'add table inet probe; add chain inet probe c { type filter hook input priority 0; }; add rule inet probe c counter accept');
  const before = await takeSnapshot(ns);
  await ping(lab, ns, '127.0.0.1', { count: 3, intervalS: 0.02 });
  t.same(diffSnapshots(before, await takeSnapshot(ns)), [], 'counters moved, nothing changed');

  await exec('ip', 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'); // no dummy module on this kernel
  await exec('ip', 'addr', 'add', '198.18.7.1/24', 'dev', 'probe0');
  await exec('ip', 'link', 'set', 'probe0', 'up');
  await exec('ip', 'link', 'set', 'probe1', 'up');
  await exec('ip', 'route', 'add', '198.19.0.0/16', 'via', '198.18.7.2');
  await exec('ip', 'rule', 'add', 'from', '198.18.7.1', 'table', '100');
  await exec('ip', 'neigh', 'add', '198.18.7.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'probe0', 'nud', 'permanent');
  await exec('iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP');
  await exec('ip6tables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP');
  await exec('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  await tcpListener(lab, ns, '198.18.7.1', 9999);
  const diffs = diffSnapshots(before, await takeSnapshot(ns));
  for (const section of ['links', 'addresses', 'routes', 'rules', 'neighbours', 'nftRuleset', 'iptables', 'ip6tables', 'sysctls', 'listeners']) {
    t.ok(
      diffs.some((d) => d.startsWith(`${section}: +`)),
      `${section} change seen`,
    );
  }
  t.ok(diffs.includes('listeners: + tcp 198.18.7.1:9999 node'), 'the new listener, by address and process');
  t.ok(diffs.includes('sysctls: - net.ipv4.ip_forward = 0'), 'the sysctl, old value');
});

t.test('nothing of the lab in the root namespace afterwards', async (t) => {
  t.same(await guard.changes(), []);
  const links = await run(['ip', '-o', 'link']);
  t.notMatch(links.stdout, /nm[a-z0-9]{4}-/, 'no lab interface');
});
