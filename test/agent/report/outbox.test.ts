// The outbox of one aggregator stream: bounded in reports and bytes (older
// rounds thinned, counted), released by acks, replayed after a reconnect, a
// refused report dropped, what is in flight on the stream known.
import t from 'tap';
import { Outbox, type PendingReport } from '../../../agent/report/outbox.js';

const r = (sequence: number, bytes = 10, round = sequence * 10): PendingReport => ({ sequence, round, bytes });
const seqs = (rs: readonly PendingReport[]) => rs.map((x) => x.sequence);
const LOTS = 1e12;

function takeAll(o: Outbox): PendingReport[] {
  const out: PendingReport[] = [];
  for (let x = o.take(); x; x = o.take()) out.push(x);
  return out;
}

/** Everything held, oldest first (replays it on a fresh stream, then rewinds). */
function held(o: Outbox): PendingReport[] {
  o.rewind();
  const all = takeAll(o);
  o.rewind();
  return all;
}

function filled(reports: number, n: number, bytes = LOTS): Outbox {
  const o = new Outbox({ reports, bytes });
  for (let i = 1; i <= n; i++) o.push(r(i));
  return o;
}

t.test('starts empty', async (t) => {
  const o = new Outbox({ reports: 3, bytes: 100 });
  t.equal(o.size, 0);
  t.equal(o.bytes, 0);
  t.same(o.bounds, { reports: 3, bytes: 100 });
  t.equal(o.dropped, 0);
  t.equal(o.acked, 0);
  t.equal(o.refused, 0);
  t.equal(o.peek(), undefined);
  t.equal(o.take(), undefined);
  t.equal(o.ack(10), 0);
  t.equal(o.inflight, 0);
});

t.test('within the bounds nothing is dropped; bytes are counted', async (t) => {
  const o = new Outbox({ reports: 3, bytes: 60 });
  t.equal(o.push(r(1, 20)), 0);
  t.equal(o.push(r(2, 20)), 0);
  t.equal(o.push(r(3, 20)), 0);
  t.equal(o.size, 3);
  t.equal(o.bytes, 60);
  t.equal(o.dropped, 0);
  t.same(seqs(takeAll(o)), [1, 2, 3]);
});

t.test('take hands out each report once per stream; peek does not take', async (t) => {
  const o = filled(10, 3);
  t.equal(o.peek()!.sequence, 1);
  t.equal(o.peek()!.sequence, 1);
  t.same(seqs(takeAll(o)), [1, 2, 3]);
  t.equal(o.inflight, 3);
  t.equal(o.inflightBytes, 30);
  t.equal(o.take(), undefined, 'nothing new');
  o.push(r(4));
  o.push(r(5));
  t.same(seqs(takeAll(o)), [4, 5], 'only what is new');
  t.equal(o.size, 5, 'sent is not released: only an ack releases');
});

t.test('ack releases every report with sequence ≤ the acked one, and what was in flight of them', async (t) => {
  const o = filled(10, 5);
  takeAll(o);
  t.equal(o.ack(3), 3);
  t.equal(o.size, 2);
  t.equal(o.bytes, 20);
  t.equal(o.inflight, 2);
  t.equal(o.inflightBytes, 20);
  t.equal(o.acked, 3);
  t.equal(o.ack(3), 0, 'acking again releases nothing');
  t.equal(o.ack(1), 0, 'an older ack releases nothing');
  t.equal(o.ack(100), 2, 'an ack beyond what is held releases everything');
  t.equal(o.size, 0);
  t.equal(o.bytes, 0);
  t.equal(o.inflight, 0);
  t.equal(o.acked, 5);
});

t.test('an ack between sequence numbers (after drops) releases what is below it', async (t) => {
  const o = new Outbox({ reports: 10, bytes: LOTS });
  for (const s of [2, 5, 9]) o.push(r(s));
  t.equal(o.ack(6), 2);
  t.same(seqs(takeAll(o)), [9]);
});

t.test('rewind: a new stream replays everything not acknowledged, oldest first', async (t) => {
  const o = filled(10, 4);
  t.same(seqs(takeAll(o)), [1, 2, 3, 4]);
  o.ack(2);
  o.push(r(5));
  o.rewind();
  t.equal(o.inflight, 0);
  t.equal(o.inflightBytes, 0);
  t.same(seqs(takeAll(o)), [3, 4, 5]);
  t.equal(o.take(), undefined);
  o.rewind();
  o.rewind();
  t.same(seqs(takeAll(o)), [3, 4, 5], 'rewinding twice is rewinding once');
});

t.test('the resume point: an ack on a new stream before anything is sent releases what the aggregator has', async (t) => {
  const o = filled(10, 4);
  takeAll(o);
  o.rewind(); // reconnect: nothing sent yet on the new stream
  t.equal(o.ack(2), 2);
  t.equal(o.inflight, 0, 'none of it was in flight on this stream');
  t.same(seqs(takeAll(o)), [3, 4]);
});

t.test('an ack of part of what was sent keeps the rest sent', async (t) => {
  const o = filled(10, 4);
  t.same(seqs(takeAll(o)), [1, 2, 3, 4]);
  o.push(r(5));
  o.ack(2);
  t.same(seqs(takeAll(o)), [5], '3 and 4 were sent and are not sent again on this stream');
});

t.test('refuse drops that report and counts it; the sent/unsent boundary stays right', async (t) => {
  const o = filled(10, 5);
  o.take();
  o.take();
  const gone = o.refuse(2);
  t.equal(gone?.sequence, 2);
  t.equal(o.refused, 1);
  t.equal(o.dropped, 0, 'not a drop for the bounds');
  t.equal(o.size, 4);
  t.equal(o.bytes, 40);
  t.equal(o.inflight, 1);
  t.equal(o.inflightBytes, 10);
  t.same(seqs(takeAll(o)), [3, 4, 5]);
  t.equal(o.refuse(2), undefined, 'no longer held');
  t.equal(o.refuse(99), undefined);
  t.equal(o.refused, 1);
  o.rewind();
  t.same(seqs(takeAll(o)), [1, 3, 4, 5], 'never sent again');
});

t.test('a one-report bound keeps only the newest', async (t) => {
  const one = new Outbox({ reports: 1, bytes: LOTS });
  for (let i = 1; i <= 10; i++) one.push(r(i));
  t.equal(one.dropped, 9);
  t.same(seqs(held(one)), [10]);
});

t.test('bounded in bytes: within the bound after every push; the newest is kept even when it alone is larger', async (t) => {
  const o = new Outbox({ reports: 1_000, bytes: 1_000 });
  let seed = 7;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const wrong: string[] = [];
  for (let i = 1; i <= 500; i++) {
    o.push(r(i, 1 + Math.floor(rand() * 200)));
    if (o.bytes > 1_000) wrong.push(`after ${i}: ${o.bytes} bytes`);
    if (held(o).reduce((n, x) => n + x.bytes, 0) !== o.bytes) wrong.push(`after ${i}: ${o.bytes} bytes counted, not what is held`);
  }
  t.same(wrong, [], 'within the bound, and counting what it holds, after every push');
  t.equal(o.size + o.dropped, 500, 'every report held or counted as dropped');
  t.equal(held(o).at(-1)!.sequence, 500, 'the newest is held');
  o.push(r(501, 5_000));
  t.same(seqs(held(o)), [501], 'a newest report larger than the bound is kept, alone');
});

t.test('a long outage is thinned, not cut: the newest half whole, the older half spread back to its start', async (t) => {
  const o = new Outbox({ reports: 16, bytes: LOTS });
  for (let i = 1; i <= 1_000; i++) o.push(r(i, 10, i));
  const rounds = held(o).map((x) => x.round);
  t.equal(rounds.length, 16);
  t.equal(o.dropped, 984);
  t.same(rounds.slice(-8), [993, 994, 995, 996, 997, 998, 999, 1000], 'the newest half of the bound, every round');
  t.equal(rounds[0], 1, 'the outage\'s first round is still there');
  const older = rounds.slice(0, 8);
  t.ok(older.every((x, i) => i === 0 || x > older[i - 1]!), `older half in order: ${older.join(', ')}`);
  const gaps = rounds.slice(1, 9).map((x, i) => x - rounds[i]!);
  t.ok(Math.max(...gaps) < 4 * Math.min(...gaps.slice(0, -1)), `spread evenly enough over the outage: gaps ${gaps.join(', ')}`);
  // Dropping the oldest would have kept rounds 985-1000 and nothing of the first 984.
  t.ok(rounds.filter((x) => x < 500).length >= 3, 'several samples from the first half of the outage');
});

t.test('thinning goes by round: the reports of a split round are kept or dropped together', async (t) => {
  const o = new Outbox({ reports: 30, bytes: LOTS });
  let seq = 0;
  for (let round = 1; round <= 100; round++) for (let piece = 0; piece < 3; piece++) o.push(r(++seq, 10, round));
  const perRound = new Map<number, number>();
  for (const x of held(o)) perRound.set(x.round, (perRound.get(x.round) ?? 0) + 1);
  t.ok([...perRound.values()].every((n) => n === 3), `every held round has its 3 reports: ${JSON.stringify([...perRound])}`);
  t.equal(o.dropped % 3, 0);
});

t.test('what is in flight on the stream is not thinned while anything else can go', async (t) => {
  const o = new Outbox({ reports: 10, bytes: LOTS });
  for (let i = 1; i <= 5; i++) o.push(r(i, 10, i));
  t.same(seqs([o.take()!, o.take()!, o.take()!]), [1, 2, 3]);
  for (let i = 6; i <= 40; i++) o.push(r(i, 10, i));
  const h = seqs(held(o));
  t.same(h.slice(0, 3), [1, 2, 3], `in flight, kept: ${h.join(', ')}`);
  t.equal(h.length, 10);
});

t.test('drops keep the sent/unsent boundary right', async (t) => {
  const o = filled(3, 3);
  const taken = seqs(takeAll(o));
  t.same(taken, [1, 2, 3]);
  o.push(r(4)); // over the bound with 1-3 in flight: the oldest goes, as nothing else can
  t.equal(o.inflight, 2);
  taken.push(...seqs(takeAll(o)));
  for (let i = 5; i <= 7; i++) o.push(r(i));
  taken.push(...seqs(takeAll(o)));
  t.same(taken, [1, 2, 3, 4, 7], 'each handed out once on this stream; 5 and 6 were thinned before they were sent');
  t.same(seqs(held(o)), [3, 4, 7], '3 and 4, in flight, stay while something else can go');
  t.equal(o.size + o.dropped, 7);
});
