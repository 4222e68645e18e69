#!/usr/bin/env node
// The netmatrix command. Everything it does is in run.ts; this file only wires
// the process to it.
import { main } from './run.js';

/** Exit code for a bug in netmatrix itself, kept apart from 1 ("something is failing"), which scripts alert on. */
const EX_SOFTWARE = 70;

// `netmatrix matrix | head` closes the pipe early: the reader's choice, not an
// error. The rest of the output is dropped; the exit code is still the verdict.
let readerGone = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  readerGone = true;
});

try {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (s) => {
      if (!readerGone) process.stdout.write(`${s}\n`);
    },
    stderr: (s) => process.stderr.write(`${s}\n`),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    ...(process.stdout.isTTY ? { columns: process.stdout.columns } : {}),
  });
} catch (e) {
  process.stderr.write(`netmatrix: internal error (please report it): ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = EX_SOFTWARE;
}
