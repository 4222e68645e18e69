#!/usr/bin/env node
// Writes docs/configuration.md from the settings definitions in dist/ (run
// after `npm run build`), so the doc can't drift from --help. A test compares.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { agentSettings } = await import(join(root, 'dist/agent/config.js'));
const { aggregatorSettings } = await import(join(root, 'dist/aggregator/config.js'));
const { simSettings } = await import(join(root, 'dist/sim/config.js'));

function render(agent, aggregator, sim) {
  const table = (settings) =>
    ['| flag | environment | default | what |', '| --- | --- | --- | --- |']
      .concat(Object.values(settings).map((s) => `| \`--${s.flag}\` | \`${s.env}\` | ${s.default !== undefined ? (s.default === '' ? '(empty)' : `\`${s.default}\``) : s.required ? 'required' : '—'} | ${s.help.replace(/\|/g, '\\|')} |`))
      .join('\n');
  return `# Configuration

Every setting is a flag and an environment variable; a flag wins over the variable. A bad value stops
start-up with exit code 2 and one line naming the flag, the variable, the value and what was expected.
Durations are written like \`250ms\`, \`5s\`, \`1m30s\`. This page is generated from the code
(\`node scripts/gen-config-doc.mjs\`); \`--help\` prints the same.

## netmatrix-aggregator

${table(aggregator)}

## netmatrix-agent

${table(agent)}

The agent's identity normally comes from the Downward API: \`NODE_NAME\` (spec.nodeName), \`POD_IP\`
(status.podIPs, comma-separated for dual-stack, primary first), \`NODE_IP\` (status.hostIPs). The
responder listens on every address of \`POD_IP\`, one listener each, on one port (9402 unless \`--listen\`
says otherwise): Hello announces every pod IP and peers probe tcp and http on each family. An address
that cannot be bound (one that is not this pod's, a port in use) stops the start with one line naming
it. With \`status.podIP\` (a single address) a dual-stack pod is probed on its primary family only.

## netmatrix-sim

The simulator ([scaling.md](scaling.md#simulator-netmatrix-sim)): its own variables are
\`NETMATRIX_SIM_*\`; the shared token is \`NETMATRIX_TOKEN\`, as for the agent.

${table(sim)}
`;
}

const out = process.argv[2] ?? join(root, 'docs', 'configuration.md');
writeFileSync(out, render(agentSettings, aggregatorSettings, simSettings));
