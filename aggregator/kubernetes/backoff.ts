// Exponential backoff with jitter for retrying the Kubernetes API after an error, so that many
// aggregator restarts (or one flapping API server) do not retry in lockstep.

export interface Backoff {
  /** The delay before the next retry; each call doubles the base up to the maximum. */
  next(): number;
  reset(): void;
}

/** Delays are drawn from [base/2, base], base = initial·2^n capped at max. */
export function jitteredBackoff(initialMs: number, maxMs: number, random: () => number = Math.random): Backoff {
  let attempt = 0;
  return {
    next() {
      const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
      attempt++;
      return Math.round(base / 2 + (random() * base) / 2);
    },
    reset() {
      attempt = 0;
    },
  };
}
