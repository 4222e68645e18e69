// A real agent in this process, on a loopback address of its own.
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { parseAgentConfig } from '../../agent/config.js';
import { systemClock } from '../../common/clock.js';
import { silentLogger, type Logger } from '../../common/logger.js';
export interface TestAgentSpec {
  readonly name: string;
  readonly podIP: string;
  readonly nodeIP?: string;
  readonly aggregator: string;
  readonly flags?: Record<string, string>;
}

export async function testAgent(spec: TestAgentSpec, log: Logger = silentLogger()): Promise<RunningAgent> {
  const flags: Record<string, string> = {
    'node-name': spec.name,
    'pod-ip': spec.podIP,
    'node-ip': spec.nodeIP ?? '',
    listen: `${spec.podIP}:0`,
    aggregator: spec.aggregator,
    'allowed-cidrs': '127.0.0.0/8',
    'reconnect-max': '500ms',
    'connect-timeout': '2s',
    // This machine's /etc/cni/net.d is not a test node's: CNI tests pass their own dirs.
    cni: 'off',
    ...spec.flags,
  };
  const argv = Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
  return startAgent(parseAgentConfig(argv, {}), { clock: systemClock, log, version: 'test' });
}
