// Runs the real netmatrix processes (from dist/, built by `npm run build`)
// inside a namespace lab for the lab benchmarks: the aggregator in the lab's
// aggregator namespace, agents in node namespaces, each with its own flags (a
// benchmark measures one agent and keeps the others quiet). This process reaches
// the API and the agents' /metrics through the lab's Unix-socket forwarders, on
// keep-alive connections so that polling every 50 ms costs no connection set-up.
import type { ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../test/e2e/lab/lab.js';
import { spawnLogged, stopChild } from '../test/e2e/lab/child-process.js';
import { getVia as getForwarded, sampleValue } from '../test/e2e/lab/forwarded-http.js';

export const GRPC_PORT = 9400;
export const HTTP_PORT = 8080;
export const AGENT_PORT = 9402;

const AGGREGATOR_MAIN = fileURLToPath(new URL('../aggregator/main.js', import.meta.url));
const AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));

export interface Cell {
  readonly status: string;
  readonly lastOutcome: string | null;
  readonly rttP50Ms: number | null;
  readonly samples: number;
}
export interface Matrix {
  readonly nodes: string[];
  readonly cells: (Cell | null)[][];
}
export interface PairSample {
  readonly at: string;
  readonly outcome: string;
  readonly rttMs: number | null;
}
export interface PairDetail {
  readonly kinds: Record<string, { readonly status: string; readonly recent: readonly PairSample[] }>;
}

interface Forward {
  readonly socketPath: string;
  readonly agent: Agent;
  close(): void;
}

/** Throws one clear line when the processes to benchmark have not been built. */
export function assertBuilt(): void {
  for (const f of [AGGREGATOR_MAIN, AGENT_MAIN]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first (the lab benchmarks run the built agent and aggregator)`);
  }
}

/** The age of the built agent, for the header of a benchmark's output. */
export function buildStamp(): string {
  return `dist/agent/main.js built ${statSync(AGENT_MAIN).mtime.toISOString()}`;
}

function getVia(fwd: Forward, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return getForwarded(fwd.socketPath, path, timeoutMs, fwd.agent);
}

/** The value of one sample line of a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, name: string, labels = ''): number {
  return sampleValue(text, name, labels) ?? 0;
}

/** Sum of every sample of a counter whose labels include `labelPart` (e.g. `kind="icmp"`). */
export function metricSum(text: string, name: string, labelPart = ''): number {
  let sum = 0;
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}{`) || !l.includes(labelPart)) continue;
    sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  return sum;
}

export class LabCluster {
  private aggregatorProc: ChildProcess | undefined;
  private readonly agents = new Map<string, ChildProcess>();
  private api: Forward | undefined;
  private readonly agentApis = new Map<string, Forward>();
  /** The last lines the processes wrote (warn and above), for error messages. */
  readonly logs: string[] = [];

  constructor(readonly lab: Lab) {}

  get aggregatorAddress(): string {
    return `${this.lab.aggregatorIP}:${GRPC_PORT}`;
  }

  /** Starts the aggregator with its defaults plus `flags` and waits until /readyz answers. */
  async startAggregator(flags: Record<string, string> = {}): Promise<void> {
    // No DNS probes unless asked: these benchmarks measure the pair matrix.
    const all = { 'grpc-listen': this.aggregatorAddress, 'http-listen': `${this.lab.aggregatorIP}:${HTTP_PORT}`, 'log-level': 'warn', 'dns-servers': 'none', 'http-rate-limit': '1000000', kubernetes: 'off', ...flags };
    this.aggregatorProc = spawnLogged(this.lab, this.lab.aggregatorNs, AGGREGATOR_MAIN, all, {}, 'aggregator', this.logs);
    // One forwarder serves every aggregator started here: it connects per request.
    this.api ??= await this.forward(this.lab.aggregatorNs, this.lab.aggregatorIP, HTTP_PORT);
    const until = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await getVia(this.api, '/readyz', 1_000)).status === 200) return;
      } catch {
        // not listening yet
      }
      if (this.aggregatorProc.exitCode !== null || Date.now() > until) throw new Error(`aggregator not ready within 15 s; its log: ${this.tail('aggregator')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A fresh aggregator (no history); agents reconnect to it by themselves. */
  async restartAggregator(flags: Record<string, string> = {}): Promise<void> {
    await stopChild(this.aggregatorProc);
    this.aggregatorProc = undefined;
    await this.startAggregator(flags);
  }

  /** Starts the agent of a lab node with the lab's identity and `flags` over the defaults; returns its pid. */
  startAgent(name: string, flags: Record<string, string> = {}): number {
    const n = this.lab.node(name);
    const all = {
      aggregator: this.aggregatorAddress,
      'node-name': n.name,
      'pod-ip': n.podIP,
      'node-ip': n.nodeIP,
      listen: `${n.podIP}:${AGENT_PORT}`,
      'allowed-cidrs': '198.18.0.0/15',
      'log-level': 'warn',
      // The host's CNI dirs are not a lab node's.
      cni: 'off',
      ...flags,
    };
    const child = spawnLogged(this.lab, n.ns, AGENT_MAIN, all, {}, name, this.logs);
    this.agents.set(name, child);
    if (child.pid === undefined) throw new Error(`agent of ${name} did not start`);
    return child.pid;
  }

  async stopAgent(name: string): Promise<void> {
    const p = this.agents.get(name);
    this.agents.delete(name);
    await stopChild(p);
  }

  /** GET a JSON document of the aggregator's API. */
  async get<T>(path: string, timeoutMs = 3_000): Promise<T> {
    if (!this.api) throw new Error('aggregator not started');
    const r = await getVia(this.api, path, timeoutMs);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body) as T;
  }

  matrix(kind: string): Promise<Matrix> {
    return this.get<Matrix>(`/api/v1/matrix?kind=${kind}`);
  }

  pair(src: string, dst: string): Promise<PairDetail> {
    return this.get<PairDetail>(`/api/v1/pairs/${src}/${dst}`);
  }

  /** The agent's /metrics, at the address given (default its pod IP). */
  async agentMetrics(name: string, ip = this.lab.node(name).podIP): Promise<string> {
    const n = this.lab.node(name);
    let fwd = this.agentApis.get(name);
    if (!fwd) {
      fwd = await this.forward(n.ns, ip, AGENT_PORT);
      this.agentApis.set(name, fwd);
    }
    return (await getVia(fwd, '/metrics', 3_000)).body;
  }

  /** A gRPC target (`unix:<path>`) leading to the aggregator, for streams this process opens itself. */
  async aggregatorGrpcTarget(): Promise<string> {
    const fwd = await this.forward(this.lab.aggregatorNs, this.lab.aggregatorIP, GRPC_PORT);
    return `unix:${fwd.socketPath}`;
  }

  /** The last log lines of one process (tag: 'aggregator' or a node name). */
  tail(tag: string, lines = 5): string {
    return this.logs.filter((l) => l.startsWith(`[${tag}] `)).slice(-lines).join(' | ') || '(nothing logged)';
  }

  /** Stops every process this started; the lab's down() would end them too, this is the orderly way. */
  async stop(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((name) => this.stopAgent(name)));
    await stopChild(this.aggregatorProc);
    this.aggregatorProc = undefined;
    for (const f of [this.api, ...this.agentApis.values()]) f?.close();
    this.agentApis.clear();
    this.api = undefined;
  }

  private async forward(ns: string, ip: string, port: number): Promise<Forward> {
    const f = await this.lab.forward(ns, ip, port);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    return { socketPath: f.socketPath, agent, close: () => (agent.destroy(), f.close()) };
  }
}
