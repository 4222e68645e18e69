// Starting a built netmatrix command inside a lab namespace with its output
// kept (bounded), and stopping a child with a deadline: what the e2e tests and
// the lab benchmarks both do.
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './lab.js';

const KEEP_LINES = 2_000;

/** Runs `node script --flag value ...` in `ns`; its output lines go to `logs` as "[tag] line". */
export function spawnLogged(lab: Lab, ns: string, script: string, flags: Record<string, string>, env: Record<string, string>, tag: string, logs: string[]): ChildProcess {
  const argv = [process.execPath, script, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])];
  const child = lab.spawn(ns, argv, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => {
    for (const line of b.toString().split('\n')) if (line) logs.push(`[${tag}] ${line}`);
    if (logs.length > KEEP_LINES) logs.splice(0, logs.length - KEEP_LINES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** Sends `signal` and waits for the exit; SIGKILL after 5 s. */
export async function stopChild(p: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}
