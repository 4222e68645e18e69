// The shapes the CLI reads from the API (docs/api.md), and checks that a body
// has them. Kept apart from the aggregator's code on purpose: the CLI talks to
// the API, not to the server's modules, and may be pointed at anything.
import { STATUSES, type Status } from '../common/vocabulary.js';

export interface ApiCell {
  readonly status: Status;
  readonly lossRatio: number | null;
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
  /** An outcome word; shown as it comes, so a newer aggregator's words still display. */
  readonly lastOutcome: string | null;
  readonly since: string | null;
  readonly samples: number;
}

export interface ApiMatrix {
  readonly kind: string;
  readonly family: string;
  readonly windowSeconds: number;
  readonly generatedAt: string;
  readonly nodes: readonly string[];
  /** cells[source][target], same order as `nodes`; the diagonal is null. */
  readonly cells: readonly (readonly (ApiCell | null)[])[];
  readonly summary: Readonly<Record<Status, number>>;
}

export interface ApiAgent {
  readonly connected: boolean;
  readonly connectedSince: string | null;
  readonly lastReportAt: string | null;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly reports: number;
  readonly results: number;
}

export interface ApiNode {
  readonly name: string;
  readonly zone: string;
  readonly podIPs: readonly string[];
  readonly nodeIPs: readonly string[];
  readonly agent: ApiAgent;
}

export interface ApiNodeList {
  readonly nodes: readonly ApiNode[];
}

/** A finding's life: pending inside --finding-for, then firing, then resolved. Only `firing` fails a command. */
export const FINDING_STATES = ['pending', 'firing', 'resolved'] as const;
export type FindingState = (typeof FINDING_STATES)[number];

/** Something wrong with the cluster network, said once at the place it is (docs/findings.md). */
export interface ApiFinding {
  readonly id: string;
  /** A finding kind; shown as it comes, so a newer aggregator's kinds still display. */
  readonly kind: string;
  /** critical, warning or info; shown as it comes, coloured when known. */
  readonly severity: string;
  readonly state: FindingState;
  /** alertname, severity, cluster, and node, src, dst, src_zone, dst_zone as the kind has them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
  readonly summary: string;
  readonly description: string;
  /** When the condition began. */
  readonly since: string;
  readonly firingSince: string | null;
  readonly resolvedAt: string | null;
}

export interface ApiFindings {
  /** The aggregator's last evaluation; null before the first one. */
  readonly evaluatedAt: string | null;
  readonly findings: readonly ApiFinding[];
}

/** The one error shape of the API (any status >= 400). */
export interface ApiErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly error: string;
  readonly message: string;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStringOrNull = (x: unknown): boolean => x === null || isString(x);
const isNumberOrNull = (x: unknown): boolean => x === null || isNumber(x);
const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every(isString);
const isStatus = (x: unknown): x is Status => (STATUSES as readonly unknown[]).includes(x);

function isCell(x: unknown): x is ApiCell {
  return (
    isObject(x) &&
    isStatus(x.status) &&
    isNumberOrNull(x.lossRatio) &&
    isNumberOrNull(x.rttP50Ms) &&
    isNumberOrNull(x.rttP99Ms) &&
    isStringOrNull(x.lastOutcome) &&
    isStringOrNull(x.since) &&
    isNumber(x.samples)
  );
}

/** A square matrix: as many rows as nodes, as many cells per row, each null or a cell. */
export function isMatrix(x: unknown): x is ApiMatrix {
  if (!isObject(x) || !isString(x.kind) || !isString(x.family) || !isNumber(x.windowSeconds) || !isString(x.generatedAt)) return false;
  if (!isStringArray(x.nodes) || !Array.isArray(x.cells) || !isObject(x.summary)) return false;
  const n = x.nodes.length;
  const summary = x.summary;
  return (
    STATUSES.every((s) => isNumber(summary[s])) &&
    x.cells.length === n &&
    x.cells.every((row: unknown) => Array.isArray(row) && row.length === n && row.every((c: unknown) => c === null || isCell(c)))
  );
}

/**
 * The matrix with `?format=compact` (docs/api.md): a letter per cell, the cell
 * objects only for cells that are not ok (and not unknown without data).
 */
export interface ApiCompactMatrix {
  readonly kind: string;
  readonly family: string;
  readonly format: 'compact';
  readonly windowSeconds: number;
  readonly generatedAt: string;
  readonly nodes: readonly string[];
  /** rows[source][target]: o ok, d degraded, f failing, u unknown, - the node itself. */
  readonly rows: readonly string[];
  /** details[source index][target index]. */
  readonly details: Readonly<Record<string, Readonly<Record<string, ApiCell>>>>;
  readonly summary: Readonly<Record<Status, number>>;
}

const LETTER_STATUS: Readonly<Record<string, Status>> = { o: 'ok', d: 'degraded', f: 'failing', u: 'unknown' };

/** Square rows over the alphabet, `-` exactly on the diagonal, details at valid indices agreeing with their letter. */
export function isCompactMatrix(x: unknown): x is ApiCompactMatrix {
  if (!isObject(x) || x.format !== 'compact' || !isString(x.kind) || !isString(x.family) || !isNumber(x.windowSeconds) || !isString(x.generatedAt)) return false;
  if (!isStringArray(x.nodes) || !isStringArray(x.rows) || !isObject(x.details) || !isObject(x.summary)) return false;
  const n = x.nodes.length;
  const rows = x.rows;
  const summary = x.summary;
  if (!STATUSES.every((s) => isNumber(summary[s])) || rows.length !== n) return false;
  for (let s = 0; s < n; s++) {
    const row = rows[s]!;
    if (row.length !== n) return false;
    for (let d = 0; d < n; d++) if ((s === d) !== (row[d] === '-') || (s !== d && LETTER_STATUS[row[d]!] === undefined)) return false;
  }
  return Object.entries(x.details).every(
    ([s, cols]) =>
      isObject(cols) &&
      Object.entries(cols).every(([d, c]) => {
        const letter = rows[Number(s)]?.[Number(d)];
        return /^\d+$/.test(s) && /^\d+$/.test(d) && isCell(c) && letter !== undefined && LETTER_STATUS[letter] === c.status;
      }),
  );
}

/**
 * An ok cell of the compact form, which carries no statistics: what the CLI
 * shows of an ok cell is its status (grid glyph, counts), never its numbers.
 */
const OK_CELL: ApiCell = Object.freeze({ status: 'ok', lossRatio: null, rttP50Ms: null, rttP99Ms: null, lastOutcome: null, since: null, samples: 0 });
const NO_DATA_CELL: ApiCell = Object.freeze({ status: 'unknown', lossRatio: null, rttP50Ms: null, rttP99Ms: null, lastOutcome: null, since: null, samples: 0 });

/** The full form's shape from either form (an aggregator that predates the compact form answers the full one). */
export function fullMatrix(m: ApiMatrix | ApiCompactMatrix): ApiMatrix {
  if (!('format' in m) || m.format !== 'compact') return m as ApiMatrix;
  const { rows, details, format: _format, ...rest } = m;
  const cells = rows.map((row, s) => [...row].map((letter, d) => (letter === '-' ? null : (details[s]?.[d] ?? (letter === 'o' ? OK_CELL : NO_DATA_CELL)))));
  return { ...rest, cells };
}

export function isMatrixEitherForm(x: unknown): x is ApiMatrix | ApiCompactMatrix {
  return isCompactMatrix(x) || isMatrix(x);
}

function isAgent(x: unknown): x is ApiAgent {
  return (
    isObject(x) &&
    typeof x.connected === 'boolean' &&
    isStringOrNull(x.connectedSince) &&
    isStringOrNull(x.lastReportAt) &&
    isString(x.version) &&
    isStringArray(x.capabilities) &&
    isNumber(x.reports) &&
    isNumber(x.results)
  );
}

function isNode(x: unknown): x is ApiNode {
  return isObject(x) && isString(x.name) && isString(x.zone) && isStringArray(x.podIPs) && isStringArray(x.nodeIPs) && isAgent(x.agent);
}

export function isNodeList(x: unknown): x is ApiNodeList {
  return isObject(x) && Array.isArray(x.nodes) && x.nodes.every(isNode);
}

const isFindingState = (x: unknown): x is FindingState => (FINDING_STATES as readonly unknown[]).includes(x);
const isStringRecord = (x: unknown): x is Record<string, string> => isObject(x) && Object.values(x).every(isString);

function isFinding(x: unknown): x is ApiFinding {
  return (
    isObject(x) &&
    isString(x.id) &&
    isString(x.kind) &&
    isString(x.severity) &&
    isFindingState(x.state) &&
    isStringRecord(x.labels) &&
    isObject(x.annotations) &&
    isString(x.annotations.summary) &&
    isString(x.annotations.description) &&
    isString(x.annotations.runbook_url) &&
    isString(x.summary) &&
    isString(x.description) &&
    isString(x.since) &&
    isStringOrNull(x.firingSince) &&
    isStringOrNull(x.resolvedAt)
  );
}

export function isFindingList(x: unknown): x is ApiFindings {
  return isObject(x) && isStringOrNull(x.evaluatedAt) && Array.isArray(x.findings) && x.findings.every(isFinding);
}

export function isErrorBody(x: unknown): x is ApiErrorBody {
  return isObject(x) && isNumber(x.statusCode) && isString(x.code) && isString(x.message);
}

/** The answer to DELETE /api/v1/nodes/{name}: the node the aggregator forgot (docs/api.md). */
export interface ApiForgotten {
  readonly node: string;
  readonly forgottenAt: string;
  readonly agent: { readonly disconnectedAt: string | null; readonly lastReportAt: string | null };
  /** Its findings when it was forgotten: they resolve at the aggregator's next evaluation. */
  readonly findings: readonly { readonly id: string; readonly kind: string; readonly severity: string; readonly state: string }[];
}

export function isForgotten(x: unknown): x is ApiForgotten {
  return (
    isObject(x) &&
    isString(x.node) &&
    isString(x.forgottenAt) &&
    isObject(x.agent) &&
    isStringOrNull(x.agent.disconnectedAt) &&
    isStringOrNull(x.agent.lastReportAt) &&
    Array.isArray(x.findings) &&
    x.findings.every((f: unknown) => isObject(f) && isString(f.id) && isString(f.kind) && isString(f.severity) && isString(f.state))
  );
}

/** One node asking one DNS server over the window (docs/api.md, DNS). */
export interface ApiDnsCell {
  readonly status: Status;
  readonly reason: string;
  /** The address this node last asked; null before the first query. */
  readonly address: string | null;
  readonly errorRatio: number | null;
  /** Failed queries in the window, by outcome word. */
  readonly errors: Readonly<Record<string, number>>;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  /** An outcome word; shown as it comes. */
  readonly lastOutcome: string | null;
  readonly since: string | null;
  readonly samples: number;
  /** The last query for a random name that must not exist; `ok` when the server said NXDOMAIN. */
  readonly nxCheck: { readonly lastOutcome: string; readonly ok: boolean; readonly since: string } | null;
  /** Absent from aggregators older than the TCP check. */
  readonly tcpCheck?: { readonly lastOutcome: string; readonly ok: boolean; readonly since: string } | null;
}

export interface ApiDnsServer {
  readonly name: string;
  /** service, replica or nodelocal; shown as it comes, so a newer aggregator's roles still display. */
  readonly role: string;
  readonly address: string;
  readonly port: number;
}

export interface ApiDnsAnswer {
  readonly name: string;
  /** A or AAAA; shown as it comes. */
  readonly type: string;
  /** Server name → the addresses it answered (sorted), null when it did not answer. */
  readonly servers: Readonly<Record<string, readonly string[] | null>>;
  readonly consensus: readonly string[] | null;
  /** Replicas whose answer differs from the consensus. */
  readonly divergent: readonly string[];
}

export interface ApiDnsLookup {
  readonly name: string;
  readonly tried: readonly string[];
  readonly queries: number;
  readonly worstCaseSeconds: number;
}

/** A node's resolv.conf as the C library reads it, and what one lookup costs with it. */
export interface ApiResolver {
  readonly node: string;
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
  readonly ndots: number;
  readonly timeoutSeconds: number;
  readonly attempts: number;
  readonly warnings: readonly string[];
  readonly error: string | null;
  /** False: the first nameserver is no server the aggregator knows; null without a nameserver. */
  readonly nameserverKnown: boolean | null;
  readonly lookups: readonly ApiDnsLookup[];
}

export interface ApiDnsView {
  readonly generatedAt: string;
  readonly nodes: readonly string[];
  /** Empty when the aggregator runs with --dns-servers none. */
  readonly servers: readonly ApiDnsServer[];
  /** cells[node][server], same order as `nodes` and `servers`. */
  readonly cells: readonly (readonly ApiDnsCell[])[];
  readonly answers: readonly ApiDnsAnswer[];
  readonly resolvers: readonly ApiResolver[];
}

const isBooleanOrNull = (x: unknown): boolean => x === null || typeof x === 'boolean';
const isStringArrayOrNull = (x: unknown): boolean => x === null || isStringArray(x);

function isDnsCell(x: unknown): x is ApiDnsCell {
  return (
    isObject(x) &&
    isStatus(x.status) &&
    isString(x.reason) &&
    isStringOrNull(x.address) &&
    isNumberOrNull(x.errorRatio) &&
    isObject(x.errors) &&
    Object.values(x.errors).every(isNumber) &&
    isNumberOrNull(x.latencyP50Ms) &&
    isNumberOrNull(x.latencyP99Ms) &&
    isStringOrNull(x.lastOutcome) &&
    isStringOrNull(x.since) &&
    isNumber(x.samples) &&
    (x.nxCheck === null || (isObject(x.nxCheck) && isString(x.nxCheck.lastOutcome) && typeof x.nxCheck.ok === 'boolean' && isString(x.nxCheck.since))) &&
    (x.tcpCheck === undefined || x.tcpCheck === null || (isObject(x.tcpCheck) && isString(x.tcpCheck.lastOutcome) && typeof x.tcpCheck.ok === 'boolean' && isString(x.tcpCheck.since)))
  );
}

function isDnsServer(x: unknown): x is ApiDnsServer {
  return isObject(x) && isString(x.name) && isString(x.role) && isString(x.address) && isNumber(x.port);
}

function isDnsAnswer(x: unknown): x is ApiDnsAnswer {
  return (
    isObject(x) &&
    isString(x.name) &&
    isString(x.type) &&
    isObject(x.servers) &&
    Object.values(x.servers).every(isStringArrayOrNull) &&
    isStringArrayOrNull(x.consensus) &&
    isStringArray(x.divergent)
  );
}

function isLookup(x: unknown): x is ApiDnsLookup {
  return isObject(x) && isString(x.name) && isStringArray(x.tried) && isNumber(x.queries) && isNumber(x.worstCaseSeconds);
}

function isResolver(x: unknown): x is ApiResolver {
  return (
    isObject(x) &&
    isString(x.node) &&
    isStringArray(x.nameservers) &&
    isStringArray(x.search) &&
    isNumber(x.ndots) &&
    isNumber(x.timeoutSeconds) &&
    isNumber(x.attempts) &&
    isStringArray(x.warnings) &&
    isStringOrNull(x.error) &&
    isBooleanOrNull(x.nameserverKnown) &&
    Array.isArray(x.lookups) &&
    x.lookups.every(isLookup)
  );
}

/** The DNS view: a row of cells per node, a cell per server in each. */
export function isDnsView(x: unknown): x is ApiDnsView {
  if (!isObject(x) || !isString(x.generatedAt) || !isStringArray(x.nodes) || !Array.isArray(x.servers) || !x.servers.every(isDnsServer)) return false;
  const columns = x.servers.length;
  return (
    Array.isArray(x.cells) &&
    x.cells.length === x.nodes.length &&
    x.cells.every((row: unknown) => Array.isArray(row) && row.length === columns && row.every(isDnsCell)) &&
    Array.isArray(x.answers) &&
    x.answers.every(isDnsAnswer) &&
    Array.isArray(x.resolvers) &&
    x.resolvers.every(isResolver)
  );
}

/** A node's CNI state (docs/cni.md): majority ok; drifted, split and invalid fail; stale and unreported are unknown. */
export const CNI_STATES = ['majority', 'drifted', 'split', 'invalid', 'stale', 'unreported'] as const;
export type CniState = (typeof CNI_STATES)[number];

export interface ApiCniBinary {
  readonly plugin: string;
  readonly size: number;
  readonly sha256: string | null;
  readonly error: string | null;
}

/** A host-local IPAM range on a node and how full it is. */
export interface ApiCniPool {
  readonly network: string;
  readonly range: string;
  readonly size: number;
  readonly used: number;
  /** used / size; null for an empty range. */
  readonly ratio: number | null;
  readonly nearExhaustion: boolean;
}

/** One node's CNI as the aggregator judged it (GET /api/v1/cni, `nodes`). */
export interface ApiCniNode {
  readonly node: string;
  readonly state: CniState;
  readonly stale: boolean;
  readonly receivedAt: string | null;
  /** The effective config: the first valid file of the conf dir. */
  readonly file: string | null;
  readonly network: string | null;
  readonly cniVersion: string | null;
  readonly hash: string | null;
  readonly plugins: readonly string[];
  readonly ipamType: string | null;
  readonly binaries: readonly ApiCniBinary[];
  readonly pools: readonly ApiCniPool[];
  readonly podCidrs: readonly string[];
  /** Overlaps of its pod CIDRs, listed or not (absent from aggregators before it). */
  readonly overlapCount?: number;
  readonly files: readonly { readonly name: string; readonly valid: boolean; readonly error: string | null }[];
  /** Invalid files sorting before the effective one: containerd stops at them (absent from aggregators before it). */
  readonly invalidBeforeEffective?: readonly string[];
  readonly errors: readonly string[];
  /** Index in the view's `groups`; null when in none. */
  readonly group: number | null;
}

/** Nodes sharing one effective config hash; the strictly largest group is the majority. */
export interface ApiCniGroup {
  readonly hash: string;
  readonly nodes: readonly string[];
  readonly majority: boolean;
  readonly network: string;
  readonly cniVersion: string;
  readonly plugins: readonly string[];
  readonly files: readonly string[];
  /** The group this one is diffed against; null for the majority and a lone group. */
  readonly comparedWith: number | null;
  readonly differingKeys: readonly string[];
  readonly moreDifferences: number;
}

export interface ApiCniPlugin {
  readonly plugin: string;
  /** Hashed groups largest first, then the missing one (sha256 null). */
  readonly groups: readonly { readonly sha256: string | null; readonly size: number | null; readonly nodes: readonly string[] }[];
  readonly majoritySha256: string | null;
  readonly skewed: boolean;
}

export interface ApiCidrOwner {
  /** node, service or external; shown as it comes. */
  readonly kind: string;
  readonly node: string | null;
  readonly cidr: string;
}

export interface ApiCniOverlap {
  readonly a: ApiCidrOwner;
  readonly b: ApiCidrOwner;
  /** equal, a-contains-b or b-contains-a; shown as it comes. */
  readonly relation: string;
}

export interface ApiCniView {
  readonly generatedAt: string;
  readonly poolThreshold: number;
  readonly summary: {
    readonly nodes: number;
    readonly reported: number;
    readonly stale: number;
    readonly invalid: number;
    readonly compared: number;
    readonly majorityHash: string | null;
    readonly drifted: number;
    readonly skewedPlugins: number;
    readonly poolsNearExhaustion: number;
    readonly overlaps: number;
  };
  readonly nodes: readonly ApiCniNode[];
  readonly groups: readonly ApiCniGroup[];
  readonly plugins: readonly ApiCniPlugin[];
  readonly overlaps: readonly ApiCniOverlap[];
  /** Overlaps past the aggregator's limit, not listed. */
  readonly overlapsDropped: number;
}

export interface ApiCniFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string | null;
  readonly valid: boolean;
  readonly error: string | null;
  readonly cniVersion: string | null;
  readonly network: string | null;
  readonly plugins: readonly string[];
  readonly ipamType: string | null;
  readonly ranges: readonly string[];
}

/** GET /api/v1/cni/{node}: one node's config against its reference, as diff lines. */
export interface ApiCniNodeView {
  readonly node: ApiCniNode;
  readonly files: readonly ApiCniFile[];
  readonly config: unknown;
  /** The fields set aside before hashing (JSON path → JSON). */
  readonly perNode: Readonly<Record<string, string>>;
  readonly reference: { readonly group: number; readonly hash: string; readonly majority: boolean; readonly nodes: readonly string[]; readonly config: unknown } | null;
  /** reference → this node, one line per difference. */
  readonly diff: readonly string[];
  readonly moreChanges: number;
}

const isCniState = (x: unknown): x is CniState => (CNI_STATES as readonly unknown[]).includes(x);
const isIntegerOrNull = (x: unknown): boolean => x === null || isNumber(x);

function isCniPool(x: unknown): x is ApiCniPool {
  return isObject(x) && isString(x.network) && isString(x.range) && isNumber(x.size) && isNumber(x.used) && isNumberOrNull(x.ratio) && typeof x.nearExhaustion === 'boolean';
}

function isCniNode(x: unknown): x is ApiCniNode {
  return (
    isObject(x) &&
    isString(x.node) &&
    isCniState(x.state) &&
    typeof x.stale === 'boolean' &&
    isStringOrNull(x.receivedAt) &&
    isStringOrNull(x.file) &&
    isStringOrNull(x.network) &&
    isStringOrNull(x.cniVersion) &&
    isStringOrNull(x.hash) &&
    isStringArray(x.plugins) &&
    isStringOrNull(x.ipamType) &&
    Array.isArray(x.binaries) &&
    x.binaries.every((b: unknown) => isObject(b) && isString(b.plugin) && isNumber(b.size) && isStringOrNull(b.sha256) && isStringOrNull(b.error)) &&
    Array.isArray(x.pools) &&
    x.pools.every(isCniPool) &&
    isStringArray(x.podCidrs) &&
    Array.isArray(x.files) &&
    x.files.every((f: unknown) => isObject(f) && isString(f.name) && typeof f.valid === 'boolean' && isStringOrNull(f.error)) &&
    isStringArray(x.errors) &&
    isIntegerOrNull(x.group) &&
    (x.overlapCount === undefined || isNumber(x.overlapCount)) &&
    (x.invalidBeforeEffective === undefined || isStringArray(x.invalidBeforeEffective))
  );
}

function isCniGroup(x: unknown): x is ApiCniGroup {
  return (
    isObject(x) &&
    isString(x.hash) &&
    isStringArray(x.nodes) &&
    typeof x.majority === 'boolean' &&
    isString(x.network) &&
    isString(x.cniVersion) &&
    isStringArray(x.plugins) &&
    isStringArray(x.files) &&
    isIntegerOrNull(x.comparedWith) &&
    isStringArray(x.differingKeys) &&
    isNumber(x.moreDifferences)
  );
}

function isCniPlugin(x: unknown): x is ApiCniPlugin {
  return (
    isObject(x) &&
    isString(x.plugin) &&
    Array.isArray(x.groups) &&
    x.groups.every((g: unknown) => isObject(g) && isStringOrNull(g.sha256) && isIntegerOrNull(g.size) && isStringArray(g.nodes)) &&
    isStringOrNull(x.majoritySha256) &&
    typeof x.skewed === 'boolean'
  );
}

const isCidrOwner = (x: unknown): x is ApiCidrOwner => isObject(x) && isString(x.kind) && isStringOrNull(x.node) && isString(x.cidr);
const isCniOverlap = (x: unknown): x is ApiCniOverlap => isObject(x) && isCidrOwner(x.a) && isCidrOwner(x.b) && isString(x.relation);
const CNI_COUNTS = ['nodes', 'reported', 'stale', 'invalid', 'compared', 'drifted', 'skewedPlugins', 'poolsNearExhaustion', 'overlaps'] as const;

/** The CNI view: a row per node; groups a node points at exist. */
export function isCniView(x: unknown): x is ApiCniView {
  if (!isObject(x) || !isString(x.generatedAt) || !isNumber(x.poolThreshold) || !isObject(x.summary) || !isNumber(x.overlapsDropped)) return false;
  const summary = x.summary;
  if (!CNI_COUNTS.every((k) => isNumber(summary[k])) || !isStringOrNull(summary.majorityHash)) return false;
  if (!Array.isArray(x.nodes) || !x.nodes.every(isCniNode) || !Array.isArray(x.groups) || !x.groups.every(isCniGroup)) return false;
  const groups = x.groups.length;
  const inRange = (i: number | null) => i === null || (Number.isInteger(i) && i >= 0 && i < groups);
  return (
    x.nodes.every((n) => inRange(n.group)) &&
    x.groups.every((g) => inRange(g.comparedWith)) &&
    Array.isArray(x.plugins) &&
    x.plugins.every(isCniPlugin) &&
    Array.isArray(x.overlaps) &&
    x.overlaps.every(isCniOverlap)
  );
}

function isCniFile(x: unknown): x is ApiCniFile {
  return (
    isObject(x) &&
    isString(x.name) &&
    isNumber(x.size) &&
    isStringOrNull(x.sha256) &&
    typeof x.valid === 'boolean' &&
    isStringOrNull(x.error) &&
    isStringOrNull(x.cniVersion) &&
    isStringOrNull(x.network) &&
    isStringArray(x.plugins) &&
    isStringOrNull(x.ipamType) &&
    isStringArray(x.ranges)
  );
}

/** GET /api/v1/cni/{node}: the node's row, its files, the per-node fields, the reference and the diff. */
export function isCniNodeView(x: unknown): x is ApiCniNodeView {
  const ref = isObject(x) ? x.reference : undefined;
  return (
    isObject(x) &&
    isCniNode(x.node) &&
    Array.isArray(x.files) &&
    x.files.every(isCniFile) &&
    isStringRecord(x.perNode) &&
    (ref === null || (isObject(ref) && isNumber(ref.group) && isString(ref.hash) && typeof ref.majority === 'boolean' && isStringArray(ref.nodes))) &&
    isStringArray(x.diff) &&
    isNumber(x.moreChanges)
  );
}
