// Waiting for a condition with a deadline, never a fixed sleep.

/**
 * Polls `probe` until it returns a value other than undefined, null or false,
 * and returns that value; throws naming `what` (and the probe's last error)
 * after `timeoutMs`. null is "not yet" so that `text.match(re)`,
 * `child.exitCode` and `?? null` lookups wait; 0 and '' are values.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > until) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** While `ms` pass, `check` keeps returning no problems (polled every 250 ms): one pass, or one fail naming them. */
export async function holdsFor(t: { pass(msg: string): void; fail(msg: string): void }, what: string, check: () => Promise<string[]>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let polls = 0;
  while (Date.now() < until) {
    const problems = await check();
    if (problems.length > 0) return void t.fail(`${what}: ${problems.join('; ')}`);
    polls++;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.pass(`${what} (${polls} polls over ${ms} ms)`);
}
