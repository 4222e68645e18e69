// Every setting is a flag and an environment variable; flags win; a bad value
// fails start-up with one line naming the flag, the env var, the value and what
// was expected. Parsed once, validated, frozen.
import { isIP } from 'node:net';
import { parseCidr, type Cidr } from './cidr.js';
import { formatDuration, parseDuration } from './duration.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Thrown for --help: the caller prints `text` and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export interface Setting<T> {
  readonly flag: string; // without the leading "--"
  readonly env: string;
  readonly help: string;
  /** Default as the user would type it; undefined = no default (may still be required). */
  readonly default?: string;
  readonly required?: boolean;
  /** Returns the value, or a string saying what was expected. */
  readonly parse: (raw: string) => T | Expected;
}

/** What a parser returns when the text is not acceptable. */
export class Expected {
  constructor(readonly what: string) {}
}

type Values<S extends Record<string, Setting<unknown>>> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? (S[K]['required'] extends true ? T : S[K]['default'] extends string ? T : T | undefined) : never;
};

export function defineSettings<S extends Record<string, Setting<unknown>>>(s: S): S {
  return s;
}

/**
 * Reads the settings from argv (`--flag value` or `--flag=value`) and env.
 * Throws ConfigError (one line) on the first bad value, HelpRequested on --help.
 */
export function parseSettings<S extends Record<string, Setting<unknown>>>(
  command: string,
  settings: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Values<S> {
  const byFlag = new Map<string, string>();
  for (const [key, s] of Object.entries(settings)) byFlag.set(s.flag, key);
  const fromFlags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new HelpRequested(helpText(command, settings));
    if (!arg.startsWith('--')) throw new ConfigError(`${command}: unexpected argument ${JSON.stringify(arg)} (settings are --flag value; see --help)`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    const key = byFlag.get(flag);
    if (key === undefined) throw new ConfigError(`${command}: unknown flag ${/^[\w-]+$/.test(flag) ? `--${flag}` : JSON.stringify(`--${flag}`)} (see --help)`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      // "--zone --pod-ip x" is a missing value, not a zone named "--pod-ip".
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`${command}: --${flag} (${settings[key]!.env}) needs a value`);
      i++;
    }
    fromFlags.set(key, value);
  }
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    let raw: string | undefined;
    let source: string;
    if (fromFlags.has(key)) {
      raw = fromFlags.get(key);
      source = `--${s.flag}`;
    } else if (env[s.env] !== undefined && env[s.env] !== '') {
      raw = env[s.env];
      source = s.env;
    } else {
      raw = s.default;
      source = `default of --${s.flag}`;
    }
    if (raw === undefined) {
      if (s.required) throw new ConfigError(`${command}: --${s.flag} (${s.env}) is required: ${s.help}`);
      out[key] = undefined;
      continue;
    }
    const v = s.parse(raw);
    if (v instanceof Expected) {
      throw new ConfigError(`${command}: invalid ${source === s.env ? s.env : `${source} (${s.env})`} ${JSON.stringify(raw)}: expected ${v.what}`);
    }
    out[key] = v;
  }
  return Object.freeze(out) as Values<S>;
}

export function helpText(command: string, settings: Record<string, Setting<unknown>>): string {
  const lines = [`Usage: ${command} [--flag value ...]`, '', 'Every setting is a flag and an environment variable; flags win.', ''];
  for (const s of Object.values(settings)) {
    const def = s.default !== undefined ? ` (default ${s.default === '' ? '""' : s.default})` : s.required ? ' (required)' : '';
    lines.push(`  --${s.flag.padEnd(26)} ${s.env}`);
    lines.push(`      ${s.help}${def}`);
  }
  return lines.join('\n');
}

// ---- parsers ---------------------------------------------------------------

export const text = (raw: string): string => raw;

/** A file or directory path (not checked for existence here: the component that reads it says what is wrong). */
export function path(raw: string): string | Expected {
  return raw.length > 0 && !raw.includes('\0') ? raw : new Expected('a file or directory path');
}

/** A path, or empty for "not set". */
export function optionalPath(raw: string): string | Expected {
  return raw === '' ? '' : path(raw);
}

export function duration(opts: { min?: number; max?: number } = {}) {
  const { min = 1, max = 24 * 3_600_000 } = opts;
  return (raw: string): number | Expected => {
    const ms = parseDuration(raw);
    if (ms === undefined || ms < min || ms > max) {
      return new Expected(`a duration like 5s or 250ms between ${formatDuration(min)} and ${formatDuration(max)}`);
    }
    return ms;
  };
}

export function integer(min: number, max: number) {
  return (raw: string): number | Expected => {
    if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) return new Expected(`an integer from ${min} to ${max}`);
    return Number(raw);
  };
}

export function ratio(raw: string): number | Expected {
  const n = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || n < 0 || n > 1) return new Expected('a ratio from 0 to 1, like 0.05');
  return n;
}

export function oneOf<const W extends string>(words: readonly W[]) {
  return (raw: string): W | Expected => ((words as readonly string[]).includes(raw) ? (raw as W) : new Expected(`one of ${words.join(', ')}`));
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** "host:port", "[v6]:port" or ":port" (all addresses). Port 0 picks a free port. */
export function listenAddress(raw: string): ListenAddress | Expected {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return new Expected('host:port, like 0.0.0.0:9400 or [::]:9400');
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  if (m[1] !== undefined && isIP(m[1]) !== 6) return new Expected('host:port with a valid IPv6 address in brackets');
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Comma-separated list; each element parsed by `item`. Empty text is an empty list. */
export function list<T>(item: (raw: string) => T | Expected, what: string) {
  return (raw: string): readonly T[] | Expected => {
    const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
    const out: T[] = [];
    for (const p of parts) {
      const v = item(p);
      if (v instanceof Expected) return new Expected(`a comma-separated list of ${what}; ${JSON.stringify(p)} is not one`);
      out.push(v);
    }
    return Object.freeze(out);
  };
}

export function ip(raw: string): string | Expected {
  return isIP(raw) ? raw : new Expected('an IPv4 or IPv6 address');
}

export function cidr(raw: string): Cidr | Expected {
  return parseCidr(raw) ?? new Expected('a CIDR like 10.0.0.0/8');
}

/** An http(s) URL without query or fragment, returned without a trailing slash. */
export function httpUrl(raw: string): string | Expected {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return new Expected('an http:// or https:// URL');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    return new Expected('an http:// or https:// URL without query, fragment or credentials');
  }
  return u.href.replace(/\/+$/, '');
}

/** A Prometheus label value people type: 1 to 63 printable characters. */
export function labelValue(raw: string): string | Expected {
  return /^[\x21-\x7e]([\x20-\x7e]{0,61}[\x21-\x7e])?$/.test(raw) ? raw : new Expected('1 to 63 printable ASCII characters');
}
