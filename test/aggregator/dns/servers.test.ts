// --dns-servers, --dns-names and --cluster-domain: what people type, and a
// clear error naming what was wrong.
import t from 'tap';
import { parseAggregatorConfig } from '../../../aggregator/config.js';
import { dnsDomain, dnsQuestions, dnsServers } from '../../../aggregator/dns/servers.js';
import { ConfigError, Expected } from '../../../common/settings.js';

t.test('servers: roles, names, ports, IPv6, auto', async (t) => {
  t.same(dnsServers('service=auto'), [{ name: 'service', role: 'service', address: '', port: 53 }]);
  t.same(dnsServers('service=10.96.0.10, replica:coredns-a=10.244.1.5,replica=10.244.2.7:5353,nodelocal=169.254.20.10'), [
    { name: 'service', role: 'service', address: '10.96.0.10', port: 53 },
    { name: 'coredns-a', role: 'replica', address: '10.244.1.5', port: 53 },
    { name: '10.244.2.7:5353', role: 'replica', address: '10.244.2.7', port: 5353 },
    { name: 'nodelocal', role: 'nodelocal', address: '169.254.20.10', port: 53 },
  ]);
  t.same(dnsServers('service:v6=[fd00::a]:53,replica=fd00::b,replica=[fd00::c]:5353'), [
    { name: 'v6', role: 'service', address: 'fd00::a', port: 53 },
    { name: 'fd00::b', role: 'replica', address: 'fd00::b', port: 53 },
    { name: '[fd00::c]:5353', role: 'replica', address: 'fd00::c', port: 5353 },
  ]);
  t.same(dnsServers('none'), [], '"none": no DNS probes');
  t.same(dnsServers(''), []);
});

t.test('servers: bad entries name what is wrong', async (t) => {
  const bad: [string, RegExp][] = [
    ['10.96.0.10', /has no "="/],
    ['kube=10.96.0.10', /"kube" is not a role/],
    ['replica=auto', /only the service role may be "auto"/],
    ['replica:bad name=10.0.0.1', /name "bad name" must be 1-63/],
    ['replica=coredns.kube-system', /is not an IP address/],
    ['replica=10.0.0.1:0', /port 0 is not 1-65535/],
    ['replica=10.0.0.1:70000', /port 70000 is not 1-65535/],
    ['service=10.96.0.10,service=10.96.0.11', /"service" appears twice/],
    [Array.from({ length: 65 }, (_, i) => `replica=10.0.0.${i + 1}`).join(','), /at most 64/],
  ];
  for (const [raw, re] of bad) {
    const v = dnsServers(raw);
    t.ok(v instanceof Expected, raw.slice(0, 40));
    t.match((v as Expected).what, re);
  }
});

t.test('names: A by default, /AAAA, normalized, deduplicated, bad ones named', async (t) => {
  t.same(dnsQuestions('Kubernetes.Default.svc.cluster.local.,api.example.internal/aaaa,kubernetes.default.svc.cluster.local'), [
    { name: 'kubernetes.default.svc.cluster.local', type: 'A' },
    { name: 'api.example.internal', type: 'AAAA' },
  ]);
  t.match((dnsQuestions('example.com/MX') as Expected).what, /record type "MX" is not A or AAAA/);
  t.match((dnsQuestions('exa mple.com') as Expected).what, /"exa mple.com" is not a DNS name/);
  t.match((dnsQuestions(`${'a'.repeat(64)}.com`) as Expected).what, /is not a DNS name/);
  t.match((dnsQuestions('a..b') as Expected).what, /is not a DNS name/);
  t.match((dnsQuestions(Array.from({ length: 17 }, (_, i) => `n${i}.example`).join(',')) as Expected).what, /at most 16/);
});

t.test('cluster domain', async (t) => {
  t.equal(dnsDomain('Cluster.Local.'), 'cluster.local');
  t.ok(dnsDomain('-bad.local') instanceof Expected);
  t.ok(dnsDomain('') instanceof Expected);
});

t.test('the aggregator config: defaults, the error line, and names without servers', async (t) => {
  const c = parseAggregatorConfig([], {});
  t.same(c.dnsServers, [{ name: 'service', role: 'service', address: '', port: 53 }], 'default: the service address each agent\'s resolv.conf names');
  t.same(c.dnsNames, [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' }]);
  t.equal(c.clusterDomain, 'cluster.local');
  t.equal(c.dnsLatencyThreshold, 20);
  t.throws(() => parseAggregatorConfig([], { NETMATRIX_DNS_SERVERS: 'replica=auto' }), new ConfigError('netmatrix-aggregator: invalid NETMATRIX_DNS_SERVERS "replica=auto": expected role[:name]=address[:port], role one of service, replica, nodelocal; only the service role may be "auto" ("replica=auto")'));
  t.throws(() => parseAggregatorConfig(['--dns-names', ''], {}), /--dns-names \(NETMATRIX_DNS_NAMES\) is empty while --dns-servers names servers/);
  t.same(parseAggregatorConfig(['--dns-servers', 'none', '--dns-names', ''], {}).dnsServers, [], 'no servers, no names: fine');
});
