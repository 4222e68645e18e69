// The plan agents are sent: the planner's peers plus the probe settings and the
// DNS section, under an epoch. The epoch changes exactly when an input changes,
// and that is told by version counters and identities (the registry's
// setVersion, a settings counter, the DNS section's object), never by comparing
// plans: so "has the plan changed?" costs O(1), and with a shared planner the
// whole plan is built once per epoch, not once per agent. The epoch itself is a
// fingerprint of those inputs, so replicas that see the same inputs send the
// same epoch, whenever they started (docs/architecture.md "High availability").
import { createHash } from 'node:crypto';
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
  /** With a shared planner: every node, the receiving agent included (it skips itself). */
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

export class PlanBook {
  private epoch = 0;
  private settingsVersion = 0;
  // The inputs the current epoch was taken for.
  private seenNodes = -1;
  private seenSettings = -1;
  private seenDns: DnsPlan | undefined;
  private shared: PlanContent | undefined;
  private listed: { version: number; nodes: readonly NodeRecord[] } | undefined;

  constructor(
    private readonly nodes: NodeRegistry,
    readonly planner: Planner,
    private settings: ProbeSettings,
    private readonly now: () => number,
  ) {}

  /** Whether every agent gets the same plan (sharedPlan), or each its own (planFor). */
  get isShared(): boolean {
    return this.planner.scope === 'shared';
  }

  /** New probe settings (kinds, interval, timeout, DNS): a new object is a new epoch. */
  setSettings(settings: ProbeSettings): void {
    if (settings === this.settings) return;
    this.settings = settings;
    this.settingsVersion++;
  }

  /**
   * The epoch changes whenever the node set (or a node's addresses, zone or
   * port), the settings or the DNS section changed, and only then. It is the
   * fingerprint of those inputs (planEpoch), not a time: a replica that started
   * later, or restarted, sends the epoch the others send for the same inputs.
   */
  currentEpoch(): number {
    const dns = this.dns();
    if (this.seenNodes !== this.nodes.setVersion || this.seenSettings !== this.settingsVersion || this.seenDns !== dns) {
      this.epoch = planEpoch(this.list(), this.settings, dns);
      this.seenNodes = this.nodes.setVersion;
      this.seenSettings = this.settingsVersion;
      this.seenDns = dns;
    }
    return this.epoch;
  }

  /** The plan every agent gets, one object per epoch; undefined with a per-agent planner. */
  sharedPlan(): PlanContent | undefined {
    const planner = this.planner;
    if (planner.scope !== 'shared') return undefined;
    const epoch = this.currentEpoch();
    if (this.shared?.epoch !== epoch) this.shared = this.content(epoch, planner.peers(this.list(), epoch));
    return this.shared;
  }

  /** The plan `self` is sent: the shared one, or its own peers. */
  planFor(self: NodeRecord): PlanContent {
    const planner = this.planner;
    if (planner.scope === 'shared') return this.sharedPlan()!;
    const epoch = this.currentEpoch();
    return this.content(epoch, planner.peersFor(self, this.list(), epoch));
  }

  private content(epoch: number, peers: readonly NodeRecord[]): PlanContent {
    const s = this.settings;
    return Object.freeze({ epoch, peers: peers.map(toPeer), kinds: s.kinds, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs, dns: this.dns() });
  }

  /** The registry's sorted list, once per node-set version (a per-agent planner asks N times per epoch). */
  private list(): readonly NodeRecord[] {
    const version = this.nodes.setVersion;
    if (this.listed?.version !== version) this.listed = { version, nodes: this.nodes.list() };
    return this.listed.nodes;
  }

  private dns(): DnsPlan {
    const d = this.settings.dns;
    return typeof d === 'function' ? d() : (d ?? NO_DNS);
  }
}

function toPeer(n: NodeRecord): PlanPeer {
  return { nodeName: n.name, podIps: n.podIPs, nodeIps: n.nodeIPs, zone: n.zone, responderPort: n.responderPort };
}

/**
 * The epoch of a plan's inputs: 52 bits of the SHA-256 of the node list (in the
 * registry's name order: name, pod IPs, node IPs, zone, responder port), the
 * probe settings and the DNS section, never 0 (proto3's unset). The same inputs
 * give the same epoch on every replica and after a restart; other inputs give
 * another (a collision, 2^-52 per change, would leave a change unpushed until
 * the next). An input added to the plan must be added here too. An agent with
 * several replicas follows the highest epoch: while replicas disagree (one has
 * not seen a change yet), every agent follows the same one of them.
 */
export function planEpoch(nodes: readonly NodeRecord[], settings: ProbeSettings, dns: DnsPlan): number {
  const h = createHash('sha256');
  h.update(JSON.stringify([settings.kinds, settings.intervalMs, settings.timeoutMs, dns.servers, dns.questions, dns.nxZone, dns.tcpCheck]));
  for (const n of nodes) h.update(JSON.stringify([n.name, n.podIPs, n.nodeIPs, n.zone, n.responderPort]));
  const epoch = parseInt(h.digest('hex').slice(0, 13), 16);
  return epoch === 0 ? 1 : epoch;
}
