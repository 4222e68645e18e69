// Settings: flags beat env beat defaults; every failure is a ConfigError of one
// line naming the flag, the env var and the value; --help lists everything;
// and each parser at its edges.
import t, { type Test } from 'tap';
import {
  cidr,
  ConfigError,
  defineSettings,
  duration,
  Expected,
  formatHostPort,
  helpText,
  HelpRequested,
  integer,
  ip,
  list,
  listenAddress,
  oneOf,
  parseSettings,
  ratio,
  text,
} from '../../common/settings.js';

const settings = defineSettings({
  listen: { flag: 'listen', env: 'T_LISTEN', default: '0.0.0.0:9400', parse: listenAddress, help: 'where to listen' },
  interval: { flag: 'interval', env: 'T_INTERVAL', default: '5s', parse: duration({ min: 100, max: 60_000 }), help: 'probe interval' },
  name: { flag: 'name', env: 'T_NAME', required: true, parse: text, help: 'node name' },
  zone: { flag: 'zone', env: 'T_ZONE', parse: text, help: 'zone' },
  level: { flag: 'level', env: 'T_LEVEL', default: 'info', parse: oneOf(['info', 'debug'] as const), help: 'log level' },
  empty: { flag: 'empty-default', env: 'T_EMPTY', default: '', parse: list(ip, 'IP addresses'), help: 'a list' },
});

const base = ['--name', 'node-a'];

function configError(t: Test, fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    t.type(e, ConfigError);
    t.equal((e as Error).name, 'ConfigError');
    const msg = (e as Error).message;
    t.notMatch(msg, /\n/, 'one line');
    return msg;
  }
  t.fail('expected a ConfigError');
  return '';
}

t.test('defaults apply when neither flag nor env is given', async (t) => {
  const c = parseSettings('cmd', settings, base, {});
  t.same(c.listen, { host: '0.0.0.0', port: 9400 });
  t.equal(c.interval, 5_000);
  t.equal(c.name, 'node-a');
  t.equal(c.zone, undefined, 'no default and not required: undefined');
  t.equal(c.level, 'info');
  t.same(c.empty, [], 'an empty default is an empty list');
});

t.test('env beats default and flag beats env', async (t) => {
  const env = { T_INTERVAL: '7s', T_LEVEL: 'debug', T_NAME: 'from-env' };
  const fromEnv = parseSettings('cmd', settings, [], env);
  t.equal(fromEnv.interval, 7_000);
  t.equal(fromEnv.level, 'debug');
  t.equal(fromEnv.name, 'from-env');
  const fromFlag = parseSettings('cmd', settings, ['--interval', '9s', '--name=from-flag'], env);
  t.equal(fromFlag.interval, 9_000);
  t.equal(fromFlag.name, 'from-flag');
  t.equal(fromFlag.level, 'debug', 'env still applies to what no flag set');
});

t.test('an empty env var counts as unset', async (t) => {
  const c = parseSettings('cmd', settings, base, { T_INTERVAL: '', T_ZONE: '' });
  t.equal(c.interval, 5_000);
  t.equal(c.zone, undefined);
});

t.test('a bad env value is not looked at when a flag overrides it', async (t) => {
  const c = parseSettings('cmd', settings, [...base, '--interval', '1s'], { T_INTERVAL: 'garbage' });
  t.equal(c.interval, 1_000);
});

t.test('--flag=value and --flag value are the same', async (t) => {
  const a = parseSettings('cmd', settings, ['--name', 'n', '--listen', '127.0.0.1:1', '--zone', 'z'], {});
  const b = parseSettings('cmd', settings, ['--name=n', '--listen=127.0.0.1:1', '--zone=z'], {});
  t.same(a, b);
  t.same(a.listen, { host: '127.0.0.1', port: 1 });
  t.equal(parseSettings('cmd', settings, ['--name=a=b'], {}).name, 'a=b', 'only the first "=" separates');
  t.equal(parseSettings('cmd', settings, ['--name', 'n', '--zone='], {}).zone, '', '--flag= is an empty value');
  t.throws(() => parseSettings('cmd', settings, ['--name', 'n', '--zone', '--x'], {}), /--zone \(T_ZONE\) needs a value/, 'a flag where the value should be is a missing value');
  t.equal(parseSettings('cmd', settings, ['--name', 'n', '--zone=--x'], {}).zone, '--x', 'with "=", any text is the value');
});

t.test('the last of repeated flags wins', async (t) => {
  t.equal(parseSettings('cmd', settings, ['--name', 'a', '--name', 'b'], {}).name, 'b');
});

t.test('the result is frozen', async (t) => {
  const c = parseSettings('cmd', settings, base, {});
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.empty));
});

t.test('an unknown flag is one line naming it', async (t) => {
  t.equal(configError(t, () => parseSettings('cmd', settings, [...base, '--intervall', '5s'], {})), 'cmd: unknown flag --intervall (see --help)');
  t.match(configError(t, () => parseSettings('cmd', settings, ['--nope=1'], {})), /^cmd: unknown flag --nope /);
});

t.test('an unknown flag containing a newline still gives one line', async (t) => {
  configError(t, () => parseSettings('cmd', settings, ['--a\nb', 'x'], {}));
});

t.test('a positional argument is refused', async (t) => {
  t.match(configError(t, () => parseSettings('cmd', settings, [...base, 'extra'], {})), /^cmd: unexpected argument "extra"/);
  t.match(configError(t, () => parseSettings('cmd', settings, ['-n', 'x'], {})), /unexpected argument "-n"/);
});

t.test('a flag without its value names the flag', async (t) => {
  t.equal(configError(t, () => parseSettings('cmd', settings, ['--name'], {})), 'cmd: --name (T_NAME) needs a value');
  t.match(configError(t, () => parseSettings('cmd', settings, [...base, '--interval'], {})), /--interval \(T_INTERVAL\) needs a value/);
});

t.test('a required setting that is missing names flag and env var', async (t) => {
  t.equal(configError(t, () => parseSettings('cmd', settings, [], {})), 'cmd: --name (T_NAME) is required: node name');
  configError(t, () => parseSettings('cmd', settings, [], { T_NAME: '' }));
});

t.test('a bad value names flag, env var, value and what was expected', async (t) => {
  t.equal(
    configError(t, () => parseSettings('cmd', settings, [...base, '--interval', '5x'], {})),
    'cmd: invalid --interval (T_INTERVAL) "5x": expected a duration like 5s or 250ms between 100ms and 1m',
  );
  t.equal(configError(t, () => parseSettings('cmd', settings, [...base, '--level=loud'], {})), 'cmd: invalid --level (T_LEVEL) "loud": expected one of info, debug');
  t.equal(configError(t, () => parseSettings('cmd', settings, base, { T_LISTEN: 'localhost' })), 'cmd: invalid T_LISTEN "localhost": expected host:port, like 0.0.0.0:9400 or [::]:9400');
  t.match(configError(t, () => parseSettings('cmd', settings, base, { T_INTERVAL: '5s\n--evil' })), /T_INTERVAL "5s\\n--evil"/, 'the value is quoted, its newline escaped');
});

t.test('a bad default is reported as the default', async (t) => {
  const s = defineSettings({ x: { flag: 'x', env: 'T_X', default: 'bad', parse: integer(0, 5), help: 'x' } });
  t.equal(configError(t, () => parseSettings('cmd', s, [], {})), 'cmd: invalid default of --x (T_X) "bad": expected an integer from 0 to 5');
});

t.test('the first bad setting in declaration order is the one reported', async (t) => {
  t.match(configError(t, () => parseSettings('cmd', settings, [...base, '--level', 'x', '--interval', 'y'], {})), /--interval/);
});

t.test('--help and -h list every flag, env var and help text', async (t) => {
  for (const arg of ['--help', '-h']) {
    const err = t.throws(() => parseSettings('cmd', settings, [arg], {})) as HelpRequested;
    t.type(err, HelpRequested, arg);
    t.match(err.text, /^Usage: cmd /);
    for (const s of Object.values(settings)) {
      t.match(err.text, `--${s.flag}`);
      t.match(err.text, s.env);
      t.match(err.text, s.help);
    }
    t.match(err.text, '(default 5s)');
    t.match(err.text, '(default "")');
    t.match(err.text, '(required)');
  }
  t.throws(() => parseSettings('cmd', settings, ['--help', '--interval', 'bad'], {}), HelpRequested, 'help wins over bad values after it');
  t.throws(() => parseSettings('cmd', settings, ['--help'], {}), HelpRequested, 'help wins over a missing required setting');
  t.equal(helpText('cmd', settings).split('\n').filter((l) => l.startsWith('  --')).length, Object.keys(settings).length, 'one entry per setting');
});

t.test('listenAddress', async (t) => {
  const good: [string, { host: string; port: number }][] = [
    ['0.0.0.0:9400', { host: '0.0.0.0', port: 9400 }],
    ['192.0.2.10:8080', { host: '192.0.2.10', port: 8080 }],
    [':9402', { host: '0.0.0.0', port: 9402 }],
    ['[::]:9400', { host: '::', port: 9400 }],
    ['[2001:db8::1]:443', { host: '2001:db8::1', port: 443 }],
    ['[::ffff:192.0.2.1]:80', { host: '::ffff:192.0.2.1', port: 80 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['127.0.0.1:65535', { host: '127.0.0.1', port: 65535 }],
  ];
  for (const [raw, want] of good) t.same(listenAddress(raw), want, raw);
  for (const bad of ['', 'localhost', '9400', '0.0.0.0:', '0.0.0.0:65536', '0.0.0.0:99999', '0.0.0.0:123456', '0.0.0.0:-1', '0.0.0.0:port', '::1:9400', '2001:db8::1:80', '[::1]', '[::1]9400', '[192.0.2.1]:80', '[zz::1]:80', '[:::]:80', 'a:b:80']) {
    t.type(listenAddress(bad), Expected, JSON.stringify(bad));
  }
  t.match((listenAddress('[192.0.2.1]:80') as Expected).what, /IPv6 address in brackets/);
});

t.test('formatHostPort brackets IPv6 only', async (t) => {
  t.equal(formatHostPort('192.0.2.1', 80), '192.0.2.1:80');
  t.equal(formatHostPort('2001:db8::1', 80), '[2001:db8::1]:80');
  t.equal(formatHostPort('localhost', 80), 'localhost:80');
});

t.test('list', async (t) => {
  const ips = list(ip, 'IP addresses');
  t.same(ips('192.0.2.1,2001:db8::1'), ['192.0.2.1', '2001:db8::1']);
  t.same(ips(' 192.0.2.1 , 198.51.100.2 '), ['192.0.2.1', '198.51.100.2'], 'spaces trimmed');
  t.same(ips('192.0.2.1,,203.0.113.9,'), ['192.0.2.1', '203.0.113.9'], 'empty elements ignored');
  t.same(ips(''), []);
  t.same(ips(' , '), []);
  t.ok(Object.isFrozen(ips('192.0.2.1')));
  const bad = ips('192.0.2.1,nope,203.0.113.9');
  t.type(bad, Expected);
  t.equal((bad as Expected).what, 'a comma-separated list of IP addresses; "nope" is not one');
});

t.test('duration bounds are inclusive', async (t) => {
  const d = duration({ min: 100, max: 60_000 });
  t.equal(d('100ms'), 100);
  t.equal(d('1m'), 60_000);
  t.type(d('99ms'), Expected);
  t.type(d('1m1ms'), Expected);
  t.type(d('fast'), Expected);
  t.equal((d('1h') as Expected).what, 'a duration like 5s or 250ms between 100ms and 1m');
  const def = duration();
  t.type(def('0'), Expected, 'default min is 1ms');
  t.equal(def('1ms'), 1);
  t.equal(def('24h'), 86_400_000, 'default max is 24h');
  t.type(def('24h1ms'), Expected);
  const zero = duration({ min: 0, max: 1000 });
  t.equal(zero('0'), 0);
  t.equal(zero('0s'), 0);
  t.match((zero('2s') as Expected).what, 'between 0s and 1s');
});

t.test('ratio', async (t) => {
  for (const [raw, v] of [['0', 0], ['1', 1], ['0.05', 0.05], ['.5', 0.5], ['1.0', 1]] as const) t.equal(ratio(raw), v, raw);
  for (const bad of ['', ' ', '-0.1', '1.01', '2', 'half', 'NaN', 'Infinity', '5%', '5e-2', '0x1']) t.type(ratio(bad), Expected, JSON.stringify(bad));
  t.equal((ratio('2') as Expected).what, 'a ratio from 0 to 1, like 0.05');
});

t.test('integer', async (t) => {
  const i = integer(1, 100);
  t.equal(i('1'), 1);
  t.equal(i('100'), 100);
  t.equal(i('042'), 42);
  for (const bad of ['0', '101', '-1', '1.5', '1e2', '', ' 5', '5 ', '+5', 'five', '0x10', '99999999999999999999999']) t.type(i(bad), Expected, JSON.stringify(bad));
  t.equal((i('0') as Expected).what, 'an integer from 1 to 100');
  t.equal(integer(-5, 5)('-5'), -5, 'negative numbers when the range allows');
});

t.test('oneOf', async (t) => {
  const o = oneOf(['auto', 'on', 'off'] as const);
  t.equal(o('on'), 'on');
  t.type(o('ON'), Expected, 'case-sensitive');
  t.equal((o('maybe') as Expected).what, 'one of auto, on, off');
});

t.test('cidr', async (t) => {
  t.same(cidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(cidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
  for (const bad of ['10.0.0.0', '10.0.0.0/33', 'x/8', '', '/8', '2001:db8::/129']) t.type(cidr(bad), Expected, bad);
  t.equal((cidr('x') as Expected).what, 'a CIDR like 10.0.0.0/8');
});

t.test('ip', async (t) => {
  for (const good of ['192.0.2.1', '198.51.100.254', '2001:db8::1', '::', '::ffff:203.0.113.1']) t.equal(ip(good), good);
  for (const bad of ['', '192.0.2', '192.0.2.256', '192.0.2.1/32', 'host', '2001:db8::g', ' 192.0.2.1']) t.type(ip(bad), Expected, JSON.stringify(bad));
  t.equal((ip('x') as Expected).what, 'an IPv4 or IPv6 address');
});
