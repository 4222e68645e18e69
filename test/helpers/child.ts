// Runs a snippet of ES module code in a child node process that can import the
// project's TypeScript sources (through the loader tap runs tests with), behind
// an optional wrapper command (setpriv, unshare -n ...). For behaviour one
// process can't show: a missing capability, a private network namespace.
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipUnlessCi } from './ci.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsLoader = process.execArgv.find((a) => a.includes('@tapjs/typescript'));

/** A source module as an import specifier for child code: mod('agent/probers/tcp.js'). */
export function mod(path: string): string {
  return JSON.stringify(new URL(`../../${path}`, import.meta.url).href);
}

export function canRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why child tests can't run here (a tap skip reason), or false. */
export const childSkip: string | false = skipUnlessCi(!tsLoader ? 'needs the TypeScript loader tap runs tests with' : process.getuid?.() !== 0 ? 'needs root' : false);

export interface ChildResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `code` in `node` behind `wrapper` (argv prefix); resolves when it exits, killed after `timeoutMs`. */
export function runChild(wrapper: readonly string[], code: string, timeoutMs = 30_000): Promise<ChildResult> {
  const argv = [...wrapper, process.execPath, tsLoader!, '--input-type=module', '-e', code];
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: '1' }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout, stderr, ms: performance.now() - started });
    });
  });
}
