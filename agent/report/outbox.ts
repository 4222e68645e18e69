// Reports not yet acknowledged by one aggregator, oldest first. Bounded: when
// full the oldest is dropped and counted, because fresh results matter more
// than old ones. Acknowledged reports are released; after a reconnect
// everything still held is sent again (the aggregator drops duplicates).
export interface PendingReport {
  readonly sequence: number;
  readonly round: number;
  readonly results: readonly unknown[];
}

export class Outbox<R extends PendingReport = PendingReport> {
  private items: R[] = [];
  /** Index in `items` of the first report not yet sent on the current stream. */
  private unsent = 0;
  dropped = 0;
  acked = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds a report; returns how many old reports were dropped to make room. */
  push(r: R): number {
    this.items.push(r);
    let dropped = 0;
    while (this.items.length > this.capacity) {
      this.items.shift();
      if (this.unsent > 0) this.unsent--;
      dropped++;
    }
    this.dropped += dropped;
    return dropped;
  }

  /** Releases every report with sequence ≤ `sequence`; returns how many. */
  ack(sequence: number): number {
    let n = 0;
    while (n < this.items.length && this.items[n]!.sequence <= sequence) n++;
    if (n > 0) {
      this.items.splice(0, n);
      this.unsent = Math.max(0, this.unsent - n);
      this.acked += n;
    }
    return n;
  }

  /** Reports not yet sent on the current stream; marks them sent. */
  takeUnsent(): R[] {
    const out = this.items.slice(this.unsent);
    this.unsent = this.items.length;
    return out;
  }

  /** A new stream: everything held must be sent again. */
  rewind(): void {
    this.unsent = 0;
  }
}
