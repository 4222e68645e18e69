// The packages the built agent loads, and no other: each one is RSS on every
// node (docs/architecture.md, "Agent footprint", has what each costs). A new
// one fails here until this list, and that table, say why it is worth it; the
// aggregator's (fastify, typebox, the Kubernetes client) and proto-loader,
// which parsed the .proto at run time, must never come back.
import { spawn } from 'node:child_process';
import t from 'tap';
import { waitFor } from '../helpers/wait.js';

const EXPECTED = ['@grpc/grpc-js', 'dns-packet', 'pino', 'prom-client', 'protobufjs', 'raw-socket'];
const NEVER = ['fastify', 'typebox', '@kubernetes/client-node', '@grpc/proto-loader'];

// A module hook, off the main thread, that names every package file the ES module loader loads
// (the packages the agent's own modules import; what a package requires inside itself is its own cost).
const HOOK = 'data:text/javascript,import { writeSync } from "node:fs"; export async function load(u, c, n) { if (u.includes("/node_modules/")) writeSync(2, "LOADED " + u + "\\n"); return n(u, c); }';
const REGISTER = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(HOOK)});`;

function packageOf(url: string): string {
  const rest = url.slice(url.lastIndexOf('/node_modules/') + '/node_modules/'.length).split('/');
  return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

t.test('the agent loads its six packages and nothing else', async (t) => {
  // An aggregator nobody answers: the agent starts (responder up) and retries.
  const env = { PATH: process.env.PATH ?? '', NODE_NAME: 'node-modules', POD_IP: '127.0.0.82', NETMATRIX_AGGREGATOR: '127.0.0.1:1', NETMATRIX_AGENT_LISTEN: '127.0.0.82:0', NETMATRIX_CNI: 'off' };
  const child = spawn(process.execPath, ['--import', REGISTER, 'dist/agent/main.js'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await waitFor(
    'the agent to start its responder',
    () => {
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}): ${stderr}`);
      return stderr.includes('responder listening');
    },
    15_000,
  );
  const loaded = [...new Set(stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => packageOf(l.slice('LOADED '.length))))].sort();
  t.same(loaded, EXPECTED, `packages loaded: ${loaded.join(', ')}`);
  for (const p of NEVER) t.notOk(loaded.includes(p), `not ${p}`);
});
