// What the agent presents to the aggregator: TLS (server verified against
// --tls-ca, optionally a client certificate for mutual TLS) and the shared
// token, sent as `authorization: Bearer <token>` metadata on every stream.
// Read once at start; a rotated certificate or token takes a restart.
import * as grpc from '@grpc/grpc-js';
import { readCertificates, readKeyPair, readToken, settingName } from '../../common/tls.js';
import { ConfigError } from '../../common/settings.js';
import { agentSettings, type AgentConfig } from '../config.js';

const COMMAND = 'netmatrix-agent';
export const TOKEN_ENV = 'NETMATRIX_TOKEN';

export interface AgentCredentials {
  readonly channel: grpc.ChannelCredentials;
  /** Channel options the credentials need (the TLS server name). */
  readonly channelOptions: grpc.ChannelOptions;
  readonly token?: string;
  /** Whether the stream is encrypted (for the plaintext-token warning). */
  readonly tls: boolean;
  readonly mutualTls: boolean;
}

type TlsSettings = Pick<AgentConfig, 'tlsCa' | 'tlsCert' | 'tlsKey' | 'tlsServerName' | 'tokenFile'>;

export function loadAgentCredentials(config: TlsSettings, env: Readonly<Record<string, string | undefined>>): AgentCredentials {
  const s = agentSettings;
  const token = readToken(COMMAND, { ...s.tokenFile, file: config.tokenFile }, TOKEN_ENV, env[TOKEN_ENV]);
  const pair = readKeyPair(COMMAND, { ...s.tlsCert, file: config.tlsCert }, { ...s.tlsKey, file: config.tlsKey });
  if (config.tlsCa === '') {
    if (pair) throw new ConfigError(`${COMMAND}: ${settingName(s.tlsCert)} is set without ${settingName(s.tlsCa)}: a client certificate needs TLS`);
    if (config.tlsServerName !== '') throw new ConfigError(`${COMMAND}: ${settingName(s.tlsServerName)} is set without ${settingName(s.tlsCa)}`);
    return { channel: grpc.credentials.createInsecure(), channelOptions: {}, ...(token ? { token } : {}), tls: false, mutualTls: false };
  }
  const ca = readCertificates(COMMAND, s.tlsCa, config.tlsCa);
  return {
    channel: grpc.credentials.createSsl(ca.pem, pair?.privateKey ?? null, pair?.certChain ?? null),
    channelOptions: config.tlsServerName !== '' ? { 'grpc.ssl_target_name_override': config.tlsServerName } : {},
    ...(token ? { token } : {}),
    tls: true,
    mutualTls: pair !== undefined,
  };
}
