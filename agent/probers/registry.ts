// The one place that maps probe kinds to probers.
import { dnsProber } from './dns.js';
import { createIcmpProber } from './icmp.js';
import type { IcmpSocket } from './icmp-socket.js';
import { httpProber } from './http.js';
import { tcpProber } from './tcp.js';
import type { ProberRegistry } from './types.js';

export function createProbers(opts: { icmp?: IcmpSocket }): ProberRegistry {
  const probers: ProberRegistry = { tcp: tcpProber, http: httpProber, dns: dnsProber };
  if (opts.icmp) {
    const icmp = createIcmpProber(opts.icmp);
    probers.icmp = icmp;
    probers.node = icmp;
  }
  return probers;
}
