// The agent's side of the Plan's DNS section: which servers to ask which
// questions, and how the pod's own resolver is set up. The service server may
// come without an address ("auto"): it is then the first nameserver of this
// pod's resolv.conf, which is what kubelet writes for a ClusterFirst pod.
import { readFile } from 'node:fs/promises';
import type { CidrSet } from '../../common/cidr.js';
import { familyOf } from '../../common/cidr.js';
import { parseResolvConf, type ResolvConf } from '../../common/resolv-conf.js';
import { dnsRecordType, dnsRoles, dnsTypes } from '../../common/vocabulary.js';
import type { Plan__Output, WireResolverView } from '../../proto/load.js';
import type { ProbeSpec } from '../peers.js';

/** resolv.conf is a few lines; more than this is not one. */
const MAX_RESOLV_CONF_BYTES = 64 * 1024;

export interface Resolver {
  /** Undefined when the file could not be read. */
  readonly conf: ResolvConf | undefined;
  /** What the Hello carries. */
  readonly view: WireResolverView;
}

export async function readResolver(path: string): Promise<Resolver> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_RESOLV_CONF_BYTES) throw new Error(`${buf.length} bytes (at most ${MAX_RESOLV_CONF_BYTES})`);
    text = buf.toString('utf8');
  } catch (err) {
    return { conf: undefined, view: { error: `cannot read ${path}: ${(err as Error).message}`.slice(0, 200) } };
  }
  const conf = parseResolvConf(text);
  return {
    conf,
    view: {
      nameservers: [...conf.nameservers],
      search: [...conf.search],
      ndots: conf.ndots,
      timeoutSeconds: conf.timeoutSeconds,
      attempts: conf.attempts,
      warnings: [...conf.warnings],
    },
  };
}

export interface DnsProbeSet {
  readonly probes: readonly ProbeSpec[];
  /** Server addresses outside the allowed CIDRs (not probed). */
  readonly notAllowed: readonly string[];
  /** Probes of one round not sent for that reason (every question, the nx and the TCP check of each such server). */
  readonly refused: number;
  /** Servers of the plan this agent cannot probe, each with the reason. */
  readonly skipped: readonly { readonly server: string; readonly reason: string }[];
}

/** Every plan server × (every plan question + one nx check + the TCP check when the plan asks for it), in plan order. */
export function dnsProbeSet(plan: Pick<Plan__Output, 'dnsServers' | 'dnsQuestions' | 'dnsNxZone' | 'dnsTcpCheck'>, resolver: ResolvConf | undefined, allowed: CidrSet): DnsProbeSet {
  const probes: ProbeSpec[] = [];
  const notAllowed: string[] = [];
  let refused = 0;
  const skipped: { server: string; reason: string }[] = [];
  const questions = plan.dnsQuestions.flatMap((q) => {
    const type = dnsTypes.lookupProto(q.type);
    return type && q.name ? [{ name: q.name, type: dnsRecordType(type) }] : [];
  });
  for (const s of plan.dnsServers) {
    const role = dnsRoles.lookupProto(s.role);
    if (!role || !s.name) {
      skipped.push({ server: s.name || '(unnamed)', reason: `unknown role ${String(s.role)}` });
      continue;
    }
    let ip = s.address;
    if (ip === '' && role === 'service') {
      ip = resolver?.nameservers[0] ?? '';
      if (ip === '') {
        skipped.push({ server: s.name, reason: 'address "auto" but resolv.conf names no nameserver' });
        continue;
      }
    }
    const family = familyOf(ip);
    if (!family) {
      skipped.push({ server: s.name, reason: `address ${JSON.stringify(ip.slice(0, 64))} is not an IP address` });
      continue;
    }
    if (!allowed.contains(ip)) {
      notAllowed.push(ip);
      refused += questions.length + 1 + (plan.dnsTcpCheck && questions.length > 0 ? 1 : 0);
      continue;
    }
    const port = s.port || 53;
    const base = { kind: 'dns' as const, node: '', ip, family, port };
    for (const q of questions) {
      probes.push({ ...base, id: `dns/${s.name}/${q.name}/${q.type}`, dns: { server: s.name, role, name: q.name, type: q.type } });
    }
    probes.push({ ...base, id: `dns/${s.name}/nx`, dns: { server: s.name, role, name: '', type: 'A', nxZone: plan.dnsNxZone } });
    const first = questions[0];
    if (plan.dnsTcpCheck && first) probes.push({ ...base, id: `dns/${s.name}/tcp`, dns: { server: s.name, role, name: first.name, type: first.type, tcpCheck: true } });
  }
  return { probes, notAllowed, refused, skipped };
}
