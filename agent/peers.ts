// The agent's side of a Plan: which probes to run. Plans arrive whole, and a
// full-mesh plan lists every node, this one included (one encoding serves every
// agent): the agent takes itself out. The probe set is updated by diffing
// (after Cilium's prober), so the log and the metrics say which peers came and
// went rather than restarting everything.
import type { CidrSet } from '../common/cidr.js';
import { familyOf } from '../common/cidr.js';
import type { AddressFamily, PairKind, ProbeKind } from '../common/vocabulary.js';
import type { DnsQuestionSpec } from './probers/types.js';
import type { Peer__Output } from '../proto/load.js';

/** A peer as the Plan carries it (the wire type, read-only). */
export type PeerInfo = Readonly<Peer__Output>;

export interface ProbeSpec {
  /** Stable identity of the probe: kind/node/ip (dns: dns/server/question). */
  readonly id: string;
  readonly kind: ProbeKind;
  /** Target node; empty for dns probes, whose target is a server. */
  readonly node: string;
  readonly ip: string;
  readonly family: AddressFamily;
  readonly port: number;
  readonly dns?: DnsQuestionSpec;
}

/**
 * The peers this agent probes out of a plan's: never itself (the full-mesh
 * plan is one list of every node, the same for every agent), at most `max`
 * (--max-peers; `over` says how many were left out).
 */
export function planPeers(peers: readonly PeerInfo[], self: string, max: number): { peers: PeerInfo[]; over: number } {
  const others = peers.filter((p) => p.nodeName !== self);
  return { peers: others.length > max ? others.slice(0, max) : others, over: Math.max(0, others.length - max) };
}

export interface PeerDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export function diffPeers(before: readonly PeerInfo[], after: readonly PeerInfo[]): PeerDiff {
  const old = new Map(before.map((p) => [p.nodeName, p]));
  const added: string[] = [];
  const changed: string[] = [];
  for (const p of after) {
    const o = old.get(p.nodeName);
    if (!o) added.push(p.nodeName);
    else if (!samePeer(o, p)) changed.push(p.nodeName);
    old.delete(p.nodeName);
  }
  return { added, removed: [...old.keys()], changed };
}

function samePeer(a: PeerInfo, b: PeerInfo): boolean {
  return (
    a.zone === b.zone &&
    a.responderPort === b.responderPort &&
    a.podIps.join(',') === b.podIps.join(',') &&
    a.nodeIps.join(',') === b.nodeIps.join(',')
  );
}

export interface ProbeSetOptions {
  readonly kinds: readonly PairKind[];
  /** Kinds this agent can run (no ICMP without CAP_NET_RAW). */
  readonly available: ReadonlySet<PairKind>;
  readonly allowed: CidrSet;
  /** Families the kind's prober supports. */
  readonly families: (kind: PairKind) => readonly AddressFamily[];
}

export interface ProbeSet {
  readonly probes: readonly ProbeSpec[];
  /** Targets skipped because they are outside the allowed CIDRs (each address once). */
  readonly notAllowed: readonly string[];
  /** Probes of one round not sent for that reason (a refused address counts once per kind). */
  readonly refused: number;
  /** Probes skipped because this agent lacks the kind. */
  readonly unavailable: number;
  /** `refused` and `unavailable` by kind, for the skip counts by kind. */
  readonly refusedByKind: Readonly<Partial<Record<PairKind, number>>>;
  readonly unavailableByKind: Readonly<Partial<Record<PairKind, number>>>;
}

/** Expands peers × kinds × addresses into the probes of one round. */
export function probeSet(peers: readonly PeerInfo[], o: ProbeSetOptions): ProbeSet {
  const probes: ProbeSpec[] = [];
  const notAllowed = new Set<string>();
  let refused = 0;
  let unavailable = 0;
  const refusedByKind: Partial<Record<PairKind, number>> = {};
  const unavailableByKind: Partial<Record<PairKind, number>> = {};
  for (const peer of peers) {
    for (const kind of o.kinds) {
      const ips = kind === 'node' ? peer.nodeIps : peer.podIps;
      for (const ip of ips) {
        const family = familyOf(ip);
        if (!family || !o.families(kind).includes(family)) continue;
        if (!o.available.has(kind)) {
          unavailable++;
          unavailableByKind[kind] = (unavailableByKind[kind] ?? 0) + 1;
          continue;
        }
        if (!o.allowed.contains(ip)) {
          notAllowed.add(ip);
          refused++;
          refusedByKind[kind] = (refusedByKind[kind] ?? 0) + 1;
          continue;
        }
        probes.push({ id: `${kind}/${peer.nodeName}/${ip}`, kind, node: peer.nodeName, ip, family, port: peer.responderPort });
      }
    }
  }
  return { probes, notAllowed: [...notAllowed], refused, unavailable, refusedByKind, unavailableByKind };
}

/** A sampled plan's part for this agent (proto Plan.sampling). */
export interface SamplingSpec {
  /** Peers per round in all: fixed ones, follow-ups, and the walk's. */
  readonly peersPerRound: number;
  /** Positions in the plan's peers probed every round. */
  readonly fixed: readonly number[];
  /** Peers whose last probe failed, re-probed every round until they answer: at most this many. */
  readonly followMax: number;
}

/**
 * How an agent follows a sampled plan: the plan's peers are every node in ring
 * order; each round it probes its fixed peers, the peers it is following up,
 * and the next ones of its walk round the ring (starting after itself),
 * peersPerRound in all. The walk's place is the next peer's name, so a new
 * plan (a node joined or left, other fixed peers) continues where the last one
 * stopped rather than starting over: every peer is reached within one turn of
 * the ring whatever the churn. Follow-ups: a walk peer whose probe failed is
 * probed again every round until a round where every kind answers, so a
 * chance loss clears at the next round and a real failure stays fresh, as in
 * the full mesh (at most followMax of them, the longest followed first).
 */
export class PeerWalk {
  private fixed: readonly PeerInfo[] = [];
  private walk: readonly PeerInfo[] = [];
  private walkByName: ReadonlyMap<string, PeerInfo> = new Map();
  private spec: SamplingSpec = { peersPerRound: 0, fixed: [], followMax: 0 };
  /** Index in `walk` of the next peer. */
  private cursor = 0;
  /** Walk peers being followed up, oldest first (Map keeps insertion order). */
  private readonly failing = new Map<string, true>();

  constructor(private readonly self: string) {}

  /** Peers being followed up now. */
  get following(): number {
    return this.failing.size;
  }

  /** A plan's directory and this agent's part of it. */
  setPlan(peers: readonly PeerInfo[], spec: SamplingSpec): void {
    const next = this.walk[this.cursor]?.nodeName;
    const oldWalk = this.walk;
    const oldCursor = this.cursor;
    this.spec = spec;
    const fixedSet = new Set<number>();
    for (const p of spec.fixed) if (p >= 0 && p < peers.length && peers[p]!.nodeName !== this.self) fixedSet.add(p);
    this.fixed = [...fixedSet].sort((a, b) => a - b).map((p) => peers[p]!);
    // The walk: the ring from the peer after this node round to the one before it, fixed peers left out.
    const at = peers.findIndex((p) => p.nodeName === this.self); // -1: not listed, the walk starts at the first
    const walk: PeerInfo[] = [];
    for (let i = 1; i <= peers.length; i++) {
      const p = (at + i) % peers.length;
      if (fixedSet.has(p) || peers[p]!.nodeName === this.self) continue;
      walk.push(peers[p]!);
    }
    this.walk = walk;
    this.walkByName = new Map(walk.map((p) => [p.nodeName, p]));
    // Continue at the peer that was next, or at the first one after it (in the old walk) still in the new one.
    const place = new Map(walk.map((p, i) => [p.nodeName, i]));
    this.cursor = 0;
    if (next !== undefined) {
      for (let i = 0; i < oldWalk.length; i++) {
        const found = place.get(oldWalk[(oldCursor + i) % oldWalk.length]!.nodeName);
        if (found !== undefined) {
          this.cursor = found;
          break;
        }
      }
    }
    for (const name of this.failing.keys()) if (!this.walkByName.has(name)) this.failing.delete(name);
  }

  /** The peers of the next round; moves the walk on. */
  next(): PeerInfo[] {
    const { peersPerRound, followMax } = this.spec;
    const round: PeerInfo[] = [...this.fixed];
    const taken = new Set<string>();
    if (followMax > 0 && this.failing.size > 0) {
      for (const name of this.failing.keys()) {
        if (taken.size >= followMax || round.length >= peersPerRound) break;
        const p = this.walkByName.get(name);
        if (!p) continue;
        round.push(p);
        taken.add(name);
      }
    }
    const w = this.walk.length;
    let left = Math.max(0, peersPerRound - round.length);
    // One turn of the ring at most; peers followed up this round are passed (they are probed anyway).
    for (let seen = 0; left > 0 && seen < w; seen++) {
      const p = this.walk[this.cursor]!;
      this.cursor = (this.cursor + 1) % w;
      if (taken.has(p.nodeName)) continue;
      round.push(p);
      left--;
    }
    return round;
  }

  /** A round's verdict on a peer: failed (any kind) starts or keeps a follow-up, all answered ends it. */
  observe(node: string, ok: boolean): void {
    if (ok) this.failing.delete(node);
    else if (!this.failing.has(node) && this.walkByName.has(node)) this.failing.set(node, true);
  }
}
