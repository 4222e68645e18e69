// host-local IPAM usage: how many addresses each range can hand out, and how
// many it has. host-local keeps one file per allocated address in
// <dataDir>/<network>/ (the file name is the address), next to
// "last_reserved_ip.<n>" and "lock". The range arithmetic follows host-local's
// Range.Canonicalize (containernetworking/plugins, allocator/range.go): start
// defaults to the subnet's first address after the network address, end to
// the last one (minus the broadcast address for IPv4), the gateway defaults to
// .1 and is never handed out. BigInt, so an IPv6 /64 is counted, not walked.
import { isIP } from 'node:net';
import { opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCidr } from '../../common/cidr.js';
import type { CniPool } from '../../common/cni.js';
import { CNI_LIMITS } from '../../common/cni.js';
import { describeFsError, errnoCode } from './fs-errors.js';
import { boundedText } from './limits.js';
import type { WrittenRange } from './parse-conf.js';

/** Calico writes this in place of a subnet and fills it in when the plugin runs. */
export const CALICO_POD_CIDR_PLACEHOLDER = 'usePodCidr';

export interface Address {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** An IP address as a number; undefined for anything else. */
export function parseAddress(text: string): Address | undefined {
  const v = isIP(text);
  if (v === 4) return { family: 4, value: text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  if (v !== 6) return undefined;
  let s = text.split('%')[0]!;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseAddress(v4[1]!)!.value;
    s = `${s.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

export interface ResolvedRange {
  /** "subnet" or "subnet rangeStart-rangeEnd", as CniPool.range. */
  readonly text: string;
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly end: bigint;
  /** Addresses host-local can hand out from this range. */
  readonly size: bigint;
}

/** The range host-local would allocate from, or why it would refuse it. */
export function resolveRange(r: WrittenRange): ResolvedRange | { error: string } {
  const cidr = parseCidr(r.subnet);
  if (!cidr) return { error: `subnet ${JSON.stringify(r.subnet)} is not a CIDR` };
  const family = cidr.family === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  if (cidr.prefix > bits - 2) return { error: `subnet ${r.subnet} is too small to allocate from` };
  const hostBits = BigInt(bits - cidr.prefix);
  const network = (parseAddress(cidr.address)!.value >> hostBits) << hostBits;
  const last = network + (1n << hostBits) - 1n;
  const inSubnet = (what: string, text: string | undefined, fallback: bigint): bigint | { error: string } => {
    if (text === undefined) return fallback;
    const a = parseAddress(text);
    if (!a || a.family !== family) return { error: `${what} ${JSON.stringify(text)} is not an IPv${family} address` };
    if (a.value < network || a.value > last) return { error: `${what} ${text} is not in ${r.subnet}` };
    return a.value;
  };
  const gateway = inSubnet('gateway', r.gateway, network + 1n);
  const start = inSubnet('rangeStart', r.rangeStart, network + 1n);
  const end = inSubnet('rangeEnd', r.rangeEnd, family === 4 ? last - 1n : last);
  for (const v of [gateway, start, end]) if (typeof v !== 'bigint') return v;
  const [g, s, e] = [gateway, start, end] as bigint[];
  if (s! > e!) return { error: `rangeStart ${r.rangeStart ?? ''} is after rangeEnd ${r.rangeEnd ?? ''} in ${r.subnet}` };
  const size = e! - s! + 1n - (g! >= s! && g! <= e! ? 1n : 0n);
  const text = r.rangeStart === undefined && r.rangeEnd === undefined ? r.subnet : `${r.subnet} ${formatAddress(family, s!)}-${formatAddress(family, e!)}`;
  return { text, family, start: s!, end: e!, size };
}

export function formatAddress(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((sh) => ((v >> sh) & 0xffn).toString()).join('.');
  const groups = [...Array(8).keys()].map((i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // RFC 5952: the longest run (≥2) of zero groups becomes "::".
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

export interface PoolCount {
  readonly pools: readonly CniPool[];
  readonly errors: readonly string[];
}

function clampToNumber(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/**
 * host-local's dir of one network's allocations, or undefined when the network
 * name cannot be a dir name (empty, ".", "..", a path, a NUL): such a name,
 * e.g. "../../../tmp", is neither read (countPools) nor watched (the watcher),
 * so a config cannot point the collector at another part of the host.
 */
export function ipamNetworkDir(ipamDir: string, network: string): string | undefined {
  if (network === '' || network === '.' || network === '..' || network.includes('/') || network.includes('\0')) return undefined;
  return join(ipamDir, network);
}

/**
 * Counts the allocations of one network's ranges. A missing network dir is
 * not a problem: host-local creates it on the first allocation.
 */
export async function countPools(ipamDir: string, network: string, written: readonly WrittenRange[]): Promise<PoolCount> {
  const errors: string[] = [];
  const ranges: ResolvedRange[] = [];
  for (const w of written) {
    if (w.subnet === CALICO_POD_CIDR_PLACEHOLDER) continue;
    const r = resolveRange(w);
    if ('error' in r) errors.push(`IPAM range of network ${network}: ${r.error}`);
    else ranges.push(r);
  }
  if (ranges.length === 0) return { pools: [], errors };
  const used = ranges.map(() => 0);
  const dirPath = ipamNetworkDir(ipamDir, network);
  if (dirPath === undefined) {
    errors.push(`network name ${JSON.stringify(network)} cannot be an IPAM dir name; allocations not counted`);
  } else {
    try {
      const dir = await opendir(dirPath, { bufferSize: 256 });
      let seen = 0;
      try {
        for await (const entry of dir) {
          if (++seen > CNI_LIMITS.ipamEntries) {
            errors.push(`IPAM dir ${dirPath} has more than ${CNI_LIMITS.ipamEntries} entries; the rest were not counted`);
            break;
          }
          const a = parseAddress(entry.name);
          if (!a) continue;
          const i = ranges.findIndex((r) => r.family === a.family && a.value >= r.start && a.value <= r.end);
          if (i >= 0) used[i]!++;
        }
      } finally {
        await dir.close().catch(() => undefined);
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') errors.push(`IPAM dir ${dirPath}: ${describeFsError(err)}`);
    }
  }
  const pools = ranges.map((r, i) => ({ network: boundedText(network), range: boundedText(r.text), size: clampToNumber(r.size), used: used[i]! }));
  return { pools, errors };
}
