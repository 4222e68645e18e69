// Whether a server inside a namespace is up yet, read from /proc/PID/net/{tcp,udp}
// of a process in that namespace: no command to run, so it can be polled often.
import { readFileSync } from 'node:fs';

/** "198.18.0.2", 53 → "020012C6:0035", as /proc/net/{tcp,udp} print a local address. */
function procNetAddress(ip: string, port: number): string {
  const b = ip.split('.').map(Number);
  const hex = (n: number | undefined) => (n ?? 0).toString(16).padStart(2, '0');
  return `${hex(b[3])}${hex(b[2])}${hex(b[1])}${hex(b[0])}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/** Whether a process's network namespace has a socket bound to ip:port (TCP: listening). */
export function isListening(pid: number, ip: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): boolean {
  let table: string;
  try {
    table = readFileSync(`/proc/${pid}/net/${proto}`, 'utf8');
  } catch {
    return false;
  }
  const want = procNetAddress(ip, port);
  const wildcard = procNetAddress('0.0.0.0', port);
  return table.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    // TCP state 0A is LISTEN; a bound UDP socket is 07 (close).
    return (f[1] === want || f[1] === wildcard) && (proto === 'udp' || f[3] === '0A');
  });
}
