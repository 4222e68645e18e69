// What each package costs an agent at start, for `npm run bench -- footprint`.
// Run as `node --expose-gc dist/bench/footprint-modules.js NAME`: it loads the
// agent's other packages first (what NAME shares with them, Node's own modules
// above all, is paid by them), takes a reading after full GCs, loads NAME the
// way the agent uses it, takes another, and prints the difference as one JSON
// line. Each package in a process of its own; footprint.ts runs each several
// times and prints medians.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface ModuleCost {
  /** VmRSS, RssAnon, RssFile (/proc/self/status), V8 heap used: differences in bytes. */
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly heap: number;
}

/** How the agent loads each package (a package the agent does not load: how it would, for comparison). */
export const MODULES: Readonly<Record<string, { readonly what: string; readonly load: () => unknown }>> = {
  '@grpc/grpc-js': { what: 'the gRPC client', load: () => require('@grpc/grpc-js') },
  'proto/load.ts': {
    what: 'protobufjs light + the generated descriptor, the Collector service built',
    load: async () => (await import('../proto/load.js')).loadProto(),
  },
  '@grpc/proto-loader': {
    what: 'reference: proto-loader parsing the .proto at run time (the agent before)',
    load: () => {
      const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
      const loader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
      const options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [new URL('../../proto', import.meta.url).pathname] };
      return grpc.loadPackageDefinition(loader.loadSync('netmatrix/v1/collector.proto', options));
    },
  },
  'prom-client': { what: "the agent's registry with its metrics (agent/metrics.ts)", load: async () => (await import('../agent/metrics.js')).createAgentMetrics() },
  pino: { what: "the agent's logger (common/logger.ts), one line logged", load: async () => (await import('../common/logger.js')).createLogger('bench', 'info', { write: () => {} }).info('x') },
  'dns-packet': { what: 'DNS messages of the DNS prober', load: () => require('dns-packet') },
  'raw-socket': { what: "the ICMP socket's addon", load: () => require('raw-socket') },
  fastify: { what: 'not in the agent: the aggregator\'s HTTP framework, if it leaked in', load: () => require('fastify') },
  '@kubernetes/client-node': { what: "not in the agent: the aggregator's Kubernetes client, if it leaked in", load: () => import('@kubernetes/client-node') },
};

/** What the agent itself loads: the context each package is measured in. */
export const AGENT_MODULES = ['@grpc/grpc-js', 'proto/load.ts', 'prom-client', 'pino', 'dns-packet', 'raw-socket'];

function reading(): ModuleCost {
  for (let i = 0; i < 4; i++) (globalThis as { gc?: () => void }).gc!();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), heap: process.memoryUsage().heapUsed };
}

async function measure(name: string): Promise<ModuleCost> {
  if (!(globalThis as { gc?: unknown }).gc) throw new Error('run with node --expose-gc');
  const target = MODULES[name];
  if (!target) throw new Error(`no module ${name} (have ${Object.keys(MODULES).join(', ')})`);
  // The reference replaces proto/load.ts, and grpc-js is measured without it (proto/load.ts loads grpc-js).
  const context = AGENT_MODULES.filter((m) => m !== name && !(m === 'proto/load.ts' && (name === '@grpc/proto-loader' || name === '@grpc/grpc-js')));
  for (const m of context) await MODULES[m]!.load();
  const before = reading();
  await target.load();
  const after = reading();
  return { rss: after.rss - before.rss, anon: after.anon - before.anon, file: after.file - before.file, heap: after.heap - before.heap };
}

/**
 * The floor under any agent on this runtime that speaks gRPC and HTTP: Node's
 * own modules that the agent's packages load (net, http, http2, tls, dgram,
 * zlib, crypto), one HTTP/1.1 and one HTTP/2 exchange on loopback, no package.
 * Absolute readings (not differences).
 */
async function floor(): Promise<ModuleCost> {
  for (const m of ['node:net', 'node:http', 'node:http2', 'node:tls', 'node:dgram', 'node:zlib', 'node:crypto']) await import(m);
  const http = await import('node:http');
  const http2 = await import('node:http2');
  const h1 = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  await new Promise<void>((r, j) => http.get(`http://127.0.0.1:${(h1.address() as { port: number }).port}/`, (res) => res.resume().on('end', r)).on('error', j));
  h1.close();
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    stream.respond();
    stream.end('ok');
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  const client = http2.connect(`http://127.0.0.1:${(h2.address() as { port: number }).port}`);
  await new Promise<void>((r, j) => client.request({ ':path': '/' }).on('error', j).resume().on('end', r));
  client.close();
  h2.close();
  return reading();
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const name = process.argv[2] ?? '';
  process.stdout.write(`${JSON.stringify(name === '--floor' ? await floor() : await measure(name))}\n`);
  process.exit(0); // raw-socket and grpc-js leave nothing running, but a stray handle must not hold the bench
}
