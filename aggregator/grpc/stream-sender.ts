// One agent stream's outgoing messages, under backpressure. A plan is large
// (O(nodes) bytes) and only the newest one matters; an ack is a few bytes and
// only the highest matters. So:
//   - at most one plan is inside grpc-js (written, its write not completed yet)
//     and at most one waits behind it: a newer plan replaces the waiting one;
//   - when call.write returns false, nothing more is written until 'drain';
//   - what waits keeps the order it was sent in (an ack sent after a plan goes
//     after it), and adjacent waiting acks merge into the highest.
// A stream that reads nothing therefore holds at most two plans (one inside
// grpc-js, one waiting) and a bounded handful of acks (grpc-js's 16-message
// buffer, then at most two waiting), however often plans change. If it makes no progress for
// `stallTimeoutMs` while something waits, `onStall` is called (the collector
// ends the stream). close() drops what waits and releases the 'drain'
// listener and the timer; the collector calls it on every end path.
import type { AggregatorMessage } from '../../proto/load.js';
import type { EncodedMessage } from './plan-wire.js';

/** What the sender uses of a grpc-js server stream. */
export interface OutgoingStream {
  write(msg: AggregatorMessage | EncodedMessage, cb?: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

export interface SenderHooks {
  readonly stallTimeoutMs: number;
  /** No progress for stallTimeoutMs with `waiting` messages waiting. */
  onStall(waiting: number): void;
  /** A plan was handed to grpc-js. */
  onPlanWritten(bytes: number, epoch: number): void;
  /** A waiting plan was replaced by a newer one before it was written. */
  onSuperseded(epoch: number, by: number): void;
}

type Entry = { readonly plan: EncodedMessage; readonly epoch: number } | { ack: number };

export class StreamSender {
  private readonly queue: Entry[] = [];
  /** call.write returned false: waiting for 'drain'. */
  private draining = false;
  /** A plan is inside grpc-js and its write has not completed. */
  private planInFlight = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly call: OutgoingStream,
    private readonly hooks: SenderHooks,
  ) {}

  /** Messages waiting to be handed to grpc-js (0 while the stream keeps up). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Whether the stall timer is armed (tests: it must not outlive the stream). */
  get timerArmed(): boolean {
    return this.stallTimer !== undefined;
  }

  sendPlan(plan: EncodedMessage, epoch: number): void {
    if (this.closed) return;
    const i = this.queue.findIndex((e) => 'plan' in e);
    if (i >= 0) {
      const old = this.queue.splice(i, 1)[0] as { readonly epoch: number };
      // The acks on either side of it are now neighbours: one of them is enough.
      const before = this.queue[i - 1];
      const after = this.queue[i];
      if (before && after && 'ack' in before && 'ack' in after) {
        before.ack = Math.max(before.ack, after.ack);
        this.queue.splice(i, 1);
      }
      this.hooks.onSuperseded(old.epoch, epoch);
    }
    this.queue.push({ plan, epoch });
    this.pump();
  }

  sendAck(sequence: number): void {
    if (this.closed) return;
    const last = this.queue[this.queue.length - 1];
    // Something waits, so this waits too: merged with an ack right before it.
    if (last && 'ack' in last) {
      last.ack = Math.max(last.ack, sequence);
      return;
    }
    this.queue.push({ ack: sequence });
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.call.removeListener('drain', this.onDrain);
    this.clearStall();
  }

  private readonly onDrain = (): void => {
    this.draining = false;
    this.progress();
  };

  // grpc-js calls a write's callback once http2 has taken the message (flow
  // control permitting); on a cancelled stream it never does, and close() ends it.
  private readonly onPlanDone = (): void => {
    this.planInFlight = false;
    this.progress();
  };

  private progress(): void {
    if (this.closed) return;
    // The agent read something: its deadline starts again.
    this.clearStall();
    this.pump();
  }

  private pump(): void {
    while (!this.closed && !this.draining && this.queue.length > 0) {
      const head = this.queue[0]!;
      if ('plan' in head && this.planInFlight) break;
      this.queue.shift();
      let ok: boolean;
      if ('plan' in head) {
        this.planInFlight = true;
        ok = this.call.write(head.plan, this.onPlanDone);
        this.hooks.onPlanWritten(head.plan.length, head.epoch);
      } else {
        ok = this.call.write({ ack: { sequence: head.ack } });
      }
      if (!ok) {
        this.draining = true;
        this.call.once('drain', this.onDrain);
      }
    }
    if (this.closed || this.queue.length === 0) this.clearStall();
    else if (!this.stallTimer) {
      this.stallTimer = setTimeout(() => {
        this.stallTimer = undefined;
        if (!this.closed) this.hooks.onStall(this.queue.length);
      }, this.hooks.stallTimeoutMs);
      this.stallTimer.unref();
    }
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}
