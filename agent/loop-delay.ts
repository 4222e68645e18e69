// How long the agent's event loop could not handle events. Probes are timed in
// JavaScript: an answer that arrives while the loop runs something else (a
// long callback, a GC pause), or while the loop's thread waits for a CPU (a
// busy neighbour on the same core, a CFS quota used up), is read only when the
// loop gets to it, and its RTT grows by the wait; an answer that arrives just
// before a deadline the loop is late for loses to the deadline's timer and
// reads as a timeout. The scheduler marks such results (docs/architecture.md,
// "Event-loop delay").
//
// Two cumulative counters, read at a probe's start and when it settles, say
// how long the loop was unavailable in between, without a timer of their own:
// - the loop's active time (performance.eventLoopUtilization: wall time not
//   spent waiting in epoll): long callbacks, GC, synchronous I/O;
// - the loop thread's CPU time plus its run-queue wait (the kernel's
//   /proc/thread-self/schedstat: "on-CPU ns, waiting-for-CPU ns, slices"):
//   a thread starved while idle in epoll shows here and not in the first,
//   since libuv counts that wait as idle.
// The unavailable time is the larger of the two differences: both count a
// busy callback (the first by wall time, the second by CPU plus the wait when
// it was preempted), only the second counts starvation in epoll, only the
// first a synchronous sleep. Their sum would count a busy callback that was
// also preempted twice. Without schedstat (not Linux, no CONFIG_SCHED_INFO)
// the first alone is used.
import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Where the loop stood at one moment (cumulative milliseconds). */
export interface LoopMark {
  /** performance.now(). */
  readonly at: number;
  /** The loop's active time. */
  readonly active: number;
  /** The loop thread's CPU time plus run-queue wait; NaN without schedstat. */
  readonly busy: number;
}

export const SCHEDSTAT = '/proc/thread-self/schedstat';

/** A schedstat read this recent is reused: many probes start or settle in one turn of the loop. */
const REUSE_MS = 0.1;

export class LoopDelayMeter {
  private fd: number | null = null;
  private readonly buf = Buffer.alloc(96);
  private lastRead = -Infinity;
  private lastBusy = NaN;

  /**
   * `schedstat`: the loop thread's schedstat file; open it on the loop's
   * thread (/proc/thread-self is the thread that opens it). null: the event
   * loop's own active time only.
   */
  constructor(schedstat: string | null = SCHEDSTAT) {
    if (schedstat === null) return;
    try {
      this.fd = openSync(schedstat, 'r');
      if (Number.isNaN(this.readBusy())) this.close();
    } catch {
      this.fd = null; // not Linux, or no schedstat: the loop's active time only
    }
  }

  /** True when the thread's CPU and run-queue wait are read too (not only the loop's active time). */
  get schedstat(): boolean {
    return this.fd !== null;
  }

  mark(): LoopMark {
    const at = performance.now();
    const active = performance.eventLoopUtilization().active;
    let busy = NaN;
    if (this.fd !== null) {
      if (at - this.lastRead >= REUSE_MS) {
        this.lastBusy = this.readBusy();
        this.lastRead = at;
      }
      busy = this.lastBusy;
    }
    return { at, active, busy };
  }

  /** Milliseconds between `from` and `to` during which the loop could not handle events. */
  unavailable(from: LoopMark, to: LoopMark): number {
    const active = to.active - from.active;
    const busy = to.busy - from.busy;
    return Math.max(0, active, Number.isNaN(busy) ? 0 : busy);
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone
    }
    this.fd = null;
  }

  /** CPU plus run-queue wait of the thread, in ms: the first two fields of schedstat (ns); NaN when unreadable. */
  private readBusy(): number {
    let n: number;
    try {
      n = readSync(this.fd!, this.buf, 0, this.buf.length, 0);
    } catch {
      return NaN;
    }
    // Two decimal fields, parsed in place: no string per read.
    let total = 0;
    let field = 0;
    let value = 0;
    let digits = 0;
    for (let i = 0; i < n && field < 2; i++) {
      const c = this.buf[i]!;
      if (c >= 0x30 && c <= 0x39) {
        value = value * 10 + (c - 0x30);
        digits++;
      } else if (digits > 0) {
        total += value;
        field++;
        value = 0;
        digits = 0;
      }
    }
    return field === 2 ? total / 1e6 : NaN;
  }
}
