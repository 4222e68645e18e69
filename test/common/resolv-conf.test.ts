// resolv.conf as the C libraries read it, and what a lookup costs under it.
import t from 'tap';
import { expandName, lookupCost, parseResolvConf } from '../../common/resolv-conf.js';

// What kubelet writes into a pod with dnsPolicy ClusterFirst.
const KUBE = `search default.svc.cluster.local svc.cluster.local cluster.local example.internal
nameserver 10.96.0.10
options ndots:5
`;

t.test('a ClusterFirst pod: service IP, four search domains, ndots 5', async (t) => {
  const c = parseResolvConf(KUBE);
  t.same(c.nameservers, ['10.96.0.10']);
  t.same(c.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.internal']);
  t.equal(c.ndots, 5);
  t.equal(c.timeoutSeconds, 5);
  t.equal(c.attempts, 2);
  t.same(c.warnings, []);
});

t.test('a short name walks the search list first; a name with enough dots is tried as is first; an absolute one alone', async (t) => {
  const c = parseResolvConf(KUBE);
  t.same(expandName('kubernetes', c), [
    'kubernetes.default.svc.cluster.local',
    'kubernetes.svc.cluster.local',
    'kubernetes.cluster.local',
    'kubernetes.example.internal',
    'kubernetes',
  ]);
  t.same(expandName('a.b.c.d.e.f', c)[0], 'a.b.c.d.e.f');
  t.same(expandName('Example.COM.', c), ['example.com']);
  t.same(expandName('example.com', { search: ['svc.cluster.local'], ndots: 1 }), ['example.com', 'example.com.svc.cluster.local']);
});

t.test('what a lookup costs: an external name under ndots 5 tries every search domain first', async (t) => {
  const c = parseResolvConf(KUBE);
  const external = lookupCost('api.github.com', c, (n) => n === 'api.github.com');
  t.equal(external.tried.length, 5, 'four NXDOMAINs before the real name');
  t.equal(external.queries, 10, 'A and AAAA each');
  const service = lookupCost('kubernetes.default', c, (n) => n === 'kubernetes.default.svc.cluster.local');
  t.same(service.tried, ['kubernetes.default.default.svc.cluster.local', 'kubernetes.default.svc.cluster.local']);
  t.equal(service.queries, 4);
  t.equal(lookupCost('kubernetes.default.svc.cluster.local.', c, () => true).queries, 2, 'a trailing dot costs one name');
  const missing = lookupCost('nope', c, () => false, 1);
  t.equal(missing.queries, 5);
  t.equal(missing.worstCaseSeconds, 5 * 2 * 1 * 5, 'names × attempts × servers × timeout');
});

t.test('options, comments, the last search line, and limits', async (t) => {
  const c = parseResolvConf(`# generated
domain corp.example
; the last search or domain line wins
search a.example b.example.
nameserver 192.0.2.1
nameserver 192.0.2.2 # second
nameserver 192.0.2.3
nameserver 192.0.2.4
options ndots:99 timeout:2 attempts:9 rotate edns0
frobnicate yes
nameserver
`);
  t.same(c.search, ['a.example', 'b.example']);
  t.equal(c.ndots, 15, 'clamped as glibc does');
  t.equal(c.timeoutSeconds, 2);
  t.equal(c.attempts, 5, 'clamped');
  t.same(c.nameservers, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
  t.match(c.warnings, [/line 10: unknown directive "frobnicate" ignored/, /line 11: nameserver without an address/, /4 name servers: the C libraries use only the first 3 \(192\.0\.2\.4 never asked\)/]);
  t.match(parseResolvConf('').warnings, [/no nameserver/]);
  t.equal(parseResolvConf('options ndots:x').ndots, 1, 'a bad value keeps the default');
  t.same(parseResolvConf('search a.example # b.example').search, ['a.example', '#', 'b.example'], 'no comments after a directive, as in glibc');
});
