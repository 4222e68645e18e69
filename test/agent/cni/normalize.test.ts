// Normalization: what makes two nodes' configs "the same", and what is set aside per node.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CNI_LIMITS } from '../../../common/cni.js';
import { canonicalJson, normalizeEffective, sha256Hex } from '../../../agent/cni/normalize.js';
import { parseConf, type NetworkList } from '../../../agent/cni/parse-conf.js';

const fixture = (path: string): string => readFileSync(fileURLToPath(new URL(`../../fixtures/cni/${path}`, import.meta.url)), 'utf8');
const listOf = (name: string, text: string): NetworkList => {
  const p = parseConf(name, Buffer.from(text), 'x');
  if (!p.list) throw new Error(`fixture ${name} invalid: ${p.info.error ?? ''}`);
  return p.list;
};
const effective = (name: string, text: string) => normalizeEffective(name, listOf(name, text));

t.test('canonical JSON: sorted keys at every level, no whitespace, arrays in order', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  t.equal(canonicalJson({ a: 1500.0 }), canonicalJson({ a: 1500 }), 'numbers by value');
  t.not(canonicalJson({ mtu: '1500' }), canonicalJson({ mtu: 1500 }), 'a string is not a number');
  t.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

t.test('two nodes with different host-local subnets: same hash, the subnets set aside', async (t) => {
  const a = effective('10-bridge.conflist', fixture('bridge/node-a/net.d/10-bridge.conflist'));
  const b = effective('10-bridge.conflist', fixture('bridge/node-b/net.d/10-bridge.conflist'));
  t.equal(a.hash, b.hash);
  t.equal(a.normalized, b.normalized);
  t.equal(a.hash, sha256Hex(a.normalized));
  t.same(a.perNode, { 'plugins[0].ipam.ranges': '[[{"gateway":"10.244.1.1","subnet":"10.244.1.0/24"}]]' });
  t.same(b.perNode, { 'plugins[0].ipam.ranges': '[[{"gateway":"10.244.2.1","subnet":"10.244.2.0/24"}]]' });
  t.same(a.podCidrs, ['10.244.1.0/24']);
  t.same(b.podCidrs, ['10.244.2.0/24']);
  t.notMatch(a.normalized, /10\.244/);
  t.match(a.normalized, /"routes":\[\{"dst":"0\.0\.0\.0\/0"\}\]/, 'routes are cluster-wide: kept');
});

t.test('a changed MTU is a different hash', async (t) => {
  const a = effective('10-bridge.conflist', fixture('bridge/node-a/net.d/10-bridge.conflist'));
  const c = effective('10-bridge.conflist', fixture('bridge/node-c-mtu/net.d/10-bridge.conflist'));
  t.not(a.hash, c.hash);
  t.match(c.normalized, /"mtu":9000/);
});

t.test('key order and whitespace do not change the hash; values do', async (t) => {
  const base = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge', mtu: 1500, ipam: { type: 'host-local', subnet: '10.0.1.0/24' } }] };
  const reordered = '{"plugins":[{"ipam":{"subnet":"10.0.2.0/24","type":"host-local"},"mtu":1500,"type":"bridge"}],\n  "name":"n","cniVersion":"1.0.0"}';
  t.equal(effective('a.conflist', JSON.stringify(base, null, 2)).hash, effective('a.conflist', reordered).hash);
  t.not(effective('a.conflist', JSON.stringify(base)).hash, effective('a.conflist', JSON.stringify({ ...base, cniVersion: '0.4.0' })).hash);
});

t.test('Calico: the node name is set aside, everything else (MTU, IPAM settings, chain) is compared', async (t) => {
  const text = fixture('calico/net.d/10-calico.conflist');
  const a = effective('10-calico.conflist', text);
  const b = effective('10-calico.conflist', text.replace('"nodename": "node-a"', '"nodename": "node-b"'));
  t.equal(a.hash, b.hash);
  t.same(a.perNode, { 'plugins[0].nodename': '"node-a"' });
  t.same(b.perNode, { 'plugins[0].nodename': '"node-b"' });
  t.same(a.plugins, ['calico', 'bandwidth', 'portmap']);
  t.equal(a.ipamType, 'calico-ipam');
  t.same(a.podCidrs, [], 'calico-ipam hands out blocks from the pool: no host-local subnet');
  t.match(a.normalized, /"assign_ipv4":"true"/);
  t.not(a.hash, effective('10-calico.conflist', text.replace('"mtu": 1450', '"mtu": 1440')).hash);
});

t.test('Calico on host-local with the usePodCidr placeholder: same on every node, and no pod CIDR', async (t) => {
  const e = effective(
    '10-calico.conflist',
    JSON.stringify({ name: 'k8s-pod-network', cniVersion: '0.3.1', plugins: [{ type: 'calico', nodename: 'n1', ipam: { type: 'host-local', subnet: 'usePodCidr' } }] }),
  );
  t.same(e.perNode, { 'plugins[0].ipam.subnet': '"usePodCidr"', 'plugins[0].nodename': '"n1"' });
  t.same(e.podCidrs, []);
});

t.test('AWS VPC CNI: egress-cni nodeIP set aside; its link-local pool is no pod CIDR', async (t) => {
  const e = effective(
    '10-aws.conflist',
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'aws-cni',
      disableCheck: true,
      plugins: [
        { name: 'aws-cni', type: 'aws-cni', vethPrefix: 'eni', mtu: '9001' },
        { name: 'egress-cni', type: 'egress-cni', nodeIP: '192.0.2.10', ipam: { type: 'host-local', ranges: [[{ subnet: '169.254.172.0/22' }]], dataDir: '/run/cni/v4pd/egress-v4-ipam' } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    }),
  );
  t.same(Object.keys(e.perNode), ['plugins[1].ipam.ranges', 'plugins[1].nodeIP']);
  t.same(e.podCidrs, []);
  t.notMatch(e.normalized, /"name":"aws-cni","type"/, 'plugin-level names are dropped: libcni injects the list name');
});

t.test('a .conf and the equivalent one-plugin .conflist normalize to the same text', async (t) => {
  const conf = effective('10-mynet.conf', fixture('legacy/net.d/10-mynet.conf'));
  const list = effective(
    '10-mynet.conflist',
    JSON.stringify({ cniVersion: '0.2.0', name: 'mynet', plugins: [{ type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', subnet: '203.0.113.0/24', routes: [{ dst: '0.0.0.0/0' }] } }] }),
  );
  t.equal(conf.hash, list.hash);
  t.same(Object.keys(conf.perNode), ['plugins[0].ipam.gateway', 'plugins[0].ipam.rangeEnd', 'plugins[0].ipam.rangeStart', 'plugins[0].ipam.subnet']);
  t.same(conf.podCidrs, ['203.0.113.0/24']);
});

t.test('flannel and cilium write nothing per node', async (t) => {
  const f = effective('10-flannel.conflist', fixture('flannel/net.d/10-flannel.conflist'));
  t.same(f.perNode, {});
  t.equal(f.normalized, '{"cniVersion":"0.3.1","name":"cbr0","plugins":[{"delegate":{"hairpinMode":true,"isDefaultGateway":true},"type":"flannel"},{"capabilities":{"portMappings":true},"type":"portmap"}]}');
  const c = effective('05-cilium.conflist', fixture('cilium/net.d/05-cilium.conflist'));
  t.same(c.perNode, {});
  t.same(c.plugins, ['cilium-cni']);
});

t.test('dual stack: both ranges set aside, both pod CIDRs reported', async (t) => {
  const e = effective('10-kindnet.conflist', fixture('kindnet-dual/net.d/10-kindnet.conflist'));
  t.same(e.podCidrs, ['10.244.1.0/24', 'fd00:10:244:1::/64']);
  t.same(Object.keys(e.perNode), ['plugins[0].ipam.ranges']);
});

t.test('a normalized config over the limit keeps its hash, and a note instead of the text', async (t) => {
  const big = JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge', blob: 'x'.repeat(CNI_LIMITS.normalizedBytes) }] });
  const e = effective('big.conflist', big);
  t.equal(e.hash, sha256Hex(canonicalJson(JSON.parse(big))));
  t.match(e.normalized, /^\(normalized config is \d+ bytes, over the 65536-byte limit: only its hash is kept\)$/);
});
