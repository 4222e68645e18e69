// What the aggregator requires of its clients: TLS on the gRPC listener
// (mutual with --tls-client-ca), the shared agent token on every stream, and
// the bearer token of the HTTP API. Read once at start; a rotated certificate
// or token takes a restart (docs/security.md).
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../common/settings.js';
import { readCertificates, readKeyPair, readToken, settingName } from '../common/tls.js';
import { aggregatorSettings, type AggregatorConfig } from './config.js';

const COMMAND = 'netmatrix-aggregator';
export const AGENT_TOKEN_ENV = 'NETMATRIX_TOKEN';
export const API_TOKEN_ENV = 'NETMATRIX_API_TOKEN';

export interface AggregatorCredentials {
  /** The gRPC listener's credentials; absent: plaintext. */
  readonly grpcCredentials?: grpc.ServerCredentials;
  readonly mutualTls: boolean;
  /** Agents must send `authorization: Bearer <this>` on their stream. */
  readonly agentToken?: string;
  /** The HTTP API (all but /healthz, /readyz, /metrics) requires `Authorization: Bearer <this>`. */
  readonly apiToken?: string;
}

type SecuritySettings = Pick<AggregatorConfig, 'tlsCert' | 'tlsKey' | 'tlsClientCa' | 'tokenFile' | 'apiTokenFile'>;

export function loadAggregatorCredentials(config: SecuritySettings, env: Readonly<Record<string, string | undefined>>): AggregatorCredentials {
  const s = aggregatorSettings;
  const agentToken = readToken(COMMAND, { ...s.tokenFile, file: config.tokenFile }, AGENT_TOKEN_ENV, env[AGENT_TOKEN_ENV]);
  const apiToken = readToken(COMMAND, { ...s.apiTokenFile, file: config.apiTokenFile }, API_TOKEN_ENV, env[API_TOKEN_ENV]);
  const tokens = { ...(agentToken ? { agentToken } : {}), ...(apiToken ? { apiToken } : {}) };
  const pair = readKeyPair(COMMAND, { ...s.tlsCert, file: config.tlsCert }, { ...s.tlsKey, file: config.tlsKey });
  if (!pair) {
    if (config.tlsClientCa !== '') throw new ConfigError(`${COMMAND}: ${settingName(s.tlsClientCa)} is set without ${settingName(s.tlsCert)} and ${settingName(s.tlsKey)}: mutual TLS needs TLS`);
    return { mutualTls: false, ...tokens };
  }
  const clientCa = config.tlsClientCa !== '' ? readCertificates(COMMAND, s.tlsClientCa, config.tlsClientCa).pem : null;
  return {
    grpcCredentials: grpc.ServerCredentials.createSsl(clientCa, [{ cert_chain: pair.certChain, private_key: pair.privateKey }], clientCa !== null),
    mutualTls: clientCa !== null,
    ...tokens,
  };
}
