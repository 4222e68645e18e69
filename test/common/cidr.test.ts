// CIDR parsing and the allow-list agents consult before sending any packet.
import t from 'tap';
import { addressToBigInt, cidrBounds, cidrContains, CidrSet, cidrSize, cidrsOverlap, familyOf, formatCidr, parseCidr, PRIVATE_RANGES, type Cidr } from '../../common/cidr.js';

function set(...texts: string[]): CidrSet {
  return new CidrSet(texts.map((c) => parseCidr(c)!));
}

t.test('parseCidr reads IPv4 and IPv6 prefixes', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseCidr('192.0.2.0/24'), { address: '192.0.2.0', prefix: 24, family: 'ipv4' });
  t.same(parseCidr('192.0.2.7/32'), { address: '192.0.2.7', prefix: 32, family: 'ipv4' });
  t.same(parseCidr('0.0.0.0/0'), { address: '0.0.0.0', prefix: 0, family: 'ipv4' });
  t.same(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
  t.same(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  t.same(parseCidr('::/0'), { address: '::', prefix: 0, family: 'ipv6' });
  t.same(parseCidr('2001:db8::1/128'), { address: '2001:db8::1', prefix: 128, family: 'ipv6' });
});

t.test('parseCidr returns undefined for what is not a CIDR', async (t) => {
  for (const bad of ['', '10.0.0.0', '10.0.0.0/', '/8', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8.0', '10.0.0.0/ 8', '10.0.0.0/8/8', '10.0.0/8', '10.0.0.256/8', 'host/8', '2001:db8::/129', '2001:db8::/1000', '2001:db8:::/32', '10.0.0.0/0x8', '10.0.0.0/a']) {
    t.equal(parseCidr(bad), undefined, JSON.stringify(bad));
  }
});

t.test('familyOf', async (t) => {
  t.equal(familyOf('198.51.100.1'), 'ipv4');
  t.equal(familyOf('2001:db8::1'), 'ipv6');
  t.equal(familyOf('::ffff:198.51.100.1'), 'ipv6');
  t.equal(familyOf('not-an-ip'), undefined);
  t.equal(familyOf(''), undefined);
  t.equal(familyOf('198.51.100.0/24'), undefined);
});

t.test('CidrSet.contains for IPv4', async (t) => {
  const s = set('192.0.2.0/24', '198.51.100.128/25');
  t.ok(s.contains('192.0.2.0'), 'network address');
  t.ok(s.contains('192.0.2.255'), 'broadcast address');
  t.ok(s.contains('198.51.100.128'));
  t.ok(s.contains('198.51.100.255'));
  t.notOk(s.contains('198.51.100.127'), 'just below the /25');
  t.notOk(s.contains('192.0.3.0'), 'just above the /24');
  t.notOk(s.contains('203.0.113.1'));
  t.notOk(s.contains('2001:db8::1'), 'an IPv6 address is not in IPv4 ranges');
  t.notOk(s.contains('not-an-ip'));
  t.notOk(s.contains(''));
  t.notOk(s.contains('192.0.2.0/24'), 'a CIDR is not an address');
});

t.test('CidrSet.contains for IPv6', async (t) => {
  const s = set('2001:db8:1::/48', 'fd00::/8');
  t.ok(s.contains('2001:db8:1::'));
  t.ok(s.contains('2001:db8:1:ffff:ffff:ffff:ffff:ffff'));
  t.notOk(s.contains('2001:db8:2::1'));
  t.ok(s.contains('fd12:3456::1'));
  t.notOk(s.contains('fe80::1'));
  t.notOk(s.contains('192.0.2.1'), 'an IPv4 address is not in IPv6 ranges');
});

t.test('host bits set in a CIDR still cover the whole network', async (t) => {
  const s = set('192.0.2.77/24');
  t.ok(s.contains('192.0.2.1'));
  t.notOk(s.contains('192.0.3.1'));
});

t.test('/32, /128 and /0', async (t) => {
  const hosts = set('203.0.113.9/32', '2001:db8::9/128');
  t.ok(hosts.contains('203.0.113.9'));
  t.notOk(hosts.contains('203.0.113.10'));
  t.ok(hosts.contains('2001:db8::9'));
  t.notOk(hosts.contains('2001:db8::a'));
  const all4 = set('0.0.0.0/0');
  t.ok(all4.contains('203.0.113.1'));
  t.notOk(all4.contains('2001:db8::1'), '0.0.0.0/0 is IPv4 only');
  t.ok(set('::/0').contains('2001:db8::1'));
});

t.test('an empty set contains nothing', async (t) => {
  const s = new CidrSet([]);
  t.notOk(s.contains('192.0.2.1'));
  t.notOk(s.contains('2001:db8::1'));
  t.equal(s.toString(), '');
});

t.test('toString lists the CIDRs comma-separated', async (t) => {
  t.equal(set('192.0.2.0/24', '2001:db8::/32').toString(), '192.0.2.0/24,2001:db8::/32');
  const cidrs: Cidr[] = [{ address: '198.51.100.0', prefix: 24, family: 'ipv4' }];
  t.equal(new CidrSet(cidrs).cidrs, cidrs);
});

t.test('the private ranges cover RFC 1918, CGNAT and ULA, and not documentation or public space', async (t) => {
  const s = new CidrSet(PRIVATE_RANGES.map((c) => parseCidr(c)!));
  for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', '100.64.0.1', '100.127.255.254', 'fc00::1', 'fd12::1']) t.ok(s.contains(ip), ip);
  for (const ip of ['172.32.0.1', '172.15.255.255', '100.128.0.1', '192.0.2.1', '198.51.100.1', '203.0.113.1', '8.8.8.8', '2001:db8::1', 'fe80::1']) t.notOk(s.contains(ip), ip);
  t.ok(PRIVATE_RANGES.every((c) => parseCidr(c) !== undefined), 'every default range parses');
});

const c = (text: string): Cidr => parseCidr(text)!;

t.test('addressToBigInt reads IPv4 and every IPv6 spelling', async (t) => {
  t.equal(addressToBigInt('0.0.0.0'), 0n);
  t.equal(addressToBigInt('192.0.2.1'), 0xc0000201n);
  t.equal(addressToBigInt('255.255.255.255'), 0xffffffffn);
  t.equal(addressToBigInt('::'), 0n);
  t.equal(addressToBigInt('::1'), 1n);
  t.equal(addressToBigInt('2001:db8::'), 0x20010db8n << 96n);
  t.equal(addressToBigInt('2001:db8::1'), (0x20010db8n << 96n) | 1n);
  t.equal(addressToBigInt('2001:db8:0:0:0:0:0:1'), addressToBigInt('2001:db8::1'));
  t.equal(addressToBigInt('2001:DB8::a:b'), (0x20010db8n << 96n) | (0xan << 16n) | 0xbn, 'upper case hex');
  t.equal(addressToBigInt('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), (1n << 128n) - 1n);
  t.equal(addressToBigInt('::ffff:192.0.2.1'), (0xffffn << 32n) | 0xc0000201n, 'IPv4-mapped');
  t.equal(addressToBigInt('fe80::1%eth0'), (0xfe80n << 112n) | 1n, 'zone id ignored');
  t.equal(addressToBigInt('not-an-ip'), undefined);
  t.equal(addressToBigInt('192.0.2.0/24'), undefined);
});

t.test('cidrBounds and cidrSize, host bits ignored', async (t) => {
  t.same(cidrBounds(c('192.0.2.77/24')), { first: 0xc0000200n, last: 0xc00002ffn });
  t.same(cidrBounds(c('203.0.113.9/32')), { first: 0xcb007109n, last: 0xcb007109n });
  t.same(cidrBounds(c('0.0.0.0/0')), { first: 0n, last: 0xffffffffn });
  t.same(cidrBounds(c('2001:db8::1/64')), { first: 0x20010db8n << 96n, last: (0x20010db8n << 96n) | ((1n << 64n) - 1n) });
  t.equal(cidrSize(c('192.0.2.0/24')), 256n);
  t.equal(cidrSize(c('10.0.0.0/8')), 1n << 24n);
  t.equal(cidrSize(c('198.51.100.1/32')), 1n);
  t.equal(cidrSize(c('2001:db8::/64')), 1n << 64n);
  t.equal(cidrSize(c('::/0')), 1n << 128n);
});

t.test('cidrContains', async (t) => {
  t.ok(cidrContains(c('10.0.0.0/8'), c('10.244.1.0/24')));
  t.notOk(cidrContains(c('10.244.1.0/24'), c('10.0.0.0/8')));
  t.ok(cidrContains(c('192.0.2.0/24'), c('192.0.2.0/24')), 'a range contains itself');
  t.ok(cidrContains(c('192.0.2.0/24'), c('192.0.2.200/24')), 'host bits ignored');
  t.notOk(cidrContains(c('198.51.100.0/25'), c('198.51.100.128/25')), 'adjacent halves');
  t.ok(cidrContains(c('0.0.0.0/0'), c('203.0.113.0/24')));
  t.notOk(cidrContains(c('::/0'), c('203.0.113.0/24')), 'families never mix');
  t.ok(cidrContains(c('2001:db8::/32'), c('2001:db8:1::/48')));
  t.notOk(cidrContains(c('2001:db8:1::/48'), c('2001:db8:2::/48')));
});

t.test('cidrsOverlap for IPv4', async (t) => {
  t.ok(cidrsOverlap(c('10.244.1.0/24'), c('10.244.1.0/24')), 'the same range');
  t.ok(cidrsOverlap(c('10.96.0.0/12'), c('10.100.0.0/24')), 'inside');
  t.ok(cidrsOverlap(c('10.100.0.0/24'), c('10.96.0.0/12')), 'symmetric');
  t.ok(cidrsOverlap(c('192.0.2.0/24'), c('192.0.2.255/32')), 'the last address');
  t.notOk(cidrsOverlap(c('192.0.2.0/24'), c('192.0.3.0/24')), 'neighbours');
  t.notOk(cidrsOverlap(c('10.96.0.0/12'), c('10.112.0.0/12')), 'the next /12');
  t.ok(cidrsOverlap(c('10.96.0.0/12'), c('10.111.255.255/32')), 'the last address of a /12');
  t.notOk(cidrsOverlap(c('198.51.100.0/25'), c('198.51.100.128/25')));
});

t.test('cidrsOverlap for IPv6 and across families', async (t) => {
  t.ok(cidrsOverlap(c('fd00::/8'), c('fd12:3456::/64')));
  t.ok(cidrsOverlap(c('2001:db8:1::/64'), c('2001:db8:1::ffff/128')));
  t.notOk(cidrsOverlap(c('2001:db8:1::/64'), c('2001:db8:1:1::/64')));
  t.ok(cidrsOverlap(c('2001:db8::/32'), c('2001:db8:ffff:ffff::/64')));
  t.notOk(cidrsOverlap(c('2001:db8::/32'), c('2001:db9::/32')));
  t.ok(cidrsOverlap(c('::/0'), c('2001:db8::/128')));
  t.notOk(cidrsOverlap(c('::ffff:0:0/96'), c('192.0.2.0/24')), 'IPv4-mapped IPv6 is IPv6 here');
  t.notOk(cidrsOverlap(c('0.0.0.0/0'), c('::/0')));
});

t.test('formatCidr writes the CIDR as parsed', async (t) => {
  t.equal(formatCidr(c('10.244.1.0/24')), '10.244.1.0/24');
  t.equal(formatCidr(c('2001:db8::/32')), '2001:db8::/32');
});
