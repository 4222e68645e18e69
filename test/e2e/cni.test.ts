// netmatrix's CNI checks on a namespace lab: every node's agent reads a CNI
// conf dir, bin dir and host-local IPAM dir of its own (the Netmatrix harness's
// cniDirs), laid out as a bridge + host-local cluster lays them out
// (/etc/cni/net.d/10-lab.conflist, /opt/cni/bin/{bridge,host-local,portmap},
// /var/lib/cni/networks/lab-net/<ip>). The faults are real changes on disk,
// made the way they happen on a node: a config edited by hand, a pool filled
// by leaked allocations, a plugin binary replaced by a partial upgrade, a
// broken file dropped in front of the good one (which containerd stops at).
// Change-to-finding and fix-to-resolved times are printed, not asserted
// (bench/).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import t from 'tap';
import { holdsFor, waitFor } from '../helpers/wait.js';
import { run } from './lab/command.js';
import { createLab } from './lab/lab.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { Netmatrix, type ApiFinding, type CniNodeView, type CniView } from './netmatrix.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const FOR_MS = 1000;
const NODES = 5;
const POOL_THRESHOLD = 0.9;
/** Generous deadlines: the times themselves are printed. */
const FIRE_MS = 20_000;
const HEAL_MS = 20_000;

const NETWORK = 'lab-net';
const CONF = '10-lab.conflist';
const MTU = 1450;
/** What the chain needs from the bin dir (plugin types, then IPAM types), plus one it does not use. */
const BINARIES = ['bridge', 'host-local', 'portmap', 'loopback'];
/** Allocations every node starts with (.2-.4 of its /24; .1 is the gateway). */
const INITIAL_IPS = [2, 3, 4];

const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: NODES });
t.teardown(() => lab.down());

const root = mkdtempSync(join(tmpdir(), 'netmatrix-cni-e2e-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

interface NodeDirs {
  readonly confDir: string;
  readonly binDir: string;
  readonly ipamDir: string;
  /** Outside the three dirs: where a file set aside goes. */
  readonly spare: string;
}
const dirsOf = (node: string): NodeDirs => {
  const base = join(root, node);
  return { confDir: join(base, 'etc/cni/net.d'), binDir: join(base, 'opt/cni/bin'), ipamDir: join(base, 'var/lib/cni/networks'), spare: base };
};
const indexOf = (node: string) => Number(/^node-(\d+)$/.exec(node)![1]);
const subnet = (node: string) => `10.244.${indexOf(node)}.0/24`;
const podIP = (node: string, host: number) => `10.244.${indexOf(node)}.${host}`;

function conflist(node: string, mtu = MTU): string {
  const doc = {
    cniVersion: '1.0.0',
    name: NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        mtu,
        ipam: { type: 'host-local', ranges: [[{ subnet: subnet(node) }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A stand-in plugin "binary": the agent hashes it and never runs it. */
const binary = (plugin: string, version = 'v1.4.0') => `#!/bin/sh\n# CNI plugin ${plugin} ${version} (lab stand-in: netmatrix hashes it, never runs it)\necho '{"code":100,"msg":"lab stand-in"}'\nexit 1\n`;

/**
 * Writes like an editor with backupcopy=no, a ConfigMap projection or an
 * install-cni script: a temp file in the same dir, then a rename over the
 * target. The reader sees the old bytes or the new ones, never a half-written
 * file (an in-place write can be read between truncate and write, which is an
 * "empty file" or "invalid JSON" for one scan: a different finding, not the one
 * under test). The temp name has no .conf/.conflist/.json extension, so the
 * runtime, and the agent, never pick it up.
 */
function writeAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** host-local's record of one allocation: container ID, then the interface. */
const allocate = (ipamDir: string, ip: string) => writeFileSync(join(ipamDir, NETWORK, ip), `${'c0ffee'.padEnd(64, ip.replace(/\D/g, ''))}\r\neth0`);

/** Puts a node's three dirs in their healthy state (idempotent: unchanged content reports nothing new). */
function resetNode(node: string): void {
  const d = dirsOf(node);
  for (const dir of [d.confDir, d.binDir, join(d.ipamDir, NETWORK)]) mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(d.confDir)) if (f !== CONF) rmSync(join(d.confDir, f), { recursive: true, force: true });
  const conf = join(d.confDir, CONF);
  if (!existsSync(conf) || readFileSync(conf, 'utf8') !== conflist(node)) writeAtomic(conf, conflist(node));
  for (const p of BINARIES) {
    const path = join(d.binDir, p);
    if (!existsSync(path) || readFileSync(path).toString() !== binary(p)) writeAtomic(path, binary(p), 0o755);
    else if ((statSync(path).mode & 0o777) !== 0o755) chmodSync(path, 0o755);
  }
  const keep = new Set([...INITIAL_IPS.map((h) => podIP(node, h)), 'last_reserved_ip.0', 'lock']);
  const pool = join(d.ipamDir, NETWORK);
  for (const f of readdirSync(pool)) if (!keep.has(f)) unlinkSync(join(pool, f));
  for (const h of INITIAL_IPS) if (!existsSync(join(pool, podIP(node, h)))) allocate(d.ipamDir, podIP(node, h));
  writeFileSync(join(pool, 'last_reserved_ip.0'), podIP(node, INITIAL_IPS.at(-1)!));
  writeFileSync(join(pool, 'lock'), '');
}
for (const n of lab.nodes) resetNode(n.name);

const nm = new Netmatrix(lab, {
  aggregator: {
    'probe-interval': `${INTERVAL_MS}ms`,
    'probe-timeout': `${TIMEOUT_MS}ms`,
    window: '10s',
    'finding-for': `${FOR_MS}ms`,
    'finding-clear-for': `${FOR_MS}ms`,
    'ip-pool-threshold': String(POOL_THRESHOLD),
    // A kubeadm-style service range, clear of the pod CIDRs: no PodCidrOverlap.
    'service-cidrs': '10.96.0.0/12',
  },
  cniDirs: (node) => dirsOf(node),
});
t.teardown(() => nm.stop());
await nm.start();

const isCni = (f: ApiFinding) => /^(Cni|IpPool|PodCidr)/.test(f.labels.alertname ?? f.kind);
const brief = (fs: readonly ApiFinding[]) =>
  fs
    .filter(isCni)
    .map((f) => `${f.labels.alertname ?? f.kind}{${['node', 'plugin'].filter((k) => f.labels[k]).map((k) => `${k}=${f.labels[k]}`).join(',')}}`)
    .sort();

function describeCni(v: CniView): string {
  const nodes = v.nodes.map((n) => `${n.node}=${n.state}${n.file ? `(${n.file})` : ''}${n.errors.length ? `[${n.errors.join(' | ')}]` : ''}`).join(' ');
  const skew = v.plugins.filter((p) => p.skewed).map((p) => p.plugin);
  const pools = v.nodes.flatMap((n) => n.pools.map((p) => `${n.node}:${p.used}/${p.size}`));
  return `${nodes}; groups ${v.groups.map((g) => g.nodes.length).join('/')}; skewed [${skew.join(',')}]; pools ${pools.join(' ')}`;
}

/** Waits until the CNI findings (state: firing, or firing + pending) satisfy `ok`; returns ms since `since`. */
async function untilFindings(what: string, ok: (f: string[]) => boolean, since: number, timeoutMs: number, state: 'firing' | 'all' = 'firing'): Promise<number> {
  let last: string[] = [];
  try {
    await waitFor(what, async () => {
      last = brief(await nm.findings(state));
      return ok(last);
    }, timeoutMs, 100);
  } catch (e) {
    const cni = await nm.cni().then(describeCni, (err: Error) => err.message);
    throw new Error(`${(e as Error).message}; ${state}: ${last.join(' ') || 'none'}; cni: ${cni}`);
  }
  return Date.now() - since;
}

/** Waits until GET /api/v1/cni satisfies `ok`; returns ms since `since`. */
async function untilCni(what: string, ok: (v: CniView) => boolean, since: number, timeoutMs: number): Promise<number> {
  let last = '';
  try {
    await waitFor(what, async () => {
      const v = await nm.cni();
      last = describeCni(v);
      return ok(v);
    }, timeoutMs, 100);
  } catch (e) {
    const findings = await nm.findings('all').then((f) => brief(f).join(' ') || 'none', (err: Error) => err.message);
    throw new Error(`${(e as Error).message}; last seen ${last}; findings ${findings}`);
  }
  return Date.now() - since;
}

const nodeOf = (v: CniView, node: string): CniNodeView => {
  const n = v.nodes.find((x) => x.node === node);
  if (!n) throw new Error(`no ${node} in /api/v1/cni`);
  return n;
};
const allMajority = (v: CniView) =>
  v.nodes.length === NODES && v.nodes.every((n) => n.state === 'majority') && v.groups.length === 1 && v.groups[0]!.majority && v.groups[0]!.nodes.length === NODES;

/** Firing or pending CNI findings other than `allowed`. */
const othersThan = (...allowed: string[]) => async () => brief(await nm.findings('all')).filter((f) => !allowed.includes(f));
/** Long enough for a condition to go from nothing to firing: a report, an evaluation, --finding-for. */
const QUIET_MS = 2 * INTERVAL_MS + FOR_MS;

t.test('healthy: every node in the majority, binaries and pools reported, no CNI finding', async (t) => {
  const ms = await untilCni('all 5 nodes in one majority group', allMajority, Date.now(), 30_000);
  t.comment(`all ${NODES} nodes in the majority ${ms} ms after the first look`);
  const v = await nm.cni();
  t.same([...v.groups[0]!.nodes].sort(), lab.nodes.map((n) => n.name).sort(), 'one group of every node');
  t.same(v.groups[0]!.files, [CONF]);
  t.match(v.summary, { nodes: NODES, reported: NODES, stale: 0, invalid: 0, compared: NODES, drifted: 0, skewedPlugins: 0, poolsNearExhaustion: 0, overlaps: 0 });
  for (const n of v.nodes) {
    t.equal(n.file, CONF, `${n.node}: effective file`);
    t.same(n.plugins, ['bridge', 'portmap'], `${n.node}: chain`);
    t.same(n.podCidrs, [subnet(n.node)], `${n.node}: pod CIDR`);
    t.same(
      n.binaries.map((b) => [b.plugin, b.sha256 !== null, b.error]),
      [['bridge', true, null], ['portmap', true, null], ['host-local', true, null]],
      `${n.node}: the chain's binaries hashed, executable (the unused loopback is not looked at)`,
    );
    t.same(n.pools.map((p) => [p.network, p.range, p.used, p.size]), [[NETWORK, subnet(n.node), INITIAL_IPS.length, 253]], `${n.node}: host-local pool`);
    t.same(n.errors, [], `${n.node}: no errors`);
  }
  t.ok(v.plugins.every((p) => !p.skewed && p.groups.length === 1), `no plugin skewed (${v.plugins.map((p) => p.plugin).join(', ')})`);
  await holdsFor(t, 'no CNI finding, firing or pending', othersThan(), QUIET_MS);
});

t.test('node-3 conflist edited (mtu 1450 → 1400): CniConfigDrift{node=node-3} only; reverted: resolved', async (t) => {
  t.teardown(() => resetNode('node-3'));
  const path = join(dirsOf('node-3').confDir, CONF);
  writeAtomic(path, conflist('node-3', 1400));
  const edited = Date.now();
  const ms = await untilFindings('CniConfigDrift{node=node-3} firing', (f) => f.includes('CniConfigDrift{node=node-3}'), edited, FIRE_MS);
  t.comment(`edit to CniConfigDrift firing: ${ms} ms (interval ${INTERVAL_MS} ms, for ${FOR_MS} ms)`);
  t.same(brief(await nm.findings('all')), ['CniConfigDrift{node=node-3}'], 'the edited node is the one drifted; nothing else firing or pending');
  const finding = (await nm.findings()).find((f) => f.labels.alertname === 'CniConfigDrift')!;
  t.match(finding.summary, /plugins\[0\]\.mtu: 1450 → 1400/, `summary names the change: ${finding.summary}`);
  const v = await nm.cni();
  t.equal(nodeOf(v, 'node-3').state, 'drifted');
  t.same(v.groups.map((g) => [g.nodes.length, g.majority]), [[4, true], [1, false]], 'groups 4 (majority) / 1');
  t.same(v.groups[1]!.differingKeys, ['plugins[0].mtu']);
  const d = await nm.cniNode('node-3');
  t.same(d.changes.map((c) => [c.path, c.op, c.before, c.after]), [['plugins[0].mtu', 'changed', MTU, 1400]], 'the diff is the MTU and only it');
  t.ok(d.diff.some((l) => l.includes('plugins[0].mtu')), `diff names plugins[0].mtu: ${d.diff.join('; ')}`);
  t.same([...(d.reference?.nodes ?? [])].sort(), ['node-1', 'node-2', 'node-4', 'node-5'], 'compared with the majority');
  await holdsFor(t, 'no other CNI finding', othersThan('CniConfigDrift{node=node-3}'), QUIET_MS);

  writeAtomic(path, conflist('node-3'));
  const reverted = Date.now();
  const healed = await untilFindings('CniConfigDrift resolved', (f) => f.length === 0, reverted, HEAL_MS, 'all');
  t.comment(`revert to CniConfigDrift resolved: ${healed} ms`);
  await untilCni('all nodes in the majority again', allMajority, reverted, HEAL_MS);
});

t.test('node-2 host-local pool filled to 90 %: IpPoolNearExhaustion{node=node-2} only; freed: resolved', async (t) => {
  t.teardown(() => resetNode('node-2'));
  const { ipamDir } = dirsOf('node-2');
  // 253 addresses (.2-.254; .1 is the gateway); 90 % is 227.7, so 228 allocations.
  const need = Math.ceil(POOL_THRESHOLD * 253);
  const leaked = Array.from({ length: need - INITIAL_IPS.length }, (_, k) => podIP('node-2', INITIAL_IPS.at(-1)! + 1 + k));
  for (const ip of leaked) allocate(ipamDir, ip);
  const filled = Date.now();
  const ms = await untilFindings('IpPoolNearExhaustion{node=node-2} firing', (f) => f.includes('IpPoolNearExhaustion{node=node-2}'), filled, FIRE_MS);
  t.comment(`pool filled (${need}/253, ${leaked.length} files written) to IpPoolNearExhaustion firing: ${ms} ms`);
  t.same(brief(await nm.findings('all')), ['IpPoolNearExhaustion{node=node-2}'], 'only node-2\'s pool; no drift (the range is set aside per node)');
  const pool = nodeOf(await nm.cni(), 'node-2').pools[0]!;
  t.match(pool, { network: NETWORK, range: subnet('node-2'), used: need, size: 253, nearExhaustion: true }, `node-2's pool ${pool.used}/${pool.size} (${pool.ratio?.toFixed(3)})`);
  await holdsFor(t, 'no other CNI finding', othersThan('IpPoolNearExhaustion{node=node-2}'), QUIET_MS);

  for (const ip of leaked) unlinkSync(join(ipamDir, NETWORK, ip));
  const freed = Date.now();
  const healed = await untilFindings('IpPoolNearExhaustion resolved', (f) => f.length === 0, freed, HEAL_MS, 'all');
  t.comment(`${leaked.length} allocations removed to IpPoolNearExhaustion resolved: ${healed} ms`);
  t.equal(nodeOf(await nm.cni(), 'node-2').pools[0]?.used, INITIAL_IPS.length, 'back to the initial allocations');
});

t.test('node-4 bridge binary replaced: CniPluginVersionSkew{plugin=bridge} only; restored: resolved', async (t) => {
  t.teardown(() => resetNode('node-4'));
  const before = nodeOf(await nm.cni(), 'node-4').binaries.find((b) => b.plugin === 'bridge')!.sha256;
  // A package manager installs a new binary the same way: a new file renamed over the old one.
  writeAtomic(join(dirsOf('node-4').binDir, 'bridge'), binary('bridge', 'v1.5.1'), 0o755);
  const replaced = Date.now();
  const ms = await untilFindings('CniPluginVersionSkew{plugin=bridge} firing', (f) => f.includes('CniPluginVersionSkew{plugin=bridge}'), replaced, FIRE_MS);
  t.comment(`binary replaced to CniPluginVersionSkew firing: ${ms} ms`);
  t.same(brief(await nm.findings('all')), ['CniPluginVersionSkew{plugin=bridge}'], 'only the bridge plugin; the config did not change');
  const bridge = (await nm.cni()).plugins.find((p) => p.plugin === 'bridge')!;
  t.equal(bridge.majoritySha256, before, 'the majority keeps the old binary');
  t.same(bridge.groups.map((g) => g.nodes), [['node-1', 'node-2', 'node-3', 'node-5'], ['node-4']], 'node-4 is the outlier');
  const finding = (await nm.findings()).find((f) => f.labels.alertname === 'CniPluginVersionSkew')!;
  t.match(finding.description, /node-4/, `description names node-4: ${finding.description}`);

  writeAtomic(join(dirsOf('node-4').binDir, 'bridge'), binary('bridge'), 0o755);
  const restored = Date.now();
  const healed = await untilFindings('CniPluginVersionSkew resolved', (f) => f.length === 0, restored, HEAL_MS, 'all');
  t.comment(`binary restored to CniPluginVersionSkew resolved: ${healed} ms`);
});

t.test('node-5: a broken 00-broken.conflist before the good one is CniConfigDrift (containerd stops there); alone, "no valid CNI config"', async (t) => {
  t.teardown(() => resetNode('node-5'));
  const d = dirsOf('node-5');
  const BROKEN = '00-broken.conflist';
  // A trailing comma, as a hand edit leaves it: sorts before 10-lab.conflist.
  writeAtomic(join(d.confDir, BROKEN), '{\n  "cniVersion": "1.0.0",\n  "name": "lab-net",\n  "plugins": [\n    { "type": "bridge", "mtu": 1450, },\n  ]\n}\n');
  const dropped = Date.now();
  const ms = await untilFindings('CniConfigDrift{node=node-5} firing', (f) => f.includes('CniConfigDrift{node=node-5}'), dropped, FIRE_MS);
  t.comment(`broken file written before the effective one to CniConfigDrift firing: ${ms} ms`);
  t.same(brief(await nm.findings('all')), ['CniConfigDrift{node=node-5}'], 'only node-5');
  const blocked = (await nm.findings()).find((f) => f.labels.alertname === 'CniConfigDrift')!;
  t.equal(blocked.severity, 'warning');
  t.match(blocked.summary, /node-5's CNI conf dir has an invalid file before the effective 10-lab\.conflist: 00-broken\.conflist; containerd refuses it, CRI-O skips it/, `summary: ${blocked.summary}`);
  t.match(blocked.description, /00-broken\.conflist: invalid JSON/, 'the description says why the file is invalid');
  const n5 = nodeOf(await nm.cni(), 'node-5');
  t.same(n5.files.map((f) => [f.name, f.valid]), [[BROKEN, false], [CONF, true]], 'both files listed in the runtime\'s order');
  t.match(n5.files[0]!.error, /invalid JSON/, `the file's error: ${n5.files[0]!.error}`);
  t.ok(n5.errors.some((e) => e.startsWith(`${BROKEN}: `)), `an error for node-5 names the file: ${n5.errors.join(' | ')}`);
  t.equal(n5.file, CONF, 'CRI-O\'s effective config falls through to the next valid file');
  t.equal(n5.state, 'majority', 'which is the majority\'s: no config drift');
  t.same(n5.invalidBeforeEffective, [BROKEN], 'the file containerd stops at');
  await holdsFor(t, 'no other CNI finding', othersThan('CniConfigDrift{node=node-5}'), QUIET_MS);

  // Now the broken file is the only one: the runtime has nothing to use.
  renameSync(join(d.confDir, CONF), join(d.spare, `${CONF}.saved`));
  const alone = Date.now();
  let summary = '';
  await waitFor('CniConfigDrift{node=node-5} says no valid CNI config', async () => {
    summary = (await nm.findings()).find((f) => f.labels.alertname === 'CniConfigDrift' && f.labels.node === 'node-5')?.summary ?? '';
    return /no valid CNI config/.test(summary);
  }, FIRE_MS, 100).catch((e: Error) => t.fail(`${e.message}; summary: ${summary}`));
  t.comment(`only an invalid file left to CniConfigDrift "no valid CNI config": ${Date.now() - alone} ms`);
  t.same(brief(await nm.findings('all')), ['CniConfigDrift{node=node-5}'], 'only node-5; no skew from its missing binaries list');
  const finding = (await nm.findings()).find((f) => f.labels.alertname === 'CniConfigDrift')!;
  t.match(finding.description, /00-broken\.conflist: invalid JSON/, 'the description says why');
  const v = await nm.cni();
  t.equal(nodeOf(v, 'node-5').state, 'invalid');
  t.equal(v.summary.invalid, 1);
  t.same(v.groups.map((g) => [g.nodes.length, g.majority]), [[4, true]], 'the other 4 still agree');

  renameSync(join(d.spare, `${CONF}.saved`), join(d.confDir, CONF));
  unlinkSync(join(d.confDir, BROKEN));
  const fixed = Date.now();
  const healed = await untilFindings('CniConfigDrift resolved', (f) => f.length === 0, fixed, HEAL_MS, 'all');
  t.comment(`config restored, broken file removed, to CniConfigDrift resolved: ${healed} ms`);
  await untilCni('all nodes in the majority again', allMajority, fixed, HEAL_MS);
});

t.test('portmap removed from every node, bridge not executable on node-1: CniPluginVersionSkew for each; restored: resolved', async (t) => {
  t.teardown(() => lab.nodes.forEach((n) => resetNode(n.name)));
  // One group and no majority to differ from: still a finding, since every sandbox needing portmap fails.
  for (const n of lab.nodes) rmSync(join(dirsOf(n.name).binDir, 'portmap'));
  chmodSync(join(dirsOf('node-1').binDir, 'bridge'), 0o644);
  const removed = Date.now();
  const ms = await untilFindings(
    'CniPluginVersionSkew for portmap and bridge firing',
    (f) => f.includes('CniPluginVersionSkew{plugin=portmap}') && f.includes('CniPluginVersionSkew{plugin=bridge}'),
    removed,
    FIRE_MS,
  );
  t.comment(`binaries removed / made non-executable to CniPluginVersionSkew firing: ${ms} ms`);
  t.same(brief(await nm.findings('all')), ['CniPluginVersionSkew{plugin=bridge}', 'CniPluginVersionSkew{plugin=portmap}'], 'one finding per plugin, nothing else');
  const summaries = Object.fromEntries((await nm.findings()).filter((f) => f.labels.alertname === 'CniPluginVersionSkew').map((f) => [f.labels.plugin!, f.summary]));
  t.equal(summaries.portmap, `CNI plugin portmap is missing on every node that uses it (${NODES})`);
  t.equal(summaries.bridge, 'CNI plugin bridge is unusable on node-1 (not executable (mode 0644))');
  const portmap = (await nm.cni()).plugins.find((p) => p.plugin === 'portmap')!;
  t.same(portmap.groups.map((g) => [g.sha256, g.nodes.length]), [[null, NODES]], 'one group: missing everywhere');
  t.equal(portmap.skewed, true);

  for (const n of lab.nodes) resetNode(n.name);
  const restored = Date.now();
  const healed = await untilFindings('CniPluginVersionSkew resolved', (f) => f.length === 0, restored, HEAL_MS, 'all');
  t.comment(`binaries restored to CniPluginVersionSkew resolved: ${healed} ms`);
});

t.test('no leftovers: root namespace as it was, no lab namespace, no agent, no temp dir', async (t) => {
  await nm.stop();
  await lab.down();
  rmSync(root, { recursive: true, force: true });
  t.same(await guard.changes(), [], 'root namespace unchanged');
  const netns = (await run(['ip', 'netns', 'list'])).stdout;
  t.notOk(netns.split('\n').some((l) => l.startsWith(`${lab.prefix}-`)), `no ${lab.prefix}-* namespace left`);
  const procs = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`).toString().includes(root) && !/State:\s+Z/.test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false; // gone meanwhile
      }
    });
  t.same(procs, [], 'no live process uses the CNI dirs');
  t.notOk(existsSync(root), `${root} removed`);
});
