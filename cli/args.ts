// The command line: argv and env in, a checked and typed invocation out, or
// one line saying what is wrong with it (exit 2). Nothing here touches the network.
import { parseArgs } from 'node:util';
import { parseDuration } from '../common/duration.js';
import { FINDING_KINDS, PAIR_KINDS, addressFamilies, isPairKind, type AddressFamily, type FindingKind, type PairKind } from '../common/vocabulary.js';
import { STATUS_FINDINGS_SHOWN } from './render.js';
import { STATUS_KINDS } from './commands/status.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT = '5s';

export const COMMANDS = ['status', 'matrix', 'findings', 'dns', 'cni', 'forget'] as const;
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
  /** Absent: the aggregator's default, the first of icmp, tcp, http, node it plans. */
  readonly kind?: PairKind;
  /** Absent: the aggregator picks the family of the nodes' primary pod IPs. */
  readonly family?: AddressFamily;
}
export interface FindingsInvocation extends Common {
  readonly command: 'findings';
  /** Absent: every kind. */
  readonly kind?: FindingKind;
  /** The API's state filter: firing by default, --pending, or --all for both. */
  readonly state: 'firing' | 'pending' | 'all';
}
export interface DnsInvocation extends Common {
  readonly command: 'dns';
  /** Absent: every node. */
  readonly node?: string;
}
export interface CniInvocation extends Common {
  readonly command: 'cni';
  /** Absent: every node. */
  readonly node?: string;
}
export interface ForgetInvocation extends Common {
  readonly command: 'forget';
  /** The node to forget (the one positional argument). */
  readonly node: string;
}
export type Invocation = StatusInvocation | MatrixInvocation | FindingsInvocation | DnsInvocation | CniInvocation | ForgetInvocation;

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
  pending: { type: 'boolean' },
  all: { type: 'boolean' },
  node: { type: 'string' },
} as const;

/** Options that belong to some commands; the rest are common to all. */
const COMMAND_OPTIONS: Partial<Record<keyof typeof OPTIONS, readonly CommandName[]>> = {
  kind: ['matrix', 'findings'],
  family: ['matrix'],
  pending: ['findings'],
  all: ['findings'],
  node: ['dns', 'cni'],
};

/** "a", "a or b", "a, b or c". */
function orList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** Words joined by ", ", wrapped to 80 columns, lines after the first indented to `indent`. */
function wrapList(words: readonly string[], indent: number, first: number): string {
  const lines: string[] = [];
  let line = '';
  for (const [i, w] of words.entries()) {
    const word = i < words.length - 1 ? `${w},` : w;
    const room = 80 - (lines.length === 0 ? first : indent);
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const EXIT_CODES = `Exit codes:
  0   the command worked and nothing is failing
  1   the command worked and something is failing: a failing cell (matrix,
      status, dns), a firing finding (findings, status), a disconnected
      agent (status), or CNI drift, a skewed plugin, a pool near exhaustion
      or a pod CIDR overlap (cni); degraded or unknown cells, stale or
      unreported CNI nodes and pending findings do not count
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
                   how many matrix cells are ok, degraded, failing, unknown;
                   then the findings firing now
  matrix           the node-pair matrix of one probe kind: row = source node,
                   column = target node, and why each cell that is not ok is so
  findings         what is wrong now, said once where it is (a dead node, a
                   blocked pair, a zone partition), with its description and
                   runbook
  dns              every node asking every DNS server (service IP, CoreDNS
                   replicas, NodeLocal DNSCache): latency or why it fails,
                   replicas that disagree, what a lookup costs
  cni              each node's CNI config (drift from the majority), plugin
                   binaries, IP pool use and pod CIDR overlaps
  forget NODE      forget a node that is gone for good: it leaves the matrix
                   and its findings resolve (needs the aggregator's API token)

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
Then the findings firing now: how many of each kind and the first ${STATUS_FINDINGS_SHOWN}
(netmatrix findings lists them all); left out for an aggregator older than
the findings API.

A firing finding fails the command (exit 1), like a failing cell.

Options:
  --json           print { nodes, matrices: { <kind>: <summary> }, findings:
                   [ <finding>... ] }, without findings on an older aggregator
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
  --kind K         ${PAIR_KINDS.join(', ')} (default: the
                   first of icmp, tcp, http, node that the aggregator probes)
  --family F       ${addressFamilies.words.join(' or ')} (default: that of the nodes' primary pod IPs)
  --json           print the API's matrix JSON unchanged (the full form: a
                   cell object per pair; the grid reads the compact one)
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
  findings: `Usage: netmatrix findings [--kind K] [--pending | --all] [--json] [options]

What is wrong with the cluster network now, as the aggregator localized it
(docs/findings.md): per finding, a line with its severity, kind, where it is
(node, src→dst or src_zone→dst_zone), summary and how long it has fired,
then its description and runbook. Critical first.

Only firing findings fail the command (exit 1); --pending ones never do.

Options:
  --kind K         only this kind: ${wrapList(FINDING_KINDS, 19, 34)}
                   (an aggregator answers an error, exit 3, for a kind it
                   does not raise)
  --pending        the conditions that hold but have not fired yet (inside the
                   aggregator's --finding-for) instead of the firing ones
  --all            firing and pending findings
  --json           print the API's findings JSON unchanged
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
  dns: `Usage: netmatrix dns [--node NAME] [--json] [options]

DNS as each node sees it: one row per node, one column per DNS server of the
aggregator's --dns-servers (its name and role: service, replica, nodelocal),
a cell per node and server:
  ✓ 1.11ms          ok, the p50 latency of the answers in the window
  ~ 100.5ms         degraded: slow (or recurring errors, shown as below)
  ✗ timeout 100%    failing: the last failing outcome and the error ratio
  ? no data         unknown: no query in the window
then the count per status; replicas that answer a name differently from the
others; servers that do not say NXDOMAIN for a random name that must not
exist (a wildcard, or an upstream that hijacks NXDOMAIN); nodes whose
resolv.conf names a nameserver netmatrix does not check; and what one lookup
costs with the first node's resolv.conf (ndots, search domains, queries).
With --dns-servers none on the aggregator, one line says DNS checks are off.

A failing cell fails the command (exit 1); degraded and unknown cells and
NXDOMAIN-check failures do not. A node the aggregator does not know exits 3.

Options:
  --node NAME      only this node's row, and its resolv.conf in full: every
                   nameserver, search domain, option, warning and lookup
  --json           print the API's DNS JSON unchanged (with --node: only that
                   node's row of cells and its resolver)
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
  cni: `Usage: netmatrix cni [--node NAME] [--json] [options]

CNI as each node's agent reads it: one row per node with its state, effective
config file (the first valid one of the conf dir), the config's hash (first
12 hex digits), plugin chain, fullest IP pool (used/size and percentage) and
how many errors it reported. States:
  majority     the config most nodes share                       (ok)
  drifted      another config than the majority's                (failing)
  split        configs differ and no group is the largest        (failing)
  invalid      no valid config file: pods there get no network   (failing)
  stale        last report too old to compare                    (unknown)
  unreported   no CNI data from its agent                        (unknown)
then the count per state and a verdict; the config groups and the keys each
outlier changes; plugin binaries that differ across nodes (short hashes, or
missing); pools at or over the aggregator's threshold; overlapping pod CIDRs.

A drifted, split or invalid node, a skewed plugin binary, a pool near
exhaustion or a pod CIDR overlap fails the command (exit 1); stale and
unreported nodes do not. With --node only that node's state and pools count.
A node the aggregator does not know exits 3.

Options:
  --node NAME      only this node: its row, config files, per-node fields set
                   aside before comparing, the group it is compared with and
                   the diff, line by line (like plugins[0].mtu: 1450 → 1400)
  --json           print the API's CNI JSON unchanged (with --node: the
                   body of /api/v1/cni/NAME)
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
  forget: `Usage: netmatrix forget NODE [--json] [options]

Forgets a node that is gone for good: the aggregator drops it from its node
list, matrix, DNS and CNI checks, and its findings (NodeUnreachable, ...)
resolve at its next evaluation, so Alertmanager is told they resolved.

Why: without the Kubernetes API, a node whose agent is gone leaves after the
aggregator's --node-expiry, but not while a NodeUnreachable, NodeIsolated or
PodNetworkUnreachable finding about it is firing or pending. A dead node keeps
paging until its agent comes back or it is forgotten. With the Kubernetes
API, delete the Node instead (kubectl delete node NODE): the aggregator
follows the API.

The aggregator refuses, and the command says why (exit 3), when:
  - it runs without an API token (--api-token-file): its API is read-only
  - the token is missing or wrong here (--token, NETMATRIX_API_TOKEN)
  - it knows no node by that name (netmatrix status lists them)
  - the node's agent is connected: the node would come straight back
  - the Kubernetes API lists the node: delete the Node object instead
After a timeout the node may or may not be forgotten: netmatrix status shows.
Each aggregator replica has its own node list: forget the node on each.

Options:
  --json           print the API's answer unchanged: { node, forgottenAt,
                   agent: { disconnectedAt, lastReportAt }, findings }
${COMMON_OPTIONS}
  -h, --help       this text

${EXIT_CODES}`,
};

function isFindingKind(word: string): word is FindingKind {
  return (FINDING_KINDS as readonly string[]).includes(word);
}

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
    throw new UsageError(`unknown command ${JSON.stringify(command)}: expected ${orList(COMMANDS)} (see netmatrix --help)`);
  }
  if (values.help) return { help: command === undefined ? HELP : COMMAND_HELP[command] };
  if (values.version) return { version: true };
  if (command === undefined) throw new UsageError(`which command? ${orList(COMMANDS)} (see netmatrix --help)`);
  // forget takes the node as its one argument; no other command takes any.
  const [node, ...more] = command === 'forget' ? extra : [undefined, ...extra];
  if (more.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(more[0])} (see netmatrix ${command} --help)`);
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const owners = COMMAND_OPTIONS[t.name as keyof typeof OPTIONS];
    if (owners !== undefined && !owners.includes(command)) {
      throw new UsageError(`--${t.name} is an option of netmatrix ${orList(owners)}, not of ${command} (see netmatrix ${command} --help)`);
    }
  }

  const common: Common = {
    server: parseServer(...setting(values.server, '--server', env, 'NETMATRIX_SERVER', DEFAULT_SERVER)),
    ...tokenOf(values.token ?? nonEmpty(env.NETMATRIX_API_TOKEN)),
    timeoutMs: parseTimeout(values.timeout ?? DEFAULT_TIMEOUT),
    json: values.json ?? false,
    noColor: values['no-color'] ?? false,
  };
  if (command === 'status') return { invocation: Object.freeze({ command, ...common }) };
  if (command === 'forget') {
    if (node === undefined) throw new UsageError('which node? netmatrix forget NODE (see netmatrix forget --help)');
    if (node.trim() === '') throw new UsageError(`invalid node ${JSON.stringify(node)}: expected a node name`);
    return { invocation: Object.freeze({ command, ...common, node }) };
  }
  if (command === 'findings') return { invocation: Object.freeze({ command, ...common, ...findingsOptions(values) }) };
  if (command === 'dns' || command === 'cni') {
    const node = values.node;
    if (node !== undefined && node.trim() === '') throw new UsageError(`invalid --node ${JSON.stringify(node)}: expected a node name`);
    return { invocation: Object.freeze({ command, ...common, ...(node !== undefined ? { node } : {}) }) };
  }

  const kind = values.kind;
  if (kind !== undefined && !isPairKind(kind)) throw new UsageError(`unknown --kind ${JSON.stringify(kind)}: expected one of ${PAIR_KINDS.join(', ')}`);
  const family = values.family;
  if (family !== undefined && !addressFamilies.isWord(family)) {
    throw new UsageError(`unknown --family ${JSON.stringify(family)}: expected ${addressFamilies.words.join(' or ')}`);
  }
  return { invocation: Object.freeze({ command, ...common, ...(kind !== undefined ? { kind } : {}), ...(family !== undefined ? { family } : {}) }) };
}

function findingsOptions(values: { kind?: string; pending?: boolean; all?: boolean }): Pick<FindingsInvocation, 'kind' | 'state'> {
  const kind = values.kind;
  // The closed set of common/vocabulary.ts: a typo is a usage error here, not an empty list.
  if (kind !== undefined && !isFindingKind(kind)) throw new UsageError(`unknown --kind ${JSON.stringify(kind)}: expected one of ${FINDING_KINDS.join(', ')}`);
  if (values.pending && values.all) throw new UsageError('--pending and --all exclude each other: --all lists pending findings too');
  const state = values.pending ? 'pending' : values.all ? 'all' : 'firing';
  return { state, ...(kind !== undefined ? { kind } : {}) };
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
