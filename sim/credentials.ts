// What the simulated agents present to the aggregator, as a real agent does
// (agent/report/credentials.ts): TLS against --tls-ca (a client certificate
// for mutual TLS), and the shared token as `authorization: Bearer` metadata.
// The files are read once, in the main thread, so a bad one is one line and
// exit 2; worker threads get the bytes and build their own channel
// credentials (grpc-js objects don't cross threads).
import * as grpc from '@grpc/grpc-js';
import { readCertificates, readKeyPair, readToken } from '../common/tls.js';
import type { SimCredentials } from './stream.js';
import { COMMAND, simSettings, type SimConfig } from './config.js';

export const TOKEN_ENV = 'NETMATRIX_TOKEN';

/** Plain data: posted to worker threads as is. */
export interface CredentialBytes {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly serverName: string;
  readonly token?: string;
}

export function readCredentials(config: Pick<SimConfig, 'tls' | 'tokenFile'>, env: Readonly<Record<string, string | undefined>>): CredentialBytes {
  const s = simSettings;
  const token = readToken(COMMAND, { ...s.tokenFile, file: config.tokenFile }, TOKEN_ENV, env[TOKEN_ENV]);
  const withToken = token !== undefined ? { token } : {};
  if (config.tls.ca === '') return { serverName: '', ...withToken };
  const pair = readKeyPair(COMMAND, { ...s.tlsCert, file: config.tls.cert }, { ...s.tlsKey, file: config.tls.key });
  const ca = readCertificates(COMMAND, s.tlsCa, config.tls.ca).pem;
  return { ca, ...(pair ? { cert: pair.certChain, key: pair.privateKey } : {}), serverName: config.tls.serverName, ...withToken };
}

export function channelCredentials(c: CredentialBytes): SimCredentials {
  const token = c.token !== undefined ? { token: c.token } : {};
  if (!c.ca) return { channel: grpc.credentials.createInsecure(), ...token };
  return {
    channel: grpc.credentials.createSsl(Buffer.from(c.ca), c.key ? Buffer.from(c.key) : null, c.cert ? Buffer.from(c.cert) : null),
    channelOptions: c.serverName !== '' ? { 'grpc.ssl_target_name_override': c.serverName } : {},
    ...token,
  };
}
