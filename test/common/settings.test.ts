import t from 'tap';
import { cidr, ConfigError, defineSettings, duration, HelpRequested, integer, listenAddress, list, ip, parseSettings, ratio, Expected } from '../../common/settings.js';

const settings = defineSettings({
  listen: { flag: 'listen', env: 'T_LISTEN', default: '0.0.0.0:9400', parse: listenAddress, help: 'where' },
  interval: { flag: 'interval', env: 'T_INTERVAL', default: '5s', parse: duration({ min: 100, max: 60_000 }), help: 'how often' },
  name: { flag: 'name', env: 'T_NAME', required: true, parse: (s: string) => s, help: 'who' },
  ips: { flag: 'ips', env: 'T_IPS', default: '', parse: list(ip, 'IP addresses'), help: 'ips' },
});

t.test('flags beat env beat defaults; both flag forms', (t) => {
  t.same(parseSettings('cmd', settings, ['--name', 'a'], {}), { listen: { host: '0.0.0.0', port: 9400 }, interval: 5000, name: 'a', ips: [] });
  t.equal(parseSettings('cmd', settings, ['--name=a'], { T_INTERVAL: '1s' }).interval, 1000);
  t.equal(parseSettings('cmd', settings, ['--name=a', '--interval', '2s'], { T_INTERVAL: '1s' }).interval, 2000);
  t.same(parseSettings('cmd', settings, [], { T_NAME: 'b', T_IPS: '192.0.2.1, 2001:db8::1' }).ips, ['192.0.2.1', '2001:db8::1']);
  t.ok(Object.isFrozen(parseSettings('cmd', settings, ['--name', 'a'], {})), 'frozen');
  t.end();
});

t.test('bad input: one line naming flag, env, value and expectation', (t) => {
  const cases: [string[], Record<string, string>, string][] = [
    [['--name', 'a', '--interval', '5x'], {}, 'cmd: invalid --interval (T_INTERVAL) "5x": expected a duration like 5s or 250ms between 100ms and 1m'],
    [['--name', 'a'], { T_INTERVAL: '50ms' }, 'cmd: invalid T_INTERVAL "50ms": expected a duration like 5s or 250ms between 100ms and 1m'],
    [[], {}, 'cmd: --name (T_NAME) is required: who'],
    [['--nmae', 'a'], {}, 'cmd: unknown flag --nmae (see --help)'],
    [['--name'], {}, 'cmd: --name needs a value'],
    [['name'], {}, 'cmd: unexpected argument "name" (settings are --flag value; see --help)'],
    [['--name', 'a', '--ips', '192.0.2.1,nope'], {}, 'cmd: invalid --ips (T_IPS) "192.0.2.1,nope": expected a comma-separated list of IP addresses; "nope" is not one'],
  ];
  for (const [argv, env, message] of cases) {
    t.throws(() => parseSettings('cmd', settings, argv, env), new ConfigError(message), message);
  }
  t.end();
});

t.test('--help lists every flag and env var', (t) => {
  try {
    parseSettings('cmd', settings, ['--help'], {});
    t.fail('no help');
  } catch (e) {
    t.type(e, HelpRequested);
    for (const s of ['--listen', 'T_LISTEN', '--interval', 'T_INTERVAL', '(default 5s)', '(required)']) t.match((e as HelpRequested).text, s);
  }
  t.end();
});

t.test('parsers', (t) => {
  t.same(listenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  t.same(listenAddress('[::1]:9400'), { host: '::1', port: 9400 });
  t.same(listenAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  for (const bad of ['localhost', '1.2.3.4:70000', '[zz]:1', '::1:80', '']) t.type(listenAddress(bad), Expected, bad);
  t.equal(integer(1, 10)('10'), 10);
  for (const bad of ['0', '11', '1.5', 'x', '']) t.type(integer(1, 10)(bad), Expected, bad);
  t.equal(ratio('0.05'), 0.05);
  for (const bad of ['-0.1', '1.1', 'x', '']) t.type(ratio(bad), Expected, bad);
  t.same(cidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(cidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'x/8', '10.0.0.0/08x']) t.type(cidr(bad), Expected, bad);
  t.end();
});
