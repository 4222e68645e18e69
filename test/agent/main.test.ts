// The built netmatrix-agent command: --help, and one line naming a bad setting.
import t from 'tap';
import { runBin } from '../helpers/bin.js';

const BIN = 'dist/agent/main.js';
const IDENTITY = { NODE_NAME: 'node-a', POD_IP: '127.0.0.51' };

t.test('--help lists every setting with its env var', async (t) => {
  const r = await runBin(BIN, ['--help']);
  t.equal(r.code, 0);
  for (const s of ['--aggregator', 'NETMATRIX_AGGREGATOR', 'NODE_NAME', 'POD_IP', 'NETMATRIX_AGENT_LISTEN', 'NETMATRIX_ALLOWED_CIDRS']) t.match(r.stdout, s);
});

const bad: [string, string[], Record<string, string>, RegExp][] = [
  ['a missing identity', [], {}, /^netmatrix-agent: --node-name \(NODE_NAME\) is required/],
  ['an invalid node name', [], { ...IDENTITY, NODE_NAME: 'Node_A' }, /^netmatrix-agent: invalid NODE_NAME "Node_A": expected a DNS-1123 subdomain/],
  ['a bad pod IP', [], { ...IDENTITY, POD_IP: '10.0.0.300' }, /^netmatrix-agent: invalid POD_IP "10.0.0.300": expected a comma-separated list of IP addresses/],
  ['a bad CIDR flag', ['--allowed-cidrs', '10.0.0.0/33'], IDENTITY, /^netmatrix-agent: invalid --allowed-cidrs \(NETMATRIX_ALLOWED_CIDRS\) "10.0.0.0\/33"/],
  ['a bad aggregator address', [], { ...IDENTITY, NETMATRIX_AGGREGATOR: 'aggregator' }, /^netmatrix-agent: invalid NETMATRIX_AGGREGATOR "aggregator": expected a comma-separated list of host:port addresses/],
  ['a bad integer', ['--report-buffer', '0'], IDENTITY, /^netmatrix-agent: invalid --report-buffer \(NETMATRIX_REPORT_BUFFER\) "0": expected an integer from 1 to 100000/],
];
for (const [what, args, env, re] of bad) {
  t.test(`${what} exits 2 with one line naming it`, async (t) => {
    const r = await runBin(BIN, args, env);
    t.equal(r.code, 2);
    t.match(r.stderr, re);
    t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
  });
}
