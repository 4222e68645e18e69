// The DNS servers and questions of the plan, as people configure them before
// the Kubernetes API integration finds CoreDNS's EndpointSlices by itself:
//   --dns-servers service=auto,replica:coredns-a=10.244.1.5,nodelocal=169.254.20.10
//   --dns-names kubernetes.default.svc.cluster.local,api.example.internal/AAAA
// A server's name is its column in GET /api/v1/dns and its `server` label.
import { isIP } from 'node:net';
import { Expected } from '../../common/settings.js';
import { dnsRoles, type DnsRole } from '../../common/vocabulary.js';

export interface DnsServerSpec {
  readonly name: string;
  readonly role: DnsRole;
  /** IP address; '' for a service server set to "auto" (each agent's first resolv.conf nameserver). */
  readonly address: string;
  readonly port: number;
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: 'A' | 'AAAA';
}

/** Servers one plan carries: every agent asks each one every round. */
export const MAX_DNS_SERVERS = 64;

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const ENTRY = 'role[:name]=address[:port], role one of service, replica, nodelocal';

function serverEntry(raw: string): DnsServerSpec | Expected {
  const eq = raw.indexOf('=');
  if (eq < 0) return new Expected(`${ENTRY}; ${JSON.stringify(raw)} has no "="`);
  const [roleWord, given] = splitOnce(raw.slice(0, eq), ':');
  if (!dnsRoles.isWord(roleWord)) return new Expected(`${ENTRY}; ${JSON.stringify(roleWord)} is not a role`);
  const role = roleWord;
  if (given !== undefined && !NAME.test(given)) {
    return new Expected(`${ENTRY}; name ${JSON.stringify(given)} must be 1-63 letters, digits, ".", "_" or "-"`);
  }
  const target = raw.slice(eq + 1);
  let address: string;
  let port = 53;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(target);
  const v4 = /^([^:]+)(?::(\d{1,5}))?$/.exec(target);
  if (target === 'auto') {
    if (role !== 'service') return new Expected(`${ENTRY}; only the service role may be "auto" (${JSON.stringify(raw)})`);
    address = '';
  } else if (v6 && isIP(v6[1]!) === 6) {
    address = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (isIP(target) === 6) {
    address = target;
  } else if (v4 && isIP(v4[1]!) === 4) {
    address = v4[1]!;
    if (v4[2] !== undefined) port = Number(v4[2]);
  } else {
    return new Expected(`${ENTRY}; ${JSON.stringify(target)} is not an IP address, [IPv6]:port, IPv4:port or "auto"`);
  }
  if (port < 1 || port > 65_535) return new Expected(`${ENTRY}; port ${port} is not 1-65535`);
  const hostPort = port === 53 ? address : isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
  const name = given ?? (role === 'replica' ? hostPort : role);
  return { name, role, address, port };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** Parses --dns-servers ("none": no DNS probes); names must be unique (a second service needs one: service:v6=[fd00::a]). */
export function dnsServers(raw: string): readonly DnsServerSpec[] | Expected {
  const out: DnsServerSpec[] = [];
  if (raw.trim() === 'none') return Object.freeze(out);
  const names = new Set<string>();
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const s = serverEntry(part);
    if (s instanceof Expected) return s;
    if (names.has(s.name)) return new Expected(`unique server names; ${JSON.stringify(s.name)} appears twice (name one with role:name=...)`);
    if (out.length >= MAX_DNS_SERVERS) return new Expected(`at most ${MAX_DNS_SERVERS} DNS servers`);
    names.add(s.name);
    out.push(s);
  }
  return Object.freeze(out);
}

/** Parses --dns-names: `name` (type A) or `name/AAAA`. */
export function dnsQuestions(raw: string): readonly DnsQuestion[] | Expected {
  const out: DnsQuestion[] = [];
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const [rawName, rawType] = splitOnce(part, '/');
    const name = rawName.replace(/\.$/, '').toLowerCase();
    const type = (rawType ?? 'A').toUpperCase();
    if (type !== 'A' && type !== 'AAAA') return new Expected(`name or name/AAAA entries; record type ${JSON.stringify(rawType)} is not A or AAAA`);
    const labels = name.split('.');
    if (name.length === 0 || name.length > 253 || labels.some((l) => !/^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))) {
      return new Expected(`name or name/AAAA entries; ${JSON.stringify(rawName)} is not a DNS name`);
    }
    if (out.some((q) => q.name === name && q.type === type)) continue;
    if (out.length >= 16) return new Expected('at most 16 DNS names');
    out.push({ name, type });
  }
  return Object.freeze(out);
}

/** A DNS domain like cluster.local (no trailing dot needed). */
export function dnsDomain(raw: string): string | Expected {
  const d = raw.replace(/\.$/, '').toLowerCase();
  const ok = d.length > 0 && d.length <= 200 && d.split('.').every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l));
  return ok ? d : new Expected('a DNS domain like cluster.local');
}
