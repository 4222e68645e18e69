// Shared start-up for the two daemons: config errors are one line on stderr
// and exit code 2; --help prints and exits 0; SIGINT/SIGTERM stop gracefully
// with a deadline.
import { ConfigError, HelpRequested } from './settings.js';

export function parseOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(`${e.text}\n`);
      process.exit(0);
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

export function stopOnSignals(stop: () => Promise<void>, log: { info(o: object, m: string): void }, graceMs = 5_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1); // second Ctrl-C: now
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), graceMs);
    force.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
