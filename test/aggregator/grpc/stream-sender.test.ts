// One stream's outgoing messages under backpressure, against a fake stream
// that behaves as a grpc-js server stream does: write() returns false once 16
// messages are unfinished, a write's callback fires when the test "flushes"
// it, and 'drain' follows once everything is flushed.
import { EventEmitter } from 'node:events';
import t from 'tap';
import type { EncodedMessage } from '../../../aggregator/grpc/plan-wire.js';
import { StreamSender, type OutgoingStream } from '../../../aggregator/grpc/stream-sender.js';
import type { AggregatorMessage } from '../../../proto/load.js';

type Written = { plan: number } | { ack: number };

class FakeStream extends EventEmitter implements OutgoingStream {
  readonly written: Written[] = [];
  private readonly pending: ((() => void) | undefined)[] = [];
  private needDrain = false;
  constructor(private readonly highWaterMark = 16) {
    super();
  }
  write(msg: AggregatorMessage | EncodedMessage, cb?: () => void): boolean {
    this.written.push(Buffer.isBuffer(msg) ? { plan: msg.readUInt8(0) } : { ack: Number(msg.ack!.sequence) });
    this.pending.push(cb);
    const ok = this.pending.length < this.highWaterMark;
    if (!ok) this.needDrain = true;
    return ok;
  }
  /** The reader takes `n` messages (all by default), as http2 would once the agent reads. */
  flush(n = this.pending.length): void {
    for (const cb of this.pending.splice(0, n)) cb?.();
    if (this.pending.length === 0 && this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }
}

/** A fake encoded plan: its first byte says which one it is. */
function plan(n: number): EncodedMessage {
  return Buffer.from([n, 0, 0, 0]) as EncodedMessage;
}

function harness(stallTimeoutMs = 60_000) {
  const stream = new FakeStream();
  const events = { written: [] as number[], superseded: [] as [number, number][], stalls: [] as number[] };
  const sender = new StreamSender(stream, {
    stallTimeoutMs,
    onStall: (waiting) => events.stalls.push(waiting),
    onPlanWritten: (_bytes, epoch) => events.written.push(epoch),
    onSuperseded: (epoch, by) => events.superseded.push([epoch, by]),
  });
  return { stream, sender, events };
}

t.test('a stream that keeps up gets everything at once, in order', async (t) => {
  const { stream, sender, events } = harness();
  sender.sendPlan(plan(1), 1);
  stream.flush();
  sender.sendAck(1);
  sender.sendAck(2);
  sender.sendPlan(plan(2), 2);
  sender.sendAck(3);
  t.same(stream.written, [{ plan: 1 }, { ack: 1 }, { ack: 2 }, { plan: 2 }, { ack: 3 }]);
  t.equal(sender.waiting, 0);
  t.same(events.written, [1, 2]);
  t.notOk(sender.timerArmed);
});

t.test('one plan inside the stream at a time; a newer one replaces the one waiting behind it', async (t) => {
  const { stream, sender, events } = harness();
  sender.sendPlan(plan(1), 1);
  for (let e = 2; e <= 6; e++) sender.sendPlan(plan(e), e);
  t.same(stream.written, [{ plan: 1 }], 'plan 1 not taken yet: nothing more written');
  t.equal(sender.waiting, 1, 'one plan waits');
  t.same(events.superseded, [[2, 3], [3, 4], [4, 5], [5, 6]]);
  t.ok(sender.timerArmed, 'something waits: the stall deadline runs');
  stream.flush();
  t.same(stream.written, [{ plan: 1 }, { plan: 6 }], 'then the newest, and only it');
  stream.flush();
  t.equal(sender.waiting, 0);
  t.notOk(sender.timerArmed);
});

t.test('write() returning false: nothing more until drain; acks merge; order is kept', async (t) => {
  const { stream, sender, events } = harness();
  sender.sendPlan(plan(1), 1); // not flushed: the reader is stuck
  for (let a = 1; a <= 15; a++) sender.sendAck(a);
  t.equal(stream.written.length, 16, 'the stream buffer is full');
  sender.sendAck(16);
  sender.sendAck(17);
  sender.sendPlan(plan(2), 2);
  sender.sendAck(18);
  sender.sendPlan(plan(3), 3);
  sender.sendAck(19);
  t.equal(stream.written.length, 16, 'nothing written while waiting for drain');
  t.equal(sender.waiting, 3, 'an ack (16..18 merged once plan 2 left), plan 3, ack 19');
  t.same(events.superseded, [[2, 3]]);
  t.equal(stream.listenerCount('drain'), 1);
  stream.flush();
  t.equal(stream.listenerCount('drain'), 0, 'the drain listener is gone once it fired');
  t.same(stream.written.slice(16), [{ ack: 18 }, { plan: 3 }, { ack: 19 }], 'in the order they were sent, the replaced plan left out');
  t.same(events.written, [1, 3]);
  t.equal(sender.waiting, 0);
});

t.test('acks waiting on both sides of a replaced plan merge, so what waits stays bounded', async (t) => {
  const { stream, sender } = harness();
  sender.sendPlan(plan(1), 1);
  for (let a = 1; a <= 15; a++) sender.sendAck(a); // full: waiting for drain
  let ack = 15;
  for (let e = 2; e <= 50; e++) {
    sender.sendAck(++ack);
    sender.sendPlan(plan(e), e);
    sender.sendAck(++ack);
    t.ok(sender.waiting <= 3, `after plan ${e}: ${sender.waiting} waiting`);
  }
  stream.flush();
  stream.flush();
  const after = stream.written.slice(16);
  t.same(after.filter((m) => 'plan' in m), [{ plan: 50 }], 'only the newest plan');
  t.same(after[after.length - 1], { ack: ack }, 'the highest ack last (it came after the newest plan)');
  const acks = after.filter((m): m is { ack: number } => 'ack' in m).map((m) => m.ack);
  t.same(acks, [...acks].sort((a, b) => a - b), 'acks in order');
});

t.test('close() drops what waits and releases the drain listener and the timer', async (t) => {
  const { stream, sender } = harness();
  sender.sendPlan(plan(1), 1);
  for (let a = 1; a <= 16; a++) sender.sendAck(a);
  sender.sendPlan(plan(2), 2);
  t.equal(stream.listenerCount('drain'), 1);
  t.ok(sender.timerArmed);
  sender.close();
  t.equal(stream.listenerCount('drain'), 0);
  t.notOk(sender.timerArmed);
  t.equal(sender.waiting, 0);
  stream.flush();
  sender.sendPlan(plan(3), 3);
  sender.sendAck(99);
  t.equal(stream.written.length, 16, 'nothing written after close, not even on a late drain');
  sender.close(); // idempotent
});

t.test('no progress for the stall deadline with something waiting: onStall, once', async (t) => {
  const { stream, sender, events } = harness(50);
  sender.sendPlan(plan(1), 1);
  sender.sendPlan(plan(2), 2);
  await new Promise((r) => setTimeout(r, 30));
  stream.flush(); // progress: the deadline starts again, plan 2 is now the one inside
  sender.sendPlan(plan(3), 3);
  await new Promise((r) => setTimeout(r, 30));
  t.same(events.stalls, [], 'progress 30 ms ago: not stalled');
  const until = Date.now() + 2_000;
  while (events.stalls.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  t.same(events.stalls, [1], 'stalled with one plan waiting');
  t.notOk(sender.timerArmed, 'fired, not re-armed by itself');
  sender.close();
});
