// What counts as a problem, which decides exit code 1 (so scripts can alert)
// and the last line of `netmatrix status`. Degraded and unknown cells are shown
// but do not fail the command: only `failing` cells and disconnected agents do.
import type { ApiMatrix, ApiNode } from './api-types.js';
import { EXIT, type ExitCode } from './client.js';

export function matrixExitCode(m: ApiMatrix): ExitCode {
  return m.summary.failing > 0 ? EXIT.problems : EXIT.ok;
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
  readonly exitCode: ExitCode;
}

export function statusVerdict(nodes: readonly ApiNode[], matrices: readonly KindMatrix[]): StatusVerdict {
  const disconnected = nodes.filter((n) => !n.agent.connected).map((n) => n.name);
  const failing = matrices.filter((m) => m.matrix.summary.failing > 0).map((m) => ({ kind: m.kind, count: m.matrix.summary.failing }));
  const degraded = matrices.reduce((sum, m) => sum + m.matrix.summary.degraded, 0);
  const exitCode = disconnected.length > 0 || failing.length > 0 ? EXIT.problems : EXIT.ok;
  return { nodes: nodes.length, disconnected, failing, degraded, exitCode };
}

/** A kind nobody has reported on in the window: every cell without samples (or no pairs at all). */
export function hasNoData(m: ApiMatrix): boolean {
  return m.cells.every((row) => row.every((c) => c === null || c.samples === 0));
}
