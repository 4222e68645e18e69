// Terminal rendering of API responses: pure functions from JSON to text, so
// they are tested without a terminal. Colour only when asked (TTY, no NO_COLOR).
import type { ApiCell, ApiMatrix, ApiNode } from './api-types.js';

export interface RenderOptions {
  readonly color: boolean;
  /** Terminal width; the matrix falls back to a list when it would not fit. */
  readonly width?: number;
  /** "now" for ages such as "2s ago" (tests pass a fixed time). */
  readonly now?: number;
}

type Status = ApiCell['status'];
const GLYPH: Record<Status | 'self', string> = { ok: '✓', degraded: '~', failing: '✗', unknown: '?', self: '·' };
const COLOR: Record<Status | 'self', string> = { ok: '32', degraded: '33', failing: '31', unknown: '90', self: '90' };
const STATUSES: Status[] = ['ok', 'degraded', 'failing', 'unknown'];

function paint(text: string, s: Status | 'self', o: RenderOptions): string {
  return o.color ? `\x1b[${COLOR[s]}m${text}\x1b[0m` : text;
}

function bold(text: string, o: RenderOptions): string {
  return o.color ? `\x1b[1m${text}\x1b[0m` : text;
}

/** Aligns columns of plain text; `paintCell` may colour a cell after padding. */
export function table(header: string[], rows: string[][], paintCell?: (row: number, col: number, padded: string) => string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], r: number) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return paintCell && r >= 0 ? paintCell(r, i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, -1), ...rows.map((r, i) => line(r, i))].join('\n');
}

function pct(r: number | null): string {
  return r === null ? '-' : `${(r * 100).toFixed(1)}%`;
}

function ms(v: number | null): string {
  return v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

export function age(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export function summaryLine(summary: Readonly<Record<Status, number>>, o: RenderOptions): string {
  return STATUSES.map((s) => paint(`${GLYPH[s]} ${s} ${summary[s]}`, s, o)).join('   ');
}

/** Every cell that is not ok, with why: the part of the matrix a person acts on. */
export function problemList(m: ApiMatrix, o: RenderOptions): string {
  const rows: string[][] = [];
  const statuses: Status[] = [];
  m.cells.forEach((row, s) =>
    row.forEach((c, d) => {
      if (c === null || c.status === 'ok') return;
      statuses.push(c.status);
      rows.push([m.nodes[s]!, '→', m.nodes[d]!, c.status, c.lastOutcome ?? '-', pct(c.lossRatio), `${ms(c.rttP50Ms)}/${ms(c.rttP99Ms)}`]);
    }),
  );
  if (rows.length === 0) return 'every pair is ok';
  return table(['SOURCE', '', 'TARGET', 'STATUS', 'LAST OUTCOME', 'LOSS', 'RTT p50/p99 ms'], rows, (r, col, padded) => (col === 3 ? paint(padded, statuses[r]!, o) : padded));
}

export function renderMatrix(m: ApiMatrix, o: RenderOptions): string {
  const title = bold(`${m.kind} matrix (${m.family}), window ${m.windowSeconds}s, at ${m.generatedAt}`, o);
  if (m.nodes.length === 0) return `${title}\nno nodes yet: are agents connected to this aggregator?`;
  const n = m.nodes.length;
  const idxWidth = String(n).length;
  const nameWidth = Math.max(...m.nodes.map((x) => x.length));
  const label = (i: number) => `${String(i + 1).padStart(idxWidth)} ${m.nodes[i]!.padEnd(nameWidth)}`;
  const colWidth = Math.max(2, idxWidth) + 1;
  const lineWidth = idxWidth + 1 + nameWidth + 2 + n * colWidth;
  const parts = [title];
  if (o.width !== undefined && lineWidth > o.width) {
    parts.push(`(${n} columns do not fit in ${o.width} characters: showing the cells that are not ok)`);
  } else {
    parts.push('rows: source, columns: target (numbered as the rows)');
    const head = ' '.repeat(idxWidth + 1 + nameWidth + 2) + m.nodes.map((_, i) => String(i + 1).padEnd(colWidth)).join('');
    parts.push(head.trimEnd());
    m.cells.forEach((row, s) => {
      const cells = row.map((c, d) => {
        const st: Status | 'self' = s === d || c === null ? 'self' : c.status;
        return paint(GLYPH[st], st, o) + ' '.repeat(colWidth - 1);
      });
      parts.push(`${label(s)}  ${cells.join('').trimEnd()}`);
    });
  }
  parts.push('', summaryLine(m.summary, o), '', problemList(m, o));
  return parts.join('\n');
}

export function renderNodes(nodes: readonly ApiNode[], o: RenderOptions): string {
  if (nodes.length === 0) return 'no nodes yet: are agents connected to this aggregator?';
  const now = o.now ?? Date.now();
  const rows = nodes.map((x) => [
    x.name,
    x.zone || '-',
    x.podIPs.join(',') || '-',
    x.agent.connected ? 'connected' : 'disconnected',
    age(x.agent.lastReportAt, now),
    x.agent.version || '-',
    x.agent.capabilities.join(',') || '-',
  ]);
  return table(['NAME', 'ZONE', 'POD-IP', 'AGENT', 'LAST-REPORT', 'VERSION', 'CAPABILITIES'], rows, (r, col, padded) =>
    col === 3 ? paint(padded, nodes[r]!.agent.connected ? 'ok' : 'failing', o) : padded,
  );
}
