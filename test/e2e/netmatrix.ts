// Runs netmatrix for real inside a lab: the aggregator in the lab's aggregator
// namespace, one agent per node namespace, all from the built dist/. The test
// process reaches the API and the agents' /metrics through the lab's Unix-socket
// forwarders (the root namespace can't reach the lab by design).
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_CIDR, LAB_CIDR6 } from './lab/addressing.js';
import { spawnLogged, stopChild } from './lab/child-process.js';
import { getVia } from './lab/forwarded-http.js';
import type { Lab, LabNode } from './lab/lab.js';
import { labDir } from './lab/registry.js';

export interface Cell {
  readonly status: string;
  readonly lossRatio: number | null;
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
  readonly lastOutcome: string | null;
  readonly samples: number;
}
export interface Matrix {
  readonly nodes: string[];
  readonly cells: (Cell | null)[][];
}

/** One cell of GET /api/v1/dns: what one node saw of one DNS server. */
export interface DnsCell {
  readonly status: 'ok' | 'degraded' | 'failing' | 'unknown';
  readonly reason: string | null;
  readonly errorRatio: number | null;
  readonly errors: Record<string, number>;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly lastOutcome: string | null;
  readonly since: string | null;
  readonly samples: number;
}
export interface DnsView {
  readonly generatedAt: string;
  readonly nodes: string[];
  readonly servers: { name: string; role: string; address: string; port: number }[];
  /** Row = node, column = server. */
  readonly cells: (DnsCell | null)[][];
}
/** One node of GET /api/v1/cni (the fields the e2e tests read). */
export interface CniNodeView {
  readonly node: string;
  readonly state: 'unreported' | 'stale' | 'invalid' | 'majority' | 'drifted' | 'split';
  readonly stale: boolean;
  readonly file: string | null;
  readonly network: string | null;
  readonly hash: string | null;
  readonly plugins: string[];
  readonly binaries: { plugin: string; size: number; sha256: string | null; error: string | null }[];
  readonly pools: { network: string; range: string; size: number; used: number; ratio: number | null; nearExhaustion: boolean }[];
  readonly podCidrs: string[];
  readonly files: { name: string; valid: boolean; error: string | null }[];
  readonly invalidBeforeEffective: string[];
  readonly overlapCount: number;
  readonly errors: string[];
  readonly group: number | null;
}
/** GET /api/v1/cni: every node's effective CNI config, drift groups, plugin binaries, pools. */
export interface CniView {
  readonly generatedAt: string;
  readonly poolThreshold: number;
  readonly summary: {
    nodes: number;
    reported: number;
    stale: number;
    invalid: number;
    compared: number;
    majorityHash: string | null;
    drifted: number;
    skewedPlugins: number;
    poolsNearExhaustion: number;
    overlaps: number;
  };
  readonly nodes: CniNodeView[];
  readonly groups: { hash: string; nodes: string[]; majority: boolean; files: string[]; comparedWith: number | null; differingKeys: string[]; moreDifferences: number }[];
  readonly plugins: { plugin: string; groups: { sha256: string | null; size: number | null; nodes: string[] }[]; majoritySha256: string | null; skewed: boolean }[];
  readonly overlaps: unknown[];
}
/** GET /api/v1/cni/{node}: one node's config against the reference (the majority's). */
export interface CniNodeDetailView {
  readonly node: CniNodeView;
  readonly config: unknown;
  readonly perNode: Record<string, string>;
  readonly reference: { group: number; hash: string; majority: boolean; nodes: string[]; config: unknown } | null;
  readonly diff: string[];
  readonly changes: { path: string; op: 'changed' | 'added' | 'removed'; before?: unknown; after?: unknown }[];
  readonly moreChanges: number;
}
export interface ApiFinding {
  readonly id: string;
  readonly kind: string;
  readonly severity: string;
  readonly state: string;
  readonly labels: Record<string, string>;
  readonly summary: string;
  readonly description: string;
}

/** Labels every finding carries; the rest say what it is about (node, src/dst, kind, ...). */
const COMMON_LABELS = new Set(['alertname', 'severity', 'cluster']);

/** What a finding is about: its labels without alertname, severity and cluster. */
export function subjectOf(f: ApiFinding): Record<string, string> {
  return Object.fromEntries(Object.entries(f.labels).filter(([k]) => !COMMON_LABELS.has(k)));
}

/** `PacketLoss{node="node-4"}`: a finding's kind and subject, as an alert reads. */
export function findingName(f: ApiFinding): string {
  return `${f.kind}{${Object.entries(subjectOf(f)).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** One finding as seen over a period of polls. */
export interface SeenFinding {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly severity: string;
  readonly subject: Record<string, string>;
  /** ms after the log's start when it was first listed (pending or firing), and first listed firing. */
  readonly firstSeenMs: number;
  firstFiringMs: number | null;
  lastSeenMs: number;
  polls: number;
  summary: string;
}

/**
 * Every finding GET /api/v1/findings?state=all listed over a period, by id,
 * with when it was first seen, first seen firing, and last seen (ms from
 * `start`): what fired or was pending during a fault, and when.
 */
export class FindingsLog {
  private readonly seen = new Map<string, SeenFinding>();
  polls = 0;

  constructor(readonly start: number = Date.now()) {}

  add(list: readonly ApiFinding[], at: number = Date.now()): void {
    this.polls++;
    const ms = at - this.start;
    for (const f of list) {
      const s = this.seen.get(f.id);
      if (s) {
        s.lastSeenMs = ms;
        s.polls++;
        s.summary = f.summary;
        if (f.state === 'firing') s.firstFiringMs ??= ms;
      } else {
        this.seen.set(f.id, {
          id: f.id,
          name: findingName(f),
          kind: f.kind,
          severity: f.severity,
          subject: subjectOf(f),
          firstSeenMs: ms,
          firstFiringMs: f.state === 'firing' ? ms : null,
          lastSeenMs: ms,
          polls: 1,
          summary: f.summary,
        });
      }
    }
  }

  /** Polls once and adds what was listed. */
  async poll(nm: Netmatrix): Promise<ApiFinding[]> {
    const list = await nm.findings('all');
    this.add(list);
    return list;
  }

  list(keep: (f: SeenFinding) => boolean = () => true): SeenFinding[] {
    return [...this.seen.values()].filter(keep).sort((a, b) => a.firstSeenMs - b.firstSeenMs);
  }

  /** `NodeUnreachable{node="node-3"} critical: pending at +2.1s, firing at +6.3s, last seen +19.8s (18 polls)`, one per line. */
  describe(keep?: (f: SeenFinding) => boolean): string {
    const s = (ms: number) => `+${(ms / 1000).toFixed(1)}s`;
    const lines = this.list(keep).map(
      (f) =>
        `${f.name} ${f.severity}: ${f.firstFiringMs === f.firstSeenMs ? `firing at ${s(f.firstSeenMs)}` : `pending at ${s(f.firstSeenMs)}${f.firstFiringMs === null ? ', never firing' : `, firing at ${s(f.firstFiringMs)}`}`}, last seen ${s(f.lastSeenMs)} (${f.polls} of ${this.polls} polls): ${f.summary}`,
    );
    return lines.length ? lines.join('\n') : 'none';
  }
}

const GRPC_PORT = 9400;
const HTTP_PORT = 8080;
/** The agents' --listen port: their responder (TCP accept and GET /healthz, what peers probe) and /metrics. */
export const AGENT_PORT = 9402;

export interface NetmatrixOptions {
  /** Extra aggregator flags, e.g. { 'probe-interval': '500ms' }; DNS probes are off (`dns-servers: none`) unless given here. */
  readonly aggregator?: Record<string, string>;
  readonly agent?: Record<string, string>;
  /** Zone of each node (default: all in "lab"). */
  readonly zone?: (node: string) => string;
  /**
   * The agents' --resolv-conf. Default: a pod's resolv.conf for the lab (nameserver
   * = the lab's DNS service IP, or dns-a's IP in a lab without the service;
   * cluster.local search path, ndots:5), written to the
   * lab's directory, so "service=auto" finds the lab's DNS and not the host's.
   * false: no --resolv-conf flag (the agent's own default). An `agent` flag wins.
   */
  readonly resolvConf?: string | false;
  /** Per-node CNI dirs; without it the agents run with --cni off. */
  readonly cniDirs?: (node: string) => { readonly confDir: string; readonly binDir: string; readonly ipamDir: string };
}

function cniFlags(d: { readonly confDir: string; readonly binDir: string; readonly ipamDir: string }): Record<string, string> {
  return { cni: 'on', 'cni-conf-dir': d.confDir, 'cni-bin-dir': d.binDir, 'ipam-dir': d.ipamDir };
}

/** A pod's resolv.conf in a lab: the DNS service IP (dns-a without one) and the cluster.local search path. */
export function labResolvConf(lab: Lab): string {
  return `nameserver ${lab.dnsService ? lab.dnsServiceIP : lab.dnsIP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`;
}

export { sampleValue as metricValue } from './lab/forwarded-http.js';

export class Netmatrix {
  private aggregatorProc: ChildProcess | undefined;
  private readonly agents = new Map<string, ChildProcess>();
  private api: { socketPath: string; close: () => void } | undefined;
  private readonly agentApis = new Map<string, { socketPath: string; close: () => void }>();
  readonly logs: string[] = [];

  constructor(
    readonly lab: Lab,
    private readonly o: NetmatrixOptions = {},
  ) {}

  get aggregatorAddress(): string {
    return `${this.lab.aggregatorIP}:${GRPC_PORT}`;
  }

  private resolvConfPath(): string | undefined {
    if (this.o.resolvConf === false) return undefined;
    if (this.o.resolvConf !== undefined) return this.o.resolvConf;
    const path = join(labDir(this.lab.prefix), 'resolv.conf');
    writeFileSync(path, labResolvConf(this.lab));
    return path;
  }

  async start(): Promise<this> {
    await this.startAggregator();
    for (const n of this.lab.nodes) this.startAgent(n.name);
    return this;
  }

  async startAggregator(): Promise<void> {
    // No DNS probes unless the test names servers: the lab's DNS answers only what a DNS test configured.
    const flags = { 'grpc-listen': this.aggregatorAddress, 'http-listen': `${this.lab.aggregatorIP}:${HTTP_PORT}`, 'log-level': 'warn', 'dns-servers': 'none', 'http-rate-limit': '1000000', kubernetes: 'off', ...this.o.aggregator };
    this.aggregatorProc = spawnLogged(this.lab, this.lab.aggregatorNs, 'dist/aggregator/main.js', flags, {}, 'aggregator', this.logs);
    this.api ??= await this.lab.forward(this.lab.aggregatorNs, this.lab.aggregatorIP, HTTP_PORT);
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await getVia(this.api.socketPath, '/readyz', 1_000)).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`aggregator not ready within 10s; its log: ${this.logs.filter((l) => l.startsWith('[aggregator]')).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stopAggregator(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopChild(this.aggregatorProc, signal);
    this.aggregatorProc = undefined;
  }

  startAgent(name: string): void {
    const n = this.lab.node(name);
    // Every pod and node IP, IPv4 first, as status.podIPs gives them (one of each in an IPv4-only lab).
    const env = { NODE_NAME: n.name, POD_IP: n.podIPs.join(','), NODE_IP: n.nodeIPs.join(','), NETMATRIX_ZONE: this.o.zone?.(n.name) ?? 'lab' };
    const resolvConf = this.resolvConfPath();
    const flags = {
      aggregator: this.aggregatorAddress,
      listen: n.podIPs.map((ip) => (ip.includes(':') ? `[${ip}]:${AGENT_PORT}` : `${ip}:${AGENT_PORT}`)).join(','),
      'allowed-cidrs': this.lab.ipv6 ? `${LAB_CIDR},${LAB_CIDR6}` : LAB_CIDR,
      'reconnect-max': '1s',
      'log-level': 'warn',
      ...(resolvConf ? { 'resolv-conf': resolvConf } : {}),
      // The host's CNI dirs are not a lab node's: CNI tests pass per-node dirs (cniDirs).
      ...(this.o.cniDirs ? cniFlags(this.o.cniDirs(name)) : { cni: 'off' }),
      ...this.o.agent,
    };
    this.agents.set(name, spawnLogged(this.lab, n.ns, 'dist/agent/main.js', flags, env, name, this.logs));
  }

  async stopAgent(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopChild(this.agents.get(name), signal);
    this.agents.delete(name);
  }

  async get<T>(path: string): Promise<T> {
    if (!this.api) throw new Error('aggregator not started');
    const r = await getVia(this.api.socketPath, path);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body) as T;
  }

  matrix(kind: string): Promise<Matrix> {
    return this.get<Matrix>(`/api/v1/matrix?kind=${kind}`);
  }

  /** GET /api/v1/dns: node × DNS server. */
  dns(): Promise<DnsView> {
    return this.get<DnsView>('/api/v1/dns');
  }

  /** GET /api/v1/cni: CNI across nodes. */
  cni(): Promise<CniView> {
    return this.get<CniView>('/api/v1/cni');
  }

  /** GET /api/v1/cni/{node}: one node's CNI config and its diff against the majority. */
  cniNode(name: string): Promise<CniNodeDetailView> {
    return this.get<CniNodeDetailView>(`/api/v1/cni/${encodeURIComponent(name)}`);
  }

  /** GET /api/v1/findings: the firing ones, or `state=all` / `pending`. */
  async findings(state: 'firing' | 'pending' | 'all' = 'firing'): Promise<ApiFinding[]> {
    return (await this.get<{ findings: ApiFinding[] }>(`/api/v1/findings?state=${state}`)).findings;
  }

  async aggregatorMetrics(): Promise<string> {
    if (!this.api) throw new Error('aggregator not started');
    return (await getVia(this.api.socketPath, '/metrics')).body;
  }

  async agentMetrics(name: string): Promise<string> {
    const n: LabNode = this.lab.node(name);
    let fwd = this.agentApis.get(name);
    if (!fwd) {
      fwd = await this.lab.forward(n.ns, n.podIP, AGENT_PORT);
      this.agentApis.set(name, fwd);
    }
    return (await getVia(fwd.socketPath, '/metrics')).body;
  }

  /** Stops every process this started (the lab's down() would too). */
  async stop(): Promise<void> {
    for (const name of [...this.agents.keys()]) await this.stopAgent(name, 'SIGTERM');
    await this.stopAggregator();
    this.api?.close();
    for (const f of this.agentApis.values()) f.close();
  }
}

/** Every off-diagonal cell of `m`, with names. */
export function cellsOf(m: Matrix): { src: string; dst: string; cell: Cell }[] {
  const out: { src: string; dst: string; cell: Cell }[] = [];
  m.cells.forEach((row, s) => row.forEach((c, d) => c && s !== d && out.push({ src: m.nodes[s]!, dst: m.nodes[d]!, cell: c })));
  return out;
}

export function describe(m: Matrix): string {
  return cellsOf(m)
    .filter((x) => x.cell.status !== 'ok')
    .map((x) => `${x.src}→${x.dst}:${x.cell.status}/${x.cell.lastOutcome}(loss ${x.cell.lossRatio?.toFixed(2)} of ${x.cell.samples}, p50 ${x.cell.rttP50Ms} ms)`)
    .join(' ') || 'all ok';
}
