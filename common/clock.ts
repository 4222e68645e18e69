// Time is injected everywhere so that tests control it. `now()` is wall-clock
// milliseconds (for timestamps shown to people); `monotonic()` is for
// measuring intervals and RTTs on one host.
export interface Clock {
  now(): number;
  monotonic(): number;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
});

/** Monotonic → wall-clock ms, as the clock reads now (for showing monotonic times to people). */
export function wallOf(clock: Clock): (mono: number) => number {
  return (mono) => mono + (clock.now() - clock.monotonic());
}

/** A clock tests move by hand. Both readings start equal; `stepWall` moves only the wall clock, as NTP or an operator would. */
export class ManualClock implements Clock {
  private wallOffset = 0;
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t + this.wallOffset;
  }
  monotonic(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms - this.wallOffset;
  }
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }
}
