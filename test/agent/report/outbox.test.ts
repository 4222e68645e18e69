// The outbox of one aggregator stream: bounded (oldest dropped and counted),
// released by acks, replayed after a reconnect.
import t from 'tap';
import { Outbox, type PendingReport } from '../../../agent/report/outbox.js';

const r = (sequence: number): PendingReport => ({ sequence, round: sequence * 10, results: [] });
const seqs = (rs: readonly PendingReport[]) => rs.map((x) => x.sequence);

function filled(capacity: number, n: number): Outbox {
  const o = new Outbox(capacity);
  for (let i = 1; i <= n; i++) o.push(r(i));
  return o;
}

t.test('starts empty', async (t) => {
  const o = new Outbox(3);
  t.equal(o.size, 0);
  t.equal(o.capacity, 3);
  t.equal(o.dropped, 0);
  t.equal(o.acked, 0);
  t.same(o.takeUnsent(), []);
  t.equal(o.ack(10), 0);
});

t.test('within capacity nothing is dropped', async (t) => {
  const o = new Outbox(3);
  t.equal(o.push(r(1)), 0);
  t.equal(o.push(r(2)), 0);
  t.equal(o.push(r(3)), 0);
  t.equal(o.size, 3);
  t.equal(o.dropped, 0);
  t.same(seqs(o.takeUnsent()), [1, 2, 3]);
});

t.test('when full the oldest is dropped and counted', async (t) => {
  const o = filled(3, 3);
  t.equal(o.push(r(4)), 1);
  t.equal(o.push(r(5)), 1);
  t.equal(o.size, 3);
  t.equal(o.dropped, 2);
  t.same(seqs(o.takeUnsent()), [3, 4, 5], 'the newest are kept');
  const one = new Outbox(1);
  for (let i = 1; i <= 10; i++) one.push(r(i));
  t.equal(one.dropped, 9);
  t.same(seqs(one.takeUnsent()), [10]);
});

t.test('takeUnsent hands out each report once per stream', async (t) => {
  const o = filled(10, 3);
  t.same(seqs(o.takeUnsent()), [1, 2, 3]);
  t.same(o.takeUnsent(), [], 'nothing new');
  o.push(r(4));
  o.push(r(5));
  t.same(seqs(o.takeUnsent()), [4, 5], 'only what is new');
  t.equal(o.size, 5, 'sent is not released: only an ack releases');
});

t.test('ack releases every report with sequence ≤ the acked one', async (t) => {
  const o = filled(10, 5);
  o.takeUnsent();
  t.equal(o.ack(3), 3);
  t.equal(o.size, 2);
  t.equal(o.acked, 3);
  t.equal(o.ack(3), 0, 'acking again releases nothing');
  t.equal(o.ack(1), 0, 'an older ack releases nothing');
  t.equal(o.ack(100), 2, 'an ack beyond what is held releases everything');
  t.equal(o.size, 0);
  t.equal(o.acked, 5);
});

t.test('an ack between sequence numbers (after drops) releases what is below it', async (t) => {
  const o = new Outbox(10);
  for (const s of [2, 5, 9]) o.push(r(s));
  t.equal(o.ack(6), 2);
  t.same(seqs(o.takeUnsent()), [9]);
});

t.test('rewind: a new stream replays everything not acknowledged, oldest first', async (t) => {
  const o = filled(10, 4);
  t.same(seqs(o.takeUnsent()), [1, 2, 3, 4]);
  o.ack(2);
  o.push(r(5));
  o.rewind();
  t.same(seqs(o.takeUnsent()), [3, 4, 5]);
  t.same(o.takeUnsent(), []);
  o.rewind();
  o.rewind();
  t.same(seqs(o.takeUnsent()), [3, 4, 5], 'rewinding twice is rewinding once');
});

t.test('acks for reports not yet sent on this stream (acked on an earlier one) still release them', async (t) => {
  const o = filled(10, 4);
  o.takeUnsent();
  o.rewind(); // reconnect: nothing sent yet on the new stream
  t.equal(o.ack(2), 2);
  t.same(seqs(o.takeUnsent()), [3, 4]);
});

t.test('an ack of part of what was sent keeps the rest sent', async (t) => {
  const o = filled(10, 4);
  t.same(seqs(o.takeUnsent()), [1, 2, 3, 4]);
  o.push(r(5));
  o.ack(2);
  t.same(seqs(o.takeUnsent()), [5], '3 and 4 were sent and are not sent again on this stream');
});

t.test('drops while some are sent keep the sent/unsent boundary right', async (t) => {
  const o = filled(3, 3);
  t.same(seqs(o.takeUnsent()), [1, 2, 3]);
  o.push(r(4)); // drops 1 (sent)
  t.same(seqs(o.takeUnsent()), [4]);
  o.push(r(5)); // drops 2 (sent)
  o.push(r(6)); // drops 3 (sent)
  o.push(r(7)); // drops 4 (sent)
  t.same(seqs(o.takeUnsent()), [5, 6, 7]);
  o.push(r(8));
  o.push(r(9));
  o.push(r(10));
  o.push(r(11)); // drops 8 (never sent)
  t.equal(o.dropped, 8);
  t.same(seqs(o.takeUnsent()), [9, 10, 11], 'the unsent that survived, and only those');
  o.rewind();
  t.same(seqs(o.takeUnsent()), [9, 10, 11]);
});

t.test('a long disconnected spell: bounded, newest kept, all replayed once', async (t) => {
  const o = new Outbox(120);
  for (let i = 1; i <= 1000; i++) o.push(r(i));
  t.equal(o.size, 120);
  t.equal(o.dropped, 880);
  o.rewind();
  const replay = o.takeUnsent();
  t.equal(replay.length, 120);
  t.equal(replay[0]!.sequence, 881);
  t.equal(replay.at(-1)!.sequence, 1000);
  t.equal(o.ack(1000), 120);
  t.equal(o.size, 0);
});
