// The agent's TLS files and token are checked at start: each mistake is one
// ConfigError line naming the setting (and the file); a good set gives
// secure channel credentials and the server-name override.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadAgentCredentials } from '../../../agent/report/credentials.js';
import { runBin } from '../../helpers/bin.js';
import { makeCerts } from '../../helpers/certs.js';

const certs = makeCerts();
t.teardown(() => certs.remove());

const none = { tlsCa: '', tlsCert: '', tlsKey: '', tlsServerName: '', tokenFile: '' };
const load = (over: Partial<typeof none>, env: Record<string, string> = {}) => loadAgentCredentials({ ...none, ...over }, env);

t.test('nothing set: plaintext, no token', async (t) => {
  const c = load({});
  t.equal(c.tls, false);
  t.equal(c.channel._isSecure(), false);
  t.same(c.channelOptions, {});
  t.equal(c.token, undefined);
});

t.test('TLS with a server name, mutual TLS, the token', async (t) => {
  const c = load({ tlsCa: certs.caA, tlsServerName: 'netmatrix-aggregator' }, { NETMATRIX_TOKEN: 'tok' });
  t.equal(c.channel._isSecure(), true);
  t.same(c.channelOptions, { 'grpc.ssl_target_name_override': 'netmatrix-aggregator' });
  t.match(c, { tls: true, mutualTls: false, token: 'tok' });
  const tokenFile = join(certs.dir, 'agent-token');
  writeFileSync(tokenFile, '  from-a-secret\n');
  t.match(load({ tlsCa: certs.caA, tlsCert: certs.clientA.cert, tlsKey: certs.clientA.key, tokenFile }), { tls: true, mutualTls: true, token: 'from-a-secret' });
});

const bad: [string, Partial<typeof none>, Record<string, string>, RegExp][] = [
  ['a client cert without its key', { tlsCa: 'CA', tlsCert: 'CERT' }, {}, /^netmatrix-agent: --tls-key \(NETMATRIX_TLS_KEY\) is not set: --tls-cert \(NETMATRIX_TLS_CERT\) needs it$/],
  ['a client key without its cert', { tlsCa: 'CA', tlsKey: 'KEY' }, {}, /^netmatrix-agent: --tls-cert \(NETMATRIX_TLS_CERT\) is not set: --tls-key \(NETMATRIX_TLS_KEY\) needs it$/],
  ['a client cert without a CA', { tlsCert: 'CERT', tlsKey: 'KEY' }, {}, /--tls-cert \(NETMATRIX_TLS_CERT\) is set without --tls-ca \(NETMATRIX_TLS_CA\)/],
  ['a server name without a CA', { tlsServerName: 'x' }, {}, /--tls-server-name \(NETMATRIX_TLS_SERVER_NAME\) is set without --tls-ca/],
  ['a CA that is not PEM', { tlsCa: 'GARBAGE' }, {}, /^netmatrix-agent: --tls-ca \(NETMATRIX_TLS_CA\) ".*garbage\.pem": not a PEM certificate/],
  ['a missing CA', { tlsCa: 'MISSING' }, {}, /--tls-ca \(NETMATRIX_TLS_CA\) ".*nope\.pem": cannot read it/],
  ['an empty token file', { tokenFile: 'EMPTY' }, {}, /--token-file \(NETMATRIX_TOKEN_FILE\) ".*empty": the token is empty/],
];
const empty = join(certs.dir, 'empty');
writeFileSync(empty, '\n');
const files: Record<string, string> = { CA: certs.caA, CERT: certs.clientA.cert, KEY: certs.clientA.key, GARBAGE: certs.garbage, MISSING: join(certs.dir, 'nope.pem'), EMPTY: empty };
for (const [what, over, env, re] of bad) {
  t.test(`${what} is one line naming it`, async (t) => {
    const resolved = Object.fromEntries(Object.entries(over).map(([k, v]) => [k, files[v] ?? v]));
    t.throws(() => load(resolved, env), { name: 'ConfigError', message: re });
    t.throws(() => load(resolved, env), { message: /^[^\n]*$/ }, 'one line');
  });
}

t.test('the command exits 2 with that line', async (t) => {
  const r = await runBin('dist/agent/main.js', ['--tls-ca', certs.garbage], { NODE_NAME: 'node-a', POD_IP: '127.0.0.1' });
  t.equal(r.code, 2);
  t.match(r.stderr, /^netmatrix-agent: --tls-ca \(NETMATRIX_TLS_CA\) ".*garbage\.pem": not a PEM certificate/);
  t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
});
