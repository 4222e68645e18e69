// The netmatrix CLI as a function: argv and I/O in, exit code out. Nothing
// runs on import, so tests call it in-process with captured output.
import { VERSION } from '../common/version.js';
import { UsageError, parseInvocation, type Parsed } from './args.js';
import { ApiClient, ApiError, EXIT } from './client.js';
import { cniCommand } from './commands/cni.js';
import { dnsCommand } from './commands/dns.js';
import { findingsCommand } from './commands/findings.js';
import { forgetCommand } from './commands/forget.js';
import { matrixCommand } from './commands/matrix.js';
import { statusCommand } from './commands/status.js';
import type { RenderOptions } from './render.js';
import { useColor } from './terminal.js';

export interface Io {
  /** Writes one line (the newline is added). */
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal: colour and the width check only apply then. */
  readonly isTTY: boolean;
  /** Terminal width, when stdout is one. */
  readonly columns?: number;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseInvocation(argv, io.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`netmatrix: ${e.message}`);
    return EXIT.usage;
  }
  if ('help' in parsed) {
    io.stdout(parsed.help);
    return EXIT.ok;
  }
  if ('version' in parsed) {
    io.stdout(VERSION);
    return EXIT.ok;
  }
  const inv = parsed.invocation;
  const client = new ApiClient({ server: inv.server, timeoutMs: inv.timeoutMs, ...(inv.token !== undefined ? { token: inv.token } : {}) });
  const render: RenderOptions = {
    color: useColor(io.isTTY, io.env, inv.noColor),
    server: inv.server,
    ...(io.isTTY && io.columns !== undefined ? { width: io.columns } : {}),
  };
  try {
    switch (inv.command) {
      case 'matrix':
        return await matrixCommand(client, { json: inv.json, ...(inv.kind !== undefined ? { kind: inv.kind } : {}), ...(inv.family !== undefined ? { family: inv.family } : {}) }, render, io.stdout);
      case 'status':
        return await statusCommand(client, { json: inv.json }, render, io.stdout);
      case 'findings':
        return await findingsCommand(client, { state: inv.state, json: inv.json, ...(inv.kind !== undefined ? { kind: inv.kind } : {}) }, render, io.stdout);
      case 'dns':
        return await dnsCommand(client, { json: inv.json, ...(inv.node !== undefined ? { node: inv.node } : {}) }, render, io.stdout);
      case 'cni':
        return await cniCommand(client, { json: inv.json, ...(inv.node !== undefined ? { node: inv.node } : {}) }, render, io.stdout);
      case 'forget':
        return await forgetCommand(client, { node: inv.node, json: inv.json }, io.stdout);
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    io.stderr(`netmatrix: ${e.message}`);
    return e.exitCode;
  }
}
