// Whether a server inside a namespace is up yet, read from /proc/PID/net/{tcp,udp}
// (and tcp6, udp6 for IPv6) of a process in that namespace: no command to run,
// so it can be polled often.
import { readFileSync } from 'node:fs';

/** The 16 bytes of an IPv6 address in text form (no embedded IPv4: the lab has none). */
function ipv6Bytes(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

const hex = (n: number | undefined, width: number) => (n ?? 0).toString(16).padStart(width, '0');

/**
 * "198.18.0.2", 53 → "020012C6:0035"; "fd00:198:18::2", 53 →
 * "980100FD000018000000000002000000:0035": as /proc/net/{tcp,udp}{,6} print a
 * local address (each 32-bit word in the host's byte order, little-endian here).
 */
function procNetAddress(ip: string, port: number): string {
  const bytes = ip.includes(':') ? ipv6Bytes(ip) : ip.split('.').map(Number);
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) for (let i = 3; i >= 0; i--) out += hex(bytes[w + i], 2);
  return `${out}:${hex(port, 4)}`.toUpperCase();
}

/** Whether a process's network namespace has a socket bound to ip:port (TCP: listening). */
export function isListening(pid: number, ip: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): boolean {
  const v6 = ip.includes(':');
  let table: string;
  try {
    table = readFileSync(`/proc/${pid}/net/${proto}${v6 ? '6' : ''}`, 'utf8');
  } catch {
    return false;
  }
  const want = procNetAddress(ip, port);
  const wildcard = procNetAddress(v6 ? '::' : '0.0.0.0', port);
  return table.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    // TCP state 0A is LISTEN; a bound UDP socket is 07 (close).
    return (f[1] === want || f[1] === wildcard) && (proto === 'udp' || f[3] === '0A');
  });
}
