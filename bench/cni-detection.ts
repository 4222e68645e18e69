// CNI detection benchmark: how long from a CNI config edited on one node to
// CniConfigDrift firing for that node, and from the revert to it resolved, at
// the aggregator's defaults (5 s interval, --finding-for and
// --finding-clear-for 10 s).
//
// It runs the built demo (dist/demo/main.js: an aggregator and four agents on
// 127.0.0.x, each with its own CNI dirs) with --interval 5s, then, per run,
// waits 0–1 interval, rewrites node-b's conflist in place with an MTU 30
// lower (one of its own: node-c, drifted by the demo, has 50 lower),
// and polls the API every 50 ms:
//
// - reference, measured in the same run: the edit seen at the aggregator
//   (GET /api/v1/cni/node-b says `drifted`), i.e. the agent's watcher,
//   debounce and report;
// - the finding firing (GET /api/v1/findings), whose floor is that plus the
//   firing delay.
//
// Target (as for a blocked pair): the alert within two intervals
// plus the firing delay, 20 s at the defaults. BENCH_CNI_DETECTION_REPEATS
// (default 3) sets the runs; each wait has a 60 s deadline. Loopback only.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/alertmanager.js';
import { waitFor } from '../test/helpers/wait.js';
import { randomPhase } from './fault-cases.js';
import { median } from './proc-stats.js';

const REPEATS = Number(process.env.BENCH_CNI_DETECTION_REPEATS ?? 3);
const INTERVAL_MS = 5_000;
const FOR_MS = 10_000;
const TARGET_MS = 2 * INTERVAL_MS + FOR_MS;
const DEADLINE_MS = 60_000;
const POLL_MS = 50;
const NODE = 'node-b';

interface Run {
  readonly seen: number;
  readonly firing: number;
  readonly unseen: number;
  readonly resolved: number;
}

export async function cniDetectionBenchmark(): Promise<void> {
  if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error(`BENCH_CNI_DETECTION_REPEATS=${process.env.BENCH_CNI_DETECTION_REPEATS}: expected a positive integer`);
  const demo = fileURLToPath(new URL('../demo/main.js', import.meta.url));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${httpPort}`;
  const child = spawn(process.execPath, [demo, '--interval', `${INTERVAL_MS}ms`, '--http-port', String(httpPort), '--grpc-port', String(grpcPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const dir = await Promise.race([
      waitFor('the demo to print its CNI dirs', () => /\(CNI dirs: ([^)]+)\)/.exec(out)?.[1], 120_000, 200),
      exited.then(() => Promise.reject(new Error(`the demo exited (${child.exitCode ?? child.signalCode}): ${out.slice(-500)}`))),
    ]);
    const file = join(dir, NODE, 'net.d', '10-demo.conflist');
    const original = readFileSync(file, 'utf8');
    const edited = original.replace(/"mtu": ?(\d+)/, (_, mtu: string) => `"mtu": ${Number(mtu) - 30}`);
    if (edited === original) throw new Error(`${file}: no "mtu" to edit`);
    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(1_000) });
      if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
      return (await r.json()) as T;
    };
    const state = async () => (await get<{ node: { state: string } }>(`/api/v1/cni/${NODE}`)).node.state;
    const firing = async () => (await get<{ findings: { kind: string; labels: Record<string, string> }[] }>('/api/v1/findings?state=firing')).findings.some((f) => f.kind === 'CniConfigDrift' && f.labels['node'] === NODE);
    const since = (t0: number) => Date.now() - t0;
    const until = (what: string, probe: () => Promise<boolean>) => waitFor(what, async () => (await probe()) || false, DEADLINE_MS, POLL_MS);
    await until(`${NODE} in the majority and no CniConfigDrift for it`, async () => (await state()) === 'majority' && !(await firing()));

    const runs: Run[] = [];
    for (let i = 0; i < REPEATS; i++) {
      await randomPhase(INTERVAL_MS);
      const edit = Date.now();
      writeFileSync(file, edited);
      await until('the edit at the aggregator', async () => (await state()) === 'drifted');
      const seen = since(edit);
      await until(`CniConfigDrift{node=${NODE}} firing`, firing);
      const fired = since(edit);
      await randomPhase(INTERVAL_MS);
      const revert = Date.now();
      writeFileSync(file, original);
      await until('the revert at the aggregator', async () => (await state()) === 'majority');
      const unseen = since(revert);
      await until(`CniConfigDrift{node=${NODE}} resolved`, async () => !(await firing()));
      runs.push({ seen, firing: fired, unseen, resolved: since(revert) });
    }
    print(runs);
  } finally {
    child.kill('SIGINT');
    const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killed);
  }
}

function print(runs: readonly Run[]): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const line = (label: string, ms: readonly number[], floor: readonly number[]) => {
    const worst = Math.max(...ms);
    return `  ${label}: median ${s(median([...ms]))}, max ${s(worst)} = ${(worst / TARGET_MS).toFixed(2)} × target (${s(TARGET_MS)}, ${worst <= TARGET_MS ? 'met' : 'NOT met'}); over the floor (seen at the aggregator + the ${s(FOR_MS)} delay): median +${s(median(ms.map((m, i) => m - floor[i]! - FOR_MS)))}`;
  };
  console.log(`cni-detection: config edit → CniConfigDrift, demo on loopback at interval ${s(INTERVAL_MS)}, for = clear-for = ${s(FOR_MS)}, ${runs.length} runs`);
  console.log(`  reference, edit seen at the aggregator: median ${s(median(runs.map((r) => r.seen)))}, max ${s(Math.max(...runs.map((r) => r.seen)))}; revert seen: median ${s(median(runs.map((r) => r.unseen)))}`);
  console.log(line('edit → firing', runs.map((r) => r.firing), runs.map((r) => r.seen)));
  console.log(line('revert → resolved', runs.map((r) => r.resolved), runs.map((r) => r.unseen)));
}
