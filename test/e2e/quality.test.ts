// Delay and loss on a node's egress in the namespace lab: netmatrix's ICMP RTT
// agrees with ping on the same path, cells turn degraded above the latency
// threshold, and a 30 % loss reads as 0.2–0.4.
import t from 'tap';
import { waitFor } from '../helpers/wait.js';
import { createLab } from './lab/lab.js';
import { median, ping } from './lab/reference-probes.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { cellsOf, describe, Netmatrix } from './netmatrix.js';

const INTERVAL_MS = 250;
const WINDOW_MS = 15_000;

const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: 4 });
t.teardown(() => lab.down());
const nm = new Netmatrix(lab, {
  // The loss window as long as the status window: one window after a fault begins, lossRatio is the fault's alone.
  aggregator: { 'probe-interval': `${INTERVAL_MS}ms`, 'probe-timeout': '150ms', window: `${WINDOW_MS / 1000}s`, 'loss-window': `${WINDOW_MS / 1000}s`, 'latency-threshold': '10ms' },
});
t.teardown(() => nm.stop());
await nm.start();
await waitFor('every icmp cell ok', async () => cellsOf(await nm.matrix('icmp')).length === 12 && cellsOf(await nm.matrix('icmp')).every((x) => x.cell.status === 'ok'), 10_000, 100);

type Pair = { kinds: Record<string, { recent: { at: string; outcome: string; rttMs: number | null }[] }> };

t.test('20 ms delay on node-2: its column\'s RTT p50 matches ping within 1 ms, and turns degraded', async (t) => {
  await lab.delay('node-2', 20);
  const delayedAt = Date.now();
  // The reference, on the same paths, in the same test.
  const sources = ['node-1', 'node-3', 'node-4'];
  for (const src of sources) {
    // The reference runs over the same seconds as the samples it is compared with,
    // so both see the same path and the same machine load.
    const since = Date.now();
    const ref = await ping(lab, lab.node(src).ns, lab.node('node-2').podIP, { count: 20, intervalS: INTERVAL_MS / 1000 });
    t.equal(ref.received, 20, `ping ${src} → node-2 answered`);
    const refMs = median(ref.rttsMs);
    const inPeriod = async () =>
      (await nm.get<Pair>(`/api/v1/pairs/${src}/node-2`)).kinds.icmp!.recent.filter((x) => Date.parse(x.at) >= since && Date.parse(x.at) > delayedAt + INTERVAL_MS && x.rttMs !== null);
    await waitFor(`15 delayed samples ${src} → node-2 from the same period`, async () => (await inPeriod()).length >= 15, 10 * INTERVAL_MS + 5_000, 200);
    const ours = median((await inPeriod()).map((x) => x.rttMs!));
    t.ok(Math.abs(ours - refMs) <= 1, `${src} → node-2: netmatrix p50 ${ours.toFixed(2)} ms, ping p50 ${refMs.toFixed(2)} ms`);
  }
  await waitFor('node-2\'s icmp column degraded (threshold 10 ms)', async () => {
    const m = await nm.matrix('icmp');
    const col = cellsOf(m).filter((x) => x.dst === 'node-2');
    return col.length === 3 && col.every((x) => x.cell.status === 'degraded' && (x.cell.rttP50Ms ?? 0) > 10) ? true : (t.comment(describe(m)), false);
  }, WINDOW_MS + 5_000, 500);
  const others = cellsOf(await nm.matrix('icmp')).filter((x) => x.dst !== 'node-2' && x.src !== 'node-2');
  t.ok(others.every((x) => x.cell.status === 'ok'), 'cells not touching node-2 stay ok');
  await lab.clear();
});

// 30 % random loss makes runs of failures: runs of 3 or more, and runs of 2 that
// time out with other kinds, count as outages (failing while they last), not as
// loss (docs/architecture.md "Cell status"), so lossRatio reads below the raw
// loss: the model gives 0.3 × 0.7² × (1 + 0.6 × 0.7³) ≈ 0.18 with 4 kinds.
t.test('30 % loss on node-3\'s egress reads as a loss ratio of 0.12–0.3 (below the raw loss: runs are outages)', async (t) => {
  await lab.loss('node-3', 30);
  const lossAt = Date.now();
  // One full window after the loss began, the window (and the loss window, as long) holds nothing else.
  await waitFor('a full window of lossy samples', async () => {
    const p = await nm.get<Pair>('/api/v1/pairs/node-1/node-3');
    return p.kinds.icmp!.recent.length > 0 && p.kinds.icmp!.recent.every((x) => Date.parse(x.at) > lossAt + INTERVAL_MS);
  }, WINDOW_MS + 10_000, 500);
  const col = cellsOf(await nm.matrix('icmp')).filter((x) => x.dst === 'node-3');
  const ratios = col.map((x) => x.cell.lossRatio ?? NaN);
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  t.ok(mean >= 0.12 && mean <= 0.3, `mean loss towards node-3 ${mean.toFixed(3)} (cells ${ratios.map((r) => r.toFixed(2)).join(', ')}, ${col.map((x) => x.cell.samples).join('/')} samples)`);
  t.ok(ratios.every((r) => r > 0.05 && r < 0.6), 'every cell of the column sees the loss');
  await lab.clear();
});

t.test('the root namespace is as it was', async (t) => {
  await nm.stop();
  await lab.down();
  t.same(await guard.changes(), []);
});
