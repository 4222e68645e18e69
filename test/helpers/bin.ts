// Runs one of the built commands (dist/) and collects its exit code and output.
import { execFile } from 'node:child_process';

export interface BinResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runBin(script: string, args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<BinResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
