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

export function isErrorBody(x: unknown): x is ApiErrorBody {
  return isObject(x) && isNumber(x.statusCode) && isString(x.code) && isString(x.message);
}
