// Whole snapshots from fixture trees modelled on real clusters: the effective
// file, the binaries it needs, host-local usage and dir-level problems.
import { chmodSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { BinaryHashCache, HASH_SETTLE_MS } from '../../../agent/cni/binaries.js';
import { collectCni, snapshotContentHash, type CniDirs } from '../../../agent/cni/collect.js';

const fixtures = fileURLToPath(new URL('../../fixtures/cni/', import.meta.url));
const now = (): number => 1_700_000_000_000;

/** Small fake plugin binaries for a t.testdir tree (made at run time: no executables in the repo). */
const fakeBins = (names: readonly string[]): Record<string, string> => Object.fromEntries(names.map((n) => [n, `#!/bin/false fake ${n}\n`]));
/** The fake binaries get their execute bit, as the runtime needs. */
function executable(dir: string): string {
  for (const n of readdirSync(dir)) chmodSync(join(dir, n), 0o755);
  return dir;
}

const dirs = (scenario: string, bin: string, ipam = '/nonexistent-ipam'): CniDirs => ({ confDir: join(fixtures, scenario, 'net.d'), binDir: bin, ipamDir: ipam });

t.test('flannel: flannel + portmap, no IPAM of its own, binaries found', async (t) => {
  const bin = executable(join(t.testdir({ bin: fakeBins(['flannel', 'portmap', 'bridge']) }), 'bin'));
  const s = await collectCni(dirs('flannel', bin), { now, full: true });
  t.equal(s.takenAtMs, now());
  t.equal(s.full, true);
  t.same(s.errors, []);
  t.equal(s.effective?.file, '10-flannel.conflist');
  t.equal(s.effective?.network, 'cbr0');
  t.same(s.binaries.map((b) => [b.plugin, b.error]), [
    ['flannel', null],
    ['portmap', null],
  ]);
  t.same(s.pools, []);
});

t.test('calico: calico + bandwidth + portmap, calico-ipam binary checked too, kubeconfig ignored', async (t) => {
  const bin = executable(join(t.testdir({ bin: fakeBins(['calico', 'bandwidth', 'portmap']) }), 'bin'));
  const s = await collectCni(dirs('calico', bin), { now, full: false });
  t.same(s.files.map((f) => f.name), ['10-calico.conflist']);
  t.same(s.effective?.plugins, ['calico', 'bandwidth', 'portmap']);
  t.same(s.binaries.map((b) => [b.plugin, b.error]), [
    ['calico', null],
    ['bandwidth', null],
    ['portmap', null],
    ['calico-ipam', `not found in ${bin}`],
  ]);
  t.equal(s.full, false);
});

t.test('cilium: one plugin', async (t) => {
  const s = await collectCni(dirs('cilium', executable(join(t.testdir({ bin: fakeBins(['cilium-cni']) }), 'bin'))), { now, full: true });
  t.same(s.effective?.plugins, ['cilium-cni']);
  t.same(s.binaries.map((b) => b.error), [null]);
  t.same(s.errors, []);
});

t.test('bridge + host-local: pool size and usage from the IPAM dir', async (t) => {
  const root = t.testdir({
    bin: fakeBins(['bridge', 'portmap', 'host-local']),
    ipam: { 'bridge-net': { lock: '', 'last_reserved_ip.0': '10.244.1.3', '10.244.1.2': 'c1', '10.244.1.3': 'c2' } },
  });
  const [bin, ipam] = [executable(join(root, 'bin')), join(root, 'ipam')];
  const s = await collectCni(dirs('bridge/node-a', bin, ipam), { now, full: true });
  t.same(s.pools, [{ network: 'bridge-net', range: '10.244.1.0/24', size: 253, used: 2 }]);
  t.same(s.effective?.podCidrs, ['10.244.1.0/24']);
  t.same(s.binaries.map((b) => b.error), [null, null, null]);
  t.same(s.errors, []);
});

t.test('a portmap/bandwidth chain on a full /29', async (t) => {
  const root = t.testdir({ bin: fakeBins(['ptp', 'portmap', 'bandwidth', 'host-local']), ipam: {} });
  const [bin, ipam] = [executable(join(root, 'bin')), join(root, 'ipam')];
  mkdirSync(join(ipam, 'ptp-chain'));
  for (let i = 2; i <= 6; i++) writeFileSync(join(ipam, 'ptp-chain', `198.51.100.${i}`), `c${i}`);
  const s = await collectCni(dirs('chain', bin, ipam), { now, full: true });
  t.same(s.effective?.plugins, ['ptp', 'portmap', 'bandwidth']);
  t.same(s.pools, [{ network: 'ptp-chain', range: '198.51.100.0/29', size: 5, used: 5 }]);
});

t.test('legacy .conf with subnet/rangeStart/rangeEnd', async (t) => {
  const root = t.testdir({ bin: fakeBins(['bridge', 'host-local']), ipam: { mynet: { '203.0.113.10': '', '203.0.113.19': '', '203.0.113.20': 'outside rangeEnd' } } });
  const s = await collectCni(dirs('legacy', executable(join(root, 'bin')), join(root, 'ipam')), { now, full: true });
  t.same(s.pools, [{ network: 'mynet', range: '203.0.113.0/24 203.0.113.10-203.0.113.19', size: 10, used: 2 }]);
});

t.test('dual stack: an IPv4 and an IPv6 pool', async (t) => {
  const root = t.testdir({ bin: fakeBins(['ptp', 'portmap', 'host-local']), ipam: { kindnet: { '10.244.1.2': '', 'fd00:10:244:1::2': '', 'fd00:10:244:1::3': '' } } });
  const s = await collectCni(dirs('kindnet-dual', executable(join(root, 'bin')), join(root, 'ipam')), { now, full: true });
  t.same(s.pools.map((p) => [p.range, p.used]), [
    ['10.244.1.0/24', 1],
    ['fd00:10:244:1::/64', 2],
  ]);
});

t.test('order: broken and empty files sort first; the first valid file is effective', async (t) => {
  const s = await collectCni(dirs('order', executable(join(t.testdir({ bin: fakeBins(['flannel', 'portmap']) }), 'bin'))), { now, full: true });
  t.equal(s.effective?.file, '10-flannel.conflist');
  t.same(
    s.files.map((f) => [f.name, f.valid]),
    [
      ['00-broken.conflist', false],
      ['05-noplugins.conflist', false],
      ['10-flannel.conflist', true],
      ['20-other.conf', true],
      ['99-loopback.json', true],
      ['x.conf', false],
    ],
  );
});

t.test('nothing valid: no effective config, and the errors say pods get no network', async (t) => {
  const root = t.testdir({ bin: {}, 'net.d': {} });
  const bin = join(root, 'bin');
  const s = await collectCni(dirs('bad', bin), { now, full: true });
  t.equal(s.effective, null);
  t.ok(s.files.length >= 10);
  t.ok(s.files.every((f) => !f.valid));
  t.same(s.errors, [`no valid network config in ${join(fixtures, 'bad/net.d')}: pods on this node cannot get a network`]);
  const empty = root;
  t.same((await collectCni({ confDir: join(empty, 'net.d'), binDir: bin, ipamDir: empty }, { now, full: true })).errors, [
    `no network config in ${join(empty, 'net.d')} (no .conf, .conflist or .json file): pods on this node cannot get a network`,
  ]);
  const missing = await collectCni({ confDir: join(empty, 'gone'), binDir: join(empty, 'gone-bin'), ipamDir: empty }, { now, full: true });
  t.same(missing.errors, [`conf dir ${join(empty, 'gone')} does not exist`]);
  t.same(missing.binaries, []);
});

t.test('a missing bin dir is a dir-level error, each binary "not found"', async (t) => {
  const s = await collectCni(dirs('flannel', '/nonexistent-bin'), { now, full: true });
  t.same(s.errors, ['bin dir /nonexistent-bin does not exist']);
  t.same(s.binaries.map((b) => b.error), ['not found in /nonexistent-bin', 'not found in /nonexistent-bin']);
});

t.test('a full snapshot hashes no binary whose inode, size and times are unchanged; a replaced one again', async (t) => {
  const bin = executable(join(t.testdir({ bin: fakeBins(['flannel', 'portmap']) }), 'bin'));
  /** Counts the hashes made: with its clock past the settle time, every hash made is kept. */
  class Counting extends BinaryHashCache {
    hashed = 0;
    override set(path: string, key: string, sha256: string): void {
      this.hashed++;
      super.set(path, key, sha256);
    }
  }
  const cache = new Counting(() => Date.now() + HASH_SETTLE_MS + 1_000);
  const first = await collectCni(dirs('flannel', bin), { now, full: true, binaryCache: cache });
  t.equal(cache.hashed, 2, 'flannel and portmap hashed once');
  const again = await collectCni(dirs('flannel', bin), { now, full: true, binaryCache: cache });
  t.equal(cache.hashed, 2, 'a second full snapshot read neither');
  t.same(again.binaries, first.binaries);
  writeFileSync(join(bin, 'portmap.new'), '#!/bin/false fake portmap v2\n', { mode: 0o755 });
  renameSync(join(bin, 'portmap.new'), join(bin, 'portmap'));
  const replaced = await collectCni(dirs('flannel', bin), { now, full: true, binaryCache: cache });
  t.equal(cache.hashed, 3, 'the replaced binary, and only it, hashed again');
  t.not(replaced.binaries[1]!.sha256, first.binaries[1]!.sha256);
  t.equal(replaced.binaries[0]!.sha256, first.binaries[0]!.sha256);
});

t.test('the content hash ignores when and why, and nothing else', async (t) => {
  const bin = executable(join(t.testdir({ bin: fakeBins(['flannel', 'portmap']) }), 'bin'));
  const a = await collectCni(dirs('flannel', bin), { now: () => 1, full: true });
  const b = await collectCni(dirs('flannel', bin), { now: () => 2, full: false });
  t.equal(snapshotContentHash(a), snapshotContentHash(b));
  writeFileSync(join(bin, 'portmap'), 'changed', { mode: 0o755 });
  const c = await collectCni(dirs('flannel', bin), { now: () => 3, full: false });
  t.not(snapshotContentHash(a), snapshotContentHash(c));
});
