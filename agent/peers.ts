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
