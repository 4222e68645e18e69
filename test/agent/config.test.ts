// netmatrix-agent settings: identity from the Downward API, the listen default
// derived from POD_IP (every pod IP), dual-stack lists, and one line per bad value.
import t, { type Test } from 'tap';
import { agentSettings, parseAgentConfig } from '../../agent/config.js';
import { PRIVATE_RANGES } from '../../common/cidr.js';
import { ConfigError, HelpRequested } from '../../common/settings.js';

const IDENTITY = { NODE_NAME: 'node-a', POD_IP: '192.0.2.10' };

function fails(t: Test, argv: string[], env: Record<string, string> = {}): string {
  try {
    parseAgentConfig(argv, env);
  } catch (e) {
    t.type(e, ConfigError);
    const msg = (e as Error).message;
    t.notMatch(msg, /\n/, 'one line');
    t.match(msg, /^netmatrix-agent: /);
    return msg;
  }
  t.fail(`expected a ConfigError for ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
  return '';
}

t.test('defaults', async (t) => {
  const c = parseAgentConfig([], IDENTITY);
  t.same(c.aggregators, ['netmatrix-aggregator:9400']);
  t.equal(c.nodeName, 'node-a');
  t.same(c.podIPs, ['192.0.2.10']);
  t.same(c.nodeIPs, [], 'NODE_IP may be absent');
  t.equal(c.zone, '');
  t.same(c.listen, [{ host: '192.0.2.10', port: 9402 }], 'listen defaults to ${POD_IP}:9402');
  const allowed = [...PRIVATE_RANGES, '169.254.20.10/32'];
  t.same(c.allowedCidrs.map((x) => `${x.address}/${x.prefix}`), allowed, 'private ranges and NodeLocal DNSCache\'s address');
  t.equal(c.allowed.toString(), allowed.join(','));
  t.equal(c.resolvConf, '/etc/resolv.conf');
  t.equal(c.maxPeers, 1000);
  t.equal(c.maxConcurrentProbes, 128);
  t.equal(c.reportBuffer, 120);
  t.equal(c.reconnectMax, 30_000);
  t.equal(c.connectTimeout, 5_000);
  t.equal(c.icmp, 'auto');
  t.equal(c.logLevel, 'info');
  t.ok(Object.isFrozen(c));
});

t.test('the allow-list is ready to use', async (t) => {
  const c = parseAgentConfig(['--allowed-cidrs', '192.0.2.0/24,2001:db8::/32'], IDENTITY);
  t.ok(c.allowed.contains('192.0.2.99'));
  t.ok(c.allowed.contains('2001:db8::5'));
  t.notOk(c.allowed.contains('198.51.100.1'));
  t.notOk(parseAgentConfig([], IDENTITY).allowed.contains('203.0.113.1'), 'documentation ranges are not private');
  t.ok(parseAgentConfig([], IDENTITY).allowed.contains('10.244.1.7'));
});

t.test('dual-stack POD_IP and NODE_IP lists, primary first', async (t) => {
  const c = parseAgentConfig([], { NODE_NAME: 'node-a', POD_IP: '192.0.2.10,2001:db8::10', NODE_IP: '198.51.100.10, 2001:db8:1::10' });
  t.same(c.podIPs, ['192.0.2.10', '2001:db8::10']);
  t.same(c.nodeIPs, ['198.51.100.10', '2001:db8:1::10']);
  // Hello announces both pod IPs and peers probe tcp and http on both families: both must answer.
  t.same(
    c.listen,
    [
      { host: '192.0.2.10', port: 9402 },
      { host: '2001:db8::10', port: 9402 },
    ],
    'listens on every pod IP, one port',
  );
  const v6first = parseAgentConfig([], { NODE_NAME: 'node-a', POD_IP: '2001:db8::10,192.0.2.10' });
  t.same(v6first.listen.map((a) => a.host), ['2001:db8::10', '192.0.2.10'], 'in POD_IP order');
  t.same(parseAgentConfig([], { NODE_NAME: 'node-a', POD_IP: '192.0.2.10,192.0.2.10' }).listen, [{ host: '192.0.2.10', port: 9402 }], 'a repeated IP is listened on once');
});

t.test('an explicit listen address wins over the POD_IP default', async (t) => {
  t.same(parseAgentConfig(['--listen', '[::]:19402'], IDENTITY).listen, [{ host: '::', port: 19402 }]);
  t.same(parseAgentConfig([], { ...IDENTITY, NETMATRIX_AGENT_LISTEN: ':0' }).listen, [{ host: '0.0.0.0', port: 0 }]);
  t.same(
    parseAgentConfig(['--listen', '127.0.0.1:0, [::1]:0'], IDENTITY).listen,
    [
      { host: '127.0.0.1', port: 0 },
      { host: '::1', port: 0 },
    ],
    'several, comma-separated',
  );
});

t.test('listen addresses must share one port: peers are told one responder port', async (t) => {
  t.equal(
    fails(t, ['--listen', '192.0.2.10:9402,[2001:db8::10]:9403'], IDENTITY),
    'netmatrix-agent: invalid --listen (NETMATRIX_AGENT_LISTEN) "192.0.2.10:9402,[2001:db8::10]:9403": expected the same port for every address (peers are told one responder port)',
  );
  t.match(fails(t, ['--listen', ' , '], IDENTITY), /expected at least one host:port$/);
});

t.test('flags beat the Downward API env vars', async (t) => {
  const c = parseAgentConfig(['--node-name', 'node-b', '--pod-ip', '198.51.100.7', '--zone', 'zone-b'], { ...IDENTITY, NETMATRIX_ZONE: 'zone-a' });
  t.equal(c.nodeName, 'node-b');
  t.same(c.podIPs, ['198.51.100.7']);
  t.equal(c.zone, 'zone-b');
});

t.test('several aggregator addresses', async (t) => {
  const c = parseAgentConfig(['--aggregator', 'agg-0.netmatrix:9400,192.0.2.1:9400,[2001:db8::1]:9400'], IDENTITY);
  t.same(c.aggregators, ['agg-0.netmatrix:9400', '192.0.2.1:9400', '[2001:db8::1]:9400']);
});

t.test('identity is required', async (t) => {
  t.equal(fails(t, [], { POD_IP: '192.0.2.10' }), "netmatrix-agent: --node-name (NODE_NAME) is required: this node's name (Downward API spec.nodeName)");
  t.match(fails(t, [], { NODE_NAME: 'node-a' }), /^netmatrix-agent: --pod-ip \(POD_IP\) is required/);
  t.match(fails(t, [], { NODE_NAME: 'node-a', POD_IP: '' }), /--pod-ip \(POD_IP\) is required/, 'an empty env var is unset');
});

t.test('an empty POD_IP list is refused', async (t) => {
  t.equal(fails(t, ['--pod-ip', ''], { NODE_NAME: 'node-a' }), 'netmatrix-agent: --pod-ip (POD_IP) is empty');
  t.equal(fails(t, [], { NODE_NAME: 'node-a', POD_IP: ' , ' }), 'netmatrix-agent: --pod-ip (POD_IP) is empty');
});

t.test('every bad value is one line naming its flag, env var and the value', async (t) => {
  const cases: [string, string, string][] = [
    ['aggregator', 'NETMATRIX_AGGREGATOR', 'netmatrix-aggregator'],
    ['aggregator', 'NETMATRIX_AGGREGATOR', 'agg:0'],
    ['aggregator', 'NETMATRIX_AGGREGATOR', 'agg:65536'],
    ['aggregator', 'NETMATRIX_AGGREGATOR', '2001:db8::1:9400'],
    ['aggregator', 'NETMATRIX_AGGREGATOR', 'agg_1:9400'],
    ['node-name', 'NODE_NAME', 'Node_A'],
    ['node-name', 'NODE_NAME', '-node'],
    ['pod-ip', 'POD_IP', '192.0.2.300'],
    ['pod-ip', 'POD_IP', '192.0.2.10,pod'],
    ['node-ip', 'NODE_IP', '192.0.2.0/24'],
    ['zone', 'NETMATRIX_ZONE', 'z'.repeat(64)],
    ['listen', 'NETMATRIX_AGENT_LISTEN', '192.0.2.10'],
    ['allowed-cidrs', 'NETMATRIX_ALLOWED_CIDRS', '10.0.0.0/8,192.0.2.1'],
    ['max-peers', 'NETMATRIX_MAX_PEERS', '0'],
    ['max-concurrent-probes', 'NETMATRIX_MAX_CONCURRENT_PROBES', '10001'],
    ['report-buffer', 'NETMATRIX_REPORT_BUFFER', 'many'],
    ['reconnect-max', 'NETMATRIX_RECONNECT_MAX', '99ms'],
    ['connect-timeout', 'NETMATRIX_CONNECT_TIMEOUT', '121s'],
    ['icmp', 'NETMATRIX_ICMP', 'on'],
    ['log-level', 'NETMATRIX_LOG_LEVEL', 'loud'],
  ];
  for (const [flag, env, value] of cases) {
    const byFlag = fails(t, [`--${flag}`, value], IDENTITY);
    t.match(byFlag, `invalid --${flag} (${env}) ${JSON.stringify(value)}: expected `, `--${flag} ${value}`);
    const byEnv = fails(t, [], { ...IDENTITY, [env]: value });
    t.match(byEnv, `invalid ${env} ${JSON.stringify(value)}: expected `, `${env}=${value}`);
  }
  t.match(fails(t, ['--pod-ip', '192.0.2.10,pod'], IDENTITY), /"pod" is not one/);
  t.match(fails(t, ['--node-name', 'Node_A'], IDENTITY), /DNS-1123 subdomain/);
});

t.test('zone of exactly 63 characters is fine', async (t) => {
  t.equal(parseAgentConfig(['--zone', 'z'.repeat(63)], IDENTITY).zone, 'z'.repeat(63));
});

t.test('--help lists every setting', async (t) => {
  const err = t.throws(() => parseAgentConfig(['--help'], {})) as HelpRequested;
  t.type(err, HelpRequested);
  for (const s of Object.values(agentSettings)) {
    t.match(err.text, `--${s.flag}`);
    t.match(err.text, s.env);
  }
  t.match(err.text, '(required)');
});
