// Terminal rendering of API responses: pure functions from JSON to text, so
// they are tested without a terminal. Layout follows `kubectl get` (upper-case
// headers, columns padded to the widest value, two spaces between) and
// `fping -C` (one line per source, values in fixed columns).
import { STATUSES, type Status } from '../common/vocabulary.js';
import type { ApiCell, ApiMatrix, ApiNode } from './api-types.js';
import { paint, printable, type Style } from './terminal.js';
import { hasNoData, statusVerdict, type KindMatrix, type StatusVerdict } from './verdict.js';

export interface RenderOptions {
  readonly color: boolean;
  /** Terminal width; the matrix grid gives way to the list of problems when it would not fit. */
  readonly width?: number;
  /** "now" for ages such as "2s ago"; best the aggregator's clock (a matrix's generatedAt), tests fix it. */
  readonly now?: number;
  /** The aggregator's URL, named when it has no nodes. */
  readonly server?: string;
}

type Shown = Status | 'self';
export const GLYPH: Readonly<Record<Shown, string>> = { ok: '✓', degraded: '~', failing: '✗', unknown: '?', self: '·' };
const HUE: Readonly<Record<Shown, Style>> = { ok: 'green', degraded: 'yellow', failing: 'red', unknown: 'grey', self: 'grey' };
/** Order of the problem list: what needs action first. */
const SEVERITY: Readonly<Record<Status, number>> = { failing: 0, degraded: 1, unknown: 2, ok: 3 };

/**
 * Aligns columns of plain text, two spaces apart, the last column unpadded.
 * `paintCell` may colour a body cell after padding, so escape codes never count as width.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], paintCell?: (row: number, col: number, padded: string) => string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], r: number) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return paintCell && r >= 0 ? paintCell(r, i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, -1), ...rows.map((r, i) => line(r, i))].join('\n');
}

export function age(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.floor(s / 60)}m ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function pct(r: number | null): string {
  return r === null ? '-' : `${(r * 100).toFixed(1)}%`;
}

function ms(v: number | null): string {
  return v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

export function noNodes(o: RenderOptions): string {
  return `no nodes yet: are agents connected to ${o.server === undefined ? 'this aggregator' : printable(o.server)}?`;
}

export function summaryLine(summary: Readonly<Record<Status, number>>, o: RenderOptions): string {
  return STATUSES.map((s) => paint(`${GLYPH[s]} ${s} ${summary[s]}`, HUE[s], o.color)).join('   ');
}

/** Every cell that is not ok, worst first, with why: the part of the matrix a person acts on. */
export function problemList(m: ApiMatrix, o: RenderOptions): string {
  const problems: { s: number; d: number; c: ApiCell }[] = [];
  m.cells.forEach((row, s) =>
    row.forEach((c, d) => {
      if (c !== null && s !== d && c.status !== 'ok') problems.push({ s, d, c });
    }),
  );
  if (problems.length === 0) return m.nodes.length < 2 ? 'no pairs: one node only' : 'every pair is ok';
  problems.sort((a, b) => SEVERITY[a.c.status] - SEVERITY[b.c.status]); // stable: row order within a status
  // "since" is on the aggregator's clock, like generatedAt: no skew with this host.
  const now = Date.parse(m.generatedAt);
  const rows = problems.map(({ s, d, c }) => [
    printable(m.nodes[s]!),
    '→',
    printable(m.nodes[d]!),
    c.status,
    c.since === null ? '-' : age(c.since, Number.isNaN(now) ? (o.now ?? Date.now()) : now),
    c.lastOutcome === null ? '-' : printable(c.lastOutcome),
    pct(c.lossRatio),
    `${ms(c.rttP50Ms)}/${ms(c.rttP99Ms)}`,
  ]);
  return table(['SOURCE', '', 'TARGET', 'STATUS', 'SINCE', 'LAST-OUTCOME', 'LOSS', 'RTT-P50/P99-MS'], rows, (r, col, padded) =>
    col === 3 ? paint(padded, HUE[problems[r]!.c.status], o.color) : padded,
  );
}

/** The grid's geometry: rows labelled "index name", columns by index only, so long names cost width once. */
function gridLayout(m: ApiMatrix) {
  const n = m.nodes.length;
  const names = m.nodes.map(printable);
  const idxWidth = String(n).length;
  const nameWidth = names.reduce((w, x) => Math.max(w, x.length), 0);
  const colWidth = Math.max(2, idxWidth);
  const labelWidth = idxWidth + 1 + nameWidth;
  return { n, names, idxWidth, nameWidth, colWidth, labelWidth, width: labelWidth + 2 + n * colWidth + (n - 1) };
}

function grid(m: ApiMatrix, g: ReturnType<typeof gridLayout>, o: RenderOptions): string[] {
  const head = `${' '.repeat(g.labelWidth)}  ${g.names.map((_, i) => String(i + 1).padStart(g.colWidth)).join(' ')}`;
  const rows = m.cells.map((row, s) => {
    const cells = row.map((c, d) => {
      // A null off the diagonal should not happen; it is shown as what it is: no data.
      const shown: Shown = s === d ? 'self' : c === null ? 'unknown' : c.status;
      return ' '.repeat(g.colWidth - 1) + paint(GLYPH[shown], HUE[shown], o.color);
    });
    return `${String(s + 1).padStart(g.idxWidth)} ${g.names[s]!.padEnd(g.nameWidth)}  ${cells.join(' ')}`;
  });
  return [head, ...rows];
}

export function renderMatrix(m: ApiMatrix, o: RenderOptions): string {
  const title = paint(`${printable(m.kind)} matrix (${printable(m.family)}), window ${m.windowSeconds}s, generated ${printable(m.generatedAt)}`, 'bold', o.color);
  if (m.nodes.length === 0) return `${title}\n${noNodes(o)}`;
  const parts = [title];
  const g = gridLayout(m);
  if (o.width !== undefined && g.width > o.width) {
    parts.push(`(the grid of ${g.n} columns needs ${g.width} characters, the terminal has ${o.width}: listing the cells that are not ok; --json has them all)`);
  } else {
    parts.push('rows: source node; columns: target node, numbered like the rows', ...grid(m, g, o));
  }
  parts.push('', summaryLine(m.summary, o), '', problemList(m, o));
  return parts.join('\n');
}

export function renderNodes(nodes: readonly ApiNode[], o: RenderOptions): string {
  if (nodes.length === 0) return noNodes(o);
  const now = o.now ?? Date.now();
  const rows = nodes.map((x) => [
    printable(x.name),
    printable(x.zone) || '-',
    printable(x.podIPs.join(',')) || '-',
    x.agent.connected ? 'connected' : 'disconnected',
    age(x.agent.lastReportAt, now),
    printable(x.agent.version) || '-',
    printable(x.agent.capabilities.join(',')) || '-',
  ]);
  return table(['NAME', 'ZONE', 'POD-IP', 'AGENT', 'LAST-REPORT', 'VERSION', 'CAPABILITIES'], rows, (r, col, padded) =>
    col === 3 ? paint(padded, nodes[r]!.agent.connected ? 'green' : 'red', o.color) : padded,
  );
}

/** One line per kind: counts by status, or "no data" when nobody probed it within the window. */
export function renderKinds(matrices: readonly KindMatrix[], o: RenderOptions): string {
  const noData = matrices.map(({ matrix }) => hasNoData(matrix));
  const notes = matrices.map(({ kind, matrix }, i) => (noData[i] ? 'no data' : matrix.summary.failing > 0 ? `see netmatrix matrix --kind ${kind}` : ''));
  const withNotes = notes.some((x) => x !== '');
  const rows = matrices.map(({ kind, matrix }, i) => [
    printable(kind),
    ...STATUSES.map((s) => (noData[i] ? '-' : String(matrix.summary[s]))),
    ...(withNotes ? [notes[i]!] : []),
  ]);
  const header = ['KIND', ...STATUSES.map((s) => s.toUpperCase()), ...(withNotes ? ['NOTE'] : [])];
  return table(header, rows, (r, col, padded) => {
    const s = STATUSES[col - 1];
    return s !== undefined && !noData[r] && matrices[r]!.matrix.summary[s] > 0 ? paint(padded, HUE[s], o.color) : padded;
  });
}

export function verdictLine(v: StatusVerdict, o: RenderOptions): string {
  const problems: string[] = [];
  if (v.disconnected.length > 0) problems.push(`${v.disconnected.length} of ${v.nodes} agents disconnected (${someOf(v.disconnected.map(printable))})`);
  if (v.failing.length > 0) problems.push(`failing cells: ${v.failing.map((f) => `${printable(f.kind)} ${f.count}`).join(', ')}`);
  if (problems.length > 0) return paint(`${GLYPH.failing} ${problems.join('; ')}`, 'red', o.color);
  const degraded = v.degraded > 0 ? `, ${v.degraded} degraded` : '';
  return paint(`${GLYPH.ok} all ${v.nodes} agents connected, no failing cell${degraded}`, 'green', o.color);
}

function someOf(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** `netmatrix status`: the nodes, a line per kind, and the verdict that decides the exit code. */
export function renderStatus(nodes: readonly ApiNode[], matrices: readonly KindMatrix[], o: RenderOptions): string {
  if (nodes.length === 0) return noNodes(o);
  return [renderNodes(nodes, o), '', renderKinds(matrices, o), '', verdictLine(statusVerdict(nodes, matrices), o)].join('\n');
}
