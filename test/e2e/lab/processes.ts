// Finding and ending the processes inside a lab's namespaces. `ip netns del` on a
// namespace that still has processes only unlinks its name (the namespace, its
// veths and the processes live on), so every process goes first: TERM, a grace
// period, then KILL. Processes are found by their /proc/PID/ns/net link, which a
// zombie no longer has: a zombie counts as gone, as it should.
import { readdir, readlink, readFile, stat } from 'node:fs/promises';

const NETNS_DIR = '/run/netns';

/** The nsfs inode of a named namespace, or undefined if there is no such name. */
export async function namespaceInode(ns: string): Promise<number | undefined> {
  try {
    return (await stat(`${NETNS_DIR}/${ns}`)).ino;
  } catch {
    return undefined;
  }
}

/** Names under /run/netns. */
export async function listNamespaces(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch {
    return [];
  }
}

/** PIDs whose network namespace is one of `inodes`. */
export async function pidsInNetns(inodes: ReadonlySet<number>): Promise<number[]> {
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const link = await readlink(`/proc/${entry}/ns/net`);
      const m = /^net:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(Number(m[1]))) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or a zombie
    }
  }
  return pids;
}

export async function pidsInNamespaces(names: readonly string[]): Promise<number[]> {
  const inodes = new Set<number>();
  for (const ns of names) {
    const ino = await namespaceInode(ns);
    if (ino !== undefined) inodes.add(ino);
  }
  return pidsInNetns(inodes);
}

/** The command line of a process, NUL-separated arguments as an array ([] if gone). */
export async function processArgv(pid: number): Promise<string[]> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a.length > 0);
  } catch {
    return [];
  }
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

async function waitGone(list: () => Promise<number[]>, deadlineMs: number): Promise<number[]> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const left = await list();
    if (left.length === 0 || Date.now() >= until) return left;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Ends every process whose PIDs `list()` returns: TERM, up to `graceMs` for them
 * to exit, then KILL and up to `killWaitMs`. Throws naming what survived.
 */
export async function terminateAll(list: () => Promise<number[]>, what: string, graceMs = 2000, killWaitMs = 3000): Promise<void> {
  const first = await list();
  if (first.length === 0) return;
  signal(first, 'SIGTERM');
  let left = await waitGone(list, graceMs);
  if (left.length === 0) return;
  signal(left, 'SIGKILL');
  left = await waitGone(list, killWaitMs);
  if (left.length > 0) {
    const described = await Promise.all(left.map(async (pid) => `${pid} (${(await processArgv(pid)).join(' ')})`));
    throw new Error(`processes in ${what} survived SIGKILL: ${described.join(', ')}`);
  }
}

/** Ends every process in the named namespaces (see terminateAll). */
export async function terminateNamespaces(names: readonly string[], graceMs?: number): Promise<void> {
  const inodes = new Set<number>();
  for (const ns of names) {
    const ino = await namespaceInode(ns);
    if (ino !== undefined) inodes.add(ino);
  }
  await terminateAll(() => pidsInNetns(inodes), names.join(', '), graceMs);
}
