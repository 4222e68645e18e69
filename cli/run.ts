// The netmatrix CLI, callable in-process (tests) and from cli/main.ts.
import { parseArgs } from 'node:util';
import { parseDuration } from '../common/duration.js';
import { PAIR_KINDS, isPairKind } from '../common/vocabulary.js';
import { VERSION } from '../common/version.js';
import { ApiClient, ApiError, EXIT } from './client.js';
import { matrixCommand } from './commands/matrix.js';
import { statusCommand } from './commands/status.js';

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly isTTY: boolean;
  readonly columns?: number;
}

const HELP = `Usage: netmatrix <command> [options]

Commands:
  status                 agents, last reports, and a per-kind summary of the matrix
  matrix                 the node-pair matrix of one probe kind (row = source, column = target)

Options:
  --server URL           aggregator HTTP API (env NETMATRIX_SERVER; default http://127.0.0.1:8080)
  --token T              bearer token for the API (env NETMATRIX_API_TOKEN)
  --timeout D            deadline of each API call, like 5s or 500ms (default 5s)
  --kind K               matrix: ${PAIR_KINDS.join(', ')} (default icmp)
  --family F             matrix: ipv4 or ipv6 (default: the cluster's primary family)
  --json                 print the API's JSON instead of a table
  --no-color             never colour (colour is used only on a terminal without NO_COLOR)
  --help, --version

Exit codes: 0 all ok; 1 the command worked and something is failing (a failing
cell, a disconnected agent); 2 usage error; 3 the aggregator could not be reached
or answered an error.`;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        timeout: { type: 'string', default: '5s' },
        kind: { type: 'string', default: 'icmp' },
        family: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    io.stderr(`netmatrix: ${(e as Error).message} (see netmatrix --help)`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (values.version) {
    io.stdout(VERSION);
    return EXIT.ok;
  }
  const [command, ...extra] = positionals;
  if (command === undefined || extra.length > 0 || !['status', 'matrix'].includes(command)) {
    io.stderr(command === undefined ? 'netmatrix: which command? status or matrix (see netmatrix --help)' : `netmatrix: unknown command ${JSON.stringify([command, ...extra].join(' '))}: expected status or matrix`);
    return EXIT.usage;
  }
  if (!isPairKind(values.kind)) {
    io.stderr(`netmatrix: unknown --kind ${JSON.stringify(values.kind)}: expected one of ${PAIR_KINDS.join(', ')}`);
    return EXIT.usage;
  }
  if (values.family !== undefined && values.family !== 'ipv4' && values.family !== 'ipv6') {
    io.stderr(`netmatrix: unknown --family ${JSON.stringify(values.family)}: expected ipv4 or ipv6`);
    return EXIT.usage;
  }
  const timeoutMs = parseDuration(values.timeout);
  if (timeoutMs === undefined || timeoutMs <= 0) {
    io.stderr(`netmatrix: invalid --timeout ${JSON.stringify(values.timeout)}: expected a duration like 5s or 500ms`);
    return EXIT.usage;
  }
  const server = values.server ?? io.env.NETMATRIX_SERVER ?? 'http://127.0.0.1:8080';
  try {
    new URL(server);
  } catch {
    io.stderr(`netmatrix: invalid --server ${JSON.stringify(server)}: expected a URL like http://127.0.0.1:8080`);
    return EXIT.usage;
  }
  const token = values.token ?? io.env.NETMATRIX_API_TOKEN;
  const client = new ApiClient({ server, timeoutMs, ...(token ? { token } : {}) });
  const render = {
    color: io.isTTY && !values['no-color'] && io.env.NO_COLOR === undefined,
    ...(io.columns !== undefined ? { width: io.columns } : {}),
  };
  try {
    if (command === 'matrix') return await matrixCommand(client, { kind: values.kind, json: values.json, ...(values.family ? { family: values.family } : {}) }, render, io.stdout);
    return await statusCommand(client, { json: values.json }, render, io.stdout);
  } catch (e) {
    if (e instanceof ApiError) {
      io.stderr(`netmatrix: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}
