// netmatrix-sim settings: every one a flag and an environment variable
// (NETMATRIX_SIM_*; the token is NETMATRIX_TOKEN, as for the agent), flags win,
// and a bad value is one line naming the flag, the value and what was
// expected. The fault flags name nodes and zones of the simulated cluster
// (sim/nodes.ts), so they are checked against --nodes and --zones once those
// are known.
import { availableParallelism } from 'node:os';
import { ConfigError, defineSettings, duration, Expected, integer, list, optionalPath, parseSettings, type Setting } from '../common/settings.js';
import { formatDuration, parseDuration } from '../common/duration.js';
import type { FaultSpec } from './faults.js';
import { MAX_SIM_NODES, simNodes, type SimNodes } from './nodes.js';

export const COMMAND = 'netmatrix-sim';

/** host:port, where host is a DNS name or an IP (IPv6 in brackets). */
function aggregatorAddress(raw: string): string | Expected {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  return m && Number(m[2]) > 0 && Number(m[2]) <= 65535 ? raw : new Expected('host:port, like 127.0.0.1:9400');
}

/** A percentage, "10", "2.5" or "10%", as a ratio 0–1. */
function percent(raw: string): number | Expected {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(raw);
  const v = m ? Number(m[1]) : NaN;
  return v >= 0 && v <= 100 ? v / 100 : new Expected('a percentage from 0 to 100, like 10 or 2.5%');
}

/** "NAME=VALUE" pairs, comma-separated; the value parsed by `value`. */
function assignments<T>(value: (raw: string) => T | Expected, what: string) {
  return (raw: string): readonly (readonly [string, T])[] | Expected => {
    const out: [string, T][] = [];
    for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const eq = part.indexOf('=');
      const v = eq > 0 ? value(part.slice(eq + 1)) : new Expected('');
      if (v instanceof Expected) return new Expected(`comma-separated NODE=${what}; ${JSON.stringify(part)} is not one`);
      out.push([part.slice(0, eq), v]);
    }
    return Object.freeze(out);
  };
}

/** Milliseconds: "50" or a duration like "50ms", "1.5s". */
function millis(raw: string): number | Expected {
  const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : parseDuration(raw);
  return ms !== undefined && ms >= 0 && ms <= 60_000 ? ms : new Expected('milliseconds (50, or 50ms) up to 60s');
}

function zonePair(raw: string): readonly [string, string] | Expected {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(raw);
  return m && m[1] !== m[2] ? [m[1]!, m[2]!] : new Expected('ZONE/ZONE (two different zones)');
}

function number(min: number, max: number) {
  return (raw: string): number | Expected => {
    const v = Number(raw);
    return /^\d+(\.\d+)?$/.test(raw) && v >= min && v <= max ? v : new Expected(`a number from ${min} to ${max}`);
  };
}

const workers = (raw: string): number | 'auto' | Expected => (raw === 'auto' ? 'auto' : integer(1, 64)(raw));

export const simSettings = defineSettings({
  aggregator: { flag: 'aggregator', env: 'NETMATRIX_SIM_AGGREGATOR', required: true, parse: aggregatorAddress, help: 'the aggregator\'s gRPC address (its --grpc-listen)' },
  nodes: { flag: 'nodes', env: 'NETMATRIX_SIM_NODES', required: true, parse: integer(2, MAX_SIM_NODES), help: 'simulated nodes, each with its own agent, connection and stream' },
  zones: { flag: 'zones', env: 'NETMATRIX_SIM_ZONES', default: '3', parse: integer(1, 1000), help: 'zones (zone-0, zone-1, …); node i is in zone i mod Z' },
  prefix: {
    flag: 'prefix',
    env: 'NETMATRIX_SIM_PREFIX',
    default: 'sim',
    parse: (raw: string) => (/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/.test(raw) ? raw : new Expected('a DNS label of at most 42 characters')),
    help: 'node names are PREFIX-0000, PREFIX-0001, …',
  },
  duration: { flag: 'duration', env: 'NETMATRIX_SIM_DURATION', default: '1m', parse: duration({ min: 1000, max: 7 * 24 * 3_600_000 }), help: 'how long the run lasts, connecting included; then every stream is closed and the summary printed' },
  dead: {
    flag: 'dead',
    env: 'NETMATRIX_SIM_DEAD',
    default: '0',
    parse: (raw: string) => (/^\d+$/.test(raw) ? Number(raw) : list((x: string) => x, 'node names')(raw)),
    help: 'nodes that die at --fault-after (their agent goes, nothing answers them): a count (the last K nodes) or comma-separated names',
  },
  partition: { flag: 'partition', env: 'NETMATRIX_SIM_PARTITION', default: '', parse: list(zonePair, 'ZONE/ZONE pairs'), help: 'zone pairs cut from each other from --fault-after (every probe between them times out), comma-separated' },
  loss: { flag: 'loss', env: 'NETMATRIX_SIM_LOSS', default: '', parse: assignments(percent, 'PCT'), help: 'lossy nodes from --fault-after: probes to and from NODE are lost at random, PCT %' },
  slow: { flag: 'slow', env: 'NETMATRIX_SIM_SLOW', default: '', parse: assignments(millis, 'MS'), help: 'slow nodes from --fault-after: probes to and from NODE take MS longer' },
  faultAfter: { flag: 'fault-after', env: 'NETMATRIX_SIM_FAULT_AFTER', default: '0s', parse: duration({ min: 0, max: 7 * 24 * 3_600_000 }), help: 'when the faults above start, from the start of the run (SIGUSR1 starts them at once)' },
  backgroundLoss: { flag: 'background-loss', env: 'NETMATRIX_SIM_BACKGROUND_LOSS', default: '0', parse: percent, help: 'random loss of every probe, PCT %, all along' },
  badCells: { flag: 'bad-cells', env: 'NETMATRIX_SIM_BAD_CELLS', default: '0', parse: percent, help: 'PCT % of the cells bad all along (a third refused or unreachable, a third 30 % loss, a third 80 ms): a stress case' },
  churn: { flag: 'churn', env: 'NETMATRIX_SIM_CHURN', default: '0', parse: number(0, 60_000), help: 'agent restarts per minute across the cluster: an agent disconnects, is away for --churn-downtime (its responder refuses tcp and http, its pod and node IP answer) and reconnects as a new instance' },
  churnDowntime: { flag: 'churn-downtime', env: 'NETMATRIX_SIM_CHURN_DOWNTIME', default: '10s', parse: duration({ min: 0, max: 3_600_000 }), help: 'how long a restarting agent is away' },
  jitter: { flag: 'jitter', env: 'NETMATRIX_SIM_JITTER', default: '50ms', parse: duration({ min: 0, max: 60_000 }), help: 'each report goes out up to this late after its agent\'s phase of the interval' },
  seed: { flag: 'seed', env: 'NETMATRIX_SIM_SEED', default: '1', parse: integer(0, 2 ** 31 - 1), help: 'seed of every random draw: the same seed and flags give the same probes' },
  workers: { flag: 'workers', env: 'NETMATRIX_SIM_WORKERS', default: 'auto', parse: workers, help: 'worker threads the agents are spread over (auto: one per 2,000 agents, at most one per core)' },
  maxUnacked: { flag: 'max-unacked', env: 'NETMATRIX_SIM_MAX_UNACKED', default: '4', parse: integer(1, 1000), help: 'reports an agent may have unacknowledged; a round beyond that is skipped and counted (the aggregator is not keeping up)' },
  connectRate: { flag: 'connect-rate', env: 'NETMATRIX_SIM_CONNECT_RATE', default: '0', parse: number(0, 1_000_000), help: 'agents connecting per second at the start, as in a rollout (0: all at once, as after an aggregator restart)' },
  connectTimeout: { flag: 'connect-timeout', env: 'NETMATRIX_SIM_CONNECT_TIMEOUT', default: '20s', parse: duration({ min: 100, max: 600_000 }), help: 'deadline for a stream to bring its plan; then it is retried with backoff' },
  maxMessageBytes: { flag: 'grpc-max-message-bytes', env: 'NETMATRIX_SIM_GRPC_MAX_MESSAGE_BYTES', default: '4194304', parse: integer(65_536, 64 * 1024 * 1024), help: 'largest report sent; rounds are split to fit (at most the aggregator\'s --grpc-max-message-bytes)' },
  maxResultsPerReport: { flag: 'max-results-per-report', env: 'NETMATRIX_SIM_MAX_RESULTS_PER_REPORT', default: '50000', parse: integer(1, 1_000_000), help: 'most results in one report (at most the aggregator\'s --max-results-per-report)' },
  progress: { flag: 'progress', env: 'NETMATRIX_SIM_PROGRESS', default: '10s', parse: duration({ min: 0, max: 3_600_000 }), help: 'a JSON progress line on stderr this often (0s: none)' },
  tlsCa: { flag: 'tls-ca', env: 'NETMATRIX_SIM_TLS_CA', default: '', parse: optionalPath, help: 'PEM CA bundle that signs the aggregator\'s certificate: set, the agents stream over TLS; empty, in plaintext' },
  tlsCert: { flag: 'tls-cert', env: 'NETMATRIX_SIM_TLS_CERT', default: '', parse: optionalPath, help: 'PEM client certificate for mutual TLS (with --tls-key)' },
  tlsKey: { flag: 'tls-key', env: 'NETMATRIX_SIM_TLS_KEY', default: '', parse: optionalPath, help: 'PEM private key of --tls-cert' },
  tlsServerName: { flag: 'tls-server-name', env: 'NETMATRIX_SIM_TLS_SERVER_NAME', default: '', parse: (raw: string) => raw, help: 'name to verify the aggregator\'s certificate against; empty: the host of --aggregator' },
  tokenFile: { flag: 'token-file', env: 'NETMATRIX_SIM_TOKEN_FILE', default: '', parse: optionalPath, help: 'file holding the aggregator\'s shared agent token; NETMATRIX_TOKEN gives it directly' },
});

/** Everything a run needs, plain data (it is posted to worker threads as is). */
export interface SimConfig {
  readonly aggregator: string;
  readonly n: number;
  readonly zones: number;
  readonly prefix: string;
  readonly durationMs: number;
  readonly faultAfterMs: number;
  readonly faults: FaultSpec;
  readonly churnPerMinute: number;
  readonly churnDowntimeMs: number;
  readonly jitterMs: number;
  readonly workers: number;
  readonly maxUnacked: number;
  readonly connectTimeoutMs: number;
  /** Agents connecting per second at the start (0: all at once). */
  readonly connectRate: number;
  readonly maxMessageBytes: number;
  readonly maxResultsPerReport: number;
  readonly progressMs: number;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string; readonly serverName: string };
  readonly tokenFile: string;
}

/** The one-line error parseSettings gives, for checks that need more than one setting. */
function invalid(s: Setting<unknown>, raw: { value: string; fromEnv: boolean }, expected: string): ConfigError {
  return new ConfigError(`${COMMAND}: invalid ${raw.fromEnv ? s.env : `--${s.flag} (${s.env})`} ${JSON.stringify(raw.value)}: expected ${expected}`);
}

export function parseSimConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SimConfig {
  const c = parseSettings(COMMAND, simSettings, argv, env);
  const s = simSettings;
  // The text a setting was given as (the last flag wins, as in parseSettings), and whether it came from the environment.
  const raw = (key: keyof typeof simSettings): { value: string; fromEnv: boolean } => {
    const flag = `--${s[key].flag}`;
    for (let i = argv.length - 1; i >= 0; i--) {
      if (argv[i] === flag) return { value: argv[i + 1] ?? '', fromEnv: false };
      if (argv[i]!.startsWith(`${flag}=`)) return { value: argv[i]!.slice(flag.length + 1), fromEnv: false };
    }
    return { value: env[s[key].env] ?? (s[key] as Setting<unknown>).default ?? '', fromEnv: env[s[key].env] !== undefined };
  };
  if (c.zones > c.nodes) throw invalid(s.zones, raw('zones'), `at most --nodes (${c.nodes}) zones`);
  const nodes: SimNodes = simNodes(c.nodes, c.zones, c.prefix);
  const range = `${nodes.names[0]} … ${nodes.names[nodes.n - 1]}`;
  const node = (key: keyof typeof simSettings, name: string): number => {
    const i = nodes.index.get(name);
    if (i === undefined) throw invalid(s[key], raw(key), `names of simulated nodes (${range}); ${JSON.stringify(name)} is not one`);
    return i;
  };
  let dead: number[];
  if (typeof c.dead === 'number') {
    // At least two nodes stay alive: one witness could be the witness's own fault.
    if (c.dead > c.nodes - 2) throw invalid(s.dead, raw('dead'), `a count from 0 to ${c.nodes - 2} (two nodes must stay alive), or node names`);
    dead = Array.from({ length: c.dead }, (_, i) => c.nodes - 1 - i);
  } else {
    dead = [...new Set(c.dead.map((name) => node('dead', name)))];
    if (dead.length > c.nodes - 2) throw invalid(s.dead, raw('dead'), `at most ${c.nodes - 2} nodes (two must stay alive)`);
  }
  const zone = (name: string): number => {
    const z = nodes.zones.indexOf(name);
    if (z < 0) throw invalid(s.partition, raw('partition'), `ZONE/ZONE pairs of the simulated zones (${nodes.zones.length > 6 ? `${nodes.zones.slice(0, 3).join(', ')} … ${nodes.zones.at(-1)}` : nodes.zones.join(', ')}); ${JSON.stringify(name)} is not one`);
    return z;
  };
  const partitions = c.partition.map(([a, b]) => [zone(a), zone(b)] as const);
  const loss = new Map(c.loss.map(([name, r]) => [node('loss', name), r]));
  const slowMs = new Map(c.slow.map(([name, ms]) => [node('slow', name), ms]));
  if (c.faultAfter >= c.duration && (dead.length > 0 || partitions.length > 0 || loss.size > 0 || slowMs.size > 0)) {
    throw invalid(s.faultAfter, raw('faultAfter'), `a time before the end of the run (--duration ${formatDuration(c.duration)}), or the faults never start`);
  }
  if (c.tlsCa === '' && (c.tlsCert !== '' || c.tlsServerName !== '')) {
    throw new ConfigError(`${COMMAND}: --${c.tlsCert !== '' ? s.tlsCert.flag : s.tlsServerName.flag} is set without --${s.tlsCa.flag}: it needs TLS`);
  }
  const autoWorkers = Math.max(1, Math.min(availableParallelism(), Math.ceil(c.nodes / 2000)));
  return Object.freeze({
    aggregator: c.aggregator,
    n: c.nodes,
    zones: c.zones,
    prefix: c.prefix,
    durationMs: c.duration,
    faultAfterMs: c.faultAfter,
    faults: Object.freeze({ dead, partitions, loss, slowMs, backgroundLoss: c.backgroundLoss, badCells: c.badCells, seed: c.seed }),
    churnPerMinute: c.churn,
    churnDowntimeMs: c.churnDowntime,
    jitterMs: c.jitter,
    workers: Math.min(c.workers === 'auto' ? autoWorkers : c.workers, c.nodes),
    maxUnacked: c.maxUnacked,
    connectTimeoutMs: c.connectTimeout,
    connectRate: c.connectRate,
    maxMessageBytes: c.maxMessageBytes,
    maxResultsPerReport: c.maxResultsPerReport,
    progressMs: c.progress,
    tls: Object.freeze({ ca: c.tlsCa, cert: c.tlsCert, key: c.tlsKey, serverName: c.tlsServerName }),
    tokenFile: c.tokenFile,
  });
}
