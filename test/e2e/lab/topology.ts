// What `ip` and `sysctl` are told to build a lab: pure functions of the plan,
// run by Lab.up() as one `ip -batch` per namespace.
import type { LabMember, LabPlan } from './addressing.js';

/**
 * In every member namespace, before its eth0 exists (new interfaces take the
 * namespace's defaults): every REJECT gets its ICMP error out (the default rate
 * limit turns "unreachable" into a timeout after ~6 errors), unprivileged ICMP
 * sockets for any group, and no IPv6 on eth0 (no link-local, DAD, router or
 * multicast-listener chatter in the measurements; loopback keeps ::1).
 */
export const MEMBER_SYSCTLS = ['net.ipv4.icmp_ratelimit=0', 'net.ipv4.ping_group_range=0 2147483647', 'net.ipv6.conf.default.disable_ipv6=1'];

/**
 * The same for a member of a dual-stack lab: IPv6 on, and as quiet and
 * deterministic as IPv4. Every ICMPv6 error gets out (icmp.ratelimit, as
 * icmp_ratelimit for IPv4); no duplicate address detection (an address is
 * usable at once, not "tentative" for ~2 s, where bind() fails with
 * EADDRNOTAVAIL; the addresses are also added `nodad`); no router
 * advertisements taken and no solicitations sent (no default route can
 * appear). eth0 keeps its link-local address, as every IPv6 interface has.
 */
export const MEMBER_SYSCTLS_DUAL_STACK = [
  'net.ipv4.icmp_ratelimit=0',
  'net.ipv4.ping_group_range=0 2147483647',
  'net.ipv6.conf.default.disable_ipv6=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.default.accept_ra=0',
  'net.ipv6.conf.default.router_solicitations=0',
  'net.ipv6.icmp.ratelimit=0',
];

/** In the bridge namespace: bridged frames skip iptables (a FORWARD policy could eat them otherwise). */
export const BRIDGE_SYSCTLS = [
  'net.ipv6.conf.default.disable_ipv6=1',
  'net.bridge.bridge-nf-call-iptables=0',
  'net.bridge.bridge-nf-call-ip6tables=0',
  'net.bridge.bridge-nf-call-arptables=0',
];

/**
 * `ip -n <bridge ns> -batch`: the bridge, and one veth per member with its eth0
 * end created straight in the member's namespace (nothing passes through the
 * root namespace, not even for a moment).
 */
export function bridgeScript(plan: LabPlan): string {
  const lines = ['link set lo up', 'link add br0 type bridge stp_state 0', 'link set br0 up'];
  for (const m of plan.members) {
    lines.push(`link add ${m.vethHost} type veth peer name eth0 address ${m.mac} netns ${m.ns}`, `link set ${m.vethHost} master br0 up`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The subnet an address of the plan is in: its /24 for IPv4, its /64 for IPv6
 * (the groups before the `::` of the plan's addresses, which have no zero
 * group but the ones it stands for: fd00:198:18::11 is in fd00:198:18:0,
 * fd00:198:18:1::11 in fd00:198:18:1).
 */
function subnetOf(cidrOrIp: string): string {
  const ip = cidrOrIp.split('/')[0] ?? '';
  if (!ip.includes(':')) return ip.split('.').slice(0, 3).join('.');
  const [head = ''] = ip.split('::');
  const groups = head.split(':');
  while (groups.length < 4) groups.push('0');
  return groups.slice(0, 4).join(':');
}

/**
 * `ip -n <member ns> -batch`: loopback, addresses, and a permanent neighbour
 * entry for every other member on a shared subnet. The neighbour table is shared
 * by all namespaces and overflows with dynamic ARP past ~30 nodes; permanent
 * entries don't count, and survive a cut cable (carrier loss), unlike an
 * interface going down. The same holds for IPv6 (neighbour discovery): its
 * addresses get permanent entries too, and `nodad` (usable at once).
 */
export function memberScript(plan: LabPlan, m: LabMember): string {
  const lines = ['link set lo up', ...m.cidrs.map((c) => `addr add ${c} dev eth0${c.includes(':') ? ' nodad' : ''}`), 'link set eth0 up'];
  const mine = new Set(m.cidrs.map(subnetOf));
  for (const other of plan.members) {
    if (other === m) continue;
    for (const c of other.cidrs) {
      const ip = c.split('/')[0] ?? '';
      if (mine.has(subnetOf(ip))) lines.push(`neigh replace ${ip} lladdr ${other.mac} dev eth0 nud permanent`);
    }
  }
  return `${lines.join('\n')}\n`;
}
