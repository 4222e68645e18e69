// PEM files and shared tokens, read once at start and checked before anything
// listens or connects: a file that is missing, unreadable or not what its
// setting says is one ConfigError line naming the setting and the file, not a
// TLS handshake that fails later on every stream with an opaque message.
// Certificates are not reloaded: a rotated certificate takes a restart
// (docs/security.md).
import { createHash, createPrivateKey, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './settings.js';

/** How a setting is named in messages: the flag and its env var. */
export interface SettingName {
  readonly flag: string;
  readonly env: string;
}

export function settingName(s: SettingName): string {
  return `--${s.flag} (${s.env})`;
}

/** A certificate or key file as read, with the certificates it holds (for checks). */
export interface PemFile {
  readonly pem: Buffer;
  readonly certificates: readonly X509Certificate[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function read(command: string, setting: SettingName, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${command}: ${settingName(setting)} ${JSON.stringify(file)}: cannot read it: ${(e as Error).message}`);
  }
}

/** One or more PEM certificates (a chain or a CA bundle); every block must parse. */
export function readCertificates(command: string, setting: SettingName, file: string): PemFile {
  const pem = read(command, setting, file);
  const bad = (why: string) => new ConfigError(`${command}: ${settingName(setting)} ${JSON.stringify(file)}: ${why}`);
  const blocks = [...pem.toString('utf8').matchAll(BLOCK)].filter((m) => m[1] === 'CERTIFICATE');
  if (blocks.length === 0) throw bad('not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block)');
  const certificates = blocks.map((m, i) => {
    try {
      return new X509Certificate(m[0]);
    } catch (e) {
      throw bad(`certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
  return { pem, certificates };
}

/** A PEM private key (PKCS#8, PKCS#1 or SEC1), unencrypted. */
export function readPrivateKey(command: string, setting: SettingName, file: string): { readonly pem: Buffer; readonly key: KeyObject } {
  const pem = read(command, setting, file);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch (e) {
    throw new ConfigError(`${command}: ${settingName(setting)} ${JSON.stringify(file)}: not an unencrypted PEM private key: ${(e as Error).message}`);
  }
}

/** A certificate chain and its key, both set or neither; the key must belong to the first certificate. */
export function readKeyPair(
  command: string,
  cert: SettingName & { readonly file: string },
  key: SettingName & { readonly file: string },
): { readonly certChain: Buffer; readonly privateKey: Buffer; readonly certificate: X509Certificate } | undefined {
  if (cert.file === '' && key.file === '') return undefined;
  if (key.file === '') throw new ConfigError(`${command}: ${settingName(key)} is not set: ${settingName(cert)} needs it`);
  if (cert.file === '') throw new ConfigError(`${command}: ${settingName(cert)} is not set: ${settingName(key)} needs it`);
  const chain = readCertificates(command, cert, cert.file);
  const k = readPrivateKey(command, key, key.file);
  const leaf = chain.certificates[0]!;
  if (!leaf.checkPrivateKey(k.key)) {
    throw new ConfigError(`${command}: ${settingName(key)} ${JSON.stringify(key.file)} is not the private key of ${settingName(cert)} ${JSON.stringify(cert.file)}`);
  }
  return { certChain: chain.pem, privateKey: k.pem, certificate: leaf };
}

/**
 * A shared token from its file setting or its env var (one of them, not both).
 * Visible ASCII only: it travels in a gRPC metadata value or an HTTP header.
 * Messages never include the token.
 */
export function readToken(command: string, file: SettingName & { readonly file: string }, envName: string, envValue: string | undefined): string | undefined {
  const fromEnv = envValue !== undefined && envValue !== '';
  if (file.file !== '' && fromEnv) throw new ConfigError(`${command}: both ${settingName(file)} and ${envName} are set: give the token one way`);
  let token: string;
  let source: string;
  if (file.file !== '') {
    token = read(command, file, file.file).toString('utf8').trim();
    source = `${settingName(file)} ${JSON.stringify(file.file)}`;
  } else if (fromEnv) {
    token = envValue.trim();
    source = envName;
  } else return undefined;
  if (token === '') throw new ConfigError(`${command}: ${source}: the token is empty`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(`${command}: ${source}: the token must be visible ASCII characters without spaces`);
  return token;
}

/** Compares a presented token with the expected one in constant time (over their SHA-256 digests, so lengths need not match). */
export class TokenCheck {
  private readonly digest: Buffer;
  constructor(token: string) {
    this.digest = sha256(token);
  }
  matches(presented: string): boolean {
    return timingSafeEqual(this.digest, sha256(presented));
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` value; undefined if there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
