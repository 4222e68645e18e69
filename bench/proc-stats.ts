// What the lab benchmarks read about a process from /proc, and the few
// statistics they print. CPU time is utime + stime of /proc/<pid>/stat, in clock
// ticks (USER_HZ, 100 on Linux: 10 ms each).
import { readFileSync } from 'node:fs';

const TICK_MS = 10;

/** CPU time (user + system) a process has used so far, in ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // fields 14 and 15 of proc(5)
}

/** VmRSS and VmHWM (peak RSS since start) of a process, in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.max(...values);
}

export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

export function seconds(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a';
}

// Runs argv as its only child and prints the child's CPU time (getrusage of
// waited-for children: µs, where /proc's ticks are 10 ms) and its output, as
// one JSON line (RusageResult). Run it as `python3 -c RUSAGE_SCRIPT argv...`.
export const RUSAGE_SCRIPT = `
import json, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": p.returncode, "wallS": wall, "userS": r.ru_utime, "sysS": r.ru_stime, "out": p.stdout + p.stderr}))
`;

export interface RusageResult {
  readonly code: number;
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly out: string;
}
