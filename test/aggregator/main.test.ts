// The built netmatrix-aggregator command: --help, and one line naming a bad setting.
import t from 'tap';
import { runBin } from '../helpers/bin.js';

const BIN = 'dist/aggregator/main.js';

t.test('--help lists every setting with its env var', async (t) => {
  const r = await runBin(BIN, ['--help']);
  t.equal(r.code, 0);
  for (const s of ['--grpc-listen', 'NETMATRIX_GRPC_LISTEN', '--probe-interval', 'NETMATRIX_PROBE_INTERVAL', '--window', '--log-level']) t.match(r.stdout, s);
});

const bad: [string, string[], Record<string, string>, RegExp][] = [
  ['a malformed flag value', ['--probe-interval', '5x'], {}, /^netmatrix-aggregator: invalid --probe-interval \(NETMATRIX_PROBE_INTERVAL\) "5x": expected a duration/],
  ['a malformed env value', [], { NETMATRIX_HTTP_LISTEN: 'localhost' }, /^netmatrix-aggregator: invalid NETMATRIX_HTTP_LISTEN "localhost": expected host:port/],
  ['an unknown flag', ['--probe-intervall', '5s'], {}, /^netmatrix-aggregator: unknown flag --probe-intervall/],
  ['an unknown probe kind', ['--probe-kinds', 'icmp,udp'], {}, /^netmatrix-aggregator: invalid --probe-kinds \(NETMATRIX_PROBE_KINDS\) "icmp,udp": expected .*"udp" is not one/],
  ['a timeout not below the interval', ['--probe-interval', '1s', '--probe-timeout', '2s'], {}, /--probe-timeout \(NETMATRIX_PROBE_TIMEOUT\) 2000ms must be shorter than --probe-interval/],
];
for (const [what, args, env, re] of bad) {
  t.test(`${what} exits 2 with one line naming it`, async (t) => {
    const r = await runBin(BIN, args, env);
    t.equal(r.code, 2);
    t.match(r.stderr, re);
    t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
  });
}

t.test('a port already in use exits 1 with a clear line', async (t) => {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const r = await runBin(BIN, ['--http-listen', `127.0.0.1:${port}`, '--grpc-listen', '127.0.0.1:0', '--log-level', 'silent']);
  t.equal(r.code, 1);
  t.match(r.stderr, /EADDRINUSE/);
});
