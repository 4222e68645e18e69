// A real aggregator and three real agents on loopback addresses: the matrix
// converges, a closed responder fails exactly its column with `refused`, a
// stopped agent's row turns unknown, and a restarted aggregator is whole again
// after the agents reconnect and replay what they buffered.
import t from 'tap';
import type { RunningAgent } from '../../agent/agent.js';
import type { RunningAggregator } from '../../aggregator/server.js';
import type { PairKind } from '../../common/vocabulary.js';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL = 400;
const FLAGS = { 'probe-interval': `${INTERVAL}ms`, 'probe-timeout': '200ms', window: '10s' };
const NAMES = ['node-a', 'node-b', 'node-c'];

let agg: RunningAggregator = await testAggregator(FLAGS);
const grpcPort = agg.grpcPort;
const agents = new Map<string, RunningAgent>();
for (const [i, name] of NAMES.entries()) {
  agents.set(name, await testAgent({ name, podIP: `127.0.0.${41 + i}`, nodeIP: `127.0.1.${41 + i}`, aggregator: `127.0.0.1:${grpcPort}` }));
}
t.teardown(async () => {
  for (const a of agents.values()) await a.stop();
  await agg.stop();
});

const kinds: PairKind[] = agents.get('node-a')!.capabilities.includes('icmp') ? ['icmp', 'tcp', 'http', 'node'] : ['tcp', 'http'];
if (!kinds.includes('icmp')) t.comment('no CAP_NET_RAW here: icmp and node kinds not checked');

type Cell = { status: string; lastOutcome: string | null } | null;
async function matrix(kind: PairKind): Promise<{ nodes: string[]; cells: Cell[][] }> {
  const res = await agg.app.inject(`/api/v1/matrix?kind=${kind}`);
  return res.json();
}
function statuses(m: { nodes: string[]; cells: Cell[][] }): string {
  return m.cells.map((row, s) => row.map((c, d) => `${m.nodes[s]}→${m.nodes[d]}:${c ? `${c.status}/${c.lastOutcome}` : '-'}`).join(' ')).join(' | ');
}
/** Waits until `want(src, dst)` holds for every off-diagonal cell of every kind given. */
async function converge(what: string, ks: PairKind[], want: (src: string, dst: string, c: NonNullable<Cell>, kind: PairKind) => boolean, timeoutMs: number): Promise<void> {
  let last = '';
  try {
    await waitFor(what, async () => {
      for (const kind of ks) {
        const m = await matrix(kind);
        last = `${kind}: ${statuses(m)}`;
        if (m.nodes.length !== NAMES.length) return false;
        for (const [s, row] of m.cells.entries()) {
          for (const [d, c] of row.entries()) if (s !== d && !want(m.nodes[s]!, m.nodes[d]!, c!, kind)) return false;
        }
      }
      return true;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen ${last}`);
  }
}

t.test('the matrix converges to ok', async (t) => {
  const started = Date.now();
  await converge('every cell ok', kinds, (_s, _d, c) => c.status === 'ok', 5_000);
  t.pass(`all ${kinds.join(', ')} cells ok after ${Date.now() - started} ms`);
});

t.test('closing node-c\'s responder fails exactly its tcp and http column with refused', async (t) => {
  await agents.get('node-c')!.responder.close();
  await converge('column node-c refused, the rest ok', ['tcp', 'http'], (_s, d, c) => (d === 'node-c' ? c.status === 'failing' && c.lastOutcome === 'refused' : c.status === 'ok'), 5 * INTERVAL + 2_000);
  if (kinds.includes('icmp')) {
    await converge('icmp still ok everywhere', ['icmp'], (_s, _d, c) => c.status === 'ok', 2_000);
  }
  t.pass('only node-c\'s column failed, with outcome refused');
});

t.test('a stopped agent\'s row turns unknown once stale', async (t) => {
  await agents.get('node-b')!.stop();
  agents.delete('node-b');
  // Stale after 3 intervals (default); allow a few intervals more.
  await converge('row node-b unknown', ['tcp'], (s, _d, c) => (s === 'node-b' ? c.status === 'unknown' : true), 3 * INTERVAL + 3_000);
  t.equal(agg.nodes.get('node-b')?.agent.connected, false, 'node-b is disconnected');
  const a = (await matrix('tcp')).cells[0]![1]!;
  // Its responder is gone, but its addresses still answer ICMP (on loopback, or the node's own
  // network): that is the agent away on a node that is fine, not a network fault.
  t.equal(a.status, 'unknown', 'node-a → node-b is unknown: its agent is away while the node answers');
});

t.test('a restarted aggregator is whole again and loses no buffered report', async (t) => {
  const survivors = ['node-a', 'node-c'];
  await agg.stop();
  // While it is down the agents keep probing and buffering.
  await waitFor('reports to pile up', () => survivors.every((n) => agents.get(n)!.reporter.outbox(`127.0.0.1:${grpcPort}`)!.size >= 2), 5_000);
  agg = await testAggregator(FLAGS, undefined, grpcPort);
  const restarted = Date.now();
  await waitFor('both agents to reconnect', () => survivors.every((n) => agg.nodes.get(n)?.agent.connected), 5_000);
  await waitFor('the survivors\' pairs to be filled', async () => {
    const m = await matrix('tcp');
    const a = m.nodes.indexOf('node-a');
    const c = m.nodes.indexOf('node-c');
    return a >= 0 && c >= 0 && m.cells[a]![c]!.status === 'failing' && m.cells[c]![a]!.status === 'ok';
  }, 2 * INTERVAL + 1_500);
  t.pass(`matrix whole ${Date.now() - restarted} ms after the restart`);
  for (const n of survivors) {
    const agent = agents.get(n)!;
    const box = agent.reporter.outbox(`127.0.0.1:${grpcPort}`)!;
    await waitFor(`${n}'s outbox to drain`, () => box.size === 0, 3_000);
    t.equal(box.dropped, 0, `${n} dropped no report`);
    const rec = agg.nodes.get(n)!;
    // Every report this agent created since it connected to the new aggregator's
    // predecessor was stored by one of them: the new one holds all that were unacknowledged.
    t.ok(rec.agent.reports >= 2, `${n}: the new aggregator stored the replayed reports (${rec.agent.reports})`);
    t.equal(rec.agent.highestSequence, agent.reporter.created, `${n}: the newest report is stored`);
  }
});
