// `npm run lab -- ...`: the network-namespace lab for people (as root). Each
// command is one process; the lab lives on in its namespaces, and its prefix and
// size are kept in /run/netmatrix-lab/ so the next command finds it.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LAB_CIDR, LAB_CIDR6, MAX_DNS_REPLICAS, MAX_NODES, validateDnsReplicas, validateNodeCount } from './addressing.js';
import {
  describeFault,
  BLOCK_FAMILIES,
  BLOCK_MODES,
  BLOCK_PROTOS,
  PORT_MODES,
  PORT_PROTOS,
  PROTOS,
  type BlockFamily,
  type BlockMode,
  type BlockProto,
  type PortMode,
  type PortProto,
  type Proto,
} from './faults.js';
import { createLab, Lab, listLabs, sweepStaleLabs } from './lab.js';
import { pidsInNamespaces, processArgv } from './processes.js';
import { stateRoot, type DnsRecord } from './registry.js';

const USAGE = `usage: npm run lab -- COMMAND   (as root)

  up N [--prefix P] [--dns NAME=IP ...] [--dns-replicas K] [--ipv6]
                                          build a lab of N nodes (1-${MAX_NODES}) with K DNS replicas
                                          (1-${MAX_DNS_REPLICAS}, default 1) and print how to use it;
                                          --ipv6: dual-stack (${LAB_CIDR6} beside IPv4)
  status                                  nodes, cables, faults and processes of the lab
  fault drop|reject|unreachable SRC DST [--proto icmp|tcp|all] [--family ipv4|ipv6|all]
                                          block SRC -> DST on DST's INPUT (drop: both directions);
                                          in a dual-stack lab, both families unless --family
  fault block-proto NODE icmp|tcp|udp     drop every packet of one protocol into NODE
  fault block-port NODE PORT [--proto tcp|udp] [--mode reject|drop]
                                          close one port of NODE to the network (host firewall rule)
  fault cut NODE | fault restore NODE     pull / plug NODE's cable
  fault delay NODE|REPLICA MS [JITTER_MS] delay NODE's (or DNS REPLICA's: dns-b) egress (0 removes it)
  fault loss NODE PERCENT                 drop PERCENT % of NODE's egress at random (0 removes it)
  fault dns-stop REPLICA | dns-start REPLICA
                                          stop a DNS replica (dnsmasq ended, cable down) / start it
  fault dns-block NODE                    drop NODE's DNS queries (port 53) on every replica
  fault clear [NODE|REPLICA]              remove every fault (of NODE or REPLICA)
  exec NODE|REPLICA|dns|agg -- COMMAND... run a command inside a lab namespace
  down [--prefix P]                       end every process in the lab and delete it
  list                                    every lab on this machine (also leftovers)
  sweep                                   tear down labs whose owning test process is gone

Nodes are node-1..node-N (or just 1..N); DNS replicas dns-a, dns-b, ...; every node DNATs the DNS
service IP 198.18.0.10 to the replicas. --prefix picks a lab when several are up.`;

class UsageError extends Error {}

/** Options that take no value. */
const FLAGS = new Set(['ipv6']);

interface Parsed {
  readonly positional: string[];
  readonly options: Map<string, string[]>;
  /** After `--`, verbatim. */
  readonly rest: string[];
}

function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--help' || a === '-h') {
      positional.unshift('help');
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (m?.[1] && FLAGS.has(m[1])) {
      if (m[2] !== undefined) throw new UsageError(`--${m[1]} takes no value`);
      options.set(m[1], ['true']);
    } else if (m?.[1]) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
      options.set(m[1], [...(options.get(m[1]) ?? []), value]);
    } else {
      positional.push(a);
    }
  }
  return { positional, options, rest };
}

function option(p: Parsed, name: string): string | undefined {
  const v = p.options.get(name);
  return v?.[v.length - 1];
}

function number(raw: string | undefined, what: string): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${what}: expected a number, got ${JSON.stringify(raw ?? '')}`);
  return n;
}

function oneOf<T extends string>(raw: string | undefined, allowed: readonly T[], what: string): T {
  if (raw === undefined || !(allowed as readonly string[]).includes(raw)) throw new UsageError(`${what}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw ?? '')}`);
  return raw as T;
}

function replicaName(lab: Lab, raw: string | undefined): string {
  if (raw === undefined) throw new UsageError('a DNS replica is needed (dns-a..)');
  return lab.dnsReplica(raw).name;
}

/** A node (node-2, 2) or a DNS replica (dns-b). */
function targetName(lab: Lab, raw: string | undefined): string {
  return raw !== undefined && lab.dnsReplicas.some((r) => r.name === raw) ? raw : nodeName(lab, raw);
}

function nodeName(lab: Lab, raw: string | undefined): string {
  if (raw === undefined) throw new UsageError('a node is needed (node-1..)');
  return lab.node(/^\d+$/.test(raw) ? `node-${raw}` : raw).name;
}

/** The lab a command is about: --prefix, or the one lab made with `up` (the CLI's labs have no owner process). */
async function findLab(p: Parsed): Promise<Lab> {
  const prefix = option(p, 'prefix');
  if (prefix) return Lab.attach(prefix);
  const labs = (await listLabs()).filter((l) => l.state && l.state.owner === null);
  if (labs.length === 0) throw new Error(`no lab is up (none in ${stateRoot()}): npm run lab -- up N`);
  if (labs.length > 1) throw new Error(`several labs are up (${labs.map((l) => l.prefix).join(', ')}): pick one with --prefix`);
  return Lab.attach((labs[0] as { prefix: string }).prefix);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('   ')}`.trimEnd()).join('\n');
}

/** The aggregator's --dns-servers for this lab: the service IP and every replica (a lab without the service: its one DNS server as the service). */
export function dnsServersFlag(lab: Lab): string {
  if (!lab.dnsService) return `service=${lab.dnsIP}`;
  return [...(lab.dnsService ? [`service=${lab.dnsServiceIP}`] : []), ...lab.dnsReplicas.map((r) => `replica:${r.name}=${r.ip}`)].join(',');
}

function describeLab(lab: Lab, dns: readonly DnsRecord[]): string {
  const both = (ip: string, ip6: string | null) => (ip6 ? `${ip} ${ip6}` : ip);
  const rows = [
    ['name', 'namespace', 'pod IP', 'node IP', 'cable (bridge side)'],
    ...lab.nodes.map((n) => [n.name, n.ns, n.podIPs.join(' '), n.nodeIPs.join(' '), n.vethHost]),
    ...lab.dnsReplicas.map((r) => [r.name, r.ns, both(r.ip, r.ip6), '', `dnsmasq: ${[...dns.map((d) => `${d.name} -> ${d.ip}`), `whoami.lab -> ${both(r.ip, r.ip6)}`].join(', ')}`]),
    ...(lab.dnsService ? [['dns svc', '(every node)', lab.dnsServiceIP, '', `DNAT at random to ${lab.dnsReplicas.map((r) => r.name).join(', ')}`]] : []),
    ['agg', lab.aggregatorNs, both(lab.aggregatorIP, lab.aggregatorIP6), '', 'run the aggregator here'],
  ];
  const n1 = lab.nodes[0];
  const n2 = lab.nodes[1] ?? n1;
  const cidrs = lab.ipv6 ? `${LAB_CIDR},${LAB_CIDR6}` : LAB_CIDR;
  const agents = lab.nodes
    .map(
      (n) =>
        `  ip netns exec ${n.ns} node dist/agent/main.js --node-name ${n.name} --pod-ip ${n.podIPs.join(',')} --node-ip ${n.nodeIPs.join(',')} ` +
        `--aggregator ${lab.aggregatorIP}:9400 --allowed-cidrs ${cidrs} &`,
    )
    .join('\n');
  return `${table(rows)}

Bridge namespace ${lab.bridgeNs}; addresses are from ${LAB_CIDR} (benchmarking range)${lab.ipv6 ? ` and ${LAB_CIDR6} (unique local)` : ''}; no
namespace has a default route, so nothing in the lab reaches anything outside it, nor the root namespace.

Run a command inside a namespace:
  ip netns exec ${n1?.ns} ping -c 3 ${n2?.podIP}
  npm run lab -- exec node-1 -- ping -c 3 ${n2?.podIP}

Start netmatrix in it (from the repository, after npm run build; each line in its own terminal, or with &):
  NETMATRIX_KUBERNETES=off NETMATRIX_DNS_SERVERS=${dnsServersFlag(lab)} ip netns exec ${lab.aggregatorNs} node dist/aggregator/main.js \\
    --grpc-listen ${lab.aggregatorIP}:9400 --http-listen ${lab.aggregatorIP}:8080 &
${agents}

Look at it (the API listens inside the lab, so ask from inside):
  ip netns exec ${lab.aggregatorNs} node dist/cli/main.js matrix --server http://${lab.aggregatorIP}:8080
  ip netns exec ${lab.aggregatorNs} curl -s http://${lab.aggregatorIP}:8080/api/v1/matrix?kind=icmp

Break it, and mend it:
  npm run lab -- fault drop node-1 node-2        (also reject, unreachable)${lab.ipv6 ? '\n  npm run lab -- fault drop node-1 node-2 --family ipv6   (IPv6 only)' : ''}
  npm run lab -- fault cut node-3 ; npm run lab -- fault restore node-3
  npm run lab -- fault delay node-2 20 2 ; npm run lab -- fault loss node-2 30
  npm run lab -- fault clear
  npm run lab -- status

Tear down (ends every process started in the lab, netmatrix included):
  npm run lab -- down`;
}

async function status(lab: Lab): Promise<string> {
  const faults = await lab.faults();
  const out = [`lab ${lab.prefix}: ${lab.nodes.length} nodes${lab.ipv6 ? ', dual-stack' : ''}`];
  for (const ns of lab.namespaces) {
    const pids = await pidsInNamespaces([ns]);
    const names = await Promise.all(pids.map(async (pid) => `${pid} ${(await processArgv(pid)).slice(0, 3).join(' ')}`));
    out.push(`  ${ns.padEnd(lab.prefix.length + 10)} ${names.length ? names.join('; ') : '(no processes)'}`);
  }
  out.push(faults.length ? `faults:\n${faults.map((f) => `  ${describeFault(f)}`).join('\n')}` : 'faults: none');
  return out.join('\n');
}

async function fault(lab: Lab, p: Parsed): Promise<string> {
  const [, what, a, b, c] = p.positional;
  switch (what) {
    case 'drop':
    case 'reject':
    case 'unreachable': {
      const mode: BlockMode = oneOf(what, BLOCK_MODES, 'mode');
      const proto: BlockProto = oneOf(option(p, 'proto') ?? 'all', BLOCK_PROTOS, '--proto');
      const family: BlockFamily = oneOf(option(p, 'family') ?? 'all', BLOCK_FAMILIES, '--family');
      const src = nodeName(lab, a);
      const dst = nodeName(lab, b);
      await lab.blockPair(src, dst, mode, proto, family);
      // As faults() lists it: a family only when the lab has two and one is blocked.
      const only = family !== 'all' && lab.ipv6 ? { family } : {};
      return describeFault({ kind: 'block', mode, src, dst, proto, ...only });
    }
    case 'block-proto': {
      const node = nodeName(lab, a);
      const proto: Proto = oneOf(b, PROTOS, 'protocol');
      await lab.blockProtocol(node, proto);
      return describeFault({ kind: 'block-proto', node, proto });
    }
    case 'block-port': {
      const node = nodeName(lab, a);
      const port = number(b, 'port');
      const proto: PortProto = oneOf(option(p, 'proto') ?? 'tcp', PORT_PROTOS, '--proto');
      const mode: PortMode = oneOf(option(p, 'mode') ?? 'reject', PORT_MODES, '--mode');
      await lab.blockPort(node, port, mode, proto);
      return describeFault({ kind: 'block-port', node, proto, port, mode });
    }
    case 'cut': {
      const node = nodeName(lab, a);
      await lab.cutCable(node);
      return describeFault({ kind: 'cut', node });
    }
    case 'restore': {
      const node = nodeName(lab, a);
      await lab.restoreCable(node);
      return `${node}: cable restored`;
    }
    case 'delay': {
      const node = targetName(lab, a);
      const ms = number(b, 'delay (ms)');
      const jitterMs = c === undefined ? 0 : number(c, 'jitter (ms)');
      await lab.delay(node, ms, jitterMs);
      return ms || jitterMs ? describeFault({ kind: 'delay', node, ms, jitterMs }) : `${node}: no delay`;
    }
    case 'loss': {
      const node = nodeName(lab, a);
      const percent = number(b, 'loss (percent)');
      await lab.loss(node, percent);
      return percent ? describeFault({ kind: 'loss', node, percent }) : `${node}: no loss`;
    }
    case 'dns-stop': {
      const replica = replicaName(lab, a);
      await lab.stopDns(replica);
      return describeFault({ kind: 'dns-stopped', replica });
    }
    case 'dns-start': {
      const replica = replicaName(lab, a);
      await lab.startDns(replica);
      return `${replica}: DNS replica running`;
    }
    case 'dns-block': {
      const node = nodeName(lab, a);
      await lab.blockDns(node);
      return describeFault({ kind: 'dns-blocked', node });
    }
    case 'clear': {
      const node = a === undefined ? undefined : targetName(lab, a);
      await lab.clear(node);
      return node ? `${node}: faults cleared` : 'all faults cleared';
    }
    default:
      throw new UsageError(`unknown fault ${JSON.stringify(what ?? '')}`);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
    const [command] = p.positional;
    switch (command) {
      case 'up': {
        const n = number(p.positional[1], 'number of nodes');
        validateNodeCount(n);
        const dnsRecords: DnsRecord[] = (p.options.get('dns') ?? ['kubernetes.default.svc.cluster.local=198.18.0.1']).map((d) => {
          const [name, ip] = d.split('=');
          if (!name || !ip || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new UsageError(`--dns ${d}: expected NAME=IPv4`);
          return { name, ip };
        });
        const dnsReplicas = number(option(p, 'dns-replicas') ?? '1', '--dns-replicas');
        validateDnsReplicas(dnsReplicas);
        const prefix = option(p, 'prefix');
        const existing = (await listLabs()).filter((l) => l.state?.owner === null);
        if (!prefix && existing.length > 0) throw new Error(`a lab is already up (${existing.map((l) => l.prefix).join(', ')}): npm run lab -- down, or give --prefix`);
        const started = Date.now();
        const ipv6 = option(p, 'ipv6') === 'true';
        const lab = await createLab({ nodes: n, persistent: true, dnsRecords, dnsReplicas, ipv6, ...(prefix ? { prefix } : {}) });
        console.log(`lab ${lab.prefix} is up: ${n} node${n === 1 ? '' : 's'} in ${Date.now() - started} ms\n`);
        console.log(describeLab(lab, dnsRecords));
        return 0;
      }
      case 'status':
        console.log(await status(await findLab(p)));
        return 0;
      case 'fault':
        console.log(await fault(await findLab(p), p));
        return 0;
      case 'exec': {
        const lab = await findLab(p);
        const target = p.positional[1];
        const replica = lab.dnsReplicas.find((r) => r.name === target);
        const ns = replica ? replica.ns : target === 'dns' ? lab.dnsNs : target === 'agg' ? lab.aggregatorNs : target === 'bridge' ? lab.bridgeNs : lab.node(nodeName(lab, target)).ns;
        if (p.rest.length === 0) throw new UsageError('exec: give the command after --');
        // Interactive: inherit the terminal, no deadline (a person is driving).
        const r = spawnSync('ip', ['netns', 'exec', ns, ...p.rest], { stdio: 'inherit' });
        return r.status ?? 1;
      }
      case 'down': {
        const prefix = option(p, 'prefix');
        if (prefix) {
          await Lab.destroy(prefix);
          console.log(`lab ${prefix} is down`);
        } else {
          const lab = await findLab(p);
          await lab.down();
          console.log(`lab ${lab.prefix} is down`);
        }
        return 0;
      }
      case 'list': {
        const labs = await listLabs();
        if (labs.length === 0) console.log('no labs');
        for (const l of labs) {
          const who = l.state ? (l.state.owner ? `test process ${l.state.owner.pid}${l.stale ? ' (gone: stale)' : ''}` : 'made with lab up') : 'no state file (leftover)';
          console.log(`${l.prefix}  ${l.state ? `${l.state.nodeCount} nodes` : `${l.namespaces.length} namespaces`}  ${who}`);
        }
        return 0;
      }
      case 'sweep': {
        const swept = await sweepStaleLabs();
        console.log(swept.length ? `tore down ${swept.join(', ')}` : 'no stale labs');
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lab: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`lab: ${(e as Error).message}`);
    return 1;
  }
}

// Run when executed (node dist/test/e2e/lab/cli.js ...), not when imported by a test.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
