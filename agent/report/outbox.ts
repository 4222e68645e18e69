// Reports not yet acknowledged by one aggregator, oldest first, bounded in
// reports and in encoded bytes (a report of 1,000 peers is ~40 times one of
// 25, so a count alone bounds nothing). When a bound is hit old rounds are
// thinned rather than cut off: the newest half of each bound is kept whole,
// and in the older half the round whose removal leaves the smallest gap in
// round numbers goes first, the older on ties. A long outage so keeps results
// from its start, middle and end, at a resolution that halves as they age,
// where dropping the oldest kept only its last minutes. The newest round is
// never dropped; the oldest only when nothing else can go. Acknowledged
// reports are released; after a reconnect what is still held is sent again
// (the aggregator drops duplicates and acks what it has).
export interface PendingReport {
  readonly sequence: number;
  /** Probe round; the pieces of a round (reports split to fit) are adjacent and go together. */
  readonly round: number;
  /** Encoded size: what the byte bound counts. */
  readonly bytes: number;
}

export interface OutboxBounds {
  readonly reports: number;
  readonly bytes: number;
}

export class Outbox<R extends PendingReport = PendingReport> {
  private items: R[] = [];
  /** Index in `items` of the first report not yet sent on the current stream: those before it are in flight. */
  private unsent = 0;
  private held = 0;
  private sentBytes = 0;
  /** Reports dropped to stay within the bounds. */
  dropped = 0;
  acked = 0;
  /** Reports dropped because the aggregator refused them. */
  refused = 0;

  constructor(readonly bounds: OutboxBounds) {}

  get size(): number {
    return this.items.length;
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** Reports sent on the current stream and not yet acknowledged. */
  get inflight(): number {
    return this.unsent;
  }

  get inflightBytes(): number {
    return this.sentBytes;
  }

  /** Adds a report; returns how many old reports were dropped to stay within the bounds. */
  push(r: R): number {
    this.items.push(r);
    this.held += r.bytes;
    let dropped = 0;
    while (this.items.length > this.bounds.reports || this.held > this.bounds.bytes) {
      const v = this.victim();
      if (!v) break;
      dropped += this.remove(v.from, v.to);
    }
    this.dropped += dropped;
    return dropped;
  }

  /** Releases every report with sequence ≤ `sequence`; returns how many. */
  ack(sequence: number): number {
    let n = 0;
    while (n < this.items.length && this.items[n]!.sequence <= sequence) n++;
    if (n > 0) {
      this.remove(0, n);
      this.acked += n;
    }
    return n;
  }

  /** The next report not yet sent on the current stream. */
  peek(): R | undefined {
    return this.items[this.unsent];
  }

  /** The next report not yet sent on the current stream, marked sent. */
  take(): R | undefined {
    const r = this.items[this.unsent];
    if (r) {
      this.unsent++;
      this.sentBytes += r.bytes;
    }
    return r;
  }

  /** A new stream: everything held must be sent again. */
  rewind(): void {
    this.unsent = 0;
    this.sentBytes = 0;
  }

  /** The aggregator refused this report: it would refuse it again, so it is dropped. Returns it, if still held. */
  refuse(sequence: number): R | undefined {
    const i = this.items.findIndex((r) => r.sequence === sequence);
    if (i < 0) return undefined;
    const r = this.items[i]!;
    this.remove(i, i + 1);
    this.refused++;
    return r;
  }

  private remove(from: number, to: number): number {
    for (let i = from; i < to; i++) {
      this.held -= this.items[i]!.bytes;
      if (i < this.unsent) this.sentBytes -= this.items[i]!.bytes;
    }
    if (from < this.unsent) this.unsent -= Math.min(this.unsent, to) - from;
    this.items.splice(from, to - from);
    return to - from;
  }

  /** The round to drop next ([from, to) in `items`), or undefined when only the newest is left. */
  private victim(): { from: number; to: number } | undefined {
    const runs: { from: number; to: number; round: number; bytes: number }[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const r = this.items[i]!;
      const last = runs.at(-1);
      if (last && last.round === r.round) {
        last.to = i + 1;
        last.bytes += r.bytes;
      } else runs.push({ from: i, to: i + 1, round: r.round, bytes: r.bytes });
    }
    if (runs.length < 2) return undefined;
    // The recent half: the newest round, and older ones while they fit in half of both bounds.
    let recent = runs.length - 1;
    let count = runs[recent]!.to - runs[recent]!.from;
    let bytes = runs[recent]!.bytes;
    while (recent > 0) {
      const r = runs[recent - 1]!;
      if (count + (r.to - r.from) > this.bounds.reports / 2 || bytes + r.bytes > this.bounds.bytes / 2) break;
      recent--;
      count += r.to - r.from;
      bytes += r.bytes;
    }
    // In the older half: not the oldest, nothing in flight, the smallest gap left behind.
    let best: number | undefined;
    let bestGap = Infinity;
    for (let j = 1; j < recent; j++) {
      if (runs[j]!.from < this.unsent) continue;
      const gap = runs[j + 1]!.round - runs[j - 1]!.round;
      if (gap < bestGap) {
        best = j;
        bestGap = gap;
      }
    }
    return runs[best ?? 0];
  }
}
