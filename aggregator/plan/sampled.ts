// The sampled plan of a large cluster (above --full-mesh-max nodes). Every
// agent gets the same directory (every node, in ring order) and its own short
// list of peers to probe every round (its "fixed" peers); it walks the rest of
// the ring itself, peersPerRound peers per round in all (agent/peers.ts,
// PeerWalk). The guarantees hold by construction, whatever the agents' rounds'
// phases (agents are not in lockstep, and need not be):
//
// - every node has at least minProbers fixed probers, so it is probed by that
//   many every round, from at least two zones whenever the other nodes span
//   two zones (and the zones can carry it: no prober takes more than
//   fixedCap fixed peers);
// - every ordered zone pair (a zone with itself too, when it has two nodes)
//   has a fixed edge, so it is covered every round;
// - every ordered pair is probed within ⌈(N − 1 − f) / (k − f)⌉ rounds of the
//   prober's walk, f its fixed peers: ⌈(N − 1) / k⌉ plus the slack that f
//   takes (docs/scaling.md states it);
// - a suspect is probed every round by up to suspectProbersMax probers (its
//   whole column when that is smaller), spread over the zones.
//
// Deterministic: a pure function of the node set (names and zones), the
// settings and the suspect set. The ring is the nodes sorted by a fixed hash
// of their name: not the epoch, which differs between replicas, and stable, so
// a node joining moves no other node's place and the agents' walks go on.
// No randomness, no Map iteration order of anything but sorted input.

/** What the layout reads of a node. */
export interface RingNode {
  readonly name: string;
  readonly zone: string;
}

export interface SamplingSettings {
  /** Peers an agent probes per round, fixed ones included (k). */
  readonly peersPerRound: number;
  /** Probers every node has every round (m). */
  readonly minProbers: number;
  /** Probers a suspect gets every round, its whole column when smaller. */
  readonly suspectProbersMax: number;
}

export interface LayoutStats {
  /** Fixed edges of the backbone (min probers, zone diversity, zone pairs) and of suspects. */
  readonly backboneEdges: number;
  readonly suspectEdges: number;
  /** Nodes whose probers span one zone while others exist: their zones cannot carry a second zone's prober within fixedCap. */
  readonly zoneDiversityShort: number;
  /** Ordered zone pairs without a fixed edge (their zone has no prober with room). */
  readonly zonePairsShort: number;
  /** Suspect probers asked for but not placed (every prober at fixedCap). */
  readonly suspectProbersShort: number;
  /** The most fixed peers any prober has. */
  readonly maxFixed: number;
}

export interface SampledLayout<N extends RingNode = RingNode> {
  /** Every node, in ring order: the directory every agent gets. */
  readonly order: readonly N[];
  /** Per position in `order`: the positions it probes every round, ascending. */
  readonly fixed: readonly (readonly number[])[];
  /** Most fixed peers per prober: half the round, so the walk keeps at least the other half. */
  readonly fixedCap: number;
  /** Peers the agent re-probes each round because their last probe failed, at most: a quarter of the round. */
  readonly followMax: number;
  readonly stats: LayoutStats;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: the ring's order. Fixed forever (replicas and versions must agree). */
export function ringHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Nodes in ring order: by hash, then by name (a hash collision cannot make two replicas disagree). */
export function ringOrder<N extends RingNode>(nodes: readonly N[]): N[] {
  const keyed = nodes.map((n) => ({ n, h: ringHash(n.name) }));
  keyed.sort((a, b) => a.h - b.h || (a.n.name < b.n.name ? -1 : a.n.name > b.n.name ? 1 : 0));
  return keyed.map((x) => x.n);
}

export const fixedCapOf = (peersPerRound: number): number => Math.max(1, Math.floor(peersPerRound / 2));
export const followMaxOf = (peersPerRound: number): number => Math.floor(peersPerRound / 4);

/**
 * Rounds within which prober `fixedCount`'s walk reaches every peer of an
 * N-node ring, with no follow-ups: ⌈(N − 1 − f) / (k − f)⌉ (1 when the walk
 * fits in a round). With `followUps` slots taken by failing peers, fewer.
 */
export function walkPeriod(n: number, peersPerRound: number, fixedCount: number, followUps = 0): number {
  const walk = n - 1 - fixedCount;
  if (walk <= 0) return 1;
  const per = Math.max(1, peersPerRound - fixedCount - followUps);
  return Math.max(1, Math.ceil(walk / per));
}

/** A min-heap of node positions by (load, position): the least-loaded prober first, ties by place. */
class LoadHeap {
  private readonly a: number[] = [];
  constructor(private readonly load: Int32Array) {}
  private less(x: number, y: number): boolean {
    const lx = this.load[x]!;
    const ly = this.load[y]!;
    return lx < ly || (lx === ly && x < y);
  }
  get size(): number {
    return this.a.length;
  }
  push(x: number): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  peek(): number | undefined {
    return this.a[0];
  }
  pop(): number | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      this.down(0);
    }
    return top;
  }
  /** The top's load went up: restore the order. */
  fix(): void {
    if (this.a.length > 0) this.down(0);
  }
  private down(i: number): void {
    const a = this.a;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}

/**
 * The layout of a sampled plan for `nodes` (any order: they are put in ring
 * order) with `suspects` (names; those not in `nodes` are ignored).
 */
export function sampledLayout<N extends RingNode>(nodes: readonly N[], s: SamplingSettings, suspects: Iterable<string> = []): SampledLayout<N> {
  const order = ringOrder(nodes);
  const n = order.length;
  const k = s.peersPerRound;
  const fixedCap = fixedCapOf(k);
  const m = Math.min(s.minProbers, n - 1, fixedCap);
  const zones = [...new Set(order.map((x) => x.zone))].sort();
  const zoneIndex = new Map(zones.map((z, i) => [z, i]));
  const Z = zones.length;
  const zoneOf = Int32Array.from(order, (x) => zoneIndex.get(x.zone)!);
  /** Members of each zone, in ring order (positions). */
  const members: number[][] = zones.map(() => []);
  for (let p = 0; p < n; p++) members[zoneOf[p]!]!.push(p);

  const out: Set<number>[] = order.map(() => new Set<number>());
  const inDeg = new Int32Array(n);
  const load = new Int32Array(n);
  let backboneEdges = 0;
  const addEdge = (u: number, v: number): void => {
    out[u]!.add(v);
    load[u] = load[u]! + 1;
    inDeg[v] = inDeg[v]! + 1;
  };

  // 1. minProbers per node: a circulant on the zones interleaved in
  // proportion (member j of a zone of size s sits at (j + ½) / s, so small
  // zones are spread evenly among large ones): each node's probers are the m
  // nodes before it, so every node has exactly m fixed probers and m fixed
  // peers, and m consecutive nodes come from several zones where sizes allow.
  const interleaved = Array.from({ length: n }, (_, p) => p);
  const rank = new Float64Array(n);
  for (const list of members) list.forEach((p, j) => (rank[p] = (j + 0.5) / list.length));
  interleaved.sort((a, b) => rank[a]! - rank[b]! || zoneOf[a]! - zoneOf[b]! || a - b);
  if (m > 0) {
    for (let i = 0; i < n; i++) {
      const t = interleaved[i]!;
      for (let d = 1; d <= m; d++) addEdge(interleaved[(i - d + n) % n]!, t);
    }
    backboneEdges += n * m;
  }

  // Per-zone heaps of probers by load, for the edges below.
  const heaps = members.map((list) => {
    const h = new LoadHeap(load);
    for (const p of list) h.push(p);
    return h;
  });
  /** The least-loaded prober of zone z with room, not `not`, not already probing `t`; undefined when none. */
  const pick = (z: number, t: number): number | undefined => {
    const h = heaps[z]!;
    const held: number[] = [];
    let found: number | undefined;
    while (h.size > 0) {
      const u = h.peek()!;
      if (load[u]! >= fixedCap) {
        h.pop(); // loads only grow: full for good
        continue;
      }
      if (u === t || out[u]!.has(t)) {
        held.push(h.pop()!);
        continue;
      }
      found = u;
      break;
    }
    for (const u of held) h.push(u);
    return found;
  };
  const place = (u: number, t: number): void => {
    addEdge(u, t);
    backboneEdges++;
    heaps[zoneOf[u]!]!.fix();
  };

  // 2. Zone diversity: a node whose probers all sit in one zone, while the
  // other nodes span two, gets one more prober from another zone.
  let zoneDiversityShort = 0;
  if (Z >= 2 && m > 0) {
    const probersOf: number[][] = order.map(() => []);
    for (let u = 0; u < n; u++) for (const v of out[u]!) probersOf[v]!.push(u);
    for (let i = 0; i < n; i++) {
      const t = interleaved[i]!;
      const ps = probersOf[t]!;
      const z0 = zoneOf[ps[0]!]!;
      if (ps.some((u) => zoneOf[u] !== z0)) continue;
      // Zones other than z0 with a node other than t.
      let best: number | undefined;
      for (let z = 0; z < Z; z++) {
        if (z === z0 || (members[z]!.length === 1 && members[z]![0] === t)) continue;
        const u = pick(z, t);
        if (u !== undefined && (best === undefined || load[u]! < load[best]! || (load[u] === load[best] && u < best))) best = u;
      }
      const possible = members.some((list, z) => z !== z0 && list.some((u) => u !== t));
      if (best !== undefined) place(best, t);
      else if (possible) zoneDiversityShort++;
    }
  }

  // 3. Every ordered zone pair, each round: one fixed edge where none is yet.
  let zonePairsShort = 0;
  if (Z >= 2) {
    const covered = new Uint8Array(Z * Z);
    for (let u = 0; u < n; u++) for (const v of out[u]!) covered[zoneOf[u]! * Z + zoneOf[v]!] = 1;
    const nextTarget = new Int32Array(Z);
    for (let za = 0; za < Z; za++) {
      for (let zb = 0; zb < Z; zb++) {
        if (covered[za * Z + zb] || (za === zb && members[za]!.length < 2)) continue;
        // The target: the next member of zb in turn (by fewest probers would need another heap; turns spread as well).
        const list = members[zb]!;
        let placed = false;
        for (let tries = 0; tries < list.length && !placed; tries++) {
          const v = list[nextTarget[zb]! % list.length]!;
          nextTarget[zb] = nextTarget[zb]! + 1;
          const u = pick(za, v);
          if (u !== undefined) {
            place(u, v);
            covered[za * Z + zb] = 1;
            placed = true;
          }
        }
        if (!placed) zonePairsShort++;
      }
    }
  }

  // 4. Suspects: their whole column, capped, spread over the zones (one
  // prober from each zone in turn, each zone's members from the suspect's
  // place on the ring on), one prober per suspect in turn so a long list of
  // suspects shares what room there is.
  let suspectEdges = 0;
  let suspectProbersShort = 0;
  const position = new Map(order.map((x, p) => [x.name, p]));
  const suspectList = [...new Set(suspects)].filter((name) => position.has(name)).sort();
  if (suspectList.length > 0 && n > 1) {
    const want = Math.min(s.suspectProbersMax, n - 1);
    const state = suspectList.map((name) => {
      const t = position.get(name)!;
      // Each zone's cursor starts at its first member after the suspect on the ring.
      const cursor = members.map((list) => {
        let lo = 0;
        let hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid]! <= t) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      });
      return { t, need: Math.max(0, want - inDeg[t]!), cursor, seen: new Int32Array(Z), zone: (zoneOf[t]! + 1) % Z };
    });
    let progress = true;
    while (progress) {
      progress = false;
      for (const st of state) {
        if (st.need <= 0) continue;
        // The next zone in turn with a member that can take it.
        for (let tries = 0; tries < Z; tries++) {
          const z = st.zone;
          st.zone = (st.zone + 1) % Z;
          const list = members[z]!;
          let u: number | undefined;
          while (st.seen[z]! < list.length) {
            const c = list[(st.cursor[z]! + st.seen[z]!) % list.length]!;
            st.seen[z] = st.seen[z]! + 1;
            if (c !== st.t && load[c]! < fixedCap && !out[c]!.has(st.t)) {
              u = c;
              break;
            }
          }
          if (u === undefined) continue;
          addEdge(u, st.t);
          suspectEdges++;
          st.need--;
          progress = true;
          break;
        }
      }
    }
    for (const st of state) suspectProbersShort += Math.max(0, st.need);
  }

  let maxFixed = 0;
  const fixed = out.map((set) => {
    if (set.size > maxFixed) maxFixed = set.size;
    return Int32Array.from(set).sort();
  });
  return {
    order,
    fixed: fixed.map((a) => Array.from(a)),
    fixedCap,
    followMax: followMaxOf(k),
    stats: { backboneEdges, suspectEdges, zoneDiversityShort, zonePairsShort, suspectProbersShort, maxFixed },
  };
}
