// The aggregator's certificates and tokens are checked at start: each mistake
// is one ConfigError line naming the setting and the file, and from the built
// command exit code 2 before anything listens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadAggregatorCredentials } from '../../../aggregator/credentials.js';
import { runBin } from '../../helpers/bin.js';
import { makeCerts } from '../../helpers/certs.js';

const certs = makeCerts();
t.teardown(() => certs.remove());

const none = { tlsCert: '', tlsKey: '', tlsClientCa: '', tokenFile: '', apiTokenFile: '' };
const load = (over: Partial<typeof none>, env: Record<string, string> = {}) => loadAggregatorCredentials({ ...none, ...over }, env);

t.test('nothing set: plaintext, no tokens', async (t) => {
  t.same(load({}), { mutualTls: false });
});

t.test('TLS, mutual TLS and tokens', async (t) => {
  const tls = load({ tlsCert: certs.server.cert, tlsKey: certs.server.key });
  t.ok(tls.grpcCredentials?._isSecure(), 'secure credentials');
  t.equal(tls.mutualTls, false);
  const mtls = load({ tlsCert: certs.server.cert, tlsKey: certs.server.key, tlsClientCa: certs.caA });
  t.equal(mtls.mutualTls, true);
  const tokenFile = join(certs.dir, 'token');
  writeFileSync(tokenFile, 'file-token\n');
  t.match(load({ tokenFile }, { NETMATRIX_API_TOKEN: 'api-token' }), { agentToken: 'file-token', apiToken: 'api-token' }, 'the file is trimmed; the env var is read');
});

const bad: [string, Partial<typeof none>, Record<string, string>, RegExp][] = [
  ['a cert without its key', { tlsCert: 'CERT' }, {}, /^netmatrix-aggregator: --tls-key \(NETMATRIX_TLS_KEY\) is not set: --tls-cert \(NETMATRIX_TLS_CERT\) needs it$/],
  ['a key without its cert', { tlsKey: 'KEY' }, {}, /^netmatrix-aggregator: --tls-cert \(NETMATRIX_TLS_CERT\) is not set: --tls-key \(NETMATRIX_TLS_KEY\) needs it$/],
  ['a client CA without TLS', { tlsClientCa: 'CA' }, {}, /--tls-client-ca \(NETMATRIX_TLS_CLIENT_CA\) is set without --tls-cert/],
  ['a cert that is not PEM', { tlsCert: 'GARBAGE', tlsKey: 'KEY' }, {}, /--tls-cert \(NETMATRIX_TLS_CERT\) ".*garbage\.pem": not a PEM certificate/],
  ['a key that is not PEM', { tlsCert: 'CERT', tlsKey: 'GARBAGE' }, {}, /--tls-key \(NETMATRIX_TLS_KEY\) ".*garbage\.pem": not an unencrypted PEM private key/],
  ['a key of another certificate', { tlsCert: 'CERT', tlsKey: 'OTHER_KEY' }, {}, /--tls-key \(NETMATRIX_TLS_KEY\) ".*client-a\.key" is not the private key of --tls-cert/],
  ['a missing file', { tlsCert: 'MISSING', tlsKey: 'KEY' }, {}, /--tls-cert \(NETMATRIX_TLS_CERT\) ".*missing\.pem": cannot read it: ENOENT/],
  ['a client CA that is not PEM', { tlsCert: 'CERT', tlsKey: 'KEY', tlsClientCa: 'GARBAGE' }, {}, /--tls-client-ca \(NETMATRIX_TLS_CLIENT_CA\) ".*garbage\.pem": not a PEM certificate/],
  ['a token both ways', { tokenFile: 'CERT' }, { NETMATRIX_TOKEN: 'x' }, /both --token-file \(NETMATRIX_TOKEN_FILE\) and NETMATRIX_TOKEN are set/],
  ['a token with a space', {}, { NETMATRIX_API_TOKEN: 'two words' }, /NETMATRIX_API_TOKEN: the token must be visible ASCII/],
];
const files: Record<string, string> = {
  CERT: certs.server.cert,
  KEY: certs.server.key,
  OTHER_KEY: certs.clientA.key,
  CA: certs.caA,
  GARBAGE: certs.garbage,
  MISSING: join(certs.dir, 'missing.pem'),
};
const resolve = (o: Partial<typeof none>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, files[v] ?? v]));

for (const [what, over, env, re] of bad) {
  t.test(`${what} is one line naming it`, async (t) => {
    t.throws(() => load(resolve(over), env), { name: 'ConfigError', message: re });
    t.throws(() => load(resolve(over), env), { message: /^[^\n]*$/ }, 'one line');
  });
}

t.test('the command exits 2 with that line before listening', async (t) => {
  const r = await runBin('dist/aggregator/main.js', ['--tls-cert', certs.garbage, '--tls-key', certs.server.key, '--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^netmatrix-aggregator: --tls-cert \(NETMATRIX_TLS_CERT\) ".*garbage\.pem": not a PEM certificate/);
  t.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line');
});

t.test('a token never appears in an error', async (t) => {
  t.throws(() => load({}, { NETMATRIX_TOKEN: 'secret value' }), { name: 'ConfigError', message: /^(?![\s\S]*secret)/ });
});
