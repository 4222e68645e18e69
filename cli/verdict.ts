// What counts as a problem, which decides exit code 1 (so scripts can alert)
// and the verdict line of `netmatrix status`. Degraded and unknown cells and
// pending findings are shown but do not fail the command: only `failing`
// cells, disconnected agents and firing findings do.
import type { ApiDnsView, ApiFinding, ApiMatrix, ApiNode } from './api-types.js';
import { EXIT, type ExitCode } from './client.js';

export function matrixExitCode(m: ApiMatrix): ExitCode {
  return m.summary.failing > 0 ? EXIT.problems : EXIT.ok;
}

export function findingsExitCode(findings: readonly ApiFinding[]): ExitCode {
  return findings.some((f) => f.state === 'firing') ? EXIT.problems : EXIT.ok;
}

export interface KindMatrix {
  readonly kind: string;
  readonly matrix: ApiMatrix;
}

export interface StatusVerdict {
  readonly nodes: number;
  /** Names of the nodes whose agent is not connected. */
  readonly disconnected: readonly string[];
  /** Kinds with failing cells, and how many, in the order given. */
  readonly failing: readonly { readonly kind: string; readonly count: number }[];
  readonly degraded: number;
  /** Firing findings; 0 also when the aggregator has no findings API. */
  readonly firing: number;
  readonly exitCode: ExitCode;
}

export function statusVerdict(nodes: readonly ApiNode[], matrices: readonly KindMatrix[], findings: readonly ApiFinding[] = []): StatusVerdict {
  const disconnected = nodes.filter((n) => !n.agent.connected).map((n) => n.name);
  const failing = matrices.filter((m) => m.matrix.summary.failing > 0).map((m) => ({ kind: m.kind, count: m.matrix.summary.failing }));
  const degraded = matrices.reduce((sum, m) => sum + m.matrix.summary.degraded, 0);
  const firing = findings.filter((f) => f.state === 'firing').length;
  const exitCode = disconnected.length > 0 || failing.length > 0 || firing > 0 ? EXIT.problems : EXIT.ok;
  return { nodes: nodes.length, disconnected, failing, degraded, firing, exitCode };
}

/** A kind nobody has reported on in the window: every cell without samples (or no pairs at all). */
export function hasNoData(m: ApiMatrix): boolean {
  return m.cells.every((row) => row.every((c) => c === null || c.samples === 0));
}

/** Any failing cell (a node that cannot get answers from a server) fails `netmatrix dns`; degraded, unknown and NX-check failures do not. */
export function dnsExitCode(v: ApiDnsView): ExitCode {
  return v.cells.some((row) => row.some((c) => c.status === 'failing')) ? EXIT.problems : EXIT.ok;
}
