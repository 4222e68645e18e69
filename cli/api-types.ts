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
