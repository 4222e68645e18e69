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
