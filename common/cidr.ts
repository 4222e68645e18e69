import { BlockList, isIP } from 'node:net';
import type { AddressFamily } from './vocabulary.js';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: AddressFamily;
}

/** Parses "10.0.0.0/8" or "fd00::/8"; undefined when it is not a CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function familyOf(ip: string): AddressFamily | undefined {
  const v = isIP(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** The ranges pod and node IPs live in unless told otherwise (RFC 1918, CGNAT, ULA). */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

/** A set of CIDRs that answers "may I send packets to this address?". */
export class CidrSet {
  private readonly list = new BlockList();
  constructor(readonly cidrs: readonly Cidr[]) {
    for (const c of cidrs) this.list.addSubnet(c.address, c.prefix, c.family);
  }
  contains(ip: string): boolean {
    const family = familyOf(ip);
    return family !== undefined && this.list.check(ip, family);
  }
  toString(): string {
    return this.cidrs.map((c) => `${c.address}/${c.prefix}`).join(',');
  }
}

// Range math for the CNI overlap check (aggregator/cni/): addresses as BigInt so
// IPv4 and IPv6 take the same path.

/** An address as an unsigned integer (32 bits for IPv4, 128 for IPv6); undefined when it is not an address. */
export function addressToBigInt(ip: string): bigint | undefined {
  const version = isIP(ip);
  if (version === 4) return ip.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  if (version !== 6) return undefined;
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:192.0.2.1) is the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = addressToBigInt(tail)!;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const BITS: Record<AddressFamily, bigint> = { ipv4: 32n, ipv6: 128n };

/** The first and last address of a CIDR (host bits of the written address ignored). */
export function cidrBounds(c: Cidr): { readonly first: bigint; readonly last: bigint } {
  const hostBits = BITS[c.family] - BigInt(c.prefix);
  const span = (1n << hostBits) - 1n;
  const first = addressToBigInt(c.address)! & ~span;
  return { first, last: first | span };
}

/** How many addresses a CIDR spans (network and broadcast included). */
export function cidrSize(c: Cidr): bigint {
  return 1n << (BITS[c.family] - BigInt(c.prefix));
}

/** True when `outer` covers every address of `inner` (same family only). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const o = cidrBounds(outer);
  const i = cidrBounds(inner);
  return o.first <= i.first && i.last <= o.last;
}

/** True when two CIDRs share at least one address: two prefixes overlap only when one contains the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** "10.244.1.0/24", as written. */
export function formatCidr(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}
