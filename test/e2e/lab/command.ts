// Running the host tools the lab is made of (ip, iptables, nft, sysctl, ...).
// Every failure is an Error that names the command line and carries its stderr,
// so a broken lab says what broke instead of "exit code 1".
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
  /** Killed (KILL) after this long; default 10 s. */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of throwing. */
  readonly allowFailure?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult | undefined,
    reason: string,
  ) {
    super(`${formatArgv(argv)}: ${reason}`);
    this.name = 'CommandError';
  }
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty command'));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A command that exits before reading its stdin makes the write fail with EPIPE: its exit code tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(argv, undefined, e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (timedOut) reject(new CommandError(argv, result, `timed out after ${timeoutMs} ms${result.stderr ? `: ${result.stderr.trim()}` : ''}`));
      else if (code === 0 || opts.allowFailure) resolve(result);
      else reject(new CommandError(argv, result, `exited with ${code ?? signal}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`));
    });
  });
}

/** The absolute path of an executable on PATH, or undefined. */
export function whichSync(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What the lab runs, and the Debian package each comes from (CI installs them). */
export const LAB_BINARIES: ReadonlyArray<{ readonly bin: string; readonly pkg: string }> = [
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'ss', pkg: 'iproute2' },
  { bin: 'iptables', pkg: 'iptables' },
  { bin: 'iptables-save', pkg: 'iptables' },
  { bin: 'ip6tables-save', pkg: 'iptables' },
  // Dual-stack labs: IPv6 rules (iptables never touches IPv6).
  { bin: 'ip6tables', pkg: 'iptables' },
  { bin: 'ip6tables-restore', pkg: 'iptables' },
  { bin: 'nft', pkg: 'nftables' },
  { bin: 'dnsmasq', pkg: 'dnsmasq-base' },
  { bin: 'sysctl', pkg: 'procps' },
  { bin: 'python3', pkg: 'python3' },
];

export interface RequirementsOptions {
  readonly path?: string;
  readonly uid?: number;
  /** Extra binaries a caller needs on top of the lab's own (e.g. ping, fping in tests). */
  readonly extra?: ReadonlyArray<{ readonly bin: string; readonly pkg: string }>;
}

/** Everything missing for a lab on this machine, as one message per problem (empty: all there). */
export function labProblems(opts: RequirementsOptions = {}): string[] {
  const problems: string[] = [];
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  if (uid !== 0) problems.push(`network namespaces need root (running as uid ${uid})`);
  const missing = [...LAB_BINARIES, ...(opts.extra ?? [])].filter((b) => !whichSync(b.bin, opts.path));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    problems.push(`missing ${missing.map((m) => m.bin).join(', ')} (Debian: apt-get install -y ${pkgs.join(' ')})`);
  }
  return problems;
}

/** Throws one clear error if the lab can't run here: the e2e suite fails with it instead of skipping. */
export function assertLabRequirements(opts: RequirementsOptions = {}): void {
  const problems = labProblems(opts);
  if (problems.length > 0) {
    throw new Error(`the network-namespace lab can't run on this machine: ${problems.join('; ')}`);
  }
}
