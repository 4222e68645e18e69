// Structural diff of two JSON values (two nodes' normalized CNI configs): what
// an SRE reads in a CniConfigDrift description and in GET /api/v1/cni/{node}.
// Arrays are compared by index (a plugin chain is ordered: the same plugins in
// another order is another chain). Bounded: at most `limit` entries, the rest
// counted.

export type DiffOp = 'changed' | 'added' | 'removed';

export interface DiffEntry {
  /** JSON path, e.g. `plugins[1].capabilities.portMappings`; "" is the whole value. */
  readonly path: string;
  readonly op: DiffOp;
  /** The reference's value (absent when added). */
  readonly before?: unknown;
  /** The compared value (absent when removed). */
  readonly after?: unknown;
}

export interface JsonDiff {
  readonly entries: readonly DiffEntry[];
  /** Differences past the limit, not listed. */
  readonly more: number;
}

export const DIFF_LIMIT = 50;

/** Longest rendering of one value in a diff line. */
const VALUE_CHARS = 80;

/** The differences from `before` (the reference) to `after`, in document order. */
export function diffJson(before: unknown, after: unknown, limit: number = DIFF_LIMIT): JsonDiff {
  const entries: DiffEntry[] = [];
  let total = 0;
  const emit = (e: DiffEntry) => {
    total++;
    if (entries.length < limit) entries.push(e);
  };
  walk(before, after, '', emit);
  return { entries, more: total - entries.length };
}

function walk(a: unknown, b: unknown, path: string, emit: (e: DiffEntry) => void): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= a.length) emit({ path: p, op: 'added', after: b[i] });
      else if (i >= b.length) emit({ path: p, op: 'removed', before: a[i] });
      else walk(a[i], b[i], p, emit);
    }
    return;
  }
  if (isObject(a) && isObject(b)) {
    // Another plugin at the same place in the chain: one line, not one per key.
    if (typeof a.type === 'string' && typeof b.type === 'string' && a.type !== b.type) {
      emit({ path, op: 'changed', before: a, after: b });
      return;
    }
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const p = joinKey(path, k);
      if (!Object.hasOwn(b, k)) emit({ path: p, op: 'removed', before: a[k] });
      else if (!Object.hasOwn(a, k)) emit({ path: p, op: 'added', after: b[k] });
      else walk(a[k], b[k], p, emit);
    }
    return;
  }
  // Scalars (JSON has no NaN), or values of different shapes.
  if (a !== b) emit({ path, op: 'changed', before: a, after: b });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function joinKey(path: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** One readable line: `plugins[0].mtu: 1450 → 1400`, `plugins[2] added (bandwidth)`. */
export function formatDiffEntry(e: DiffEntry): string {
  const where = e.path === '' ? '(whole config)' : e.path;
  switch (e.op) {
    case 'added':
      return `${where} added ${describe(e.after)}`;
    case 'removed':
      return `${where} removed ${describe(e.before)}`;
    case 'changed': {
      const from = pluginType(e.before);
      const to = pluginType(e.after);
      if (from !== undefined && to !== undefined && from !== to) return `${where}: ${from} plugin → ${to} plugin`;
      return `${where}: ${render(e.before)} → ${render(e.after)}`;
    }
  }
}

/** Every entry as a line, then "… and N more" when the diff was cut. */
export function diffLines(d: JsonDiff, max: number = d.entries.length): string[] {
  const shown = d.entries.slice(0, max).map(formatDiffEntry);
  const rest = d.more + Math.max(0, d.entries.length - max);
  if (rest > 0) shown.push(`… and ${rest} more`);
  return shown;
}

function pluginType(v: unknown): string | undefined {
  return isObject(v) && typeof v.type === 'string' ? v.type : undefined;
}

function describe(v: unknown): string {
  const type = pluginType(v);
  return type !== undefined ? `(${type})` : `(${render(v)})`;
}

/** A value as JSON, cut to VALUE_CHARS. */
export function render(v: unknown): string {
  const text = v === undefined ? 'undefined' : JSON.stringify(v);
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS - 1)}…` : text;
}
