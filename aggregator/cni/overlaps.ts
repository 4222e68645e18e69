// Pod CIDR overlaps for the CNI comparison: which nodes' pod CIDRs share
// addresses with another node's, a Service CIDR or an external one.
//
// Comparing every pair is O(ranges²): 5,000 nodes are 12.5 million pairs, and
// one /16 written on every node makes each of them an overlap. Two prefixes
// overlap only when one contains the other, so once the ranges are sorted by
// (family, first address, last address descending) the ranges containing a
// range are exactly those open on a stack when the sweep reaches it (its
// ancestors), and the ranges it contains are the run right after it (its
// descendants). Counts come from the stack and from prefix sums, without
// visiting the pairs: O(n log n). Pairs are visited only to list them: at most
// `maxListed` overall and `perNode` per node, each bound counted.
//
// Counted: a node's range against another node's (on both nodes), against a
// Service or external CIDR (on the node). Not counted: two ranges of the same
// node, and Service or external CIDRs against each other.
import { cidrBounds, formatCidr, type Cidr } from '../../common/cidr.js';

export type CidrOwnerKind = 'node' | 'service' | 'external';

export interface CidrOwner {
  readonly kind: CidrOwnerKind;
  /** The node whose pod CIDR this is; null for service and external ranges. */
  readonly node: string | null;
  readonly cidr: string;
}

export interface CidrOverlap {
  readonly a: CidrOwner;
  readonly b: CidrOwner;
  readonly relation: 'equal' | 'a-contains-b' | 'b-contains-a';
}

export interface OverlapInput {
  /** Node names, by index. */
  readonly nodes: readonly string[];
  /** Each node's pod CIDRs (empty for a node not judged). */
  readonly podCidrs: readonly (readonly Cidr[])[];
  readonly serviceCidrs: readonly Cidr[];
  readonly externalCidrs: readonly Cidr[];
}

export interface NodeOverlaps {
  /** This node's first overlaps, its own side as `a`, by its range, then the other side (nodes in order, Service, external): at most `perNode`. */
  readonly listed: readonly CidrOverlap[];
  /** Every overlap of this node's pod CIDRs, listed or not, by the kind of the other side. */
  readonly counts: Readonly<Record<CidrOwnerKind, number>>;
  readonly total: number;
}

export interface OverlapResult {
  /** At most `maxListed`: the node side as `a` (for two nodes, the one that comes first), by `a`'s node and range, then `b`. */
  readonly listed: readonly CidrOverlap[];
  /** Every overlap, listed or not. */
  readonly total: number;
  /** Nodes (by index) with at least one overlap. */
  readonly byNode: ReadonlyMap<number, NodeOverlaps>;
}

const KIND_RANK: Record<CidrOwnerKind, number> = { node: 0, service: 1, external: 2 };

interface Range {
  readonly kind: CidrOwnerKind;
  /** Node index; -1 for service and external ranges. */
  readonly owner: number;
  /** Position in its owner's list (or in --service-cidrs / --external-cidrs). */
  readonly ord: number;
  readonly v6: boolean;
  readonly first: bigint;
  readonly last: bigint;
  readonly text: string;
}

function compare(x: Range, y: Range): number {
  if (x.v6 !== y.v6) return x.v6 ? 1 : -1;
  if (x.first !== y.first) return x.first < y.first ? -1 : 1;
  if (x.last !== y.last) return x.last > y.last ? -1 : 1;
  return KIND_RANK[x.kind] - KIND_RANK[y.kind] || x.owner - y.owner || x.ord - y.ord;
}

/** True when the pair is an overlap that counts (see the top of the file). */
function counts(x: Range, y: Range): boolean {
  return x.kind === 'node' ? x.owner !== y.owner : y.kind === 'node';
}

function relation(a: Range, b: Range): CidrOverlap['relation'] {
  if (a.first === b.first && a.last === b.last) return 'equal';
  return a.first <= b.first && b.last <= a.last ? 'a-contains-b' : 'b-contains-a';
}

export function findOverlaps(input: OverlapInput, maxListed: number, perNode: number): OverlapResult {
  const ranges: Range[] = [];
  const add = (kind: CidrOwnerKind, owner: number, list: readonly Cidr[]) =>
    list.forEach((c, ord) => {
      const b = cidrBounds(c);
      ranges.push({ kind, owner, ord, v6: c.family === 'ipv6', first: b.first, last: b.last, text: formatCidr(c) });
    });
  input.podCidrs.forEach((list, i) => add('node', i, list));
  add('service', -1, input.serviceCidrs);
  add('external', -1, input.externalCidrs);
  ranges.sort(compare);
  const n = ranges.length;

  // Per kind, how many ranges of it come before each position (for descendant counts).
  const before: Record<CidrOwnerKind, Int32Array> = { node: new Int32Array(n + 1), service: new Int32Array(n + 1), external: new Int32Array(n + 1) };
  // Per node, its positions in sorted order, and each position's rank there.
  const positions = new Map<number, number[]>();
  const rank = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const r = ranges[p]!;
    for (const k of ['node', 'service', 'external'] as const) before[k][p + 1] = before[k][p]! + (r.kind === k ? 1 : 0);
    if (r.kind === 'node') {
      const list = positions.get(r.owner) ?? [];
      if (list.length === 0) positions.set(r.owner, list);
      rank[p] = list.length;
      list.push(p);
    }
  }

  // The sweep: parent (innermost containing range), end of the run of descendants, and per kind
  // the ancestors of each range that are another node's (own ones left out).
  const parent = new Int32Array(n).fill(-1);
  const end = new Int32Array(n);
  const ancestors = { node: new Float64Array(n), service: new Float64Array(n), external: new Float64Array(n) };
  const stack: number[] = [];
  const open = { node: 0, service: 0, external: 0 };
  const ownOpen = new Map<number, number>();
  const pop = (p: number) => {
    const top = stack.pop()!;
    end[top] = p - 1;
    const r = ranges[top]!;
    open[r.kind]--;
    if (r.kind === 'node') ownOpen.set(r.owner, ownOpen.get(r.owner)! - 1);
  };
  for (let p = 0; p < n; p++) {
    const x = ranges[p]!;
    while (stack.length > 0) {
      const top = ranges[stack.at(-1)!]!;
      if (top.v6 === x.v6 && top.last >= x.first) break;
      pop(p);
    }
    parent[p] = stack.at(-1) ?? -1;
    if (x.kind === 'node') {
      ancestors.node[p] = open.node - (ownOpen.get(x.owner) ?? 0);
      ancestors.service[p] = open.service;
      ancestors.external[p] = open.external;
    } else {
      ancestors.node[p] = open.node;
    }
    stack.push(p);
    open[x.kind]++;
    if (x.kind === 'node') ownOpen.set(x.owner, (ownOpen.get(x.owner) ?? 0) + 1);
  }
  while (stack.length > 0) pop(n);

  // Descendants of p that count, by kind: the run (p, end[p]], less the node's own ranges.
  const descendants = (p: number, k: CidrOwnerKind): number => {
    const x = ranges[p]!;
    if (x.kind !== 'node' && k !== 'node') return 0;
    const inRun = before[k][end[p]! + 1]! - before[k][p + 1]!;
    if (k !== 'node' || x.kind !== 'node') return inRun;
    return inRun - (upperBound(positions.get(x.owner)!, end[p]!) - rank[p]! - 1);
  };

  let total = 0;
  const byNode = new Map<number, { counts: Record<CidrOwnerKind, number>; pairs: [Range, Range][] }>();
  const descendantCount = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const x = ranges[p]!;
    const d = { node: descendants(p, 'node'), service: descendants(p, 'service'), external: descendants(p, 'external') };
    descendantCount[p] = d.node + d.service + d.external;
    total += descendantCount[p]!;
    if (x.kind !== 'node') continue;
    const sum = { node: ancestors.node[p]! + d.node, service: ancestors.service[p]! + d.service, external: ancestors.external[p]! + d.external };
    if (sum.node + sum.service + sum.external === 0) continue;
    const e = byNode.get(x.owner) ?? { counts: { node: 0, service: 0, external: 0 }, pairs: [] };
    byNode.set(x.owner, e);
    for (const k of ['node', 'service', 'external'] as const) e.counts[k] += sum[k];
  }

  const owner = (r: Range): CidrOwner => ({ kind: r.kind, node: r.kind === 'node' ? input.nodes[r.owner]! : null, cidr: r.text });
  const overlap = (a: Range, b: Range): CidrOverlap => ({ a: owner(a), b: owner(b), relation: relation(a, b) });

  // Each node's first overlaps: its ranges in its own order; for each, the ranges containing it
  // (innermost first), then those inside it (in address order); then sorted for reading.
  for (const [i, e] of byNode) {
    const mine = [...positions.get(i)!].sort((p, q) => ranges[p]!.ord - ranges[q]!.ord);
    for (const p of mine) {
      if (e.pairs.length >= perNode) break;
      const x = ranges[p]!;
      for (let q = parent[p]!; q >= 0 && e.pairs.length < perNode; q = parent[q]!) {
        const y = ranges[q]!;
        if (counts(x, y)) e.pairs.push([x, y]);
      }
      for (let q = p + 1, found = 0; q <= end[p]! && found < descendantCount[p]! && e.pairs.length < perNode; q++) {
        const y = ranges[q]!;
        if (!counts(x, y)) continue;
        found++;
        e.pairs.push([x, y]);
      }
    }
    e.pairs.sort(([a, b], [c, d]) => a.ord - c.ord || KIND_RANK[b.kind] - KIND_RANK[d.kind] || b.owner - d.owner || b.ord - d.ord);
  }

  // The overall list: pairs in address order of the containing range, then sorted for reading.
  const listed: { overlap: CidrOverlap; key: number[] }[] = [];
  for (let p = 0; p < n && listed.length < maxListed; p++) {
    if (descendantCount[p] === 0) continue;
    const x = ranges[p]!;
    for (let q = p + 1, found = 0; q <= end[p]! && found < descendantCount[p]! && listed.length < maxListed; q++) {
      const y = ranges[q]!;
      if (!counts(x, y)) continue;
      found++;
      // The node side first; of two nodes, the one that comes first.
      const [a, b] = y.kind === 'node' && (x.kind !== 'node' || y.owner < x.owner) ? [y, x] : [x, y];
      listed.push({ overlap: overlap(a, b), key: [a.owner, a.ord, KIND_RANK[b.kind], b.owner, b.ord] });
    }
  }
  listed.sort((u, v) => {
    for (let k = 0; k < u.key.length; k++) if (u.key[k] !== v.key[k]) return u.key[k]! - v.key[k]!;
    return 0;
  });

  const result = new Map<number, NodeOverlaps>();
  for (const [i, e] of [...byNode].sort((u, v) => u[0] - v[0])) {
    result.set(i, { listed: e.pairs.map(([a, b]) => overlap(a, b)), counts: e.counts, total: e.counts.node + e.counts.service + e.counts.external });
  }
  return { listed: listed.map((x) => x.overlap), total, byNode: result };
}

/** Index of the first element greater than `value` in an ascending list. */
function upperBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
