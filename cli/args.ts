// The command line: argv and env in, a checked and typed invocation out, or
// one line saying what is wrong with it (exit 2). Nothing here touches the network.
import { parseArgs } from 'node:util';
import { parseDuration } from '../common/duration.js';
import { PAIR_KINDS, addressFamilies, isPairKind, type AddressFamily, type PairKind } from '../common/vocabulary.js';
import { STATUS_KINDS } from './commands/status.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT = '5s';
export const DEFAULT_KIND: PairKind = 'icmp';

export const COMMANDS = ['status', 'matrix'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A usage error: its message is the one line the user sees. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface Common {
  readonly server: string;
  readonly token?: string;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly noColor: boolean;
}
export interface StatusInvocation extends Common {
  readonly command: 'status';
}
export interface MatrixInvocation extends Common {
  readonly command: 'matrix';
  readonly kind: PairKind;
  /** Absent: the aggregator picks the family of the nodes' primary pod IPs. */
  readonly family?: AddressFamily;
}
export type Invocation = StatusInvocation | MatrixInvocation;

export type Parsed = { readonly help: string } | { readonly version: true } | { readonly invocation: Invocation };

const OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  kind: { type: 'string' },
  family: { type: 'string' },
} as const;

/** Options that belong to one command; the rest are common to all. */
const COMMAND_OPTIONS: Partial<Record<keyof typeof OPTIONS, CommandName>> = { kind: 'matrix', family: 'matrix' };

const EXIT_CODES = `Exit codes:
  0   the command worked and nothing is failing
  1   the command worked and something is failing: a failing cell, or (status)
      an agent that is not connected; degraded and unknown cells do not count
  2   usage error: unknown command or option, bad value
  3   the aggregator could not be reached within --timeout, answered an error,
      or did not answer like a netmatrix aggregator
  70  a bug in netmatrix (please report it with the message)`;

const COMMON_OPTIONS = `  --server URL     the aggregator's HTTP API, path prefix allowed
                   (env NETMATRIX_SERVER; default ${DEFAULT_SERVER})
  --token T        bearer token for the API (env NETMATRIX_API_TOKEN)
  --timeout D      deadline of each API call, like 5s or 500ms (default ${DEFAULT_TIMEOUT})
  --no-color       never colour; none off a terminal or with NO_COLOR set anyway`;

export const HELP = `Usage: netmatrix <command> [options]

Shows what a netmatrix aggregator sees, through its HTTP API.

Commands:
  status           agents (connected, last report, version) and, per probe kind,
                   how many matrix cells are ok, degraded, failing, unknown
  matrix           the node-pair matrix of one probe kind: row = source node,
                   column = target node, and why each cell that is not ok is so

Options:
  --json           print JSON for scripts instead of tables
${COMMON_OPTIONS}
  -h, --help       this text; netmatrix <command> --help for one command
  --version        print the version

${EXIT_CODES}`;

export const COMMAND_HELP: Record<CommandName, string> = {
  status: `Usage: netmatrix status [--json] [options]

A table of nodes (zone, pod IP, agent connected or not, age of its last
report, version, capabilities), then one line per probe kind
(${STATUS_KINDS.join(', ')}) counting the cells of its matrix by status, or
"no data" for a kind nobody has probed within the window, and a verdict.

Options:
  --json           print { nodes, matrices: { <kind>: <summary> } }
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
  matrix: `Usage: netmatrix matrix [--kind K] [--family F] [--json] [options]

The connectivity matrix of one probe kind: one row per source node, one column
per target node (numbered like the rows), a glyph per cell:
  ✓ ok   ~ degraded (loss or latency over threshold)   ✗ failing
  ? unknown (no fresh data)   · the node itself
then the count per status and every cell that is not ok, with its last
outcome, loss and RTT. On a terminal too narrow for the grid, the list only.

Options:
  --kind K         ${PAIR_KINDS.join(', ')} (default ${DEFAULT_KIND})
  --family F       ${addressFamilies.words.join(' or ')} (default: that of the nodes' primary pod IPs)
  --json           print the API's matrix JSON unchanged
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
};

function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}

/**
 * Parses argv (without node and the script) and env. Throws UsageError; for
 * --help returns the text to print, for --version a marker.
 */
export function parseInvocation(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e));
  }
  const { values, positionals, tokens } = parsed;
  const [command, ...extra] = positionals;
  if (command !== undefined && !isCommand(command)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}: expected ${COMMANDS.join(' or ')} (see netmatrix --help)`);
  }
  if (values.help) return { help: command === undefined ? HELP : COMMAND_HELP[command] };
  if (values.version) return { version: true };
  if (command === undefined) throw new UsageError(`which command? ${COMMANDS.join(' or ')} (see netmatrix --help)`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])} (see netmatrix ${command} --help)`);
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const owner = COMMAND_OPTIONS[t.name as keyof typeof OPTIONS];
    if (owner !== undefined && owner !== command) throw new UsageError(`--${t.name} is an option of netmatrix ${owner}, not of ${command} (see netmatrix ${command} --help)`);
  }

  const common: Common = {
    server: parseServer(...setting(values.server, '--server', env, 'NETMATRIX_SERVER', DEFAULT_SERVER)),
    ...tokenOf(values.token ?? nonEmpty(env.NETMATRIX_API_TOKEN)),
    timeoutMs: parseTimeout(values.timeout ?? DEFAULT_TIMEOUT),
    json: values.json ?? false,
    noColor: values['no-color'] ?? false,
  };
  if (command === 'status') return { invocation: Object.freeze({ command, ...common }) };

  const kind = values.kind ?? DEFAULT_KIND;
  if (!isPairKind(kind)) throw new UsageError(`unknown --kind ${JSON.stringify(kind)}: expected one of ${PAIR_KINDS.join(', ')}`);
  const family = values.family;
  if (family !== undefined && !addressFamilies.isWord(family)) {
    throw new UsageError(`unknown --family ${JSON.stringify(family)}: expected ${addressFamilies.words.join(' or ')}`);
  }
  return { invocation: Object.freeze({ command, ...common, kind, ...(family !== undefined ? { family } : {}) }) };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/** The flag wins over the env var; the name returned is the one to blame in an error. */
function setting(flag: string | undefined, flagName: string, env: Readonly<Record<string, string | undefined>>, envName: string, fallback: string): [string, string] {
  if (flag !== undefined) return [flag, flagName];
  const fromEnv = nonEmpty(env[envName]);
  return fromEnv !== undefined ? [fromEnv, envName] : [fallback, flagName];
}

function tokenOf(token: string | undefined): { token?: string } {
  return token ? { token } : {};
}

function parseServer(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid ${source} ${JSON.stringify(raw)}: expected a URL like ${DEFAULT_SERVER}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid ${source} ${JSON.stringify(raw)}: expected an http:// or https:// URL`);
  }
  // Not echoed: the point is that it holds a secret. fetch refuses such URLs anyway.
  if (url.username !== '' || url.password !== '') throw new UsageError(`invalid ${source}: a URL with credentials; give a token with --token or NETMATRIX_API_TOKEN`);
  return raw;
}

function parseTimeout(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) throw new UsageError(`invalid --timeout ${JSON.stringify(raw)}: expected a duration over zero, like 5s or 500ms`);
  return ms;
}

/** node:util's messages run to three lines of advice; one line naming the option is enough here. */
function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const message = err.message ?? String(e);
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option} (see netmatrix --help)`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /does not take an argument/.test(message) ? `${option} takes no value` : `${option} needs a value`;
  }
  return message.split('\n')[0]!;
}
