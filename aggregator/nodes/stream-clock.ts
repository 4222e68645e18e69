// Maps an agent's timestamps onto the aggregator's clock without assuming the
// two are synchronised. For each report, (receivedAt − sentAt) is the clock
// offset plus the time the report spent on its way; the smallest value over the
// last few reports is the best estimate of the offset (as NTP filters delays).
// A result probed at agent time T then happened at T + offset on our clock.
//
// Taking the time of receipt instead would misplace results that waited in a
// socket buffer: when a link is cut for less than the keepalive timeout, the
// stream survives, and everything probed during the cut arrives in one burst
// after it; by receipt time the cut's failures would look as if they happened
// after the link was back.
//
// An agent whose clock steps (NTP correcting it, a VM resumed) moves every
// later (receivedAt − sentAt) by the step. A move larger than STEP_MS (more
// than any report waits in a buffer) is taken as a step: the estimate starts
// again from the new offset, and the caller counts and logs it. Times on our
// side are monotonic, so our own clock's steps never show here.
const DEPTH = 16;
export const STEP_MS = 60_000;

export class StreamClock {
  private readonly deltas: number[] = [];
  private next = 0;

  /** Forgets the estimate (a new stream may come from a restarted agent or a changed clock). */
  reset(): void {
    this.deltas.length = 0;
    this.next = 0;
  }

  /** Records one report; returns the offset estimate (ms to add to agent time), and the step when the agent's clock stepped. */
  observe(receivedAt: number, sentAt: number): { offset: number; stepMs?: number } {
    const d = receivedAt - sentAt;
    let stepMs: number | undefined;
    if (this.deltas.length > 0) {
      const est = this.estimate();
      if (Math.abs(d - est) > STEP_MS) {
        stepMs = est - d; // the agent's clock moved forward by this much (negative: back)
        this.reset();
      }
    }
    if (this.deltas.length < DEPTH) this.deltas.push(d);
    else this.deltas[this.next] = d;
    this.next = (this.next + 1) % DEPTH;
    return stepMs === undefined ? { offset: this.estimate() } : { offset: this.estimate(), stepMs };
  }

  private estimate(): number {
    let min = Infinity;
    for (const x of this.deltas) if (x < min) min = x;
    return min;
  }
}
