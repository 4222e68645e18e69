// DNS results, per node × server: a rolling window of outcomes and latencies
// (the matrix store's cells, with the server as the column), the last answer
// each server gave each node for each name (to compare replicas), and the last
// "must not exist" check. Only servers of the configuration are kept: a result
// naming another server is rejected and counted, so an agent can't grow this.
import { addressFamilies, outcomes, type AddressFamily, type DnsRole, type Outcome } from '../../common/vocabulary.js';
import { MatrixStore, type CellView, type Sample, type StatusThresholds } from '../matrix/store.js';
import type { DnsServerSpec } from './servers.js';

export interface DnsResultInput {
  readonly server: string;
  readonly name: string;
  readonly type: 'A' | 'AAAA';
  readonly nxCheck: boolean;
  /** The round's TCP check (the first question over TCP): kept apart from the cell, which is UDP. */
  readonly tcpCheck?: boolean;
  readonly answers: readonly string[];
  readonly rcode: string;
  readonly ip: string;
  readonly family: AddressFamily;
  readonly outcome: Outcome;
  readonly rttUs: number;
  readonly at: number;
  /** Its agent marked it as taken while its event loop was held up: an answer's latency is not judged, a timeout not at all. */
  readonly loopDelayed?: boolean;
}

export interface DnsAnswer {
  readonly answers: readonly string[];
  readonly at: number;
}

/** The last nx or TCP check of one node towards one server. */
export interface NxCheck {
  readonly outcome: Outcome;
  readonly rcode: string;
  readonly at: number;
  /** When the current run of this outcome began. */
  readonly since: number;
}

export type DnsRecordListener = (server: DnsServerSpec, r: DnsResultInput) => void;
/** Servers that left (or moved) and servers that came, after a setServers that changed something. */
export type DnsServersListener = (removed: readonly DnsServerSpec[], added: readonly DnsServerSpec[]) => void;

export interface DnsStoreOptions {
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly thresholds: StatusThresholds;
  /** Questions asked per round (each is one sample of the cell). */
  readonly questionsPerRound: number;
  readonly lossWindowMs?: number;
  readonly toWall?: (mono: number) => number;
}

const KIND = 0; // the matrix store's kind dimension is not used here

export class DnsStore {
  private readonly cells: MatrixStore;
  /** Column (slot) of each server; a removed server's slot is freed and reused. */
  private readonly slots: (DnsServerSpec | undefined)[] = [];
  private readonly byName = new Map<string, number>();
  private version = 0;
  /** Per node index: `${server}\n${name}\n${type}` → last ok answer. */
  private readonly answers: (Map<string, DnsAnswer> | undefined)[] = [];
  /** Per node index: server index → last nx check. */
  private readonly nx: (Map<number, NxCheck> | undefined)[] = [];
  /** Per node index: server index → last TCP check. */
  private readonly tcp: (Map<number, NxCheck> | undefined)[] = [];
  /** Per node index: server index → address last probed (an "auto" service differs per node). */
  private readonly addresses: (Map<number, { ip: string; family: AddressFamily }> | undefined)[] = [];
  private readonly listeners = new Set<DnsRecordListener>();
  private readonly serverListeners = new Set<DnsServersListener>();
  readonly stats = { results: 0, rejectedUnknownServer: 0 };

  constructor(
    servers: readonly DnsServerSpec[],
    readonly options: DnsStoreOptions,
    now: number,
  ) {
    // Several samples per round: size the ring so the window still fits.
    this.cells = new MatrixStore(
      {
        windowMs: options.windowMs,
        intervalMs: options.intervalMs / Math.max(1, options.questionsPerRound),
        thresholds: options.thresholds,
        ...(options.lossWindowMs !== undefined ? { lossWindowMs: options.lossWindowMs } : {}),
        ...(options.toWall ? { toWall: options.toWall } : {}),
      },
      now,
    );
    this.setServers(servers);
  }

  /** The servers, in column order: service first, then NodeLocal, then replicas, each by name. */
  get servers(): readonly DnsServerSpec[] {
    return this.columns().map((c) => c.spec);
  }

  /** Servers with their storage slot (the `dst` of view/samples/nxCheck/address). */
  columns(): { readonly spec: DnsServerSpec; readonly slot: number }[] {
    const order = { service: 0, nodelocal: 1, replica: 2 } as const;
    return this.slots
      .flatMap((spec, slot) => (spec ? [{ spec, slot }] : []))
      .sort((a, b) => order[a.spec.role] - order[b.spec.role] || (a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0));
  }

  /** Bumped whenever the server set changes (plans carry it). */
  get serverVersion(): number {
    return this.version;
  }

  /**
   * Replaces the server set (the Kubernetes API found CoreDNS endpoints come
   * and go). A server that stays with the same address keeps its history; one
   * that leaves or moves loses its column. Returns whether anything changed.
   */
  setServers(next: readonly DnsServerSpec[]): boolean {
    const wanted = new Map(next.map((s) => [s.name, s]));
    const removed: DnsServerSpec[] = [];
    const added: DnsServerSpec[] = [];
    this.slots.forEach((spec, slot) => {
      if (!spec) return;
      const w = wanted.get(spec.name);
      if (w && w.address === spec.address && w.port === spec.port && w.role === spec.role) return;
      this.cells.removeColumn(slot);
      for (const m of [...this.nx, ...this.tcp, ...this.addresses]) m?.delete(slot);
      for (const m of this.answers) if (m) for (const k of [...m.keys()]) if (k.startsWith(`${spec.name}\n`)) m.delete(k);
      this.slots[slot] = undefined;
      this.byName.delete(spec.name);
      removed.push(spec);
    });
    for (const s of next) {
      if (this.byName.has(s.name)) continue;
      let slot = this.slots.indexOf(undefined);
      if (slot < 0) slot = this.slots.length;
      this.slots[slot] = s;
      this.byName.set(s.name, slot);
      added.push(s);
    }
    if (removed.length + added.length === 0) return false;
    this.version++;
    for (const l of this.serverListeners) l(removed, added);
    return true;
  }

  /** Called after every change of the server set (the metrics drop the series of servers that left). */
  onServersChanged(listener: DnsServersListener): () => void {
    this.serverListeners.add(listener);
    return () => this.serverListeners.delete(listener);
  }

  serverIndex(name: string): number | undefined {
    return this.byName.get(name);
  }

  onRecord(listener: DnsRecordListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stores one result from node `src`; false when it names a server this aggregator does not plan. */
  record(src: number, r: DnsResultInput): boolean {
    const dst = this.byName.get(r.server);
    if (dst === undefined) {
      this.stats.rejectedUnknownServer++;
      return false;
    }
    // A timeout its agent's stalled loop may have made: not judged, nowhere (docs/architecture.md, "Event-loop delay").
    if (r.loopDelayed && r.outcome === 'timeout') return true;
    this.stats.results++;
    const server = this.slots[dst]!;
    (this.addresses[src] ??= new Map()).set(dst, { ip: r.ip, family: r.family });
    if (r.nxCheck || r.tcpCheck) {
      const map = ((r.nxCheck ? this.nx : this.tcp)[src] ??= new Map());
      const prev = map.get(dst);
      if (!prev || r.at >= prev.at) {
        map.set(dst, { outcome: r.outcome, rcode: r.rcode, at: r.at, since: prev && prev.outcome === r.outcome ? prev.since : r.at });
      }
    } else {
      this.cells.record(src, dst, KIND, addressFamilies.index(r.family), outcomes.index(r.outcome), r.rttUs, r.at, false, r.loopDelayed === true);
      if (r.outcome === 'ok') {
        const map = (this.answers[src] ??= new Map());
        const key = answerKey(r.server, r.name, r.type);
        const prev = map.get(key);
        if (!prev || r.at >= prev.at) map.set(key, { answers: [...r.answers].sort(), at: r.at });
      }
    }
    for (const l of this.listeners) l(server, r);
    return true;
  }

  /** The address node `src` last asked server `dst` at, or undefined. */
  address(src: number, dst: number): { ip: string; family: AddressFamily } | undefined {
    return this.addresses[src]?.get(dst);
  }

  view(src: number, dst: number, now: number): CellView | undefined {
    const a = this.addresses[src]?.get(dst);
    if (!a) return undefined;
    return this.cells.view(src, dst, KIND, addressFamilies.index(a.family), now);
  }

  samples(src: number, dst: number, _now?: number): Sample[] {
    const a = this.addresses[src]?.get(dst);
    if (!a) return [];
    return this.cells.samples(src, dst, KIND, addressFamilies.index(a.family));
  }

  answer(src: number, server: string, name: string, type: 'A' | 'AAAA'): DnsAnswer | undefined {
    return this.answers[src]?.get(answerKey(server, name, type));
  }

  nxCheck(src: number, dst: number): NxCheck | undefined {
    return this.nx[src]?.get(dst);
  }

  tcpCheck(src: number, dst: number): NxCheck | undefined {
    return this.tcp[src]?.get(dst);
  }

  /** Forgets node `n` (it left the cluster; its index may be reused). */
  removeNode(n: number): void {
    // Only the node's row: the columns are servers, not nodes.
    this.cells.removeNode(n, 0);
    this.answers[n] = undefined;
    this.nx[n] = undefined;
    this.tcp[n] = undefined;
    this.addresses[n] = undefined;
  }

  roleOf(dst: number): DnsRole | undefined {
    return this.slots[dst]?.role;
  }
}

function answerKey(server: string, name: string, type: string): string {
  return `${server}\n${name}\n${type}`;
}
