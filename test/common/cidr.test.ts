import t from 'tap';
import { CidrSet, familyOf, parseCidr, PRIVATE_RANGES } from '../../common/cidr.js';
import { isDns1123Subdomain } from '../../common/names.js';

t.test('CidrSet', (t) => {
  const set = new CidrSet(PRIVATE_RANGES.map((c) => parseCidr(c)!));
  for (const ip of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd12::1']) t.ok(set.contains(ip), ip);
  for (const ip of ['8.8.8.8', '127.0.0.1', '172.32.0.1', '2001:db8::1', 'not-an-ip']) t.notOk(set.contains(ip), ip);
  t.equal(familyOf('192.0.2.1'), 'ipv4');
  t.equal(familyOf('2001:db8::1'), 'ipv6');
  t.equal(familyOf('x'), undefined);
  t.end();
});

t.test('DNS-1123 subdomains (Kubernetes node names)', (t) => {
  for (const ok of ['node-a', 'ip-10-0-0-1.ec2.internal', 'a', '0node', 'x'.repeat(64)]) t.ok(isDns1123Subdomain(ok), ok);
  for (const bad of ['', 'Node', 'node_a', '-node', 'node-', 'a..b', 'x'.repeat(254), `${'a'.repeat(63)}.`.repeat(5)]) t.notOk(isDns1123Subdomain(bad), bad);
  t.end();
});
