// Starts aggregator-child.ts (a real aggregator, its own process) on loopback
// port 0 and talks to it over the IPC channel; stops it on every path, by a
// deadline. CPU time comes from /proc, so only the aggregator's own counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildRequest, ChildStats, LoopFigures, PlanPush } from './aggregator-child.js';
import { cpuMs } from './proc-stats.js';

const CHILD = fileURLToPath(new URL('./aggregator-child.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

export class AggregatorProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: unknown) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly grpcAddress: string,
    readonly httpUrl: string,
  ) {
    child.on('message', (m: { id?: number; reply?: unknown }) => {
      if (m.id === undefined) return;
      this.waiting.get(m.id)?.(m.reply);
      this.waiting.delete(m.id);
    });
  }

  /** Flags as the aggregator takes them; loopback port 0, no DNS servers, no Kubernetes API unless given. */
  static async start(flags: Record<string, string> = {}): Promise<AggregatorProcess> {
    const argv = Object.entries({ 'grpc-listen': '127.0.0.1:0', 'http-listen': '127.0.0.1:0', 'dns-servers': 'none', kubernetes: 'off', 'http-rate-limit': '1000000', ...flags }).flatMap(([k, v]) => [`--${k}`, v]);
    const child = spawn(process.execPath, [CHILD, ...argv], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    try {
      const ready = await new Promise<{ grpcAddress: string; httpUrl: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`aggregator not ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`aggregator exited with ${code} before it was ready`))));
        child.on('message', (m: { ready?: { grpcAddress: string; httpUrl: string } }) => {
          if (m.ready) (clearTimeout(timer), resolve(m.ready));
        });
      });
      return new AggregatorProcess(child, ready.grpcAddress, ready.httpUrl);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** CPU (user + system) the aggregator has used so far, ms (10 ms ticks). */
  cpuMs(): number {
    return cpuMs(this.pid);
  }

  private request<T>(cmd: ChildRequest['cmd']): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => (this.waiting.delete(id), reject(new Error(`aggregator did not answer ${cmd} within ${REQUEST_TIMEOUT_MS} ms`))), REQUEST_TIMEOUT_MS);
      this.waiting.set(id, (r) => (clearTimeout(timer), resolve(r as T)));
      this.child.send({ id, cmd } satisfies ChildRequest);
    });
  }

  stats(): Promise<ChildStats> {
    return this.request('stats');
  }

  /** Starts the event-loop delay monitor and utilization. */
  measureStart(): Promise<ChildStats> {
    return this.request('measure-start');
  }

  measureStop(): Promise<LoopFigures> {
    return this.request('measure-stop');
  }

  /** The collector's plan push rounds so far (the most recent 1,000). */
  planPushes(): Promise<PlanPush[]> {
    return this.request('plan-pushes');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
