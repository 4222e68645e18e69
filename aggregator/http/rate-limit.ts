// A token bucket per client address: `perMinute` requests may come at once,
// and the bucket refills at perMinute per minute. The map of addresses is
// bounded: when it is full, buckets that have refilled (idle clients) are
// dropped, then the oldest ones; a dropped client starts again with a full
// bucket, which costs an attacker with that many addresses nothing they lacked.

export interface RateLimitOptions {
  readonly perMinute: number;
  readonly now: () => number;
  /** Most client addresses tracked at once. */
  readonly maxClients?: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number; readonly first: boolean };

interface Bucket {
  tokens: number;
  at: number;
  /** Refused since it last had a token (so a refusal is logged once per burst). */
  limited: boolean;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly maxClients: number;

  constructor(private readonly o: RateLimitOptions) {
    this.perMs = o.perMinute / 60_000;
    this.maxClients = o.maxClients ?? 10_000;
  }

  get clients(): number {
    return this.buckets.size;
  }

  /** Takes one token for `client`, or says how long until there is one. */
  take(client: string): RateDecision {
    const now = this.o.now();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= this.maxClients) this.evict(now);
      b = { tokens: this.o.perMinute, at: now, limited: false };
      this.buckets.set(client, b);
    } else {
      b.tokens = Math.min(this.o.perMinute, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.limited = false;
      return { allowed: true };
    }
    const first = !b.limited;
    b.limited = true;
    return { allowed: false, retryAfterMs: Math.ceil((1 - b.tokens) / this.perMs), first };
  }

  private evict(now: number): void {
    for (const [client, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.o.perMinute) this.buckets.delete(client);
    }
    // Still full: the oldest entries (Map keeps insertion order) make room.
    for (const client of this.buckets.keys()) {
      if (this.buckets.size < this.maxClients) break;
      this.buckets.delete(client);
    }
  }
}
