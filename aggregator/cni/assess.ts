// CNI comparison across nodes from each node's latest CniSnapshot: the body of
// GET /api/v1/cni and the conditions the findings engine turns into
// CniConfigDrift, CniPluginVersionSkew, IpPoolNearExhaustion and
// PodCidrOverlap. Pure: the caller passes the clock and the snapshots.
//
// Who votes (docs/cni.md): only fresh snapshots. A stale one (received longer
// than staleAfterMs ago) is shown with `stale: true` and its last data, but
// takes part in no comparison and raises nothing: what it says may no longer be
// true, and AgentStale already speaks for the node. A node without a snapshot
// (agent too old to send one, or not reported yet) is listed and raises nothing.
//
// Drift: fresh nodes with a valid effective config are grouped by its hash. The
// majority is the strictly largest group (a plurality: 2/1/1 has one); every
// node outside it is drifted. With a tie for largest (2 nodes that differ,
// 2/2/1, 3/3) nobody can tell which side drifted, so every node with a valid
// config gets a CniConfigDrift that says so and diffs it against the largest
// other group. A fresh node with no valid config at all gets CniConfigDrift too:
// pods there cannot get a network.
import { CNI_DIR_SKIPPED, type CniBinary, type CniFileInfo, type CniPool, type CniSnapshot } from '../../common/cni.js';
import { parseCidr, type Cidr } from '../../common/cidr.js';
import type { Condition } from '../localize/localize.js';
import { pct } from '../matrix/rule.js';
import { diffJson, diffLines, type DiffEntry, type JsonDiff } from './diff.js';
import { findOverlaps, type CidrOverlap, type CidrOwner, type NodeOverlaps } from './overlaps.js';

export type { CidrOverlap, CidrOwner } from './overlaps.js';

export interface CniAssessOptions {
  /** IpPoolNearExhaustion at used/size ≥ this. */
  readonly poolThreshold: number;
  readonly serviceCidrs: readonly Cidr[];
  /** NETMATRIX_EXTERNAL_CIDRS: networks outside the cluster pods must reach (office VPN…). */
  readonly externalCidrs: readonly Cidr[];
  /** A snapshot received (aggregator clock) longer ago than this is stale. */
  readonly staleAfterMs: number;
}

export const DEFAULT_POOL_THRESHOLD = 0.9;

export interface CniNodeInput {
  readonly node: string;
  readonly snapshot: CniSnapshot | null;
  /** Aggregator clock when the snapshot arrived. */
  readonly receivedAt: number | null;
  /**
   * The Node's spec.podCIDRs from the Kubernetes API. Authoritative without an
   * agent: the overlap check uses them for a node whose snapshot has no
   * host-local ranges (another IPAM), is stale, or never came.
   */
  readonly kubePodCidrs?: readonly string[];
}

/** A snapshot received (aggregator clock) at most staleAfterMs ago: it votes and raises findings. */
export function isFresh(n: CniNodeInput, now: number, staleAfterMs: number): boolean {
  return n.snapshot !== null && n.receivedAt !== null && now - n.receivedAt <= staleAfterMs;
}

/**
 * - `unreported`: no snapshot; `stale`: too old to judge;
 * - `invalid`: no valid config file (CniConfigDrift);
 * - `majority`: in the majority group; `drifted`: outside it (CniConfigDrift);
 * - `split`: no majority, every group is suspect (CniConfigDrift).
 */
export type CniNodeState = 'unreported' | 'stale' | 'invalid' | 'majority' | 'drifted' | 'split';

export interface CniPoolReport extends CniPool {
  /** used / size; null for an empty range. */
  readonly ratio: number | null;
  readonly nearExhaustion: boolean;
}

export interface CniFileSummary {
  readonly name: string;
  readonly valid: boolean;
  readonly error: string | null;
}

export interface CniNodeReport {
  readonly node: string;
  readonly state: CniNodeState;
  readonly stale: boolean;
  /** Aggregator clock when the snapshot arrived. */
  readonly receivedAt: number | null;
  /** The effective config: the first valid file of the conf dir. */
  readonly file: string | null;
  readonly network: string | null;
  readonly cniVersion: string | null;
  readonly hash: string | null;
  readonly plugins: readonly string[];
  readonly ipamType: string | null;
  readonly binaries: readonly CniBinary[];
  readonly pools: readonly CniPoolReport[];
  /** What the overlap check uses: a fresh snapshot's host-local ranges, else the Node's spec.podCIDRs; a stale node without those shows its last ranges. */
  readonly podCidrs: readonly string[];
  /** Overlaps of this node's pod CIDRs (with other nodes', Service and external CIDRs), listed in `overlaps` or not. */
  readonly overlapCount: number;
  readonly files: readonly CniFileSummary[];
  /**
   * Invalid files that sort before the effective one (a directory, which the
   * runtime skips, left out). containerd stops at the first file it cannot
   * load, so on containerd such a node has no network; CRI-O skips them.
   */
  readonly invalidBeforeEffective: readonly string[];
  /** Directory errors, file errors, "no valid CNI config", unparsable pod CIDRs. */
  readonly errors: readonly string[];
  /** Index in `groups`; null when the node is in none (unreported, stale, invalid). */
  readonly group: number | null;
}

export interface CniDriftGroup {
  readonly hash: string;
  readonly nodes: readonly string[];
  readonly majority: boolean;
  readonly network: string;
  readonly cniVersion: string;
  readonly plugins: readonly string[];
  /** Names of the effective files in this group (usually one). */
  readonly files: readonly string[];
  /** The group this one is diffed against: the majority, or without one the largest other group; null for the majority itself and a lone group. */
  readonly comparedWith: number | null;
  /** JSON paths that differ from `comparedWith`'s config, at most DIFF_LIMIT. */
  readonly differingKeys: readonly string[];
  readonly moreDifferences: number;
}

export interface CniBinaryGroup {
  /** null: missing or unusable on these nodes (not found, not executable, unreadable…: the binary's `error`). */
  readonly sha256: string | null;
  readonly size: number | null;
  readonly nodes: readonly string[];
}

export interface CniPluginBinaries {
  readonly plugin: string;
  /** Hashed groups largest first, then the missing group. */
  readonly groups: readonly CniBinaryGroup[];
  /** The strictly largest hashed group's sha256; null on a tie or when no node has a usable binary. */
  readonly majoritySha256: string | null;
  /** Raises CniPluginVersionSkew: more than one build, or a node where the binary is missing or unusable. */
  readonly skewed: boolean;
}

export interface CniSummary {
  readonly nodes: number;
  readonly reported: number;
  readonly stale: number;
  readonly invalid: number;
  /** Fresh nodes with a valid config: the ones that vote. */
  readonly compared: number;
  readonly majorityHash: string | null;
  readonly drifted: number;
  readonly skewedPlugins: number;
  readonly poolsNearExhaustion: number;
  readonly overlaps: number;
}

export interface CniAssessment {
  readonly at: number;
  readonly poolThreshold: number;
  readonly summary: CniSummary;
  readonly nodes: readonly CniNodeReport[];
  /** Config groups by hash, largest first (ties: the group whose first node comes first). */
  readonly groups: readonly CniDriftGroup[];
  /** Per plugin type of any fresh node's chain, by name. */
  readonly plugins: readonly CniPluginBinaries[];
  readonly overlaps: readonly CidrOverlap[];
  /** Overlaps past MAX_OVERLAPS, not listed (each node's `overlapCount` and finding still count them). */
  readonly overlapsDropped: number;
  readonly conditions: readonly Condition[];
}

/** Overlaps listed in the assessment: one /16 on every node of a big cluster is N² pairs. */
export const MAX_OVERLAPS = 256;
/** Diff lines in a CniConfigDrift description; the rest are at GET /api/v1/cni/{node}. */
const DESCRIPTION_DIFF_LINES = 10;
/** Node names listed in one description. */
const NAMES_LISTED = 10;
/** Overlaps listed in one node's PodCidrOverlap description (the rest counted there and in its `overlapCount`). */
const OVERLAPS_LISTED = 5;
/** Group sizes written out in a description ("2/2/1/…"). */
const SIZES_LISTED = 10;

interface Voter {
  readonly i: number;
  readonly hash: string;
  readonly normalized: string;
}

interface Group {
  readonly hash: string;
  readonly members: number[];
  readonly normalized: string;
}

export function assessCni(nodes: readonly CniNodeInput[], now: number, o: CniAssessOptions): CniAssessment {
  const fresh = nodes.map((n) => isFresh(n, now, o.staleAfterMs));
  const voters: Voter[] = [];
  nodes.forEach((n, i) => {
    const e = n.snapshot?.effective;
    if (fresh[i] && e) voters.push({ i, hash: e.hash, normalized: e.normalized });
  });
  const groups = groupConfigs(voters);
  const majority = groups.length > 0 && (groups.length === 1 || groups[0]!.members.length > groups[1]!.members.length) ? 0 : null;
  const comparedWith = groups.map((_, g) => (majority !== null ? (g === majority ? null : majority) : g === 0 ? 1 : 0));
  // One diff per group, each against a reference parsed once (every drifted node can be a group of its own).
  const parsed = new Map<number, unknown>();
  const parsedGroup = (k: number) => {
    if (!parsed.has(k)) parsed.set(k, parseOrText(groups[k]!.normalized));
    return parsed.get(k);
  };
  const diffs = groups.map((g, k) => (comparedWith[k] === null ? null : diffJson(parsedGroup(comparedWith[k]!), parseOrText(g.normalized))));
  const groupOf = new Map<number, number>();
  groups.forEach((g, k) => g.members.forEach((i) => groupOf.set(i, k)));

  const errors = nodes.map((n) => nodeErrors(n.snapshot));
  const podCidrs = nodes.map((n, i) => podCidrsOf(n, fresh[i]!));
  const cidrs = nodes.map((n, i) => {
    const out: Cidr[] = [];
    for (const text of podCidrs[i]!) {
      const c = parseCidr(text);
      if (c) out.push(c);
      else errors[i]!.push(`pod CIDR ${JSON.stringify(text)} is not a CIDR`);
    }
    return out;
  });
  // Judged: fresh nodes, and any node with pod CIDRs from the Kubernetes API (current whatever the snapshot's age).
  const judged = nodes.map((n, i) => fresh[i]! || (n.kubePodCidrs?.length ?? 0) > 0);
  const overlaps = findOverlaps(
    { nodes: nodes.map((n) => n.node), podCidrs: cidrs.map((c, i) => (judged[i] ? c : [])), serviceCidrs: o.serviceCidrs, externalCidrs: o.externalCidrs },
    MAX_OVERLAPS,
    OVERLAPS_LISTED,
  );

  const reports: CniNodeReport[] = nodes.map((n, i) => {
    const s = n.snapshot;
    const e = s?.effective ?? null;
    const g = groupOf.get(i) ?? null;
    const state: CniNodeState = !s ? 'unreported' : !fresh[i] ? 'stale' : !e ? 'invalid' : majority === null ? 'split' : g === majority ? 'majority' : 'drifted';
    return {
      node: n.node,
      state,
      stale: s !== null && !fresh[i],
      receivedAt: n.receivedAt,
      file: e?.file ?? null,
      network: e?.network ?? null,
      cniVersion: e?.cniVersion ?? null,
      hash: e?.hash ?? null,
      plugins: e?.plugins ?? [],
      ipamType: e?.ipamType ?? null,
      binaries: s?.binaries ?? [],
      pools: (s?.pools ?? []).map((p) => {
        const ratio = p.size > 0 ? p.used / p.size : null;
        return { ...p, ratio, nearExhaustion: ratio !== null && ratio >= o.poolThreshold };
      }),
      podCidrs: podCidrs[i]!,
      overlapCount: overlaps.byNode.get(i)?.total ?? 0,
      files: (s?.files ?? []).map((f) => ({ name: f.name, valid: f.valid, error: f.error })),
      invalidBeforeEffective: invalidBefore(s),
      errors: errors[i]!,
      group: g,
    };
  });

  const driftGroups: CniDriftGroup[] = groups.map((g, k) => {
    const e = nodes[g.members[0]!]!.snapshot!.effective!;
    const d = diffs[k];
    return {
      hash: g.hash,
      nodes: g.members.map((i) => nodes[i]!.node),
      majority: k === majority,
      network: e.network,
      cniVersion: e.cniVersion,
      plugins: e.plugins,
      files: [...new Set(g.members.map((i) => nodes[i]!.snapshot!.effective!.file))],
      comparedWith: comparedWith[k]!,
      differingKeys: d ? d.entries.map((x) => x.path) : [],
      moreDifferences: d ? d.more : 0,
    };
  });

  const plugins = comparePlugins(nodes, fresh);
  const binaryOf = (plugin: string) => {
    const byNode = new Map<string, CniBinary>();
    nodes.forEach((n, i) => {
      const b = fresh[i] ? n.snapshot?.binaries.find((x) => x.plugin === plugin) : undefined;
      if (b) byNode.set(n.node, b);
    });
    return byNode;
  };

  const conditions: Condition[] = [
    ...driftConditions(nodes, reports, groups, driftGroups, diffs, majority, voters.length),
    ...plugins.filter((p) => p.skewed).map((p) => skewCondition(p, binaryOf(p.plugin))),
    ...poolConditions(reports, fresh, o.poolThreshold),
    ...overlapConditions(nodes, overlaps.byNode),
  ];

  return {
    at: now,
    poolThreshold: o.poolThreshold,
    summary: {
      nodes: nodes.length,
      reported: nodes.filter((n) => n.snapshot !== null).length,
      stale: reports.filter((r) => r.stale).length,
      invalid: reports.filter((r) => r.state === 'invalid').length,
      compared: voters.length,
      majorityHash: majority !== null ? groups[majority]!.hash : null,
      drifted: reports.filter((r) => r.state === 'drifted').length,
      skewedPlugins: plugins.filter((p) => p.skewed).length,
      poolsNearExhaustion: reports.reduce((k, r, i) => k + (fresh[i] ? r.pools.filter((p) => p.nearExhaustion).length : 0), 0),
      overlaps: overlaps.total,
    },
    nodes: reports,
    groups: driftGroups,
    plugins,
    overlaps: overlaps.listed,
    overlapsDropped: overlaps.total - overlaps.listed.length,
    conditions,
  };
}

/** Groups by hash, largest first; equal sizes keep the order of their first node. */
function groupConfigs(voters: readonly Voter[]): Group[] {
  const byHash = new Map<string, Group>();
  for (const v of voters) {
    const g = byHash.get(v.hash);
    if (g) g.members.push(v.i);
    else byHash.set(v.hash, { hash: v.hash, members: [v.i], normalized: v.normalized });
  }
  return [...byHash.values()].sort((a, b) => b.members.length - a.members.length || a.members[0]! - b.members[0]!);
}

/** Differences from the reference config to this one; an unparsable config compares as its text. */
export function diffConfigs(reference: string, mine: string, limit?: number): JsonDiff {
  return diffJson(parseOrText(reference), parseOrText(mine), limit);
}

function parseOrText(normalized: string): unknown {
  try {
    return JSON.parse(normalized) as unknown;
  } catch {
    return normalized;
  }
}

/** The agent's own "no valid network config" line: the aggregator says that once, in its own words. */
const AGENT_NO_VALID = /^no valid network config in /;

function nodeErrors(s: CniSnapshot | null): string[] {
  if (!s) return [];
  const out = [...s.files.filter((f) => f.error !== null).map((f) => `${f.name}: ${f.error}`), ...s.errors.filter((e) => !AGENT_NO_VALID.test(e))];
  if (!s.effective) out.push('no valid CNI config');
  return out;
}

/**
 * Invalid files before the effective one, as `name: error`: go-cni (containerd)
 * returns the error of the first file it cannot load instead of trying the
 * next, so the node's network is not ready; ocicni (CRI-O) skips them. A
 * directory is skipped by both (libcni does not list it).
 */
function invalidBefore(s: CniSnapshot | null): string[] {
  if (!s?.effective) return [];
  const out: string[] = [];
  for (const f of s.files) {
    if (f.name === s.effective.file) break;
    if (!f.valid && f.error !== CNI_DIR_SKIPPED) out.push(f.name);
  }
  return out;
}

/** Why a node has no valid config, for its finding: the files' own errors first (the cause), then the dir's. */
function invalidReasons(s: CniSnapshot): string[] {
  const reasons = [...s.files.map((f) => `${f.name}: ${f.error ?? 'not a usable network config'}`), ...s.errors.filter((e) => !AGENT_NO_VALID.test(e))];
  if (s.files.length === 0) reasons.push('no config file (*.conf, *.conflist, *.json) in the CNI conf dir');
  return reasons;
}

function driftConditions(
  nodes: readonly CniNodeInput[],
  reports: readonly CniNodeReport[],
  groups: readonly Group[],
  driftGroups: readonly CniDriftGroup[],
  diffs: readonly (JsonDiff | null)[],
  majority: number | null,
  compared: number,
): Condition[] {
  const out: Condition[] = [];
  const sizes = groups.slice(0, SIZES_LISTED).map((g) => g.members.length).join('/') + (groups.length > SIZES_LISTED ? '/…' : '');
  reports.forEach((r, i) => {
    if (r.state === 'invalid') {
      const reasons = invalidReasons(nodes[i]!.snapshot!);
      out.push({
        kind: 'CniConfigDrift',
        subject: { node: r.node },
        summary: `${r.node} has no valid CNI config: ${reasons[0]}`,
        description: `no valid CNI config: ${reasons.join('; ')}. The container runtime uses the first valid file of the CNI conf dir; without one, pods scheduled on ${r.node} cannot get a network (sandbox creation fails).`,
      });
      return;
    }
    if (r.state !== 'majority' && r.state !== 'drifted' && r.state !== 'split') return;
    const blocking = blockingText(r, nodes[i]!.snapshot!);
    if (r.state === 'majority') {
      if (blocking === undefined) return;
      const first = r.invalidBeforeEffective[0]!;
      const more = r.invalidBeforeEffective.length > 1 ? ` (+${r.invalidBeforeEffective.length - 1} more)` : '';
      out.push({
        kind: 'CniConfigDrift',
        subject: { node: r.node },
        summary: `${r.node}'s CNI conf dir has an invalid file before the effective ${r.file}: ${first}${more}; containerd refuses it, CRI-O skips it`,
        description: `${blocking} ${r.node}'s effective config (${r.file}) is the majority's.`,
      });
      return;
    }
    const k = r.group!;
    const g = driftGroups[k]!;
    const ref = driftGroups[g.comparedWith!]!;
    const lines = diffLines(diffs[k]!, DESCRIPTION_DIFF_LINES);
    const mine = `${r.node}'s CNI config (${r.file}, network ${r.network}, hash ${short(g.hash)})`;
    const theirs = `the config of ${ref.nodes.length} of ${compared} nodes (${names(ref.nodes)}; ${ref.files.join(', ')}, hash ${short(ref.hash)})`;
    const from = majority !== null ? 'majority' : ref.nodes.length === 1 ? ref.nodes[0] : 'theirs';
    const diffText = `Differences (${from} → ${r.node}): ${lines.join('; ') || 'none in the normalized config'}.`;
    const more = `Full diff: GET /api/v1/cni/${r.node}.${blocking !== undefined ? ` Also: ${blocking}` : ''}`;
    if (majority !== null) {
      out.push({
        kind: 'CniConfigDrift',
        subject: { node: r.node },
        summary: `${r.node}'s CNI config differs from the majority's (${ref.nodes.length} of ${compared} nodes): ${lines[0] ?? 'hash differs'}`,
        description: `${mine} differs from ${theirs}, the majority. ${diffText} ${more}`,
      });
    } else {
      out.push({
        kind: 'CniConfigDrift',
        subject: { node: r.node },
        summary: `CNI configs differ with no majority (${sizes} of ${compared} nodes); ${r.node}'s is one of ${groups.length}`,
        description: `No majority: the ${compared} nodes with a valid config split ${sizes} across ${groups.length} configs, so which side drifted cannot be told; every node is flagged. ${mine} compared with ${theirs}. ${diffText} ${more}`,
      });
    }
  });
  return out;
}

/** What invalid files before the effective one do, for the node's CniConfigDrift; undefined without any. */
function blockingText(r: CniNodeReport, s: CniSnapshot): string | undefined {
  const bad = r.invalidBeforeEffective;
  if (bad.length === 0) return undefined;
  const why = bad.map((name) => `${name}: ${s.files.find((f) => f.name === name)?.error ?? 'invalid'}`);
  const one = bad.length === 1;
  return (
    `${why.join('; ')}. ${one ? 'It sorts' : 'They sort'} before ${r.file}, the first valid file: containerd (go-cni) stops at the first config file it cannot load, ` +
    `so on containerd the node's network is not ready and pods scheduled on ${r.node} cannot get a network; CRI-O skips ${one ? 'it' : 'them'} and uses ${r.file}. ` +
    `Move ${one ? 'it' : 'them'} out of the CNI conf dir.`
  );
}

function comparePlugins(nodes: readonly CniNodeInput[], fresh: readonly boolean[]): CniPluginBinaries[] {
  type Build = { sha256: string | null; size: number | null; nodes: string[]; first: number };
  const byPlugin = new Map<string, Map<string, Build>>();
  let order = 0;
  nodes.forEach((n, i) => {
    if (!fresh[i] || !n.snapshot) return;
    const seen = new Set<string>();
    for (const b of n.snapshot.binaries) {
      if (seen.has(b.plugin)) continue;
      seen.add(b.plugin);
      const groups = byPlugin.get(b.plugin) ?? new Map<string, Build>();
      byPlugin.set(b.plugin, groups);
      // A binary with an error (not found, not executable, unreadable) cannot run, whatever its hash: the unusable group.
      const sha256 = b.error === null ? b.sha256 : null;
      const key = sha256 ?? '';
      const g = groups.get(key);
      if (g) g.nodes.push(n.node);
      else groups.set(key, { sha256, size: sha256 === null ? null : b.size, nodes: [n.node], first: order++ });
    }
  });
  return [...byPlugin.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([plugin, m]) => {
      const all = [...m.values()].sort((a, b) => Number(a.sha256 === null) - Number(b.sha256 === null) || b.nodes.length - a.nodes.length || a.first - b.first);
      const hashed = all.filter((g) => g.sha256 !== null);
      const strict = hashed.length > 0 && (hashed.length === 1 || hashed[0]!.nodes.length > hashed[1]!.nodes.length);
      return {
        plugin,
        groups: all.map((g) => ({ sha256: g.sha256, size: g.size, nodes: g.nodes })),
        majoritySha256: strict ? hashed[0]!.sha256 : null,
        // Also with one group: a binary missing on every node (or on the only node) breaks every sandbox there.
        skewed: all.length > 1 || hashed.length < all.length,
      };
    });
}

const NOT_FOUND = /^not found in /;

/** `binaries`: the plugin's binary on each fresh node that needs it, by node. */
function skewCondition(p: CniPluginBinaries, binaries: ReadonlyMap<string, CniBinary>): Condition {
  const total = p.groups.reduce((k, g) => k + g.nodes.length, 0);
  const what = (g: CniBinaryGroup, node?: string) => {
    if (g.sha256 !== null) return `${short(g.sha256)} (${bytes(g.size!)})`;
    const error = node !== undefined ? binaries.get(node)?.error : undefined;
    return `${error === undefined || error === null || NOT_FOUND.test(error) ? 'missing' : 'unusable'}${error ? ` (${error})` : ''}`;
  };
  const listOf = (gs: readonly CniBinaryGroup[]) => {
    const listed: string[] = [];
    let count = 0;
    for (const g of gs) {
      for (const n of g.nodes) {
        if (listed.length < NAMES_LISTED) listed.push(`${n} → ${what(g, n)}`);
        count++;
      }
    }
    return listed.join(', ') + (count > NAMES_LISTED ? `, and ${count - NAMES_LISTED} more` : '');
  };
  const unusable = p.groups.find((g) => g.sha256 === null);
  const majority = p.majoritySha256 === null ? undefined : p.groups.find((g) => g.sha256 === p.majoritySha256);
  const otherBuilds = p.groups.filter((g) => g !== majority && g !== unusable).reduce((k, g) => k + g.nodes.length, 0);
  const why = 'Nodes run different builds of the plugin (a partial upgrade, a node image out of step), so pod networking can behave differently by node; a missing binary fails every pod sandbox on its node.';

  // Missing or unusable somewhere: said first, since every sandbox on those nodes fails.
  let summary: string | undefined;
  if (unusable) {
    const errors = unusable.nodes.map((n) => binaries.get(n)?.error ?? '');
    const word = errors.every((e) => NOT_FOUND.test(e)) ? 'missing' : errors.some((e) => NOT_FOUND.test(e)) ? 'missing or unusable' : 'unusable';
    const where = unusable.nodes.length === 1 ? `${unusable.nodes[0]} (${errors[0] || 'no binary'})` : `${unusable.nodes.length} of ${total} nodes`;
    summary = `CNI plugin ${p.plugin} is ${word} on ${where}${otherBuilds > 0 ? `; ${otherBuilds} more ${otherBuilds === 1 ? 'node has' : 'nodes have'} another build than the majority's` : ''}`;
    if (unusable.nodes.length === total) {
      return {
        kind: 'CniPluginVersionSkew',
        subject: { plugin: p.plugin },
        summary: total === 1 ? `CNI plugin ${p.plugin} is ${word} on ${where}` : `CNI plugin ${p.plugin} is ${word} on every node that uses it (${total})`,
        description: `No node whose CNI chain uses ${p.plugin} can run it: ${listOf([unusable])}. Every new pod sandbox on ${total === 1 ? 'that node' : 'those nodes'} fails (failed to find plugin "${p.plugin}" in path) until the binary is installed.`,
      };
    }
  }
  if (majority) {
    return {
      kind: 'CniPluginVersionSkew',
      subject: { plugin: p.plugin },
      summary: summary ?? `CNI plugin ${p.plugin} differs on ${total - majority.nodes.length} of ${total} nodes from the majority's binary`,
      description: `${majority.nodes.length} of ${total} nodes have ${p.plugin} ${what(majority)}; outliers: ${listOf(p.groups.filter((g) => g !== majority))}. ${why}`,
    };
  }
  return {
    kind: 'CniPluginVersionSkew',
    subject: { plugin: p.plugin },
    summary: summary ?? `CNI plugin ${p.plugin} differs across ${total} nodes with no majority binary (${p.groups.length} versions)`,
    description: `No majority binary for ${p.plugin}: ${p.groups.map((g) => `${what(g, g.nodes[0])} on ${names(g.nodes)}`).join('; ')}. ${why}`,
  };
}

function poolConditions(reports: readonly CniNodeReport[], fresh: readonly boolean[], threshold: number): Condition[] {
  const out: Condition[] = [];
  reports.forEach((r, i) => {
    if (!fresh[i]) return;
    const full = r.pools.filter((p) => p.nearExhaustion).sort((a, b) => b.ratio! - a.ratio!);
    const worst = full[0];
    if (!worst) return;
    const line = (p: CniPoolReport) => `${p.network} ${p.range}: ${p.used} of ${p.size} addresses used (${pct(p.ratio!)})`;
    out.push({
      kind: 'IpPoolNearExhaustion',
      subject: { node: r.node },
      summary: `${r.node}'s IP pool ${worst.range} is ${pct(worst.ratio!)} used (${worst.used}/${worst.size})${full.length > 1 ? ` (+${full.length - 1} more pools)` : ''}`,
      description: `Host-local IPAM pools on ${r.node} at or over ${pct(threshold)}: ${full.map(line).join('; ')}. When a pool is full, new pods on ${r.node} stay in ContainerCreating (failed to allocate an IP); leaked allocations (files in the IPAM dir of pods that are gone) are a common cause.`,
    });
  });
  return out;
}

/**
 * The pod CIDRs the overlap check uses: a fresh snapshot's host-local ranges,
 * else the Node's spec.podCIDRs (another IPAM, a stale snapshot, no agent); a
 * stale node without those shows its last ranges, which are not judged.
 */
function podCidrsOf(n: CniNodeInput, fresh: boolean): readonly string[] {
  const fromIpam = n.snapshot?.effective?.podCidrs ?? [];
  const fromKube = n.kubePodCidrs ?? [];
  if (fresh && fromIpam.length > 0) return fromIpam;
  return fromKube.length > 0 ? fromKube : fromIpam;
}

function overlapConditions(nodes: readonly CniNodeInput[], byNode: ReadonlyMap<number, NodeOverlaps>): Condition[] {
  const out: Condition[] = [];
  for (const [i, o] of byNode) {
    const me = nodes[i]!.node;
    const other = (w: CidrOwner) => (w.kind === 'node' ? `${w.node}'s pod CIDR ${w.cidr}` : `the ${w.kind} CIDR ${w.cidr}`);
    const how = (x: CidrOverlap) => (x.relation === 'equal' ? 'the same range' : x.relation === 'a-contains-b' ? `inside ${me}'s` : `contains ${me}'s`);
    const lines = o.listed.map((x) => `${x.a.cidr} overlaps ${other(x.b)} (${how(x)})`);
    if (o.total > o.listed.length) lines.push(`and ${o.total - o.listed.length} more`);
    const effects = [
      o.counts.node > 0 ? 'two nodes hand out the same pod IPs, so pods get duplicate addresses and cross-node traffic reaches the wrong pod' : '',
      o.counts.service > 0 ? 'pod IPs inside the service range are captured by kube-proxy rules' : '',
      o.counts.external > 0 ? 'pods with those IPs shadow the external network (NETMATRIX_EXTERNAL_CIDRS), so traffic from pods to it never leaves the cluster' : '',
    ].filter((s) => s !== '');
    const first = o.listed[0]!;
    out.push({
      kind: 'PodCidrOverlap',
      subject: { node: me },
      summary: `${me}'s pod CIDR ${first.a.cidr} overlaps ${other(first.b)}${o.total > 1 ? ` (+${o.total - 1} more)` : ''}`,
      description: `Pod CIDRs of ${me}: ${lines.join('; ')}. Effect: ${effects.join('; ')}.`,
    });
  }
  return out;
}

// GET /api/v1/cni/{node}

export interface CniReference {
  /** Index in the assessment's `groups`. */
  readonly group: number;
  readonly hash: string;
  readonly majority: boolean;
  readonly nodes: readonly string[];
  readonly config: unknown;
}

export interface CniNodeDetail {
  readonly report: CniNodeReport;
  readonly files: readonly CniFileInfo[];
  /** The normalized effective config (parsed), null without one. */
  readonly config: unknown;
  /** The per-node fields set aside before hashing, by JSON path. */
  readonly perNode: Readonly<Record<string, string>>;
  /** What the node is compared with: the majority's config, or without one the group its own is diffed against (the largest group for a node outside every group). */
  readonly reference: CniReference | null;
  /** reference → node, one line per difference, "… and N more" at the end when cut. */
  readonly diff: readonly string[];
  readonly changes: readonly DiffEntry[];
  readonly moreChanges: number;
}

/** The node's config against the reference, for GET /api/v1/cni/{node}; undefined for an unknown node. */
export function nodeCniDetail(nodes: readonly CniNodeInput[], a: CniAssessment, node: string): CniNodeDetail | undefined {
  const i = nodes.findIndex((n) => n.node === node);
  const report = a.nodes.find((r) => r.node === node);
  if (i < 0 || !report) return undefined;
  const e = nodes[i]!.snapshot?.effective ?? null;
  const own = report.group === null ? undefined : a.groups[report.group];
  const majority = a.groups.findIndex((g) => g.majority);
  const refIndex = own ? (own.majority ? report.group! : own.comparedWith) : majority >= 0 ? majority : a.groups.length > 0 ? 0 : null;
  const refGroup = refIndex === null ? undefined : a.groups[refIndex];
  const refNormalized = refGroup && nodes.find((n) => n.node === refGroup.nodes[0])?.snapshot?.effective?.normalized;
  const reference: CniReference | null =
    refGroup && refNormalized !== undefined
      ? { group: refIndex!, hash: refGroup.hash, majority: refGroup.majority, nodes: refGroup.nodes, config: parseOrText(refNormalized) }
      : null;
  const d = e && reference && refNormalized !== undefined ? diffConfigs(refNormalized, e.normalized) : { entries: [], more: 0 };
  return {
    report,
    files: nodes[i]!.snapshot?.files ?? [],
    config: e ? parseOrText(e.normalized) : null,
    perNode: e?.perNode ?? {},
    reference,
    diff: diffLines(d),
    changes: d.entries,
    moreChanges: d.more,
  };
}

function short(hash: string): string {
  return hash.slice(0, 12);
}

function names(list: readonly string[]): string {
  return list.length <= NAMES_LISTED ? list.join(', ') : `${list.slice(0, NAMES_LISTED).join(', ')} and ${list.length - NAMES_LISTED} more`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
