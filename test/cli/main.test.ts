// cli/main.ts as a real process: exit codes reach the shell, the process ends
// as soon as it is done (no socket keeps it alive), and a closed pipe is no error.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { repoRoot } from '../helpers/child.js';
import { json, startApiServer } from './api-server.js';
import { bigMatrix, matrixFixture } from './fixtures.js';

const tsLoader = process.execArgv.find((a) => a.includes('@tapjs/typescript'));

function netmatrix(args: string[], opts: { closeStdout?: boolean } = {}) {
  const child = spawn(process.execPath, [...(tsLoader ? [tsLoader] : []), 'cli/main.ts', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  if (opts.closeStdout) child.stdout.destroy();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

let body: unknown = matrixFixture('tcp');
const api = await startApiServer((_req, res) => json(res, 200, body));
t.teardown(() => api.close());

t.test('the shebang line is the first line', async (t) => {
  t.equal(readFileSync(new URL('../../cli/main.ts', import.meta.url), 'utf8').split('\n')[0], '#!/usr/bin/env node');
});

t.test('exit codes reach the shell', { skip: !tsLoader && 'needs the TypeScript loader tap runs tests with' }, async (t) => {
  const failing = await netmatrix(['matrix', '--kind', 'tcp', '--server', api.url]);
  t.equal(failing.code, 1);
  t.match(failing.stdout, /^tcp matrix \(ipv4\)/);
  t.match(failing.stdout, /\n$/, 'ends with a newline');
  t.equal(failing.stderr, '');

  const usage = await netmatrix(['matrix', '--kind', 'udp']);
  t.equal(usage.code, 2);
  t.equal(usage.stderr, 'netmatrix: unknown --kind "udp": expected one of icmp, tcp, http, mtu, node\n');
});

t.test('a reader that closes the pipe early (| head) is not an error', { skip: !tsLoader && 'needs the TypeScript loader tap runs tests with' }, async (t) => {
  body = bigMatrix(300); // far more than a pipe buffer
  const r = await netmatrix(['matrix', '--server', api.url], { closeStdout: true });
  t.equal(r.stderr, '', 'no EPIPE stack trace');
  t.equal(r.code, 1, 'the exit code still says a cell is failing');
});
