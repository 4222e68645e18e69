// Where labs are written down between commands and processes: one JSON file per
// lab in a directory on /run (a tmpfs, emptied at boot just like the namespaces),
// so `lab down` in a later shell finds a lab `lab up` made, and a lab whose owner
// process died (a crashed test) can be told from one that is in use.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function stateRoot(): string {
  return process.env.NETMATRIX_LAB_STATE_DIR ?? '/run/netmatrix-lab';
}

export interface DnsRecord {
  /** A name answered with `ip` (dnsmasq --host-record). */
  readonly name: string;
  readonly ip: string;
}

export interface DnsDomain {
  /** Every name in this domain is answered with `ip` (dnsmasq --address=/domain/ip). */
  readonly domain: string;
  readonly ip: string;
}

export interface LabState {
  readonly prefix: string;
  readonly nodeCount: number;
  /** The process that owns the lab (tests), or null for a lab made by a person with the CLI. */
  readonly owner: { readonly pid: number; readonly startTime: string } | null;
  readonly createdAt: string;
  readonly dnsRecords: readonly DnsRecord[];
  readonly dnsDomains: readonly DnsDomain[];
  /** Number of DNS replicas (absent in labs made before replicas existed: 1). */
  readonly dnsReplicas?: number;
  /** Whether the nodes DNAT the DNS service IP to the replicas (absent: false). */
  readonly dnsService?: boolean;
  /** Domains dnsmasq answers NXDOMAIN for when it has no record (--local); absent: cluster.local. */
  readonly dnsLocalDomains?: readonly string[];
  /** Whether the lab is dual-stack (absent: false). */
  readonly ipv6?: boolean;
}

export function stateFile(prefix: string): string {
  return join(stateRoot(), `${prefix}.json`);
}

/** Per-lab directory for logs of the processes the lab starts (dnsmasq, delayers). */
export function labDir(prefix: string): string {
  return join(stateRoot(), prefix);
}

export function writeState(state: LabState): void {
  mkdirSync(labDir(state.prefix), { recursive: true, mode: 0o755 });
  writeFileSync(stateFile(state.prefix), `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(prefix: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(prefix), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function removeState(prefix: string): void {
  rmSync(stateFile(prefix), { force: true });
  rmSync(labDir(prefix), { recursive: true, force: true });
}

export function listStates(): LabState[] {
  const root = stateRoot();
  if (!existsSync(root)) return [];
  const out: LabState[] = [];
  for (const f of readdirSync(root)) {
    if (!f.endsWith('.json')) continue;
    const s = readState(f.slice(0, -'.json'.length));
    if (s) out.push(s);
  }
  return out;
}

/** Field 22 of /proc/PID/stat: tells a live owner from a new process that reused its PID. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export function currentOwner(): { pid: number; startTime: string } {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? '' };
}

/** A lab whose owning process is gone (a crashed test run): safe to tear down. */
export function isStale(state: LabState): boolean {
  if (state.owner === null) return false;
  return processStartTime(state.owner.pid) !== state.owner.startTime;
}
