// TLS on the agent stream, through real sockets and real certificates: the
// server is verified by name against the CA, and with --tls-client-ca a
// client without a certificate of that CA gets no stream.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { testAggregator } from '../../helpers/aggregator.js';
import { makeCerts, SERVER_NAME, type KeyPairFiles } from '../../helpers/certs.js';
import { hello, rawStream } from '../../helpers/raw-client.js';

const certs = makeCerts();
t.teardown(() => certs.remove());

function tlsClient(ca: string, pair?: KeyPairFiles): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(ca), pair ? readFileSync(pair.key) : null, pair ? readFileSync(pair.cert) : null);
}
const named = { 'grpc.ssl_target_name_override': SERVER_NAME };

t.test('server TLS', async (t) => {
  const agg = await testAggregator({ 'tls-cert': certs.server.cert, 'tls-key': certs.server.key });
  t.teardown(() => agg.stop());
  const address = `127.0.0.1:${agg.grpcPort}`;

  t.test('a client that trusts the CA and names the server gets its plan', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caA), channelOptions: named });
    t.teardown(() => s.close());
    s.send({ hello: hello('node-tls', '127.0.0.41') });
    const m = await s.next((m) => m.plan != null);
    t.ok(m.plan, 'plan over TLS');
    t.equal(agg.nodes.get('node-tls')?.agent.connected, true);
  });

  t.test('a plaintext client gets no stream', async (t) => {
    const s = rawStream(address);
    s.send({ hello: hello('node-plain', '127.0.0.42') });
    const st = await s.status;
    t.equal(st.code, grpc.status.UNAVAILABLE);
    t.equal(agg.nodes.get('node-plain'), undefined);
  });

  t.test('a wrong server name fails verification', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caA), channelOptions: { 'grpc.ssl_target_name_override': 'someone-else.example' } });
    s.send({ hello: hello('node-misnamed', '127.0.0.43') });
    const st = await s.status;
    t.equal(st.code, grpc.status.UNAVAILABLE);
    t.equal(agg.nodes.get('node-misnamed'), undefined);
  });

  t.test('without a name the address (127.0.0.1) is checked, and the certificate does not carry it', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caA) });
    s.send({ hello: hello('node-unnamed', '127.0.0.44') });
    t.equal((await s.status).code, grpc.status.UNAVAILABLE);
  });

  t.test('a client that trusts another CA fails verification', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caB), channelOptions: named });
    s.send({ hello: hello('node-other-ca', '127.0.0.45') });
    t.equal((await s.status).code, grpc.status.UNAVAILABLE);
    t.equal(agg.nodes.get('node-other-ca'), undefined);
  });
});

t.test('mutual TLS', async (t) => {
  const agg = await testAggregator({ 'tls-cert': certs.server.cert, 'tls-key': certs.server.key, 'tls-client-ca': certs.caA });
  t.teardown(() => agg.stop());
  const address = `127.0.0.1:${agg.grpcPort}`;

  t.test('a client without a certificate is refused', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caA), channelOptions: named });
    s.send({ hello: hello('node-nocert', '127.0.0.51') });
    t.equal((await s.status).code, grpc.status.UNAVAILABLE);
    t.equal(agg.nodes.get('node-nocert'), undefined);
  });

  t.test('a client certificate from another CA is refused', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caA, certs.clientB), channelOptions: named });
    s.send({ hello: hello('node-foreign', '127.0.0.52') });
    t.equal((await s.status).code, grpc.status.UNAVAILABLE);
    t.equal(agg.nodes.get('node-foreign'), undefined);
  });

  t.test('a client certificate from the client CA is accepted', async (t) => {
    const s = rawStream(address, { credentials: tlsClient(certs.caA, certs.clientA), channelOptions: named });
    t.teardown(() => s.close());
    s.send({ hello: hello('node-mtls', '127.0.0.53') });
    t.ok((await s.next((m) => m.plan != null)).plan, 'plan over mutual TLS');
    t.equal(agg.nodes.get('node-mtls')?.agent.connected, true);
  });
});
