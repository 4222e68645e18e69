#!/usr/bin/env node
import { systemClock } from '../common/clock.js';
import { createLogger } from '../common/logger.js';
import { parseOrExit, stopOnSignals } from '../common/main.js';
import { VERSION } from '../common/version.js';
import { parseAggregatorConfig } from './config.js';
import { loadAggregatorCredentials } from './credentials.js';
import { startAggregator } from './server.js';

const config = parseOrExit(() => parseAggregatorConfig(process.argv.slice(2), process.env));
// Certificates and tokens are read before anything listens: a bad file is one line and exit 2, like a bad flag.
const credentials = parseOrExit(() => loadAggregatorCredentials(config, process.env));
const log = createLogger('netmatrix-aggregator', config.logLevel);
try {
  const running = await startAggregator(config, { clock: systemClock, log, version: VERSION, ...credentials });
  stopOnSignals(() => running.stop(), log);
} catch (e) {
  log.fatal({ err: e }, 'aggregator failed to start');
  process.stderr.write(`netmatrix-aggregator: ${(e as Error).message}\n`);
  process.exit(1);
}
