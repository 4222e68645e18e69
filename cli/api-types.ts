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
    (x.nxCheck === null || (isObject(x.nxCheck) && isString(x.nxCheck.lastOutcome) && typeof x.nxCheck.ok === 'boolean' && isString(x.nxCheck.since)))
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
