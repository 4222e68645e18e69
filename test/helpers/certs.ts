// Throwaway certificates for TLS tests, made with the openssl binary in a
// temporary directory that remove() deletes: two CAs (A, the cluster's; B,
// someone else's), a server certificate from A for the aggregator's service
// names (no IP address: a client must name the server), and a client
// certificate from each CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SERVER_NAME = 'netmatrix-aggregator.netmatrix.svc';

export interface KeyPairFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  readonly dir: string;
  readonly caA: string;
  readonly caB: string;
  readonly server: KeyPairFiles;
  readonly clientA: KeyPairFiles;
  readonly clientB: KeyPairFiles;
  /** A file that is not PEM at all. */
  readonly garbage: string;
  remove(): void;
}

const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:netmatrix-aggregator,DNS:${SERVER_NAME}
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-certs-'));
  const f = (name: string) => join(dir, name);
  const cnf = f('openssl.cnf');
  writeFileSync(cnf, CONFIG);
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    } catch (e) {
      throw new Error(`TLS tests need the openssl binary (Debian package openssl): openssl ${args[0]} failed: ${(e as Error).message}`);
    }
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  let serial = 1;
  const ca = (name: string) => {
    openssl('req', '-x509', '-config', cnf, '-extensions', 'ca_ext', ...newKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-subj', `/CN=netmatrix test ${name}`, '-days', '2');
    return f(`${name}.pem`);
  };
  const issue = (name: string, caName: string, ext: string, cn: string): KeyPairFiles => {
    openssl('req', '-new', '-config', cnf, ...newKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${caName}.pem`), '-CAkey', f(`${caName}.key`), '-set_serial', String(serial++), '-days', '2', '-extfile', cnf, '-extensions', ext, '-out', f(`${name}.pem`));
    return { cert: f(`${name}.pem`), key: f(`${name}.key`) };
  };
  try {
    const caA = ca('ca-a');
    const caB = ca('ca-b');
    const server = issue('server', 'ca-a', 'server_ext', 'netmatrix-aggregator');
    const clientA = issue('client-a', 'ca-a', 'client_ext', 'node-a');
    const clientB = issue('client-b', 'ca-b', 'client_ext', 'node-b');
    const garbage = f('garbage.pem');
    writeFileSync(garbage, 'this is not a certificate\n');
    return { dir, caA, caB, server, clientA, clientB, garbage, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
