// The pod CIDR overlap sweep against comparing every pair: the same counts
// (overall, per node, by kind of the other side), lists within their bounds
// holding only real overlaps, and a /16 on 5,000 nodes counted without
// visiting its 12.5 million pairs. Documentation and private ranges only.
import t from 'tap';
import { findOverlaps, type CidrOwnerKind, type OverlapInput } from '../../../aggregator/cni/overlaps.js';
import { cidrsOverlap, parseCidr, type Cidr } from '../../../common/cidr.js';

const cidr = (text: string) => parseCidr(text)!;

/** Every pair, the slow way, with the rules of overlaps.ts: another node's range, or a Service/external one; never two of one node. */
function bruteForce(input: OverlapInput) {
  type R = { kind: CidrOwnerKind; owner: number; c: Cidr };
  const all: R[] = [
    ...input.podCidrs.flatMap((list, owner) => list.map((c) => ({ kind: 'node' as const, owner, c }))),
    ...input.serviceCidrs.map((c) => ({ kind: 'service' as const, owner: -1, c })),
    ...input.externalCidrs.map((c) => ({ kind: 'external' as const, owner: -1, c })),
  ];
  let total = 0;
  const byNode = new Map<number, Record<CidrOwnerKind, number>>();
  const bump = (i: number, k: CidrOwnerKind) => {
    const e = byNode.get(i) ?? { node: 0, service: 0, external: 0 };
    e[k]++;
    byNode.set(i, e);
  };
  for (let x = 0; x < all.length; x++) {
    for (let y = x + 1; y < all.length; y++) {
      const a = all[x]!;
      const b = all[y]!;
      if (a.kind !== 'node' && b.kind !== 'node') continue;
      if (a.kind === 'node' && b.kind === 'node' && a.owner === b.owner) continue;
      if (!cidrsOverlap(a.c, b.c)) continue;
      total++;
      if (a.kind === 'node') bump(a.owner, b.kind);
      if (b.kind === 'node') bump(b.owner, a.kind);
    }
  }
  return { total, byNode };
}

/** xorshift32: the same "random" clusters on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** Prefixes /8–/13 inside 10.0.0.0/8 and fd00::/8: nested and equal ranges are common. */
function randomInput(seed: number, nodes: number): OverlapInput {
  const r = rng(seed);
  const one = (): Cidr => {
    if (r(4) === 0) return cidr(`fd00:${(r(4) * 0x4000).toString(16)}::/${16 + r(3)}`);
    const prefix = 8 + r(6);
    const second = (r(8) << 5) & (0xff << (16 - prefix)) & 0xff;
    return cidr(`10.${second}.0.0/${prefix}`);
  };
  // Each list without repeats, as the agent deduplicates a node's pod CIDRs.
  const some = (k: number) => [...new Map(Array.from({ length: k }, one).map((c) => [`${c.address}/${c.prefix}`, c])).values()];
  return {
    nodes: Array.from({ length: nodes }, (_, i) => `n${i}`),
    podCidrs: Array.from({ length: nodes }, () => some(r(4))),
    serviceCidrs: some(r(3)),
    externalCidrs: some(r(3)),
  };
}

t.test('the sweep counts what comparing every pair counts', async (t) => {
  for (let seed = 1; seed <= 60; seed++) {
    const input = randomInput(seed, 2 + (seed % 25));
    const want = bruteForce(input);
    const got = findOverlaps(input, 7, 3);
    t.equal(got.total, want.total, `seed ${seed}: total`);
    t.same(
      [...got.byNode].map(([i, e]) => [i, e.counts]),
      [...want.byNode].sort((a, b) => a[0] - b[0]).map(([i, c]) => [i, c]),
      `seed ${seed}: per node, by kind`,
    );
    const problems: string[] = [];
    const real = (x: { a: { cidr: string }; b: { cidr: string } }) => cidrsOverlap(cidr(x.a.cidr), cidr(x.b.cidr));
    const unique = (xs: readonly unknown[]) => new Set(xs.map((x) => JSON.stringify(x))).size === xs.length;
    for (const [i, e] of got.byNode) {
      if (e.total !== e.counts.node + e.counts.service + e.counts.external) problems.push(`node ${i}: total ${e.total} is not the sum of its counts`);
      if (e.listed.length !== Math.min(3, e.total)) problems.push(`node ${i}: ${e.listed.length} listed of ${e.total}`);
      if (!unique(e.listed)) problems.push(`node ${i}: an overlap listed twice`);
      for (const x of e.listed) {
        if (x.a.node !== `n${i}`) problems.push(`node ${i}: ${JSON.stringify(x)} does not start with its own side`);
        if (x.b.node === x.a.node) problems.push(`node ${i}: ${JSON.stringify(x)} is with itself`);
        if (!real(x)) problems.push(`node ${i}: ${JSON.stringify(x)} is no overlap`);
      }
    }
    if (got.listed.length !== Math.min(7, want.total)) problems.push(`${got.listed.length} listed overall of ${want.total}`);
    if (!unique(got.listed)) problems.push('an overlap listed twice overall');
    for (const x of got.listed) {
      if (x.a.kind !== 'node') problems.push(`${JSON.stringify(x)}: not the node side first`);
      if (x.b.kind === 'node' && Number(x.a.node!.slice(1)) > Number(x.b.node!.slice(1))) problems.push(`${JSON.stringify(x)}: not the first node first`);
      if (!real(x)) problems.push(`${JSON.stringify(x)} is no overlap`);
    }
    t.same(problems, [], `seed ${seed}: the lists`);
  }
});

t.test('relations, both families, the same node never against itself', async (t) => {
  const r = findOverlaps(
    {
      nodes: ['a', 'b', 'c'],
      podCidrs: [[cidr('10.244.0.0/16'), cidr('10.244.1.0/24')], [cidr('10.244.1.0/24'), cidr('fd00:244:1::/64')], [cidr('fd00:244::/32')]],
      serviceCidrs: [cidr('10.244.1.128/25')],
      externalCidrs: [cidr('10.0.0.0/8')],
    },
    256,
    16,
  );
  // a/16 ⊃ b/24; a/24 = b/24; service inside a/16, a/24, b/24; external contains all three IPv4 ranges; b's /64 inside c's /32.
  t.equal(r.total, 2 + 3 + 3 + 1);
  t.same(r.byNode.get(0)!.counts, { node: 2, service: 2, external: 2 });
  t.same(r.byNode.get(1)!.counts, { node: 3, service: 1, external: 1 });
  t.same(r.byNode.get(2)!.counts, { node: 1, service: 0, external: 0 });
  t.same(r.listed[0], { a: { kind: 'node', node: 'a', cidr: '10.244.0.0/16' }, b: { kind: 'node', node: 'b', cidr: '10.244.1.0/24' }, relation: 'a-contains-b' }, 'sorted by the first node, its range, then the other');
  t.ok(r.listed.some((x) => x.a.cidr === '10.244.1.0/24' && x.a.node === 'a' && x.b.node === 'b' && x.relation === 'equal'));
  t.ok(r.listed.some((x) => x.a.node === 'b' && x.b.kind === 'external' && x.relation === 'b-contains-a'));
  t.ok(r.listed.some((x) => x.a.node === 'b' && x.a.cidr === 'fd00:244:1::/64' && x.b.node === 'c' && x.relation === 'b-contains-a'));
  t.notOk(r.listed.some((x) => x.a.kind !== 'node'), 'Service and external CIDRs only against nodes');
});

t.test('one /16 on 5,000 nodes: 12.5 million overlaps counted, a few listed, in well under a second', async (t) => {
  const n = 5_000;
  const input: OverlapInput = { nodes: Array.from({ length: n }, (_, i) => `n${i}`), podCidrs: Array.from({ length: n }, () => [cidr('10.244.0.0/16')]), serviceCidrs: [], externalCidrs: [] };
  const started = performance.now();
  const r = findOverlaps(input, 256, 5);
  const ms = performance.now() - started;
  t.equal(r.total, (n * (n - 1)) / 2);
  t.equal(r.listed.length, 256);
  t.equal(r.byNode.size, n);
  t.same(new Set([...r.byNode.values()].map((e) => `${e.total} ${e.listed.length}`)), new Set([`${n - 1} 5`]), 'each node: 4,999 overlaps, 5 listed');
  // Comparing every pair took minutes here; the sweep takes tens of milliseconds.
  t.ok(ms < 2_000, `${ms.toFixed(0)} ms`);
});
