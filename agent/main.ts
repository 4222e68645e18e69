#!/usr/bin/env -S node --optimize-for-size --no-opt --no-sparkplug
// The node flags above keep the agent's RSS under 60 MB (measured in
// docs/architecture.md, "Agent footprint"): --optimize-for-size caps V8's young
// generation at 2 MB and grows the old one in small steps; --no-opt and
// --no-sparkplug leave out the compilers (their code, their compile-time memory
// and the code they make), so JavaScript runs in V8's interpreter, which costs
// this agent a few percent of CPU. The bin entry runs this line;
// Dockerfile.agent's ENTRYPOINT repeats the flags (test/agent/node-flags.test.ts
// holds the two together).
import { systemClock } from '../common/clock.js';
import { createLogger } from '../common/logger.js';
import { parseOrExit, stopOnSignals } from '../common/main.js';
import { VERSION } from '../common/version.js';
import { startAgent } from './agent.js';
import { parseAgentConfig } from './config.js';
import { loadAgentCredentials } from './report/credentials.js';

const config = parseOrExit(() => parseAgentConfig(process.argv.slice(2), process.env));
// Certificates and the token are read before anything starts: a bad file is one line and exit 2, like a bad flag.
const credentials = parseOrExit(() => loadAgentCredentials(config, process.env));
const log = createLogger('netmatrix-agent', config.logLevel).child({ node: config.nodeName });
try {
  const running = await startAgent(config, { clock: systemClock, log, version: VERSION, credentials });
  stopOnSignals(() => running.stop(), log);
} catch (e) {
  log.fatal({ err: e }, 'agent failed to start');
  process.stderr.write(`netmatrix-agent: ${(e as Error).message}\n`);
  process.exit(1);
}
