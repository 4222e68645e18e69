// host-local's range arithmetic and allocation counting, IPv4 and IPv6.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { countPools, formatAddress, parseAddress, resolveRange } from '../../../agent/cni/ipam.js';

t.test('addresses to numbers and back', async (t) => {
  t.same(parseAddress('192.0.2.1'), { family: 4, value: 0xc0000201n });
  t.same(parseAddress('::1'), { family: 6, value: 1n });
  t.same(parseAddress('2001:db8::ffff:192.0.2.1'), { family: 6, value: 0x20010db8000000000000ffffc0000201n });
  t.equal(parseAddress('last_reserved_ip.0'), undefined);
  t.equal(parseAddress('lock'), undefined);
  t.equal(formatAddress(6, 0x20010db8000000000000000000000001n), '2001:db8::1');
  t.equal(formatAddress(6, 0x20010db8000100000000000100000000n), '2001:db8:1::1:0:0');
  t.equal(formatAddress(6, 0n), '::');
  t.equal(formatAddress(4, 0xc6336407n), '198.51.100.7');
});

t.test('sizes: network, broadcast and gateway are not handed out', async (t) => {
  const size = (r: Parameters<typeof resolveRange>[0]): bigint | string => {
    const x = resolveRange(r);
    return 'error' in x ? x.error : x.size;
  };
  t.equal(size({ subnet: '10.244.1.0/24' }), 253n, '.1 gateway, .0 network, .255 broadcast');
  t.equal(size({ subnet: '198.51.100.0/29' }), 5n, '.2 to .6');
  t.equal(size({ subnet: '198.51.100.0/30' }), 1n);
  t.equal(size({ subnet: '10.244.1.0/24', gateway: '10.244.1.254' }), 253n, 'a gateway elsewhere: .1 is handed out, .254 not');
  t.equal(size({ subnet: '203.0.113.0/24', rangeStart: '203.0.113.10', rangeEnd: '203.0.113.19' }), 10n);
  t.equal(size({ subnet: '203.0.113.0/24', rangeStart: '203.0.113.1', rangeEnd: '203.0.113.10' }), 9n, 'the default gateway .1 inside the range');
  t.equal(size({ subnet: '10.244.1.77/24' }), 253n, 'host bits in the subnet are masked, as net.ParseCIDR does');
  t.equal(size({ subnet: 'fd00:10:244:1::/64' }), 2n ** 64n - 2n, 'IPv6: no broadcast; the network address and ::1 (gateway) are out');
  t.equal(size({ subnet: '2001:db8::/120' }), 254n);
  t.equal(size({ subnet: '10.0.0.0/31' }), 'subnet 10.0.0.0/31 is too small to allocate from');
  t.equal(size({ subnet: 'usePodCidr' }), 'subnet "usePodCidr" is not a CIDR');
  t.equal(size({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }), 'rangeStart 10.0.1.5 is not in 10.0.0.0/24');
  t.equal(size({ subnet: '10.0.0.0/24', gateway: 'fd00::1' }), 'gateway "fd00::1" is not an IPv4 address');
  t.equal(size({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.9', rangeEnd: '10.0.0.3' }), 'rangeStart 10.0.0.9 is after rangeEnd 10.0.0.3 in 10.0.0.0/24');
  const r = resolveRange({ subnet: '203.0.113.0/24', rangeStart: '203.0.113.10' });
  t.equal('text' in r && r.text, '203.0.113.0/24 203.0.113.10-203.0.113.254', 'the range text names the end host-local would use');
});

t.test('counting: IP-named files inside the range; lock, last_reserved_ip and strays are not', async (t) => {
  const dir = t.testdir({
    net: {
      lock: '',
      'last_reserved_ip.0': '10.244.1.4',
      '10.244.1.2': 'id1\neth0',
      '10.244.1.3': 'id2\neth0',
      '10.244.1.4': 'id3\neth0',
      '10.244.9.9': 'outside the range',
      'fd00:10:244:1::2': 'v6',
      'not-an-ip': '',
    },
  });
  const c = await countPools(dir, 'net', [{ subnet: '10.244.1.0/24' }, { subnet: 'fd00:10:244:1::/64' }]);
  t.same(c.errors, []);
  t.same(c.pools, [
    { network: 'net', range: '10.244.1.0/24', size: 253, used: 3 },
    { network: 'net', range: 'fd00:10:244:1::/64', size: Number.MAX_SAFE_INTEGER, used: 1 },
  ]);
});

t.test('a full /29: five addresses, five allocations', async (t) => {
  const dir = t.testdir({});
  mkdirSync(join(dir, 'ptp-chain'));
  for (let i = 2; i <= 6; i++) writeFileSync(join(dir, 'ptp-chain', `198.51.100.${i}`), `container-${i}\neth0`);
  writeFileSync(join(dir, 'ptp-chain', 'last_reserved_ip.0'), '198.51.100.6');
  const c = await countPools(dir, 'ptp-chain', [{ subnet: '198.51.100.0/29' }]);
  t.same(c.pools, [{ network: 'ptp-chain', range: '198.51.100.0/29', size: 5, used: 5 }]);
});

t.test('no network dir yet is an empty pool; bad ranges and a hostile network name are errors', async (t) => {
  const dir = t.testdir({});
  t.same(await countPools(dir, 'fresh', [{ subnet: '10.1.0.0/16' }]), { pools: [{ network: 'fresh', range: '10.1.0.0/16', size: 65533, used: 0 }], errors: [] });
  t.same(await countPools(dir, 'calico', [{ subnet: 'usePodCidr' }]), { pools: [], errors: [] }, "Calico's placeholder is filled in at run time");
  t.same((await countPools(dir, 'n', [{ subnet: '10.0.0.0/32' }])).errors, ['IPAM range of network n: subnet 10.0.0.0/32 is too small to allocate from']);
  const hostile = await countPools(dir, '../../etc', [{ subnet: '10.0.0.0/24' }]);
  t.same(hostile.errors, ['network name "../../etc" cannot be an IPAM dir name; allocations not counted']);
  t.equal(hostile.pools[0]?.used, 0);
});
