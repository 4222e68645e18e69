// What counts as a problem, which decides exit code 1 (so scripts can alert)
// and the verdict line of `netmatrix status`. Degraded and unknown cells and
// pending findings are shown but do not fail the command: only `failing`
// cells, disconnected agents and firing findings do.
import type { ApiCniNode, ApiCniNodeView, ApiCniView, ApiDnsView, ApiFinding, ApiMatrix, ApiNode, CniState } from './api-types.js';
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

/** A kind nobody has reported on in the window: every cell unknown without samples (or no pairs at all). */
export function hasNoData(m: ApiMatrix): boolean {
  // By status too: an ok cell of the compact form carries no sample count.
  return m.cells.every((row) => row.every((c) => c === null || (c.status === 'unknown' && c.samples === 0)));
}

/** Any failing cell (a node that cannot get answers from a server) fails `netmatrix dns`; degraded, unknown and NX-check failures do not. */
export function dnsExitCode(v: ApiDnsView): ExitCode {
  return v.cells.some((row) => row.some((c) => c.status === 'failing')) ? EXIT.problems : EXIT.ok;
}

/** Node states that fail `netmatrix cni`: outside the majority, no majority at all, or no valid config. Stale and unreported do not. */
export const CNI_FAILING_STATES: readonly CniState[] = ['drifted', 'split', 'invalid'];

/** A fresh node's pools at or over the aggregator's threshold; a stale node's data may no longer hold, like the aggregator judges. */
export function cniFullPools(n: ApiCniNode) {
  return n.stale || n.state === 'stale' ? [] : n.pools.filter((p) => p.nearExhaustion);
}

/** A fresh node with an invalid config file before its effective one: containerd stops there (the aggregator's CniConfigDrift). */
export function cniBlocked(n: ApiCniNode): boolean {
  return !n.stale && !CNI_FAILING_STATES.includes(n.state) && n.state !== 'stale' && (n.invalidBeforeEffective?.length ?? 0) > 0;
}

/** What fails `netmatrix cni`, counted; all zero: exit 0. */
export interface CniVerdict {
  /** Nodes drifted, split or invalid. */
  readonly nodes: number;
  /** Other nodes with an invalid config file before the effective one. */
  readonly blockedNodes: number;
  readonly skewedPlugins: number;
  readonly fullPools: number;
  readonly overlaps: number;
  readonly exitCode: ExitCode;
}

export function cniVerdict(v: ApiCniView): CniVerdict {
  const nodes = v.nodes.filter((n) => CNI_FAILING_STATES.includes(n.state)).length;
  const blockedNodes = v.nodes.filter(cniBlocked).length;
  const skewedPlugins = v.plugins.filter((p) => p.skewed).length;
  const fullPools = v.nodes.reduce((k, n) => k + cniFullPools(n).length, 0);
  const overlaps = v.overlaps.length + v.overlapsDropped;
  const exitCode = nodes > 0 || blockedNodes > 0 || skewedPlugins > 0 || fullPools > 0 || overlaps > 0 ? EXIT.problems : EXIT.ok;
  return { nodes, blockedNodes, skewedPlugins, fullPools, overlaps, exitCode };
}

/** `netmatrix cni`: 1 when a node is drifted, split or invalid or has an invalid file before its effective one, a plugin binary is skewed, a pool is near exhaustion or pod CIDRs overlap. */
export function cniExitCode(v: ApiCniView): ExitCode {
  return cniVerdict(v).exitCode;
}

/** `netmatrix cni --node`: only what that node's body says: its state and its pools. */
export function cniNodeExitCode(v: ApiCniNodeView): ExitCode {
  return CNI_FAILING_STATES.includes(v.node.state) || cniBlocked(v.node) || cniFullPools(v.node).length > 0 ? EXIT.problems : EXIT.ok;
}
