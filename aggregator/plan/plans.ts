// Turns the node set and the probe settings into each agent's Plan, and tells
// when a Plan has changed so that an agent is only sent a new one then.
import type { PairKind } from '../../common/vocabulary.js';
import type { DnsQuestion, DnsServerSpec } from '../dns/servers.js';
import type { NodeRecord, NodeRegistry } from '../nodes/registry.js';
import type { Planner } from './planner.js';

export interface PlanPeer {
  readonly nodeName: string;
  readonly podIps: readonly string[];
  readonly nodeIps: readonly string[];
  readonly zone: string;
  readonly responderPort: number;
}

export interface PlanContent {
  readonly epoch: number;
  readonly peers: readonly PlanPeer[];
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly dns: DnsPlan;
}

/** The DNS section: the same for every agent. */
export interface DnsPlan {
  readonly servers: readonly DnsServerSpec[];
  readonly questions: readonly DnsQuestion[];
  readonly nxZone: string;
  /** Ask each server the first question over TCP too, every round. */
  readonly tcpCheck: boolean;
}

export const NO_DNS: DnsPlan = Object.freeze({ servers: [], questions: [], nxZone: '', tcpCheck: false });

export interface ProbeSettings {
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The DNS section, or a function giving the current one (it changes with the DNS EndpointSlices); a new object is a new plan. */
  readonly dns?: DnsPlan | (() => DnsPlan);
}

/** True when two plans would make an agent do anything differently (the epoch alone does not). */
export function samePlan(a: PlanContent | undefined, b: PlanContent): boolean {
  if (!a) return false;
  return (
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    sameDns(a.dns, b.dns) &&
    a.kinds.length === b.kinds.length &&
    a.kinds.every((k, i) => k === b.kinds[i]) &&
    a.peers.length === b.peers.length &&
    a.peers.every((p, i) => samePeer(p, b.peers[i]!))
  );
}

function sameDns(a: DnsPlan, b: DnsPlan): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function samePeer(a: PlanPeer, b: PlanPeer): boolean {
  return (
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.responderPort === b.responderPort &&
    a.podIps.length === b.podIps.length &&
    a.podIps.every((ip, i) => ip === b.podIps[i]) &&
    a.nodeIps.length === b.nodeIps.length &&
    a.nodeIps.every((ip, i) => ip === b.nodeIps[i])
  );
}

export class PlanBook {
  private epoch = 0;
  private epochForVersion = -1;
  private epochForDns: DnsPlan | undefined;

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly planner: Planner,
    private readonly settings: ProbeSettings,
    private readonly now: () => number,
  ) {}

  /**
   * The epoch moves forward whenever the node set changed. It is taken from the
   * wall clock (and never goes back), so a restarted aggregator does not hand
   * out epochs lower than the ones its agents already saw.
   */
  currentEpoch(): number {
    const dns = this.dns();
    if (this.epochForVersion !== this.nodes.setVersion || this.epochForDns !== dns) {
      this.epoch = Math.max(this.epoch + 1, Math.floor(this.now()));
      this.epochForVersion = this.nodes.setVersion;
      this.epochForDns = dns;
    }
    return this.epoch;
  }

  private dns(): DnsPlan {
    const d = this.settings.dns;
    return typeof d === 'function' ? d() : (d ?? NO_DNS);
  }

  planFor(self: NodeRecord): PlanContent {
    const peers = this.planner.peersFor(self, this.nodes.list()).map(toPeer);
    return {
      epoch: this.currentEpoch(),
      peers,
      kinds: this.settings.kinds,
      intervalMs: this.settings.intervalMs,
      timeoutMs: this.settings.timeoutMs,
      dns: this.dns(),
    };
  }
}

function toPeer(n: NodeRecord): PlanPeer {
  return { nodeName: n.name, podIps: n.podIPs, nodeIps: n.nodeIPs, zone: n.zone, responderPort: n.responderPort };
}
