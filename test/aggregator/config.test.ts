// netmatrix-aggregator settings: defaults, one line per bad value, and the
// checks that span two settings.
import t, { type Test } from 'tap';
import { aggregatorSettings, parseAggregatorConfig } from '../../aggregator/config.js';
import { DnsStore } from '../../aggregator/dns/store.js';
import { MatrixStore } from '../../aggregator/matrix/store.js';
import { ConfigError, HelpRequested } from '../../common/settings.js';

function fails(t: Test, argv: string[], env: Record<string, string> = {}): string {
  try {
    parseAggregatorConfig(argv, env);
  } catch (e) {
    t.type(e, ConfigError);
    const msg = (e as Error).message;
    t.notMatch(msg, /\n/, 'one line');
    t.match(msg, /^netmatrix-aggregator: /);
    return msg;
  }
  t.fail(`expected a ConfigError for ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
  return '';
}

t.test('defaults are the documented ones (docs/configuration.md)', async (t) => {
  const c = parseAggregatorConfig([], {});
  t.same(c.grpcListen, { host: '0.0.0.0', port: 9400 });
  t.same(c.httpListen, { host: '0.0.0.0', port: 8080 });
  t.equal(c.probeInterval, 5_000);
  t.equal(c.probeTimeout, 1_000);
  t.same(c.probeKinds, ['icmp', 'tcp', 'http', 'node']);
  t.equal(c.window, 60_000);
  t.equal(c.staleAfter, 15_000, 'stale after 3 × the probe interval');
  t.equal(c.degradedLoss, 0.05);
  t.equal(c.failingLoss, 0.5);
  t.equal(c.latencyThreshold, 50);
  t.equal(c.nodeExpiry, 600_000);
  t.equal(c.maxMessageBytes, 4_194_304);
  t.equal(c.maxResultsPerReport, 50_000);
  t.equal(c.logLevel, 'info');
  t.equal(c.fullMeshMax, 200, 'the full mesh up to 200 nodes');
  t.equal(c.peersPerRound, 64);
  t.equal(c.minProbers, 3);
  t.equal(c.suspectProbersMax, 256);
  t.ok(Object.isFrozen(c), 'frozen');
});

t.test('a sampled plan\'s settings: min probers at most half a round', async (t) => {
  t.equal(parseAggregatorConfig(['--peers-per-round', '8', '--min-probers', '4'], {}).minProbers, 4);
  t.match(fails(t, ['--peers-per-round', '8', '--min-probers', '5']), /--min-probers \(NETMATRIX_MIN_PROBERS\) 5 is more than half of --peers-per-round \(NETMATRIX_PEERS_PER_ROUND\) 8/);
});

t.test('flags and env vars set every value; flags win', async (t) => {
  const c = parseAggregatorConfig(
    ['--grpc-listen', '[::]:19400', '--http-listen=192.0.2.1:18080', '--probe-interval', '2s', '--probe-kinds', 'tcp, mtu', '--stale-after', '45s', '--log-level', 'debug'],
    { NETMATRIX_PROBE_INTERVAL: '10s', NETMATRIX_PROBE_TIMEOUT: '500ms', NETMATRIX_WINDOW: '2m', NETMATRIX_DEGRADED_LOSS: '0.1', NETMATRIX_FAILING_LOSS: '0.9', NETMATRIX_LATENCY_THRESHOLD: '0', NETMATRIX_NODE_EXPIRY: '1h', NETMATRIX_GRPC_MAX_MESSAGE_BYTES: '1024', NETMATRIX_MAX_RESULTS_PER_REPORT: '7', NETMATRIX_LOG_LEVEL: 'warn' },
  );
  t.same(c.grpcListen, { host: '::', port: 19400 });
  t.same(c.httpListen, { host: '192.0.2.1', port: 18080 });
  t.equal(c.probeInterval, 2_000, 'flag beats env');
  t.equal(c.probeTimeout, 500);
  t.same(c.probeKinds, ['tcp', 'mtu']);
  t.equal(c.window, 120_000);
  t.equal(c.staleAfter, 45_000, 'an explicit stale-after is kept');
  t.equal(c.degradedLoss, 0.1);
  t.equal(c.failingLoss, 0.9);
  t.equal(c.latencyThreshold, 0);
  t.equal(c.nodeExpiry, 3_600_000);
  t.equal(c.maxMessageBytes, 1024);
  t.equal(c.maxResultsPerReport, 7);
  t.equal(c.logLevel, 'debug');
});

t.test('the default stale-after follows the probe interval', async (t) => {
  t.equal(parseAggregatorConfig(['--probe-interval', '2s'], {}).staleAfter, 6_000);
  t.equal(parseAggregatorConfig([], { NETMATRIX_PROBE_INTERVAL: '100ms', NETMATRIX_PROBE_TIMEOUT: '10ms', NETMATRIX_WINDOW: '10s' }).staleAfter, 300);
});

t.test('every bad value is one line naming its flag, env var and the value', async (t) => {
  const cases: [string, string, string][] = [
    ['grpc-listen', 'NETMATRIX_GRPC_LISTEN', 'localhost'],
    ['http-listen', 'NETMATRIX_HTTP_LISTEN', '0.0.0.0:70000'],
    ['probe-interval', 'NETMATRIX_PROBE_INTERVAL', '99ms'],
    ['probe-interval', 'NETMATRIX_PROBE_INTERVAL', '10m1ms'],
    ['probe-timeout', 'NETMATRIX_PROBE_TIMEOUT', '9ms'],
    ['probe-timeout', 'NETMATRIX_PROBE_TIMEOUT', 'soon'],
    ['probe-kinds', 'NETMATRIX_PROBE_KINDS', 'icmp,dns'],
    ['probe-kinds', 'NETMATRIX_PROBE_KINDS', 'ICMP'],
    ['window', 'NETMATRIX_WINDOW', '999ms'],
    ['stale-after', 'NETMATRIX_STALE_AFTER', '1h1s'],
    ['degraded-loss', 'NETMATRIX_DEGRADED_LOSS', '5%'],
    ['failing-loss', 'NETMATRIX_FAILING_LOSS', '1.5'],
    ['latency-threshold', 'NETMATRIX_LATENCY_THRESHOLD', '61s'],
    ['node-expiry', 'NETMATRIX_NODE_EXPIRY', '500ms'],
    ['grpc-max-message-bytes', 'NETMATRIX_GRPC_MAX_MESSAGE_BYTES', '1023'],
    ['max-results-per-report', 'NETMATRIX_MAX_RESULTS_PER_REPORT', '0'],
    ['log-level', 'NETMATRIX_LOG_LEVEL', 'verbose'],
    ['full-mesh-max', 'NETMATRIX_FULL_MESH_MAX', '0'],
    ['peers-per-round', 'NETMATRIX_PEERS_PER_ROUND', '3'],
    ['min-probers', 'NETMATRIX_MIN_PROBERS', 'three'],
    ['suspect-probers-max', 'NETMATRIX_SUSPECT_PROBERS_MAX', '-1'],
  ];
  for (const [flag, env, value] of cases) {
    const byFlag = fails(t, [`--${flag}`, value]);
    t.match(byFlag, `invalid --${flag} (${env}) ${JSON.stringify(value)}: expected `, `--${flag} ${value}`);
    const byEnv = fails(t, [], { [env]: value });
    t.match(byEnv, `invalid ${env} ${JSON.stringify(value)}: expected `, `${env}=${value}`);
  }
  t.match(fails(t, ['--probe-kinds', 'icmp,dns']), /"dns" is not one/, 'names the bad element');
  t.match(fails(t, ['--probe-kinds', 'icmp,dns']), /icmp, tcp, http, mtu, node/, 'lists the kinds that are');
});

t.test('every setting has a distinct flag and a NETMATRIX_ env var', async (t) => {
  const s = Object.values(aggregatorSettings);
  t.equal(new Set(s.map((x) => x.flag)).size, s.length);
  t.equal(new Set(s.map((x) => x.env)).size, s.length);
  for (const x of s) t.match(x.env, /^NETMATRIX_[A-Z_]+$/);
});

t.test('--help lists every setting', async (t) => {
  const err = t.throws(() => parseAggregatorConfig(['--help'], {})) as HelpRequested;
  t.type(err, HelpRequested);
  for (const s of Object.values(aggregatorSettings)) {
    t.match(err.text, `--${s.flag}`);
    t.match(err.text, s.env);
  }
});

t.test('the probe timeout must be shorter than the interval', async (t) => {
  const equal = fails(t, ['--probe-interval', '1s', '--probe-timeout', '1s']);
  t.equal(equal, 'netmatrix-aggregator: --probe-timeout (NETMATRIX_PROBE_TIMEOUT) 1000ms must be shorter than --probe-interval (NETMATRIX_PROBE_INTERVAL) 1000ms');
  t.match(fails(t, [], { NETMATRIX_PROBE_INTERVAL: '1s', NETMATRIX_PROBE_TIMEOUT: '2s' }), /2000ms must be shorter than .* 1000ms/);
  t.equal(parseAggregatorConfig(['--probe-interval', '1s', '--probe-timeout', '999ms'], {}).probeTimeout, 999);
});

t.test('an empty kind list is refused', async (t) => {
  t.equal(fails(t, ['--probe-kinds', '']), 'netmatrix-aggregator: --probe-kinds (NETMATRIX_PROBE_KINDS) is empty');
  t.equal(fails(t, ['--probe-kinds', ' , ']), 'netmatrix-aggregator: --probe-kinds (NETMATRIX_PROBE_KINDS) is empty');
  // An empty env var means "unset", so the default applies.
  t.same(parseAggregatorConfig([], { NETMATRIX_PROBE_KINDS: '' }).probeKinds, ['icmp', 'tcp', 'http', 'node']);
});

t.test('degraded loss must not exceed failing loss', async (t) => {
  const msg = fails(t, ['--degraded-loss', '0.6', '--failing-loss', '0.5']);
  t.equal(msg, 'netmatrix-aggregator: --degraded-loss (NETMATRIX_DEGRADED_LOSS) must not exceed --failing-loss (NETMATRIX_FAILING_LOSS)');
  fails(t, ['--degraded-loss', '0.6']);
  const same = parseAggregatorConfig(['--degraded-loss', '0.3', '--failing-loss', '0.3'], {});
  t.equal(same.degradedLoss, 0.3, 'equal thresholds are allowed');
});

t.test('the status window is at most 240 results per cell, DNS cells (a result per name per round) included; every accepted setting builds the stores', async (t) => {
  const thresholds = { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 };
  const stores = (c: ReturnType<typeof parseAggregatorConfig>) => {
    new MatrixStore({ windowMs: c.window, intervalMs: c.probeInterval, lossWindowMs: c.lossWindow, thresholds }, 0);
    new DnsStore(c.dnsServers, { windowMs: c.window, intervalMs: c.probeInterval, lossWindowMs: c.lossWindow, questionsPerRound: c.dnsNames.length, thresholds }, 0);
  };
  t.equal(
    fails(t, ['--window', '21m', '--loss-window', '21m']),
    'netmatrix-aggregator: --window (NETMATRIX_WINDOW) 1260000ms / --probe-interval (NETMATRIX_PROBE_INTERVAL) 5000ms is 252 results per cell: at most 240 (shorten the window or lengthen the interval)',
  );
  const names = 'a.example.com,b.example.com,c.example.com,d.example.com,e.example.com';
  t.equal(
    fails(t, ['--window', '5m', '--dns-names', names]),
    'netmatrix-aggregator: --window (NETMATRIX_WINDOW) 300000ms / --probe-interval (NETMATRIX_PROBE_INTERVAL) 5000ms × 5 --dns-names (NETMATRIX_DNS_NAMES) is 300 DNS results per cell: at most 240 (shorten the window, lengthen the interval or ask fewer names)',
  );
  for (const argv of [
    ['--window', '20m', '--loss-window', '20m'],
    ['--window', '5m', '--dns-names', names.split(',').slice(0, 4).join(',')],
    ['--window', '5m', '--dns-names', names, '--probe-interval', '7s', '--probe-timeout', '1s'],
    ['--window', '1h', '--loss-window', '1h', '--probe-interval', '15s'],
  ]) {
    t.doesNotThrow(() => stores(parseAggregatorConfig(argv, {})), argv.join(' '));
  }
});

t.test('findings and alert settings: defaults follow the probe interval and the HTTP address', async (t) => {
  const c = parseAggregatorConfig(['--probe-interval', '2s', '--http-listen', '0.0.0.0:18080'], {});
  t.equal(c.findingFor, 4_000, 'fire after 2 × interval');
  t.equal(c.findingClearFor, 4_000, 'clear after 2 × interval');
  t.equal(c.cluster, 'default');
  t.same(c.alertmanagerUrls, [], 'no Alertmanager by default');
  t.equal(c.alertResend, 60_000);
  t.equal(c.alertTimeout, 10_000);
  t.equal(c.alertQueue, 10_000);
  t.equal(c.externalUrl, 'http://127.0.0.1:18080');
  t.equal(c.maxPairFindings, 100);
  t.equal(c.maxPairSeries, 100);
  t.match(c.runbookBaseUrl, /^https:\/\/.*\/docs\/runbooks$/);
  const e = parseAggregatorConfig([], {
    NETMATRIX_ALERTMANAGER_URLS: 'http://am-0.am:9093/, https://am-1.am:9093/prefix',
    NETMATRIX_FINDING_FOR: '0s',
    NETMATRIX_FINDING_CLEAR_FOR: '30s',
    NETMATRIX_CLUSTER: 'prod-eu-1',
    NETMATRIX_EXTERNAL_URL: 'https://netmatrix.example.org/',
  });
  t.same(e.alertmanagerUrls, ['http://am-0.am:9093', 'https://am-1.am:9093/prefix'], 'trailing slashes dropped');
  t.equal(e.findingFor, 0, 'fire at once is allowed');
  t.equal(e.findingClearFor, 30_000);
  t.equal(e.cluster, 'prod-eu-1');
  t.equal(e.externalUrl, 'https://netmatrix.example.org');
});

t.test('bad findings and alert settings name the setting and what was expected', async (t) => {
  t.match(fails(t, [], { NETMATRIX_ALERTMANAGER_URLS: 'http://am:9093,am-1:9093' }), /NETMATRIX_ALERTMANAGER_URLS.*"am-1:9093" is not one/);
  t.match(fails(t, ['--alertmanager-urls', 'ftp://am:21']), /alertmanager-urls/);
  t.match(fails(t, ['--alertmanager-urls', 'http://user:pw@am:9093']), /alertmanager-urls/);
  t.match(fails(t, ['--external-url', 'netmatrix.example.org']), /--external-url.*http:\/\/ or https:\/\/ URL/);
  t.match(fails(t, ['--cluster', '']), /--cluster.*1 to 63 printable/);
  t.match(fails(t, ['--cluster', 'x'.repeat(64)]), /--cluster/);
  t.match(fails(t, ['--alert-resend', '10ms']), /--alert-resend/);
  t.match(fails(t, ['--finding-for', 'soon']), /--finding-for/);
  t.match(fails(t, ['--max-pair-series', '-1']), /--max-pair-series/);
});

t.test('an unset --window is 60 s, shortened to hold at most 240 results per cell (a short interval, several DNS names); a set one is refused past it', async (t) => {
  t.equal(parseAggregatorConfig([], {}).window, 60_000);
  t.equal(parseAggregatorConfig(['--probe-interval', '200ms', '--probe-timeout', '100ms'], {}).window, 48_000, '240 × 200 ms');
  t.equal(parseAggregatorConfig(['--probe-interval', '200ms', '--probe-timeout', '100ms', '--dns-names', 'a.example,b.example'], {}).window, 24_000, 'two DNS results per round');
  t.throws(() => parseAggregatorConfig(['--probe-interval', '200ms', '--probe-timeout', '100ms', '--window', '60s'], {}), /--window \(NETMATRIX_WINDOW\) 60000ms \/ --probe-interval \(NETMATRIX_PROBE_INTERVAL\) 200ms is 300 results per cell: at most 240/);
});
