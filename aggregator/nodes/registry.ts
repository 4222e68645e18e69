// The aggregator's view of the cluster's nodes and their agents. Without the
// Kubernetes API, a node is known because its agent said Hello; it stays known
// (so that probes towards a dead node keep failing visibly) until its agent has
// been gone for `expiryMs`. Each node has a small integer index used by the
// matrix store; indices of removed nodes are reused.
import type { ResolvConf } from '../../common/resolv-conf.js';
import type { AddressFamily, Capability } from '../../common/vocabulary.js';
import { StreamClock } from './stream-clock.js';

/** What the Kubernetes API says of a node (kubernetes/ fills it in; the core only reads it). */
export interface KubeNodeInfo {
  readonly ready: boolean;
  readonly unschedulable: boolean;
  readonly podCidrs: readonly string[];
  readonly internalIPs: readonly string[];
  readonly zone: string;
}

/** The agent pod's resolv.conf as its Hello described it. */
export interface ResolverInfo extends ResolvConf {
  readonly error: string | null;
}

export interface AgentState {
  connected: boolean;
  instanceId: string;
  version: string;
  capabilities: readonly Capability[];
  connectedSince: number | null;
  /** When the current agent instance first connected (a reconnect of the same instance keeps it). */
  instanceSince: number | null;
  disconnectedAt: number | null;
  lastReportAt: number | null;
  /** Highest report sequence stored from this instance. */
  highestSequence: number;
  /** Clock mapping of the current stream (see ../agents.ts, StreamClock). */
  clock: StreamClock;
  reports: number;
  results: number;
  /**
   * Results the agent marked as taken while its event loop was held up (busy,
   * or waiting for a CPU), left unjudged: answers whose RTT was not judged
   * (latency), timeouts not judged as loss (loss).
   */
  readonly loopDelayed: { latency: number; loss: number };
  /** The agent pod's resolv.conf as its Hello described it; null from agents without one. */
  resolver: ResolverInfo | null;
}

export interface NodeRecord {
  readonly name: string;
  readonly index: number;
  zone: string;
  podIPs: readonly string[];
  nodeIPs: readonly string[];
  responderPort: number;
  /** When the aggregator first heard of the node (ms). */
  readonly knownSince: number;
  agent: AgentState;
  /** What the Kubernetes API says of the node; null without the API (or when it does not list the node). */
  kube: KubeNodeInfo | null;
}

export interface NodeIdentity {
  readonly name: string;
  readonly zone: string;
  readonly podIPs: readonly string[];
  readonly nodeIPs: readonly string[];
  readonly responderPort: number;
}

export type NodeSetListener = () => void;

export class NodeRegistry {
  private readonly byName = new Map<string, NodeRecord>();
  private readonly byIndex: (NodeRecord | undefined)[] = [];
  private readonly freeIndices: number[] = [];
  private readonly listeners = new Set<NodeSetListener>();
  /** Bumped whenever the node set or a node's addresses change. */
  private version = 0;

  get size(): number {
    return this.byName.size;
  }
  /** Number of index slots ever used (for sweeping the matrix store). */
  get slots(): number {
    return this.byIndex.length;
  }
  get setVersion(): number {
    return this.version;
  }

  get(name: string): NodeRecord | undefined {
    return this.byName.get(name);
  }
  at(index: number): NodeRecord | undefined {
    return this.byIndex[index];
  }
  indexOf(name: string): number | undefined {
    return this.byName.get(name)?.index;
  }

  /** Nodes sorted by name: the row and column order of every matrix. */
  list(): NodeRecord[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  onChange(listener: NodeSetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds the node or updates its identity; returns the record. */
  upsert(id: NodeIdentity, now: number): NodeRecord {
    let rec = this.byName.get(id.name);
    let changed = false;
    if (!rec) {
      const index = this.freeIndices.pop() ?? this.byIndex.length;
      rec = {
        name: id.name,
        index,
        zone: id.zone,
        podIPs: id.podIPs,
        nodeIPs: id.nodeIPs,
        responderPort: id.responderPort,
        knownSince: now,
        kube: null,
        agent: {
          connected: false,
          instanceId: '',
          version: '',
          capabilities: [],
          connectedSince: null,
          instanceSince: null,
          disconnectedAt: null,
          lastReportAt: null,
          highestSequence: 0,
          clock: new StreamClock(),
          reports: 0,
          results: 0,
          loopDelayed: { latency: 0, loss: 0 },
          resolver: null,
        },
      };
      this.byName.set(id.name, rec);
      this.byIndex[index] = rec;
      changed = true;
    } else if (
      rec.zone !== id.zone ||
      rec.responderPort !== id.responderPort ||
      !sameList(rec.podIPs, id.podIPs) ||
      !sameList(rec.nodeIPs, id.nodeIPs)
    ) {
      rec.zone = id.zone;
      rec.podIPs = id.podIPs;
      rec.nodeIPs = id.nodeIPs;
      rec.responderPort = id.responderPort;
      changed = true;
    }
    if (changed) this.changed();
    return rec;
  }

  /** Removes a node; returns its index so the caller can drop its matrix cells. */
  remove(name: string): number | undefined {
    const rec = this.byName.get(name);
    if (!rec) return undefined;
    this.byName.delete(name);
    this.byIndex[rec.index] = undefined;
    this.freeIndices.push(rec.index);
    this.changed();
    return rec.index;
  }

  /** Names of nodes whose agent has been disconnected since before `cutoff`. */
  expired(cutoff: number): string[] {
    const out: string[] = [];
    for (const rec of this.byName.values()) {
      const gone = rec.agent.disconnectedAt;
      if (!rec.agent.connected && gone !== null && gone < cutoff) out.push(rec.name);
    }
    return out;
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

/** The family of a node's primary pod IP (the first, as Kubernetes orders podIPs). */
export function primaryFamily(podIPs: readonly string[]): AddressFamily {
  return podIPs[0]?.includes(':') ? 'ipv6' : 'ipv4';
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
