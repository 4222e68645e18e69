// Terminal rendering of API responses: pure functions from JSON to text, so
// they are tested without a terminal. Layout follows `kubectl get` (upper-case
// headers, columns padded to the widest value, two spaces between) and
// `fping -C` (one line per source, values in fixed columns).
import { STATUSES, type Status } from '../common/vocabulary.js';
import { CNI_STATES, type ApiCell, type ApiCidrOwner, type ApiCniNode, type ApiCniNodeView, type ApiCniOverlap, type ApiCniPool, type ApiCniView, type ApiDnsCell, type ApiDnsView, type ApiFinding, type ApiFindings, type ApiMatrix, type ApiNode, type ApiResolver, type CniState } from './api-types.js';
import { paint, printable, type Style } from './terminal.js';
import { cniFullPools, cniVerdict, hasNoData, statusVerdict, type KindMatrix, type StatusVerdict } from './verdict.js';

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
  return columns([header, ...rows], paintCell && ((r, col, padded) => (r === 0 ? padded : paintCell(r - 1, col, padded)))).join('\n');
}

/** Like `table` without a header: one aligned line per row. */
export function columns(rows: readonly (readonly string[])[], paintCell?: (row: number, col: number, padded: string) => string): string[] {
  const n = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, i) => Math.max(0, ...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((cells, r) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return paintCell ? paintCell(r, i, padded) : padded;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** A length of time in the largest unit that keeps it readable: 45s, 3m, 5h, 2d. */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function age(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  return `${span((now - then) / 1000)} ago`;
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

export function someOf(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * `netmatrix status`: the nodes, a line per kind, the verdict on cells and
 * agents, then the firing findings. `findings` is absent when the aggregator
 * has no findings API (an older version): the section is left out.
 */
export function renderStatus(nodes: readonly ApiNode[], matrices: readonly KindMatrix[], o: RenderOptions, findings?: ApiFindings): string {
  const section = findings === undefined ? [] : ['', findingsSection(findings, o)];
  if (nodes.length === 0) return [noNodes(o), ...(findings?.findings.some((f) => f.state === 'firing') ? section : [])].join('\n');
  return [renderNodes(nodes, o), '', renderKinds(matrices, o), '', verdictLine(statusVerdict(nodes, matrices), o), ...section].join('\n');
}

// ---------------------------------------------------------------- findings

const SEVERITY_HUE: Readonly<Record<string, Style>> = { critical: 'red', warning: 'yellow' };
const SEVERITY_ORDER: readonly string[] = ['critical', 'warning', 'info'];
/** How many findings `netmatrix status` names; `netmatrix findings` has them all. */
export const STATUS_FINDINGS_SHOWN = 3;

function paintSeverity(padded: string, severity: string, color: boolean): string {
  const hue = SEVERITY_HUE[severity];
  return hue === undefined ? padded : paint(padded, hue, color);
}

/** Critical first, then warning, info, and words this CLI does not know; the API's order within each. */
function bySeverity(findings: readonly ApiFinding[]): ApiFinding[] {
  const rank = (f: ApiFinding) => {
    const i = SEVERITY_ORDER.indexOf(f.severity);
    return i === -1 ? SEVERITY_ORDER.length : i;
  };
  return [...findings].sort((a, b) => rank(a) - rank(b));
}

/** Where the finding is, from its location labels: a node, a pair of nodes, a pair of zones, or the cluster (a probe kind failing everywhere). */
export function findingLocation(labels: Readonly<Record<string, string>>): string {
  if (labels.node !== undefined) return labels.node;
  if (labels.src !== undefined && labels.dst !== undefined) return `${labels.src}→${labels.dst}`;
  if (labels.src_zone !== undefined && labels.dst_zone !== undefined) return `${labels.src_zone}→${labels.dst_zone}`;
  if (labels.kind !== undefined) return 'cluster';
  return '-';
}

/** "for 3m" since it fired (or, for a pending one, since its condition began). */
function findingTiming(f: ApiFinding, now: number): string {
  const elapsed = (iso: string) => {
    const then = Date.parse(iso);
    return Number.isNaN(then) ? '-' : span((now - then) / 1000);
  };
  if (f.state === 'pending') return `pending for ${elapsed(f.since)}`;
  if (f.state === 'resolved') return `resolved ${f.resolvedAt === null ? '' : age(f.resolvedAt, now)}`.trimEnd();
  return `for ${elapsed(f.firingSince ?? f.since)}`;
}

/** Durations are judged on the aggregator's clock (its last evaluation), as it judges them itself. */
function findingsNow(body: ApiFindings, o: RenderOptions): number {
  const evaluated = body.evaluatedAt === null ? NaN : Date.parse(body.evaluatedAt);
  return Number.isNaN(evaluated) ? (o.now ?? Date.now()) : evaluated;
}

/** Which findings were asked for, to say what there is none of. */
export interface FindingsScope {
  readonly state: 'firing' | 'pending' | 'all';
  readonly kind?: string;
}

function noFindings(body: ApiFindings, scope: FindingsScope): string {
  if (body.evaluatedAt === null) return 'No findings yet: the aggregator has not evaluated the matrix yet.';
  const kind = scope.kind === undefined ? '' : ` ${printable(scope.kind)}`;
  switch (scope.state) {
    case 'firing':
      return kind === '' ? 'No findings: nothing is wrong now.' : `No${kind} findings firing.`;
    case 'pending':
      return `No pending${kind} findings.`;
    case 'all':
      return kind === '' ? 'No findings, firing or pending: nothing is wrong now.' : `No${kind} findings, firing or pending.`;
  }
}

/**
 * `netmatrix findings`: per finding, a line with severity, kind, where, summary
 * and for how long (aligned across findings), then its description and runbook.
 */
export function renderFindings(body: ApiFindings, scope: FindingsScope, o: RenderOptions): string {
  if (body.findings.length === 0) return noFindings(body, scope);
  const now = findingsNow(body, o);
  const sorted = bySeverity(body.findings);
  const heads = columns(
    sorted.map((f) => [printable(f.severity), printable(f.kind), printable(findingLocation(f.labels)), printable(f.summary), findingTiming(f, now)]),
    (r, col, padded) => (col === 0 ? paintSeverity(padded, sorted[r]!.severity, o.color) : padded),
  );
  return sorted
    .map((f, i) => {
      const runbook = f.annotations.runbook_url;
      return [heads[i]!, ...(f.description !== '' ? [`    ${printable(f.description)}`] : []), ...(runbook !== '' ? [`    runbook: ${printable(runbook)}`] : [])].join('\n');
    })
    .join('\n\n');
}

/** The Findings section of `netmatrix status`: how many fire, of which kinds, and the first few. */
export function findingsSection(body: ApiFindings, o: RenderOptions): string {
  const firing = bySeverity(body.findings.filter((f) => f.state === 'firing'));
  if (firing.length === 0) {
    return body.evaluatedAt === null ? 'Findings: none yet, the aggregator has not evaluated the matrix yet' : paint(`Findings: none firing`, 'green', o.color);
  }
  const byKind = new Map<string, number>();
  for (const f of firing) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  const counts = [...byKind].map(([kind, n]) => `${printable(kind)} ${n}`).join(', ');
  const now = findingsNow(body, o);
  const shown = firing.slice(0, STATUS_FINDINGS_SHOWN);
  const lines = columns(
    shown.map((f) => [printable(f.severity), printable(f.summary), findingTiming(f, now)]),
    (r, col, padded) => (col === 0 ? paintSeverity(padded, shown[r]!.severity, o.color) : padded),
  ).map((l) => `  ${l}`);
  const more = firing.length - shown.length;
  return [
    paint(`Findings: ${firing.length} firing (${counts})`, 'bold', o.color),
    ...lines,
    ...(more > 0 ? [`  and ${more} more: netmatrix findings`] : []),
  ].join('\n');
}

// ---------------------------------------------------------------- dns

/** `netmatrix dns` against an aggregator run with --dns-servers none. */
export const DNS_OFF = 'DNS checks are off: the aggregator has no DNS servers (--dns-servers none).';

/** An error ratio in few characters: 0%, 2.5%, 12%, 100%. */
function ratio(r: number | null): string {
  if (r === null) return '-';
  const p = r * 100;
  return p === 0 || p >= 10 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`;
}

/** The outcome to show for a cell in trouble: the last one when it failed, else the commonest error of the window. */
function dnsFailure(c: ApiDnsCell): string | undefined {
  if (c.lastOutcome !== null && c.lastOutcome !== 'ok') return c.lastOutcome;
  if (c.status === 'ok') return undefined;
  let worst: [string, number] | undefined;
  for (const [outcome, n] of Object.entries(c.errors)) if (n > 0 && (worst === undefined || n > worst[1])) worst = [outcome, n];
  return worst?.[0];
}

/** A cell in its column: the status glyph, then the p50 latency, or the failing outcome and the error ratio. */
export function dnsCellText(c: ApiDnsCell): string {
  const glyph = GLYPH[c.status];
  const failure = dnsFailure(c);
  if (failure !== undefined) return `${glyph} ${printable(failure)} ${ratio(c.errorRatio)}`;
  if (c.latencyP50Ms !== null) return `${glyph} ${ms(c.latencyP50Ms)}ms`;
  return c.samples === 0 ? `${glyph} no data` : glyph;
}

function dnsGrid(v: ApiDnsView, o: RenderOptions): string[] {
  const rows = [
    ['NODE', ...v.servers.map((s) => printable(s.name))],
    ['', ...v.servers.map((s) => `(${printable(s.role)})`)],
    ...v.nodes.map((n, i) => [printable(n), ...v.cells[i]!.map(dnsCellText)]),
  ];
  return columns(rows, (r, col, padded) => (r < 2 || col === 0 ? padded : paint(padded, HUE[v.cells[r - 2]![col - 1]!.status], o.color)));
}

function dnsSummary(v: ApiDnsView): Record<Status, number> {
  const counts: Record<Status, number> = { ok: 0, degraded: 0, failing: 0, unknown: 0 };
  for (const row of v.cells) for (const c of row) counts[c.status]++;
  return counts;
}

function addresses(a: readonly string[] | null | undefined): string {
  if (a === null || a === undefined) return 'no answer';
  return a.length === 0 ? 'no address' : printable(a.join(' '));
}

/** Names where replicas disagree: each divergent server's answer against the consensus. */
function divergentAnswers(v: ApiDnsView, o: RenderOptions): string[] {
  const lines = v.answers
    .filter((a) => a.divergent.length > 0)
    .map((a) => {
      const consensus = a.consensus === null ? 'no consensus' : `consensus ${addresses(a.consensus)}`;
      const servers = a.divergent.map((s) => `${printable(s)} answered ${addresses(a.servers[s])}`).join(', ');
      return `  ${printable(a.name)} ${printable(a.type)}: ${servers} (${consensus})`;
    });
  return lines.length === 0 ? [] : [paint('Divergent answers (replicas that disagree):', 'bold', o.color), ...lines];
}

/** Servers that did not say NXDOMAIN for a random name that must not exist, and from which nodes. */
function nxFailures(v: ApiDnsView, o: RenderOptions): string[] {
  const groups = new Map<string, { server: string; outcome: string; nodes: string[] }>();
  v.cells.forEach((row, i) =>
    row.forEach((c, j) => {
      // A failing cell fails every query: its NXDOMAIN check says nothing more.
      if (c.nxCheck === null || c.nxCheck.ok || c.status === 'failing') return;
      const server = v.servers[j]!.name;
      const key = JSON.stringify([server, c.nxCheck.lastOutcome]);
      const g = groups.get(key) ?? { server, outcome: c.nxCheck.lastOutcome, nodes: [] };
      g.nodes.push(v.nodes[i]!);
      groups.set(key, g);
    }),
  );
  if (groups.size === 0) return [];
  const lines = [...groups.values()].map((g) => {
    const from = `from ${someOf(g.nodes.map(printable))}`;
    return g.outcome === 'ok'
      ? `  ${printable(g.server)}: NOERROR ${from} (a wildcard, or an upstream hijacking NXDOMAIN)`
      : `  ${printable(g.server)}: ${printable(g.outcome)} ${from}`;
  });
  return [paint('NXDOMAIN check failing (a random name that must not exist):', 'bold', o.color), ...lines];
}

/** Servers that answer over UDP but not over TCP (the TCP check), and from which nodes. */
function tcpFailures(v: ApiDnsView, o: RenderOptions): string[] {
  const groups = new Map<string, { server: string; outcome: string; nodes: string[] }>();
  v.cells.forEach((row, i) =>
    row.forEach((c, j) => {
      // A failing cell fails over UDP already: that is the news.
      if (!c.tcpCheck || c.tcpCheck.ok || c.status === 'failing') return;
      const server = v.servers[j]!.name;
      const key = JSON.stringify([server, c.tcpCheck.lastOutcome]);
      const g = groups.get(key) ?? { server, outcome: c.tcpCheck.lastOutcome, nodes: [] };
      g.nodes.push(v.nodes[i]!);
      groups.set(key, g);
    }),
  );
  if (groups.size === 0) return [];
  const lines = [...groups.values()].map((g) => `  ${printable(g.server)}: ${printable(g.outcome)} over TCP from ${someOf(g.nodes.map(printable))} (UDP answers)`);
  return [paint('TCP check failing (answers too large for UDP will fail):', 'bold', o.color), ...lines];
}

/** Nodes whose pods ask a resolver the aggregator does not check, or whose resolv.conf could not be read. */
function resolverProblems(v: ApiDnsView, o: RenderOptions): string[] {
  const lines: string[] = [];
  for (const r of v.resolvers) {
    if (r.error !== null) lines.push(`  ${printable(r.node)}: resolv.conf not read: ${printable(r.error)}`);
    else if (r.nameserverKnown === false) lines.push(`  ${printable(r.node)}: nameserver ${printable(r.nameservers[0] ?? '-')} is not a server netmatrix checks (its pods ask another resolver)`);
  }
  return lines.length === 0 ? [] : [paint('Resolvers:', 'bold', o.color), ...lines];
}

/** The lookup to cost: the external name (example.com) when there, else the last. */
function costlyLookup(r: ApiResolver) {
  return r.lookups.find((l) => l.name === 'example.com') ?? r.lookups.at(-1);
}

/** "ndots:5 with 3 search domains: a lookup of example.com sends 8 queries". */
export function lookupCostLine(r: ApiResolver): string | undefined {
  const l = costlyLookup(r);
  if (l === undefined) return undefined;
  const domains = r.search.length === 1 ? '1 search domain' : `${r.search.length} search domains`;
  return `ndots:${r.ndots} with ${domains}: a lookup of ${printable(l.name)} sends ${l.queries} queries`;
}

/** `netmatrix dns --node N`: the node's resolv.conf and what each lookup costs with it. */
function resolverDetails(node: string, r: ApiResolver | undefined, o: RenderOptions): string[] {
  const head = paint(`${printable(node)}'s resolv.conf:`, 'bold', o.color);
  if (r === undefined) return [head, '  not reported (an agent older than the DNS checks does not send it)'];
  if (r.error !== null) return [head, `  not read: ${printable(r.error)}`];
  const known = r.nameserverKnown === false ? ' (not a DNS server netmatrix checks: this node\'s pods ask another resolver)' : r.nameserverKnown ? ' (checked by netmatrix)' : '';
  const lines = [
    head,
    `  nameserver ${printable(r.nameservers.join(' ')) || '-'}${known}`,
    `  search ${printable(r.search.join(' ')) || '-'}`,
    `  options ndots:${r.ndots} timeout:${r.timeoutSeconds} attempts:${r.attempts}`,
    ...r.warnings.map((w) => `  warning: ${printable(w)}`),
  ];
  if (r.lookups.length > 0) {
    const rows = r.lookups.map((l) => [printable(l.name), String(l.queries), `${l.worstCaseSeconds}s`, printable(l.tried.join(' '))]);
    lines.push('', ...columns([['LOOKUP', 'QUERIES', 'WORST-CASE', 'NAMES-TRIED'], ...rows]).map((l) => `  ${l}`));
  }
  return lines;
}

/**
 * `netmatrix dns`: one row per node, one column per DNS server, then what is
 * wrong beyond the cells (divergent answers, NXDOMAIN checks, resolvers) and
 * what a lookup costs. `node`: the view is that node's only (filtered by the
 * caller); its resolver is shown in full.
 */
export function renderDns(v: ApiDnsView, o: RenderOptions, node?: string): string {
  if (v.servers.length === 0) return DNS_OFF;
  const title = paint(`DNS from each node to each server, generated ${printable(v.generatedAt)}`, 'bold', o.color);
  if (v.nodes.length === 0) return `${title}\n${noNodes(o)}`;
  const parts = [
    title,
    'rows: node; columns: server (role); p50, or last failing outcome and error ratio',
    ...dnsGrid(v, o),
    '',
    summaryLine(dnsSummary(v), o),
  ];
  const sections = [divergentAnswers(v, o), nxFailures(v, o), tcpFailures(v, o)];
  if (node !== undefined) {
    sections.push(resolverDetails(node, v.resolvers.find((r) => r.node === node), o));
  } else {
    sections.push(resolverProblems(v, o));
    const first = v.resolvers[0];
    const cost = first === undefined ? undefined : lookupCostLine(first);
    if (cost !== undefined) sections.push([`Lookups (${printable(first!.node)}'s resolv.conf): ${cost}`]);
  }
  for (const s of sections) if (s.length > 0) parts.push('', ...s);
  return parts.join('\n');
}

// ---------------------------------------------------------------- cni

/** How each CNI state reads at a glance: majority ok; drifted, split, invalid failing; stale, unreported unknown. */
export const CNI_STATE_STATUS: Readonly<Record<CniState, Status>> = { majority: 'ok', drifted: 'failing', split: 'failing', invalid: 'failing', stale: 'unknown', unreported: 'unknown' };

/** A config or binary hash as people compare them: the first 12 hex digits. */
export function shortHash(hash: string | null): string {
  return hash === null ? '-' : printable(hash.slice(0, 12));
}

/** The fullest pool of a node, "used/size pct", "+N" when it has more pools; "-" without one. */
export function poolText(pools: readonly ApiCniPool[]): string {
  if (pools.length === 0) return '-';
  const fullest = [...pools].sort((a, b) => (b.ratio ?? -1) - (a.ratio ?? -1))[0]!;
  const more = pools.length > 1 ? ` +${pools.length - 1}` : '';
  return `${fullest.used}/${fullest.size} ${ratio(fullest.ratio)}${more}`;
}

function cniTable(nodes: readonly ApiCniNode[], o: RenderOptions): string[] {
  const rows = nodes.map((n) => [
    printable(n.node),
    n.state,
    n.file === null ? '-' : printable(n.file),
    shortHash(n.hash),
    printable(n.plugins.join(',')) || '-',
    poolText(n.pools),
    String(n.errors.length),
  ]);
  return columns([['NODE', 'STATE', 'FILE', 'HASH', 'PLUGINS', 'POOL', 'ERRORS'], ...rows], (r, col, padded) => {
    if (r === 0) return padded;
    const n = nodes[r - 1]!;
    if (col === 1) return paint(padded, HUE[CNI_STATE_STATUS[n.state]], o.color);
    if (col === 5 && cniFullPools(n).length > 0) return paint(padded, 'red', o.color);
    if (col === 6 && n.errors.length > 0) return paint(padded, 'red', o.color);
    return padded;
  });
}

/** Counts by state, glyph and colour of each state's status: the line under the table. */
export function cniSummaryLine(nodes: readonly ApiCniNode[], o: RenderOptions): string {
  return CNI_STATES.map((s) => {
    const st = CNI_STATE_STATUS[s];
    return paint(`${GLYPH[st]} ${s} ${nodes.filter((n) => n.state === s).length}`, HUE[st], o.color);
  }).join('   ');
}

function keysText(keys: readonly string[], more: number): string {
  const shown = keys.map(printable).join(', ');
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** The config groups when there is more than one: the majority (or, without one, every group) and what each outlier changes. */
function cniGroups(v: ApiCniView, o: RenderOptions): string[] {
  if (v.groups.length < 2) return [];
  const majority = v.groups.find((g) => g.majority);
  const compared = v.groups.reduce((k, g) => k + g.nodes.length, 0);
  const label = (i: number) => (v.groups[i]!.majority ? 'majority' : majority !== undefined ? 'outlier' : `group ${i + 1}`);
  const rows = v.groups.map((g, i) => {
    const ref = g.comparedWith === null ? undefined : v.groups[g.comparedWith];
    let from = '';
    if (ref !== undefined) {
      const against = majority !== undefined ? '' : ` from group ${g.comparedWith! + 1}`;
      const keys = keysText(g.differingKeys, g.moreDifferences);
      from = keys === '' ? `differs${against}` : `differs${against} in ${keys}`;
    }
    return [label(i), shortHash(g.hash), printable(someOf(g.nodes)), from];
  });
  const head =
    majority !== undefined
      ? `Config drift: ${majority.nodes.length} of ${compared} compared nodes share the majority's config`
      : `Config drift, no majority: ${compared} compared nodes split ${v.groups.map((g) => g.nodes.length).join('/')}, which side drifted cannot be told`;
  return [
    paint(`${head}:`, 'bold', o.color),
    ...columns(rows, (r, col, padded) => (col === 0 && !v.groups[r]!.majority ? paint(padded, 'red', o.color) : padded)).map((l) => `  ${l}`),
    "  (netmatrix cni --node NAME: that node's diff)",
  ];
}

/** Plugins whose binary differs across nodes: each build, its short hash (or missing), and where. */
function cniSkew(v: ApiCniView, o: RenderOptions): string[] {
  const lines = v.plugins
    .filter((p) => p.skewed)
    .map((p) => {
      const groups = p.groups.map((g) => {
        const what = g.sha256 === null ? 'missing' : shortHash(g.sha256);
        const tag = g.sha256 !== null && g.sha256 === p.majoritySha256 ? ' (majority)' : '';
        return `${what} on ${printable(someOf(g.nodes))}${tag}`;
      });
      return `  ${printable(p.plugin)}: ${groups.join('; ')}`;
    });
  return lines.length === 0 ? [] : [paint('CNI plugin binaries that differ across nodes:', 'bold', o.color), ...lines];
}

/** Pools at or over the threshold, on nodes fresh enough to judge. */
function cniPools(v: ApiCniView, o: RenderOptions): string[] {
  const rows = v.nodes.flatMap((n) => cniFullPools(n).map((p) => [printable(n.node), printable(p.network), printable(p.range), `${p.used}/${p.size} ${ratio(p.ratio)}`]));
  if (rows.length === 0) return [];
  return [paint(`IP pools near exhaustion (at or over ${ratio(v.poolThreshold)}):`, 'bold', o.color), ...columns(rows).map((l) => `  ${l}`)];
}

function owner(w: ApiCidrOwner): string {
  return w.kind === 'node' && w.node !== null ? `${printable(w.node)}'s ${printable(w.cidr)}` : `the ${printable(w.kind)} CIDR ${printable(w.cidr)}`;
}

export function overlapLine(x: ApiCniOverlap): string {
  const how = x.relation === 'equal' ? 'is the same range as' : x.relation === 'a-contains-b' ? 'contains' : x.relation === 'b-contains-a' ? 'is inside' : `overlaps (${printable(x.relation)})`;
  return `${owner(x.a)} ${how} ${owner(x.b)}`;
}

function cniOverlaps(v: ApiCniView, o: RenderOptions): string[] {
  if (v.overlaps.length === 0 && v.overlapsDropped === 0) return [];
  return [
    paint('Pod CIDR overlaps:', 'bold', o.color),
    ...v.overlaps.map((x) => `  ${overlapLine(x)}`),
    ...(v.overlapsDropped > 0 ? [`  and ${v.overlapsDropped} more the aggregator does not list`] : []),
  ];
}

/** Each node's errors (unreadable dirs, invalid files, unparsable pod CIDRs), a few per node. */
function cniErrors(nodes: readonly ApiCniNode[], o: RenderOptions, max = 3, skip: (e: string) => boolean = () => false): string[] {
  const lines = nodes.flatMap((n) => [
    ...n.errors.filter((e) => !skip(e)).slice(0, max).map((e) => `  ${printable(n.node)}: ${printable(e)}`),
    ...(n.errors.length > max ? [`  ${printable(n.node)}: and ${n.errors.length - max} more (netmatrix cni --node ${printable(n.node)})`] : []),
  ]);
  return lines.length === 0 ? [] : [paint('Errors:', 'bold', o.color), ...lines];
}

/** The one line on what fails the command, or that nothing does. */
export function cniVerdictLine(v: ApiCniView, o: RenderOptions): string {
  const x = cniVerdict(v);
  const problems = [
    x.nodes > 0 ? `${x.nodes} of ${v.nodes.length} nodes drifted, split or invalid` : '',
    x.blockedNodes > 0 ? `${x.blockedNodes} node${x.blockedNodes === 1 ? '' : 's'} with an invalid config file before the effective one (containerd stops there)` : '',
    x.skewedPlugins > 0 ? `${x.skewedPlugins} plugin${x.skewedPlugins === 1 ? '' : 's'} skewed` : '',
    x.fullPools > 0 ? `${x.fullPools} pool${x.fullPools === 1 ? '' : 's'} near exhaustion` : '',
    x.overlaps > 0 ? `${x.overlaps} pod CIDR overlap${x.overlaps === 1 ? '' : 's'}` : '',
  ].filter((p) => p !== '');
  if (problems.length > 0) return paint(`${GLYPH.failing} ${problems.join('; ')}`, 'red', o.color);
  return paint(`${GLYPH.ok} no drift, no skewed plugin, no full pool, no overlap`, 'green', o.color);
}

/**
 * `netmatrix cni`: one row per node (state, effective file, short hash,
 * plugin chain, fullest pool, errors), the counts by state and the verdict,
 * then what is wrong: config groups, skewed plugins, full pools, overlaps, errors.
 */
export function renderCni(v: ApiCniView, o: RenderOptions): string {
  const title = paint(`CNI config on each node, generated ${printable(v.generatedAt)}`, 'bold', o.color);
  if (v.nodes.length === 0) return `${title}\n${noNodes(o)}`;
  const parts = [title, ...cniTable(v.nodes, o), '', cniSummaryLine(v.nodes, o), cniVerdictLine(v, o)];
  for (const s of [cniGroups(v, o), cniSkew(v, o), cniPools(v, o), cniOverlaps(v, o), cniErrors(v.nodes, o)]) if (s.length > 0) parts.push('', ...s);
  return parts.join('\n');
}

/** Why a node has nothing to compare, by state. */
const NOTHING_TO_COMPARE: Partial<Record<CniState, string>> = {
  unreported: 'not reported: its agent has not sent CNI data (an agent older than the CNI checks, or run with --cni off)',
  stale: 'its last report is stale: compared with nobody until it reports again',
  invalid: 'no valid CNI config: pods scheduled here cannot get a network',
};

/**
 * `netmatrix cni --node N`: the node's row, its config files, the fields set
 * aside before comparing, what it is compared with and the diff.
 */
export function renderCniNode(v: ApiCniNodeView, o: RenderOptions): string {
  const n = v.node;
  const parts = [paint(`CNI config on ${printable(n.node)}`, 'bold', o.color), ...cniTable([n], o)];
  const section = (lines: string[]) => {
    if (lines.length > 0) parts.push('', ...lines);
  };
  section(
    v.files.length === 0
      ? [paint('Files:', 'bold', o.color), '  none (no *.conf, *.conflist or *.json in the CNI conf dir)']
      : [
          paint('Files (the runtime uses the first valid one):', 'bold', o.color),
          ...columns(
            // No empty last cell: padding inside a colour code would survive trimEnd.
            v.files.map((f) => [printable(f.name), f.valid ? 'valid' : 'invalid', ...(f.error === null ? [] : [printable(f.error)])]),
            (r, col, padded) => (col === 1 ? paint(padded, v.files[r]!.valid ? 'green' : 'red', o.color) : padded),
          ).map((l) => `  ${l}`),
          ...((n.invalidBeforeEffective?.length ?? 0) > 0
            ? [paint(`  containerd stops at ${printable(n.invalidBeforeEffective![0]!)} (invalid, before the effective ${printable(n.file ?? '')}): no network on containerd; CRI-O skips it`, 'red', o.color)]
            : []),
        ],
  );
  const perNode = Object.entries(v.perNode);
  if (perNode.length > 0) section([paint('Per-node fields (set aside before comparing):', 'bold', o.color), ...columns(perNode.map(([k, x]) => [printable(k), printable(x)])).map((l) => `  ${l}`)]);
  section(cniFullPools(n).length > 0 || n.pools.length > 1 ? [paint('IP pools:', 'bold', o.color), ...columns(n.pools.map((p) => [printable(p.network), printable(p.range), `${p.used}/${p.size} ${ratio(p.ratio)}`, p.nearExhaustion ? 'near exhaustion' : ''])).map((l) => `  ${l}`)] : []);
  // A file's error is on its line above already.
  section(cniErrors([n], o, Infinity, (e) => v.files.some((f) => f.error !== null && e === `${f.name}: ${f.error}`)));

  const nothing = NOTHING_TO_COMPARE[n.state];
  const ref = v.reference;
  if (nothing !== undefined) {
    section([paint('Compared with:', 'bold', o.color), `  nothing: ${nothing}`]);
  } else if (ref === null) {
    section([paint('Compared with:', 'bold', o.color), '  nothing: no other node has a valid config']);
  } else {
    const refName = ref.majority ? 'the majority' : `group ${ref.group + 1}`;
    const own = n.group === ref.group;
    const who = own ? '' : ` (${printable(someOf(ref.nodes))}, hash ${shortHash(ref.hash)})`;
    const split = ref.majority ? '' : ', no majority';
    const head = paint(`Compared with ${refName}${who}${split}:`, 'bold', o.color);
    section([head, ...(v.diff.length === 0 ? [`  same as ${refName}`] : v.diff.map((d) => `  ${printable(d)}`))]);
  }
  return parts.join('\n');
}
