// The watcher: reports at start, on a real change (fast, from fs events), on
// the full-snapshot period, never for a no-op, and leaves nothing behind.
import type { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, renameSync, rmSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { CniSnapshot } from '../../../common/cni.js';
import { silentLogger } from '../../../common/logger.js';
import type { CniDirs } from '../../../agent/cni/collect.js';
import { CniWatcher, type CniWatcherOptions } from '../../../agent/cni/watcher.js';
import { mod, runChild } from '../../helpers/child.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

const BRIDGE = readFileSync(fileURLToPath(new URL('../../fixtures/cni/bridge/node-a/net.d/10-bridge.conflist', import.meta.url)), 'utf8');
const hasChildLoader = process.execArgv.some((a) => a.includes('@tapjs/typescript'));

interface Harness {
  readonly dirs: CniDirs;
  readonly seen: CniSnapshot[];
  readonly watcher: CniWatcher;
  readonly sink: ReturnType<typeof logSink>;
  scans(): number;
}

/** What harness() needs of a tap test. */
interface Tap {
  testdir: typeof t.testdir;
  teardown: typeof t.teardown;
}

/** A node's three dirs in a test dir, and a watcher on them (stopped at teardown). */
function harness(t: Tap, o: { rescanMs?: number; fullEveryMs?: number; withConf?: boolean; watchDir?: CniWatcherOptions['watchDir'] } = {}): Harness {
  const root = t.testdir({
    'net.d': o.withConf === false ? {} : { '10-bridge.conflist': BRIDGE },
    bin: { bridge: 'b', portmap: 'p', 'host-local': 'h' },
    ipam: { 'bridge-net': { lock: '' } },
  });
  const dirs = { confDir: join(root, 'net.d'), binDir: join(root, 'bin'), ipamDir: join(root, 'ipam') };
  const seen: CniSnapshot[] = [];
  const sink = logSink('debug');
  const watcher = new CniWatcher({
    dirs,
    now: Date.now,
    log: sink.log,
    debounceMs: 50,
    rescanMs: o.rescanMs ?? 60_000,
    fullEveryMs: o.fullEveryMs ?? 600_000,
    onSnapshot: (s) => seen.push(s),
    ...(o.watchDir ? { watchDir: o.watchDir } : {}),
  });
  t.teardown(() => watcher.stop());
  return { dirs, seen, watcher, sink, scans: () => sink.lines.filter((l) => l.msg === 'cni scanned').length };
}

t.test('start: a first full snapshot at once', async (t) => {
  const h = harness(t);
  h.watcher.start();
  await waitFor('first snapshot', () => h.seen.length === 1, 2_000);
  t.equal(h.seen[0]!.full, true);
  t.equal(h.seen[0]!.effective?.network, 'bridge-net');
  t.equal(h.watcher.latest, h.seen[0]);
  await waitFor('watches armed', () => h.watcher.watchedDirs.length === 3, 2_000);
  t.same(h.watcher.watchedDirs, [h.dirs.binDir, h.dirs.confDir, join(h.dirs.ipamDir, 'bridge-net')].sort());
});

t.test('an edit is reported within 2 s; a no-op touch is not', async (t) => {
  const h = harness(t);
  h.watcher.start();
  await waitFor('first snapshot', () => h.seen.length === 1 && h.watcher.watchedDirs.length === 3, 2_000);
  // The network dir is first known from the first scan: it is armed after it, and read by a second.
  await waitFor('the scan after arming the network dir', () => h.scans() === 2, 2_000);
  const conf = join(h.dirs.confDir, '10-bridge.conflist');

  const before = h.scans();
  const later = new Date(Date.now() + 5_000);
  utimesSync(conf, later, later);
  utimesSync(join(h.dirs.binDir, 'bridge'), later, later);
  await waitFor('a scan after the touch', () => h.scans() > before, 2_000);
  t.equal(h.seen.length, 1, 'same content: nothing reported');

  const started = Date.now();
  writeFileSync(conf, BRIDGE.replace('"mtu": 1500', '"mtu": 1400'));
  await waitFor('the edit reported', () => h.seen.length === 2, 2_000);
  t.ok(Date.now() - started < 2_000);
  t.equal(h.seen[1]!.full, false);
  t.not(h.seen[1]!.effective?.hash, h.seen[0]!.effective?.hash);
  t.match(h.seen[1]!.effective?.normalized, /"mtu":1400/);
});

t.test('a new pod (an IPAM file) is reported from the network dir watch', async (t) => {
  const h = harness(t);
  h.watcher.start();
  await waitFor('armed', () => h.seen.length === 1 && h.watcher.watchedDirs.length === 3, 2_000);
  t.equal(h.seen[0]!.pools[0]?.used, 0);
  writeFileSync(join(h.dirs.ipamDir, 'bridge-net', '10.244.1.2'), 'container\neth0');
  await waitFor('usage reported', () => h.seen.length === 2, 2_000);
  t.equal(h.seen[1]!.pools[0]?.used, 1);
});

t.test('a change made just before a watch is armed is seen at once, not at the next rescan', async (t) => {
  // Each dir changes in the instant before its watch is armed (the watchDir hook), when no event can
  // report it: only a scan after the arming sees it. The rescan is a minute away, the wait 2 s.
  const edits = new Map<string, () => void>();
  const h = harness(t, {
    watchDir: (path, onEvent) => {
      edits.get(path)?.();
      edits.delete(path);
      return watch(path, { persistent: false }, onEvent);
    },
  });
  const network = join(h.dirs.ipamDir, 'bridge-net');
  edits.set(h.dirs.confDir, () => writeFileSync(join(h.dirs.confDir, '10-bridge.conflist'), BRIDGE.replace('"mtu": 1500', '"mtu": 1400')));
  edits.set(network, () => writeFileSync(join(network, '10.244.1.2'), 'container\neth0'));
  h.watcher.start();
  const last = await waitFor('both changes reported', () => {
    const s = h.seen.at(-1);
    return s?.effective?.normalized.includes('"mtu":1400') && s.pools[0]?.used === 1 ? s : undefined;
  }, 2_000);
  t.equal(edits.size, 0, 'both dirs were changed just before their watch');
  t.equal(last.pools[0]?.network, 'bridge-net');
  t.equal(h.scans(), 2, 'the first scan, and one for the network dir it named');
});

t.test('an IPAM network named like a path (../outside) is neither counted nor watched', async (t) => {
  const h = harness(t);
  // The name would lead out of the IPAM dir, to a dir that exists.
  mkdirSync(join(h.dirs.ipamDir, '..', 'outside'));
  writeFileSync(join(h.dirs.confDir, '10-bridge.conflist'), BRIDGE.replace('"name": "bridge-net"', '"name": "../outside"'));
  h.watcher.start();
  await waitFor('first snapshot', () => h.seen.length === 1, 2_000);
  t.match(h.seen[0]!.errors, ['network name "../outside" cannot be an IPAM dir name; allocations not counted']);
  t.same(h.watcher.watchedDirs, [h.dirs.binDir, h.dirs.confDir].sort(), 'the conf and bin dirs only');
});

t.test('a full snapshot every fullEveryMs even when nothing changed', async (t) => {
  const h = harness(t, { fullEveryMs: 200 });
  h.watcher.start();
  await waitFor('a periodic full snapshot', () => h.seen.length >= 2, 3_000);
  t.equal(h.seen[1]!.full, true);
  t.same({ ...h.seen[1]!, takenAtMs: 0 }, { ...h.seen[0]!, takenAtMs: 0 }, 'same content, reported anyway');
});

t.test('the conf dir appearing later is seen through its parent; its removal too', async (t) => {
  const h = harness(t, { withConf: false });
  rmSync(h.dirs.confDir, { recursive: true });
  h.watcher.start();
  await waitFor('first snapshot', () => h.seen.length === 1, 2_000);
  t.same(h.seen[0]!.errors, [`conf dir ${h.dirs.confDir} does not exist`]);
  await waitFor('parent watched', () => h.watcher.watchedDirs.includes(join(h.dirs.confDir, '..')), 2_000);
  // Made elsewhere and moved in whole, as an installer (or kubectl cp) would.
  const staging = join(h.dirs.confDir, '..', 'staging');
  mkdirSync(staging);
  writeFileSync(join(staging, '10-bridge.conflist'), BRIDGE);
  renameSync(staging, h.dirs.confDir);
  await waitFor('the new config reported', () => h.seen.at(-1)?.effective?.network === 'bridge-net', 2_000);
  await waitFor('the conf dir itself watched', () => h.watcher.watchedDirs.includes(h.dirs.confDir), 2_000);
  rmSync(h.dirs.confDir, { recursive: true });
  await waitFor('the removal reported', () => h.seen.at(-1)?.effective === null, 2_000);
});

t.test('a dir with nothing to watch (not even its parent) is found by the periodic rescan', async (t) => {
  const h = harness(t, { rescanMs: 100 });
  rmSync(h.dirs.binDir, { recursive: true });
  rmSync(join(h.dirs.binDir, '..', 'ipam'), { recursive: true });
  // The bin dir and its parent do not exist: no watch can see it appear.
  const odd = new CniWatcher({
    dirs: { ...h.dirs, binDir: join(h.dirs.binDir, 'a', 'b') },
    now: Date.now,
    log: h.sink.log,
    debounceMs: 50,
    rescanMs: 100,
    onSnapshot: (s) => h.seen.push(s),
  });
  t.teardown(() => odd.stop());
  odd.start();
  await waitFor('first snapshot', () => h.seen.length === 1, 2_000);
  t.same(odd.watchedDirs, [h.dirs.confDir]);
  mkdirSync(join(h.dirs.binDir, 'a', 'b'), { recursive: true });
  for (const b of ['bridge', 'portmap', 'host-local']) writeFileSync(join(h.dirs.binDir, 'a', 'b', b), 'x', { mode: 0o755 });
  await waitFor('the rescan found the binaries', () => h.seen.at(-1)?.binaries.every((b) => b.error === null), 2_000);
});

t.test('a watch that cannot be set up (ENOSPC) is logged once; the periodic rescan still finds changes', async (t) => {
  const h = harness(t);
  const failing = new CniWatcher({
    dirs: h.dirs,
    now: Date.now,
    log: h.sink.log,
    debounceMs: 50,
    rescanMs: 50,
    onSnapshot: (s) => h.seen.push(s),
    watchDir: () => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    },
  });
  t.teardown(() => failing.stop());
  failing.start();
  await waitFor('first snapshot', () => h.seen.length === 1, 2_000);
  await waitFor('a few rescans', () => h.scans() >= 4, 2_000);
  const warnings = h.sink.lines.filter((l) => l.msg === 'cni dir watch failed; relying on the periodic rescan');
  t.equal(warnings.length, 3, 'once per dir, not once per rescan');
  t.same(new Set(warnings.map((w) => w.code)), new Set(['ENOSPC']));
  t.same(failing.watchedDirs, []);
  writeFileSync(join(h.dirs.confDir, '10-bridge.conflist'), BRIDGE.replace('"mtu": 1500', '"mtu": 1400'));
  await waitFor('the rescan reported the edit', () => h.seen.length === 2, 2_000);
});

t.test('a watch that errors later is dropped and set up again by the next scan', async (t) => {
  const h = harness(t);
  const made: EventEmitter[] = [];
  const w = new CniWatcher({
    dirs: h.dirs,
    now: Date.now,
    log: h.sink.log,
    debounceMs: 50,
    onSnapshot: (s) => h.seen.push(s),
    watchDir: (path, onEvent) => {
      const real = watch(path, { persistent: false }, onEvent);
      made.push(real);
      return real;
    },
  });
  t.teardown(() => w.stop());
  w.start();
  await waitFor('armed', () => w.watchedDirs.length === 3, 2_000);
  made[0]!.emit('error', Object.assign(new Error('gone'), { code: 'EPERM' }));
  await waitFor('re-armed', () => made.length === 4 && w.watchedDirs.length === 3, 2_000);
  t.ok(h.sink.find('cni dir watch failed; relying on the periodic rescan'));
});

t.test('stop(): resolves, releases every watch, and no callback comes after it', async (t) => {
  const h = harness(t);
  h.watcher.start();
  await waitFor('armed', () => h.seen.length === 1 && h.watcher.watchedDirs.length === 3, 2_000);
  // A change in flight when stop() is called must not be reported afterwards.
  writeFileSync(join(h.dirs.confDir, '10-bridge.conflist'), BRIDGE.replace('"mtu": 1500', '"mtu": 1300'));
  await h.watcher.stop();
  const count = h.seen.length;
  t.same(h.watcher.watchedDirs, []);
  // Show that events would have been seen: a second watcher on the same dirs reports the next change.
  const seen2: CniSnapshot[] = [];
  const w2 = new CniWatcher({ dirs: h.dirs, now: Date.now, log: silentLogger(), debounceMs: 50, onSnapshot: (s) => seen2.push(s) });
  t.teardown(() => w2.stop());
  w2.start();
  await waitFor('second watcher armed', () => seen2.length === 1 && w2.watchedDirs.length === 3, 2_000);
  writeFileSync(join(h.dirs.confDir, '10-bridge.conflist'), BRIDGE.replace('"mtu": 1500', '"mtu": 1200'));
  await waitFor('the second watcher saw it', () => seen2.length === 2, 2_000);
  t.equal(h.seen.length, count, 'the stopped watcher stayed silent');
  await h.watcher.stop();
  t.pass('stop() twice is fine');
});

t.test('stop() leaves no watch or timer behind (checked in a child process with async_hooks)', { skip: hasChildLoader ? false : 'needs the TypeScript loader tap runs tests with' }, async (t) => {
  const root = t.testdir({ 'net.d': { '10-bridge.conflist': BRIDGE }, bin: {}, ipam: { 'bridge-net': {} } });
  const dirs = { confDir: join(root, 'net.d'), binDir: join(root, 'bin'), ipamDir: join(root, 'ipam') };
  const code = `
    import { createHook } from 'node:async_hooks';
    const live = new Map();
    createHook({
      init(id, type) { if (type === 'FSEVENTWRAP' || type === 'Timeout') live.set(id, type); },
      destroy(id) { live.delete(id); },
    }).enable();
    const { CniWatcher } = await import(${mod('agent/cni/watcher.js')});
    const { silentLogger } = await import(${mod('common/logger.js')});
    const { writeFileSync } = await import('node:fs');
    let n = 0;
    const w = new CniWatcher({ dirs: ${JSON.stringify(dirs)}, now: Date.now, log: silentLogger(), onSnapshot: () => n++ });
    w.start();
    const ticks = () => new Promise((r) => setImmediate(r));
    while (n === 0 || w.watchedDirs.length < 3) await ticks();
    // A pending debounce timer at stop() time too.
    writeFileSync(${JSON.stringify(join(dirs.confDir, '99-new.conflist'))}, '{}');
    while ([...live.values()].filter((v) => v === 'Timeout').length < 3) await ticks();
    const before = [...live.values()];
    await w.stop();
    for (let i = 0; i < 20; i++) await ticks();
    console.log(JSON.stringify({ before, after: [...live.values()] }));
  `;
  const out = await runChild([], code, 20_000);
  t.equal(out.status, 0, out.stderr);
  const { before, after } = JSON.parse(out.stdout) as { before: string[]; after: string[] };
  t.equal(before.filter((x) => x === 'FSEVENTWRAP').length, 3, 'three watches while running');
  t.ok(before.filter((x) => x === 'Timeout').length >= 3, 'rescan, full and debounce timers while running');
  t.same(after, [], 'nothing left after stop()');
  t.ok(out.ms < 15_000, 'the process exits on its own');
});
