// The agent's side of the Plan's DNS section and of its resolv.conf.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { dnsProbeSet, readResolver } from '../../../agent/dns/targets.js';
import { CidrSet, parseCidr } from '../../../common/cidr.js';
import { parseResolvConf } from '../../../common/resolv-conf.js';

const dir = mkdtempSync(join(tmpdir(), 'netmatrix-resolv-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const allowed = new CidrSet(['10.0.0.0/8', '169.254.20.10/32'].map((c) => parseCidr(c)!));
const conf = parseResolvConf('nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
const plan = {
  dnsServers: [
    { name: 'service', address: '', port: 0, role: 'DNS_ROLE_SERVICE' as const },
    { name: 'dns-a', address: '10.244.1.5', port: 5353, role: 'DNS_ROLE_REPLICA' as const },
    { name: 'nodelocal', address: '169.254.20.10', port: 53, role: 'DNS_ROLE_NODELOCAL' as const },
  ],
  dnsQuestions: [
    { name: 'kubernetes.default.svc.cluster.local', type: 'DNS_TYPE_A' as const },
    { name: 'api.example.internal', type: 'DNS_TYPE_AAAA' as const },
  ],
  dnsNxZone: 'cluster.local',
  dnsTcpCheck: false,
};

t.test('every server × every question plus one NX check; "auto" is resolv.conf\'s first nameserver', async (t) => {
  const set = dnsProbeSet(plan, conf, allowed);
  t.same(set.notAllowed, []);
  t.same(set.skipped, []);
  t.same(
    set.probes.map((p) => [p.id, p.ip, p.port, p.dns!.role, p.dns!.nxZone ?? '-']),
    [
      ['dns/service/kubernetes.default.svc.cluster.local/A', '10.96.0.10', 53, 'service', '-'],
      ['dns/service/api.example.internal/AAAA', '10.96.0.10', 53, 'service', '-'],
      ['dns/service/nx', '10.96.0.10', 53, 'service', 'cluster.local'],
      ['dns/dns-a/kubernetes.default.svc.cluster.local/A', '10.244.1.5', 5353, 'replica', '-'],
      ['dns/dns-a/api.example.internal/AAAA', '10.244.1.5', 5353, 'replica', '-'],
      ['dns/dns-a/nx', '10.244.1.5', 5353, 'replica', 'cluster.local'],
      ['dns/nodelocal/kubernetes.default.svc.cluster.local/A', '169.254.20.10', 53, 'nodelocal', '-'],
      ['dns/nodelocal/api.example.internal/AAAA', '169.254.20.10', 53, 'nodelocal', '-'],
      ['dns/nodelocal/nx', '169.254.20.10', 53, 'nodelocal', 'cluster.local'],
    ],
  );
  t.ok(set.probes.every((p) => p.kind === 'dns' && p.node === '' && p.family === 'ipv4'));
});

t.test('the TCP check: the first question over TCP, once per server, when the plan asks for it', async (t) => {
  const set = dnsProbeSet({ ...plan, dnsTcpCheck: true }, conf, allowed);
  const tcp = set.probes.filter((p) => p.dns!.tcpCheck);
  t.same(tcp.map((p) => [p.id, p.ip, p.port, p.dns!.name, p.dns!.type]), [
    ['dns/service/tcp', '10.96.0.10', 53, 'kubernetes.default.svc.cluster.local', 'A'],
    ['dns/dns-a/tcp', '10.244.1.5', 5353, 'kubernetes.default.svc.cluster.local', 'A'],
    ['dns/nodelocal/tcp', '169.254.20.10', 53, 'kubernetes.default.svc.cluster.local', 'A'],
  ]);
  t.equal(set.probes.length, 12, 'three servers × (two names + nx + tcp)');
  t.same(dnsProbeSet({ ...plan, dnsTcpCheck: true, dnsQuestions: [] }, conf, allowed).probes.filter((p) => p.dns!.tcpCheck), [], 'no question: no TCP check');
});

t.test('what is not probed, and why', async (t) => {
  const noResolver = dnsProbeSet(plan, undefined, allowed);
  t.same(noResolver.skipped, [{ server: 'service', reason: 'address "auto" but resolv.conf names no nameserver' }]);
  const narrow = dnsProbeSet(plan, conf, new CidrSet([parseCidr('10.96.0.0/12')!]));
  t.same(narrow.notAllowed, ['10.244.1.5', '169.254.20.10'], 'outside --allowed-cidrs: never asked');
  t.equal(narrow.refused, 2 * 3, 'probes not sent per round: two servers × (two names + nx)');
  t.equal(dnsProbeSet({ ...plan, dnsTcpCheck: true }, conf, new CidrSet([parseCidr('10.96.0.0/12')!])).refused, 2 * 4, 'and the TCP check when the plan has it');
  t.same(narrow.probes.map((p) => p.dns!.server), ['service', 'service', 'service']);
  const odd = dnsProbeSet({ ...plan, dnsServers: [{ name: 'x', address: 'not-an-ip', port: 53, role: 'DNS_ROLE_REPLICA' }, { name: 'y', address: '10.0.0.1', port: 53, role: 99 as never }] }, conf, allowed);
  t.same(odd.skipped.map((s) => s.server), ['x', 'y']);
  t.match(odd.skipped[0]!.reason, /is not an IP address/);
  t.match(odd.skipped[1]!.reason, /unknown role/);
  t.same(odd.probes, []);
});

t.test('resolv.conf: read, missing, too big', async (t) => {
  const file = join(dir, 'resolv.conf');
  writeFileSync(file, 'nameserver 10.96.0.10\nsearch a.svc.cluster.local svc.cluster.local\noptions ndots:5 timeout:2 attempts:3\nbogus line\n');
  const r = await readResolver(file);
  t.same(r.view, { nameservers: ['10.96.0.10'], search: ['a.svc.cluster.local', 'svc.cluster.local'], ndots: 5, timeoutSeconds: 2, attempts: 3, warnings: ['line 4: unknown directive "bogus" ignored'] });
  const missing = await readResolver(join(dir, 'nope'));
  t.equal(missing.conf, undefined);
  t.match(missing.view.error, /cannot read .*nope: ENOENT/);
  const big = join(dir, 'big');
  writeFileSync(big, '#'.repeat(70_000));
  t.match((await readResolver(big)).view.error, /70000 bytes \(at most 65536\)/);
});
