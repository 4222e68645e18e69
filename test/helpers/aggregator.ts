// A real aggregator in this process, on loopback, on port 0 wherever a port is
// not part of what is tested. No DNS servers unless the test names some: the
// default ("service=auto") would send agents to the host's own resolver.
import { parseAggregatorConfig } from '../../aggregator/config.js';
import { startAggregator, type RunningAggregator } from '../../aggregator/server.js';
import { systemClock } from '../../common/clock.js';
import { silentLogger, type Logger } from '../../common/logger.js';

export async function testAggregator(flags: Record<string, string> = {}, log: Logger = silentLogger(), grpcPort = 0): Promise<RunningAggregator> {
  const argv = Object.entries({ 'grpc-listen': `127.0.0.1:${grpcPort}`, 'http-listen': '127.0.0.1:0', 'dns-servers': 'none', ...flags }).flatMap(([k, v]) => [`--${k}`, v]);
  return startAggregator(parseAggregatorConfig(argv, {}), { clock: systemClock, log, version: 'test' });
}
