// A real Prometheus (Debian's /usr/bin/prometheus) scraping one target, for
// tests that check PromQL against what the aggregator really exports: the
// dashboard's queries and the rules of deploy/prometheus. Temporary config and
// TSDB, loopback port, everything removed on stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { waitFor } from './wait.js';

export const PROMETHEUS_BIN = process.env.NETMATRIX_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const prometheusAvailable: boolean = executable(PROMETHEUS_BIN);

export const SCRAPE_JOB = 'netmatrix-aggregator';

export interface PrometheusOptions {
  /** host:port of the one scrape target (its /metrics). */
  readonly target: string;
  /** Rule files loaded (paths; relative ones are resolved from the working directory). */
  readonly ruleFiles?: readonly string[];
  /** Target labels added to every scraped series; default { cluster: 'test' }. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

export interface QueryResult {
  readonly resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  /** Samples of a vector or matrix; [time, value] of a scalar or string. */
  readonly result: PromSample[] | [number, string];
}

export interface RunningPrometheus {
  readonly url: string;
  /** Instant query through GET /api/v1/query; throws with Prometheus' error on a bad expression. */
  query(expr: string, timeoutMs?: number): Promise<QueryResult>;
  /** GET of any API path (e.g. /api/v1/rules), returning `data`. */
  api<T = unknown>(path: string, timeoutMs?: number): Promise<T>;
  /** Waits until the target has been scraped successfully (up == 1). */
  waitForUp(timeoutMs?: number): Promise<void>;
  /** Prometheus' stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A free loopback TCP port: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: { status?: string; data?: unknown; error?: string; errorType?: string } }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: { status: 'error', error: text.slice(0, 200) } };
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      done(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      done(true);
    };
    child.once('exit', onExit);
  });
}

export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  if (!prometheusAvailable) throw new Error(`${PROMETHEUS_BIN} not found`);
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-prom-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const labels = opts.labels ?? { cluster: 'test' };
  const ruleFiles = (opts.ruleFiles ?? []).map((f) => (isAbsolute(f) ? f : resolve(f)));
  // JSON is YAML: no YAML writer needed.
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: [{ job_name: SCRAPE_JOB, metrics_path: '/metrics', static_configs: [{ targets: [opts.target], labels }] }],
  };
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  let stderr = '';
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    // Bounded: the tail is what a failure message needs.
    stderr = (stderr + chunk).slice(-20_000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  let stopped = false;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 5_000))) {
        child.kill('SIGKILL');
        await waitExit(child, 5_000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }

  async function api<T>(path: string, timeoutMs = 5_000): Promise<T> {
    const { status, body } = await getJson(`${url}${path}`, timeoutMs);
    if (body.status !== 'success') throw new Error(`prometheus ${path}: HTTP ${status} ${body.errorType ?? ''}: ${body.error ?? 'no error message'}`);
    return body.data as T;
  }

  try {
    await waitFor(
      'prometheus /-/ready',
      async () => {
        if (exited) throw new Error(`prometheus exited: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
      opts.readyTimeoutMs ?? 15_000,
      50,
    );
    if (exited) throw new Error(`prometheus exited: ${stderr}`);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url,
    api,
    query: (expr, timeoutMs = 5_000) => api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`, timeoutMs),
    async waitForUp(timeoutMs = 20_000) {
      // The first scrape comes ~5 s after start whatever scrape_interval is (LAB-NOTES pitfall 13).
      await waitFor(
        `up{job="${SCRAPE_JOB}"} == 1`,
        async () => {
          const r = await api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(`up{job="${SCRAPE_JOB}"} == 1`)}`, 2_000);
          return Array.isArray(r.result) && r.result.length > 0;
        },
        timeoutMs,
        200,
      );
    },
    log: () => stderr,
    stop,
  };
}
