// A real Alertmanager (the Debian prometheus-alertmanager binary) for tests:
// its own temp storage, no cluster gossip, one receiver that sends nowhere.
// Behind an optional wrapper (ip netns exec ...), in which case the test
// process may not reach it and passes its own HTTP getter.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export const alertmanagerBinary = '/usr/bin/prometheus-alertmanager';
export const alertmanagerAvailable: boolean = existsSync(alertmanagerBinary);
/**
 * `skip` of a test that needs the binary: why, when it is missing; under CI=true never, so that the test
 * runs and fails (startAlertmanager throws) instead of passing by skipping.
 */
export const alertmanagerSkip: string | false =
  alertmanagerAvailable || process.env.CI === 'true' ? false : `${alertmanagerBinary} is not installed (Debian package prometheus-alertmanager)`;

/** An alert as `GET /api/v2/alerts` returns it. */
export interface AmAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly updatedAt: string;
  readonly generatorURL?: string;
  readonly fingerprint: string;
  readonly status: { readonly state: string; readonly silencedBy: string[]; readonly inhibitedBy: string[] };
  readonly receivers: { readonly name: string }[];
}

export interface HttpGet {
  (path: string): Promise<{ status: number; body: string }>;
}

export interface AlertmanagerOptions {
  /** host:port; default 127.0.0.1 on a free port. */
  readonly listen?: string;
  /** argv prefix, e.g. ['ip', 'netns', 'exec', 'ns1']; it must exec the command (its pid is Alertmanager's). */
  readonly wrapper?: readonly string[];
  /** How to GET a path of this Alertmanager; default fetch to http://<listen>. */
  readonly get?: HttpGet;
  /** Deadline of readiness after start (default 15s). */
  readonly readyTimeoutMs?: number;
}

export interface RunningAlertmanager {
  readonly url: string;
  /** Active alerts (resolved ones are not listed), optionally only those with these label values. */
  alerts(filter?: Record<string, string>): Promise<AmAlert[]>;
  stop(): Promise<void>;
  /** Stops it, runs `whileDown`, and starts it again on the same port and storage. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

const HTTP_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;
const STDERR_TAIL = 4_000;

// group_wait 0s and short intervals: tests look at the API, not at notifications, but nothing should wait.
const CONFIG = `route:
  receiver: 'null'
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: 'null'
`;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port from the kernel');
  return addr.port;
}

function fetchGet(base: string): HttpGet {
  return async (path) => {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    return { status: res.status, body: await res.text() };
  };
}

export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<RunningAlertmanager> {
  if (!alertmanagerAvailable) throw new Error(`${alertmanagerBinary} is not installed`);
  const listen = opts.listen ?? `127.0.0.1:${await freePort()}`;
  const url = `http://${listen}`;
  const get = opts.get ?? fetchGet(url);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), 'netmatrix-am-'));
  const configFile = join(dir, 'alertmanager.yml');
  await writeFile(configFile, CONFIG);
  const argv = [
    ...(opts.wrapper ?? []),
    alertmanagerBinary,
    `--config.file=${configFile}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=${listen}`,
    // Empty: no gossip listener (it would bind 0.0.0.0:9094 and clash between instances).
    '--cluster.listen-address=',
    '--log.level=warn',
  ];

  let child: ChildProcess | null = null;
  let stderr = '';
  let removed = false;
  // If the test process dies without its teardown, leave no Alertmanager and no temp dir behind.
  const onExit = (): void => {
    child?.kill('SIGKILL');
    if (!removed) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  async function start(): Promise<void> {
    stderr = '';
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = p;
    p.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_TAIL);
    });
    const exited = new Promise<never>((_, reject) => {
      p.once('error', (e) => reject(new Error(`alertmanager did not start: ${e.message}`)));
      p.once('exit', (code, signal) => reject(new Error(`alertmanager exited (${code ?? signal}) before it was ready:\n${stderr}`)));
    });
    exited.catch(() => undefined);
    try {
      await Promise.race([exited, waitFor(`alertmanager ready at ${url}`, async () => (await get('/-/ready')).status === 200, readyTimeoutMs, 50)]);
    } catch (e) {
      await kill();
      throw e;
    }
  }

  async function kill(): Promise<void> {
    const p = child;
    child = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)));
    if ((await Promise.race([exited, late])) === 'late') {
      p.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  }

  try {
    await start();
  } catch (e) {
    process.removeListener('exit', onExit);
    await rm(dir, { recursive: true, force: true });
    removed = true;
    throw e;
  }

  return {
    url,
    async alerts(filter = {}) {
      const q = Object.entries(filter)
        .map(([k, v]) => `filter=${encodeURIComponent(`${k}=${JSON.stringify(v)}`)}`)
        .join('&');
      const res = await get(`/api/v2/alerts${q ? `?${q}` : ''}`);
      if (res.status !== 200) throw new Error(`GET /api/v2/alerts: ${res.status} ${res.body}`);
      return JSON.parse(res.body) as AmAlert[];
    },
    async stop() {
      await kill();
      process.removeListener('exit', onExit);
      if (!removed) await rm(dir, { recursive: true, force: true });
      removed = true;
    },
    async restart(whileDown) {
      await kill();
      await whileDown?.();
      await start();
    },
  };
}
