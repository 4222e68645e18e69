// netmatrix on a five-node namespace lab with real faults: healthy
// convergence, drop, reject, unreachable, a cut cable, and ICMP blocked while
// TCP is open. Each scenario clears its fault and waits for the matrix to heal.
import t, { type Test } from 'tap';
import { createLab } from './lab/lab.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { waitFor } from '../helpers/wait.js';
import { cellsOf, describe, Netmatrix, type Cell, type Matrix } from './netmatrix.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;
type Kind = (typeof KINDS)[number];

const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: 5 });
t.teardown(() => lab.down());
const nm = new Netmatrix(lab, { aggregator: { 'probe-interval': `${INTERVAL_MS}ms`, 'probe-timeout': `${TIMEOUT_MS}ms`, window: '10s' } });
t.teardown(() => nm.stop());
await nm.start();

/** Waits until `want` holds for every cell of every kind given; the error shows the last matrices. */
async function until(what: string, kinds: readonly Kind[], want: (src: string, dst: string, c: Cell, kind: Kind) => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  for (;;) {
    let all = true;
    const seen: string[] = [];
    for (const kind of kinds) {
      const m: Matrix = await nm.matrix(kind);
      seen.push(`${kind}: ${describe(m)}`);
      if (m.nodes.length !== lab.nodes.length || !cellsOf(m).every((x) => want(x.src, x.dst, x.cell, kind))) all = false;
    }
    last = seen.join('; ');
    if (all) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** While `ms` pass, every cell for which `isTarget` is false stays ok (polled). */
async function othersStayOk(t: Test, kinds: readonly Kind[], isTarget: (src: string, dst: string) => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let checks = 0;
  while (Date.now() < until) {
    for (const kind of kinds) {
      const bad = cellsOf(await nm.matrix(kind)).filter((x) => !isTarget(x.src, x.dst) && x.cell.status !== 'ok');
      if (bad.length > 0) return void t.fail(`${kind}: cells outside the fault left ok: ${bad.map((x) => `${x.src}→${x.dst}:${x.cell.status}/${x.cell.lastOutcome}`).join(' ')}`);
      checks++;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  t.pass(`no other cell left ok (${checks} checks over ${ms} ms)`);
}

const allOk = (_s: string, _d: string, c: Cell) => c.status === 'ok';
const HEAL = 2 * INTERVAL_MS + TIMEOUT_MS + 2_000;
const DETECT = INTERVAL_MS + TIMEOUT_MS + 2_000;

t.test('five healthy nodes: every icmp, tcp, http and node cell ok', async (t) => {
  const ms = await until('every cell ok', KINDS, allOk, 2 * INTERVAL_MS + 5_000);
  t.pass(`all ok ${ms} ms after the agents started`);
});

t.test('drop between node-1 and node-2: that pair fails with timeout both ways, nothing else', async (t) => {
  await lab.blockPair('node-1', 'node-2', 'drop');
  const pair = (s: string, d: string) => (s === 'node-1' && d === 'node-2') || (s === 'node-2' && d === 'node-1');
  const ms = await until('the pair failing with timeout', KINDS, (s, d, c) => (pair(s, d) ? c.status === 'failing' && c.lastOutcome === 'timeout' : c.status === 'ok'), DETECT);
  t.pass(`failing with timeout in both directions after ${ms} ms`);
  await othersStayOk(t, KINDS, pair, 3 * INTERVAL_MS);
  await lab.clear();
  t.pass(`healed after ${await until('every cell ok again', KINDS, allOk, HEAL)} ms`);
});

t.test('reject gives refused; unreachable gives unreachable', async (t) => {
  await lab.blockPair('node-1', 'node-3', 'reject');
  await lab.blockPair('node-4', 'node-5', 'unreachable');
  const target = (s: string, d: string) => (s === 'node-1' && d === 'node-3') || (s === 'node-4' && d === 'node-5');
  const ms = await until(
    'node-1→node-3 refused and node-4→node-5 unreachable',
    KINDS,
    (s, d, c) => {
      if (s === 'node-1' && d === 'node-3') return c.status === 'failing' && c.lastOutcome === 'refused';
      if (s === 'node-4' && d === 'node-5') return c.status === 'failing' && c.lastOutcome === 'unreachable';
      return c.status === 'ok';
    },
    DETECT,
  );
  t.pass(`both seen after ${ms} ms, the reverse directions stay ok`);
  await othersStayOk(t, KINDS, target, 2 * INTERVAL_MS);
  await lab.clear();
  await until('every cell ok again', KINDS, allOk, HEAL);
});

t.test('a cut cable fails the node\'s whole row and column; restored, ok again', async (t) => {
  const cutAt = Date.now();
  await lab.cutCable('node-3');
  // The column is measured by the others. The row is measured by node-3's agent,
  // which can't reach the aggregator either: the row reads failing until its
  // last results go stale, then unknown, and the agent buffers what it measures.
  const ms = await until(
    'column of node-3 failing, its row failing or unknown',
    ['icmp', 'tcp'],
    (s, d, c) => (d === 'node-3' ? c.status === 'failing' : s === 'node-3' ? c.status === 'failing' || c.status === 'unknown' : c.status === 'ok'),
    DETECT,
  );
  t.pass(`column failing after ${ms} ms`);
  await until('row of node-3 unknown (its agent is cut off)', ['tcp'], (s, _d, c) => (s === 'node-3' ? c.status === 'unknown' : true), 3 * INTERVAL_MS + 3_000);
  type Pair = { kinds: Record<string, { recent: { at: string; outcome: string }[] }> };
  const inCut = (p: Pair, from: number, to: number) => p.kinds.tcp!.recent.filter((x) => Date.parse(x.at) > from && Date.parse(x.at) < to);
  // Let the cut last a few probes (a condition, not a sleep): five failures seen towards node-3.
  await waitFor('five probes towards node-3 to fail', async () => inCut(await nm.get<Pair>('/api/v1/pairs/node-1/node-3'), cutAt, Date.now()).filter((x) => x.outcome !== 'ok').length >= 5, 8 * INTERVAL_MS + 2_000);
  await lab.restoreCable('node-3');
  const restoredAt = Date.now();
  t.pass(`ok again ${await until('every cell ok again', KINDS, allOk, HEAL)} ms after the restore`);
  // What node-3 measured while cut off reached the aggregator afterwards, at the
  // times it was measured: its row failed too.
  const during = inCut(await nm.get<Pair>('/api/v1/pairs/node-3/node-1'), cutAt + INTERVAL_MS, restoredAt - TIMEOUT_MS);
  t.ok(during.length >= 2, `node-3's results from the cut arrived (${during.length})`);
  t.ok(during.every((x) => x.outcome !== 'ok'), `and they all failed: ${[...new Set(during.map((x) => x.outcome))].join(', ')}`);
});

t.test('ICMP blocked, TCP open: icmp fails, tcp and http stay ok', async (t) => {
  await lab.blockProtocol('node-2', 'icmp');
  const touches = (s: string, d: string) => s === 'node-2' || d === 'node-2';
  await until('icmp to and from node-2 failing', ['icmp'], (s, d, c) => (touches(s, d) ? c.status === 'failing' : c.status === 'ok'), DETECT);
  await until('tcp and http all ok', ['tcp', 'http'], allOk, 1_000);
  await othersStayOk(t, ['tcp', 'http'], () => false, 2 * INTERVAL_MS);
  const icmp = await nm.matrix('icmp');
  const col = cellsOf(icmp).filter((x) => x.dst === 'node-2');
  t.ok(col.every((x) => x.cell.lastOutcome === 'timeout'), 'ICMP to node-2 times out (dropped, no error)');
  await lab.clear();
  await until('every cell ok again', KINDS, allOk, HEAL);
});

t.test('agents and aggregator logged no error', async (t) => {
  const errors = nm.logs.filter((l) => /"level":(50|60)/.test(l));
  t.same(errors, []);
});

t.test('the root namespace is as it was', async (t) => {
  await nm.stop();
  await lab.down();
  t.same(await guard.changes(), []);
});
