// Under CI=true nothing the suite needs may be missing: a test that lacks
// root, a capability or a tool fails, naming what is missing, instead of
// skipping or turning into a comment (a suite that shrinks silently is a
// suite that stopped testing). Outside CI, on a developer's machine, it skips.

export const inCi = process.env.CI === 'true';

/** A tap `skip` value: the reason outside CI; under CI=true never a skip (the test runs and fails on what is missing). */
export function skipUnlessCi(reason: string | false): string | false {
  return inCi ? false : reason;
}

/** For a block of tests gated on something missing here: a comment outside CI, a failure under CI=true. */
export function missingHere(t: { fail(msg: string): void; comment(msg: string): void }, what: string): void {
  if (inCi) t.fail(`${what}: required under CI=true (the tests it gates would otherwise be skipped)`);
  else t.comment(`${what}: tests not run`);
}
