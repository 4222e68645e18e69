// A real aggregator in this process, on loopback, on port 0 wherever a port is
// not part of what is tested. No DNS servers unless the test names some: the
// default ("service=auto") would send agents to the host's own resolver. No
// practical HTTP rate limit unless the test sets one: tests poll the API.
// Certificates and tokens come from the flags and `env`, as in main.ts.
import { parseAggregatorConfig } from '../../aggregator/config.js';
import { loadAggregatorCredentials } from '../../aggregator/credentials.js';
import { startAggregator, type RunningAggregator } from '../../aggregator/server.js';
import { systemClock } from '../../common/clock.js';
import { silentLogger, type Logger } from '../../common/logger.js';

export async function testAggregator(flags: Record<string, string> = {}, log: Logger = silentLogger(), grpcPort = 0, env: Record<string, string> = {}): Promise<RunningAggregator> {
  const argv = Object.entries({ 'grpc-listen': `127.0.0.1:${grpcPort}`, 'http-listen': '127.0.0.1:0', 'dns-servers': 'none', 'http-rate-limit': '1000000', kubernetes: 'off', ...flags }).flatMap(([k, v]) => [`--${k}`, v]);
  const config = parseAggregatorConfig(argv, env);
  return startAggregator(config, { clock: systemClock, log, version: 'test', ...loadAggregatorCredentials(config, env) });
}
