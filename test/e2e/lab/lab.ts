// A closed cluster made of network namespaces, for the e2e suite and for people
// trying netmatrix by hand (see README.md beside this file).
//
//   <prefix>-br      a bridge (br0) with one port per member; bridge-nf-call-* 0
//   <prefix>-node-i  eth0 on the bridge: pod IP 198.18.0.(10+i)/24 and node IP
//                    198.18.1.(10+i)/24 on the same interface (one cable per node,
//                    so a cut cable takes both down, as on a real node)
//   <prefix>-dns     dnsmasq on 198.18.0.2:53 (stands in for CoreDNS): replica dns-a
//   <prefix>-dns-b.. more replicas (option dnsReplicas) on 198.18.0.4, .5, ...
//   <prefix>-agg     198.18.0.3, where the caller runs the aggregator
//
// With 2+ replicas (or dnsService: true), every node DNATs the DNS service IP
// 198.18.0.10 to the replicas at random, as kube-proxy's iptables mode does for
// the kube-dns ClusterIP. A dual-stack lab (ipv6: true) gives every member the
// IPv6 twin of each IPv4 address too (fd00:198:18::11 beside 198.18.0.11).
//
// No namespace has a default route, and nothing here touches the root namespace
// (links are created inside the lab namespaces), so lab traffic can reach nothing
// but the lab. Faults (see faults.ts) are real kernel behaviour: iptables on the
// receiver's INPUT, the bridge-side link going down, an NFQUEUE delayer, and nft
// random drop on the bridge.
import { spawn as spawnChild, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labNamespaces, planLab, prefixOfNamespace, randomPrefix, validatePrefix, type DnsReplica, type LabNode, type LabPlan } from './addressing.js';
import { assertLabRequirements, run, whichSync, type CommandResult, type RunOptions } from './command.js';
import {
  DELAY_QUEUE,
  EGRESS_CHAIN,
  INPUT_CHAIN,
  NFT_TABLE,
  appendRules,
  delayRule,
  dnsBlockRules,
  faultKey,
  iptablesFor,
  lossChain,
  mergeFamilies,
  lossScript,
  nftSetup,
  nodeChainsSetup,
  pairRules,
  parseLoss,
  parseLossDrops,
  parseTaggedRules,
  portRule,
  protoRule,
  rulesNaming,
  serviceNat,
  type BlockFamily,
  type BlockMode,
  type BlockProto,
  type Family,
  type Fault,
  type PortMode,
  type PortProto,
  type Proto,
} from './faults.js';
import { FORWARD_SCRIPT } from './forwarder.js';
import { isListening } from './listening.js';
import { listNamespaces, pidsInNamespaces, processArgv, terminateAll, terminateNamespaces } from './processes.js';
import { BRIDGE_SYSCTLS, MEMBER_SYSCTLS, MEMBER_SYSCTLS_DUAL_STACK, bridgeScript, memberScript } from './topology.js';
import { waitUntil } from './wait.js';
import { currentOwner, isStale, labDir, listStates, readState, removeState, stateFile, writeState, type DnsDomain, type DnsRecord, type LabState } from './registry.js';

export type { DnsReplica, LabNode, LabPlan } from './addressing.js';
export type { BlockFamily, BlockMode, BlockProto, Family, Fault, PortMode, PortProto, Proto } from './faults.js';
export type { DnsDomain, DnsRecord } from './registry.js';
export { isListening } from './listening.js';

export interface LabOptions {
  /** Number of node namespaces (1-240). */
  readonly nodes: number;
  /** Namespace/interface prefix (2-8 of [a-z0-9]); default: a random "nmXXXX" not in use. */
  readonly prefix?: string;
  /** Names dnsmasq answers (--host-record=name,ip). */
  readonly dnsRecords?: readonly DnsRecord[];
  /** Domains dnsmasq answers wholesale (--address=/domain/ip). */
  readonly dnsDomains?: readonly DnsDomain[];
  /**
   * Number of DNS replicas (1-7, default 1): dns-a on 198.18.0.2 (dnsNs), dns-b on
   * 198.18.0.4, dns-c on .5, ... each a dnsmasq in its own namespace answering the
   * same names, plus `whoami.lab` with its own IP (to tell them apart).
   */
  readonly dnsReplicas?: number;
  /**
   * Whether every node DNATs the DNS service IP (dnsServiceIP) to the replicas, as
   * kube-proxy does. Default: true with 2 or more replicas, false with one. With
   * the service, the nat table makes conntrack track every flow of a node from the
   * start, so a later reject/unreachable block (which matches conntrack NEW) misses
   * an ICMP echo flow already seen with the same identifier (a prober's steady
   * pings): block ICMP with 'drop' in such a lab.
   */
  readonly dnsService?: boolean;
  /**
   * Domains the replicas are authoritative for (dnsmasq --local=/domain/): a name
   * in them without a record is NXDOMAIN, as CoreDNS's kubernetes plugin answers
   * (without it dnsmasq, having no upstream, answers REFUSED). Default ['cluster.local'].
   */
  readonly dnsLocalDomains?: readonly string[];
  /**
   * Dual-stack: every member also gets the IPv6 twin of each of its addresses
   * (unique local, fd00:198:18::/48: node-1 has pod IP fd00:198:18::11 and node
   * IP fd00:198:18:1::11 beside 198.18.0.11 and 198.18.1.11), without duplicate
   * address detection, with permanent neighbour entries, no router
   * advertisements and no ICMPv6 rate limit; faults apply to both families
   * (blockPair can take one). Default false: IPv6 is disabled on every eth0.
   */
  readonly ipv6?: boolean;
  /**
   * A lab for people (the CLI): it outlives this process, and the processes it
   * starts (dnsmasq, delayers) are detached. Default false: the lab belongs to
   * this process, which tears it down on exit if nobody called down().
   */
  readonly persistent?: boolean;
  /** Default deadline of one command (ms). */
  readonly commandTimeoutMs?: number;
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly allowFailure?: boolean;
}

const DNS_PORT = 53;
/** Each replica answers this name with its own IP: which replica did the service IP pick? */
export const DNS_WHOAMI = 'whoami.lab';
const DEFAULT_MTU = 1500;
/** Parallel commands while building a lab: enough to use both cores, few enough not to thrash. */
const PARALLEL = 8;


/** Where delayer.py is: beside this module when run from source, or in the source tree when run from dist/. */
function delayerPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'delayer.py')];
  for (let dir = here, i = 0; i < 8; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      candidates.push(join(dir, 'test', 'e2e', 'lab', 'delayer.py'));
      break;
    }
  }
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`delayer.py not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** Debian's interpreter if there is one: a version-manager shim would add its start-up to every delay change. */
function python(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : (whichSync('python3') ?? 'python3');
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}


// Labs owned by this process, torn down synchronously if it exits without down().
const owned = new Set<Lab>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lab of owned) lab.downSync();
  });
}

export class Lab {
  readonly plan: LabPlan;
  readonly prefix: string;
  readonly nodes: readonly LabNode[];
  readonly bridgeNs: string;
  readonly dnsNs: string;
  readonly aggregatorNs: string;
  readonly dnsIP: string;
  readonly aggregatorIP: string;
  /** The aggregator namespace's IPv6 address in a dual-stack lab (fd00:198:18::3), else null. */
  readonly aggregatorIP6: string | null;
  /** Whether the lab is dual-stack (LabOptions.ipv6). */
  readonly ipv6: boolean;
  readonly dnsRecords: readonly DnsRecord[];
  readonly dnsDomains: readonly DnsDomain[];
  readonly dnsLocalDomains: readonly string[];
  /** The DNS replicas, dns-a (= dnsNs, dnsIP) first. */
  readonly dnsReplicas: readonly DnsReplica[];
  /** Whether the nodes DNAT dnsServiceIP to the replicas. */
  readonly dnsService: boolean;
  /** The DNS service IP (198.18.0.10): every node DNATs it to a random replica (when dnsService). */
  readonly dnsServiceIP: string;
  readonly persistent: boolean;
  private readonly commandTimeoutMs: number;
  private readonly children = new Set<ChildProcess>();
  private isUp = false;
  // Fault commands on one namespace run one at a time (iptables-restore, delayer restarts).
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(opts: LabOptions & { readonly prefix: string }) {
    this.plan = planLab(opts.prefix, opts.nodes, { dnsReplicas: opts.dnsReplicas ?? 1, ipv6: opts.ipv6 ?? false });
    this.prefix = opts.prefix;
    this.nodes = this.plan.nodes;
    this.bridgeNs = this.plan.bridgeNs;
    this.dnsNs = this.plan.dnsNs;
    this.aggregatorNs = this.plan.aggregatorNs;
    this.dnsIP = this.plan.dnsIP;
    this.aggregatorIP = this.plan.aggregatorIP;
    this.aggregatorIP6 = this.plan.aggregatorIP6;
    this.ipv6 = this.plan.ipv6;
    this.dnsRecords = opts.dnsRecords ?? [];
    this.dnsDomains = opts.dnsDomains ?? [];
    this.dnsLocalDomains = opts.dnsLocalDomains ?? ['cluster.local'];
    this.dnsReplicas = this.plan.dnsReplicas;
    this.dnsService = opts.dnsService ?? this.dnsReplicas.length > 1;
    this.dnsServiceIP = this.plan.dnsServiceIP;
    this.persistent = opts.persistent ?? false;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 10_000;
  }

  /** The address families the lab has: IPv4, and IPv6 when dual-stack. */
  get families(): readonly Family[] {
    return this.ipv6 ? ['ipv4', 'ipv6'] : ['ipv4'];
  }

  /** Every namespace of the lab (bridge first). */
  get namespaces(): string[] {
    return labNamespaces(this.plan);
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name || x.ns === name);
    if (!n) throw new Error(`lab ${this.prefix}: no node ${JSON.stringify(name)} (have ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** A DNS replica by name (dns-a, dns-b, ...) or namespace. */
  dnsReplica(name: string): DnsReplica {
    const r = this.dnsReplicas.find((x) => x.name === name || x.ns === name);
    if (!r) throw new Error(`lab ${this.prefix}: no DNS replica ${JSON.stringify(name)} (have ${this.dnsReplicas.map((x) => x.name).join(', ')})`);
    return r;
  }

  /** A node or a DNS replica (what delay() and clear() take). */
  private target(name: string): LabNode | DnsReplica {
    const n = this.nodes.find((x) => x.name === name || x.ns === name) ?? this.dnsReplicas.find((x) => x.name === name || x.ns === name);
    if (!n) {
      throw new Error(`lab ${this.prefix}: no node or DNS replica ${JSON.stringify(name)} (have ${[...this.nodes, ...this.dnsReplicas].map((x) => x.name).join(', ')})`);
    }
    return n;
  }

  // ---------------------------------------------------------------- commands

  /** Runs a command in the root namespace; throws naming the command and its stderr. */
  private cmd(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return run(argv, { timeoutMs: this.commandTimeoutMs, ...opts });
  }

  /** Runs argv inside a lab namespace (`ip netns exec`), with a deadline; throws naming the command and its stderr. */
  exec(ns: string, argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    return this.cmd(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /**
   * Starts a long-running process inside a namespace. `down()` ends it (with
   * everything else in the lab's namespaces). `ip netns exec` execs the command,
   * so the child's pid is the command's.
   */
  spawn(ns: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (!this.namespaces.includes(ns)) throw new Error(`lab ${this.prefix}: ${ns} is not one of its namespaces`);
    const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], opts);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /**
   * A Unix socket in the lab's directory that leads to ip:port inside a
   * namespace, so this process (in the root namespace, which the lab can't reach)
   * can talk to a server in the lab: `http.get({ socketPath, path })`, or a gRPC
   * target `unix:${socketPath}`. The forwarder is a process in `ns`; it ends with
   * the lab or with close().
   */
  async forward(ns: string, ip: string, port: number): Promise<{ socketPath: string; close: () => void }> {
    const socketPath = join(labDir(this.prefix), `fwd-${ns}-${ip}-${port}.sock`);
    const child = this.spawn(ns, [process.execPath, '-e', FORWARD_SCRIPT, socketPath, ip, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.unref();
    for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    let ready = false;
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) ready = true;
    });
    let exited: string | undefined;
    child.once('exit', (code, sig) => {
      exited = `forwarder exited with ${code ?? sig}`;
    });
    await waitUntil(`the forwarder to ${ip}:${port} in ${ns}`, async () => {
      if (exited) throw new Error(exited);
      return ready;
    }, 5000);
    return { socketPath, close: () => child.kill('SIGTERM') };
  }

  private serial<T>(ns: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(ns) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(ns, next.catch(() => {}));
    return next;
  }

  // ---------------------------------------------------------------- up / down

  async up(): Promise<this> {
    assertLabRequirements();
    if (this.isUp) return this;
    const existing = (await listNamespaces()).filter((ns) => prefixOfNamespace(ns) === this.prefix);
    if (existing.length > 0 || readState(this.prefix)) {
      throw new Error(`lab prefix ${this.prefix} is in use (${existing.join(', ') || stateFile(this.prefix)}): tear it down first (lab down --prefix ${this.prefix})`);
    }
    // Written first: a crash half-way through leaves a lab that `down --prefix` and the stale sweep can find.
    const state: LabState = {
      prefix: this.prefix,
      nodeCount: this.nodes.length,
      owner: this.persistent ? null : currentOwner(),
      createdAt: new Date().toISOString(),
      dnsRecords: this.dnsRecords,
      dnsDomains: this.dnsDomains,
      dnsReplicas: this.dnsReplicas.length,
      dnsService: this.dnsService,
      dnsLocalDomains: this.dnsLocalDomains,
      ipv6: this.ipv6,
    };
    writeState(state);
    if (!this.persistent) {
      owned.add(this);
      installExitHook();
    }
    this.isUp = true;
    try {
      await this.build();
    } catch (e) {
      await this.down().catch(() => {});
      throw e;
    }
    return this;
  }

  private async build(): Promise<void> {
    const plan = this.plan;
    await this.cmd(['ip', '-batch', '-'], { input: this.namespaces.map((ns) => `netns add ${ns}\n`).join('') });

    // Sysctls first: interfaces created afterwards take the namespace's defaults.
    await mapLimit(this.namespaces, PARALLEL, async (ns) => {
      // -e: the bridge-nf keys exist only where br_netfilter is (not needed if it isn't).
      await this.exec(ns, ['sysctl', '-q', '-e', '-w', ...(ns === plan.bridgeNs ? BRIDGE_SYSCTLS : this.ipv6 ? MEMBER_SYSCTLS_DUAL_STACK : MEMBER_SYSCTLS)]);
    });

    await this.cmd(['ip', '-n', plan.bridgeNs, '-batch', '-'], { input: bridgeScript(plan) });

    await mapLimit(plan.members, PARALLEL, async (m) => {
      await this.cmd(['ip', '-n', m.ns, '-batch', '-'], { input: memberScript(plan, m) });
    });
    const service = this.dnsService ? serviceNat(this.dnsServiceIP, this.dnsReplicas) : '';
    await mapLimit(this.nodes, PARALLEL, (n) => this.exec(n.ns, ['iptables-restore', '--noflush'], { input: nodeChainsSetup() + service }));
    await mapLimit(this.dnsReplicas, PARALLEL, (r) => this.exec(r.ns, ['iptables-restore', '--noflush'], { input: nodeChainsSetup() }));
    if (this.ipv6) {
      // The same chains for IPv6 (no DNS service there: its IP is IPv4).
      await mapLimit([...this.nodes, ...this.dnsReplicas], PARALLEL, (m) => this.exec(m.ns, ['ip6tables-restore', '--noflush'], { input: nodeChainsSetup() }));
    }
    await this.exec(plan.bridgeNs, ['nft', '-f', '-'], { input: nftSetup(this.nodes, (n) => n.vethHost) });

    await waitUntil('every lab cable to come up', () => this.allPortsUp(), 5000);
    await this.startDns();
  }

  private async allPortsUp(): Promise<boolean> {
    const out = await this.cmd(['ip', '-n', this.bridgeNs, '-j', 'link', 'show', 'master', 'br0']);
    const ports = JSON.parse(out.stdout) as Array<{ ifname: string; operstate: string }>;
    return ports.length === this.plan.members.length && ports.every((p) => p.operstate === 'UP');
  }

  /**
   * Ends every process in the lab's namespaces (TERM, then KILL), deletes the
   * namespaces (which takes the veths and the bridge with them) and the lab's
   * state. Idempotent; `Lab.destroy(prefix)` does the same for a lab whose
   * object is gone.
   */
  async down(): Promise<void> {
    owned.delete(this);
    this.isUp = false;
    await destroyNamespaces(this.prefix);
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
  }

  /** Last-resort teardown from a process 'exit' handler: synchronous, KILL without grace. */
  downSync(): void {
    owned.delete(this);
    const inodes = new Set<number>();
    for (const ns of this.namespaces) {
      try {
        inodes.add(statSync(`/run/netns/${ns}`).ino);
      } catch {
        // not there
      }
    }
    const pids = () => {
      const out: number[] = [];
      for (const e of readdirSync('/proc')) {
        if (!/^\d+$/.test(e)) continue;
        try {
          const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${e}/ns/net`));
          if (m && inodes.has(Number(m[1]))) out.push(Number(e));
        } catch {
          // gone
        }
      }
      return out;
    };
    const until = Date.now() + 2000;
    for (let left = pids(); left.length > 0 && Date.now() < until; left = pids()) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    const present = this.namespaces.filter((ns) => existsSync(`/run/netns/${ns}`));
    if (present.length > 0) {
      try {
        execFileSync('ip', ['-force', '-batch', '-'], { input: present.map((ns) => `netns del ${ns}\n`).join(''), stdio: ['pipe', 'ignore', 'ignore'], timeout: 5000 });
      } catch {
        // best effort on the way out
      }
    }
    removeState(this.prefix);
  }

  /** Tears down a lab by prefix: for a leftover lab whose Lab object is gone. */
  static destroy(prefix: string): Promise<void> {
    validatePrefix(prefix);
    return destroyNamespaces(prefix);
  }

  /** A Lab object for a lab that is already up (made by another process, e.g. `lab up`). */
  static attach(prefix: string): Lab {
    validatePrefix(prefix);
    const s = readState(prefix);
    if (!s) throw new Error(`no lab ${prefix} (no ${stateFile(prefix)})`);
    // Helpers it starts (a delayer) must outlive the attaching process, whoever owns the lab.
    const lab = new Lab({
      prefix,
      nodes: s.nodeCount,
      dnsRecords: s.dnsRecords,
      dnsDomains: s.dnsDomains,
      dnsReplicas: s.dnsReplicas ?? 1,
      dnsService: s.dnsService ?? false,
      dnsLocalDomains: s.dnsLocalDomains ?? [],
      ipv6: s.ipv6 ?? false,
      persistent: true,
    });
    lab.isUp = true;
    return lab;
  }

  // ---------------------------------------------------------------- DNS

  /**
   * Starts DNS replicas (all, or the one named) that are not running: plugs a
   * stopped replica's cable back in, starts its dnsmasq bound to the replica's
   * address only, and waits until it listens on :53 (UDP and TCP).
   */
  async startDns(replica?: string): Promise<void> {
    const targets = replica === undefined ? this.dnsReplicas : [this.dnsReplica(replica)];
    await mapLimit(targets, PARALLEL, (r) => this.serial(r.ns, () => this.startReplica(r)));
  }

  private async startReplica(r: DnsReplica): Promise<void> {
    const cable = await this.cable(r);
    if (cable.cut) await this.plugIn(r.vethHost, r.name);
    if ((await this.dnsmasqPids(r)).length > 0) return;
    // Only the names given (no resolv.conf, no /etc/hosts, no config file), on the replica's address only.
    // --user=root: no privilege drop to "nobody", which a minimal image may not have; it is a test server
    // in a namespace of its own.
    const args = [
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--bind-interfaces',
      `--listen-address=${r.ip6 ? `${r.ip},${r.ip6}` : r.ip}`,
      `--port=${DNS_PORT}`,
      '--pid-file',
      '--user=root',
      '--log-facility=-',
      ...this.dnsRecords.map((d) => `--host-record=${d.name},${d.ip}`),
      `--host-record=${DNS_WHOAMI},${r.ip}${r.ip6 ? `,${r.ip6}` : ''}`,
      ...this.dnsDomains.map((d) => `--address=/${d.domain}/${d.ip}`),
      ...this.dnsLocalDomains.map((d) => `--local=/${d}/`),
    ];
    const log = r.ns === this.dnsNs ? 'dnsmasq.log' : `dnsmasq-${r.name}.log`;
    const child = this.startProcess(r.ns, args, log);
    const ips = r.ip6 ? [r.ip, r.ip6] : [r.ip];
    await this.waitReady(`dnsmasq ${r.name}`, child, log, () => ips.every((ip) => isListening(child.pid ?? 0, ip, DNS_PORT, 'udp') && isListening(child.pid ?? 0, ip, DNS_PORT, 'tcp')));
  }

  /**
   * Stops DNS replicas (all, or the one named) as a CoreDNS pod goes away: its
   * dnsmasq ends and its cable is pulled, so its IP answers nothing (queries time
   * out, no ICMP port unreachable). The nodes' service DNAT still picks it (as
   * kube-proxy does until the endpoint is removed), so queries to the service IP
   * that land on it time out too. startDns() or clear() bring it back.
   */
  async stopDns(replica?: string): Promise<void> {
    const targets = replica === undefined ? this.dnsReplicas : [this.dnsReplica(replica)];
    await mapLimit(targets, PARALLEL, (r) =>
      this.serial(r.ns, async () => {
        await terminateAll(() => this.dnsmasqPids(r), `${r.ns} (dnsmasq)`);
        await this.cmd(['ip', '-n', this.bridgeNs, 'link', 'set', r.vethHost, 'down']);
      }),
    );
  }

  private async dnsmasqPids(r: DnsReplica): Promise<number[]> {
    const mine: number[] = [];
    for (const pid of await pidsInNamespaces([r.ns])) if ((await processArgv(pid))[0]?.endsWith('dnsmasq')) mine.push(pid);
    return mine;
  }

  /**
   * Drops a node's DNS queries (UDP and TCP port 53 from its pod and node IPs) on
   * every replica's INPUT, so they reach no replica whether sent to the service IP
   * or to a replica IP: the node's DNS probes time out, other nodes resolve.
   * clear(node) or clear() remove it.
   */
  async blockDns(node: string): Promise<void> {
    const n = this.node(node);
    await mapLimit(this.dnsReplicas, PARALLEL, (r) =>
      this.serial(r.ns, () => this.appendEach(r.ns, 'filter', INPUT_CHAIN, (f) => dnsBlockRules(n, f))),
    );
  }

  /**
   * Starts a helper process of the lab itself (dnsmasq, a delayer) with stderr
   * to a log file in the lab's directory. Persistent labs detach it so it
   * outlives this process; otherwise it is tracked like spawn().
   */
  private startProcess(ns: string, argv: readonly string[], log: string): ChildProcess {
    const fd = openSync(join(labDir(this.prefix), log), 'a');
    try {
      const child = this.spawn(ns, argv, {
        stdio: [this.persistent ? 'ignore' : 'pipe', 'pipe', fd],
        detached: this.persistent,
      });
      // Neither the process nor its pipes keep this process alive: a test that forgets down()
      // still exits, and the exit hook then tears the lab down (the delayer also sees stdin close).
      child.unref();
      for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?: () => void } | null)?.unref?.();
      return child;
    } finally {
      closeSync(fd);
    }
  }

  private async waitReady(what: string, child: ChildProcess, log: string, ready: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
    let exited: string | undefined;
    child.once('exit', (code, sig) => {
      exited = `exited with ${code ?? sig}`;
    });
    try {
      await waitUntil(`${what} in ${this.prefix}`, async () => {
        if (exited) throw new Error(exited);
        return ready();
      }, timeoutMs);
    } catch (e) {
      let tail = '';
      try {
        tail = readFileSync(join(labDir(this.prefix), log), 'utf8').trim().split('\n').slice(-5).join(' | ');
      } catch {
        // no log
      }
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}${tail ? ` (log: ${tail})` : ''}`);
    } finally {
      // A person's lab outlives this command: let go of the pipe (the helper writes nothing more to it).
      if (this.persistent) child.stdout?.destroy();
    }
  }

  // ---------------------------------------------------------------- faults

  /**
   * Blocks traffic from `src` to `dst` on the receiver's INPUT (see faults.ts for
   * why and what each mode does): `drop` is a partition (both directions time
   * out); `reject` gives ECONNREFUSED (TCP reset, ICMP port unreachable
   * otherwise); `unreachable` gives EHOSTUNREACH at once (ICMP host unreachable).
   */
  async blockPair(src: string, dst: string, mode: BlockMode, proto: BlockProto = 'all', family: BlockFamily = 'all'): Promise<void> {
    const s = this.node(src);
    const d = this.node(dst);
    if (s === d) throw new Error(`blockPair: ${src} and ${dst} are the same node`);
    if (family === 'ipv6' && !this.ipv6) throw new Error(`blockPair: lab ${this.prefix} has no IPv6 (createLab({ ipv6: true }) makes a dual-stack lab)`);
    for (const f of family === 'all' ? this.families : [family]) {
      for (const { receiver, rules } of pairRules(s, d, mode, proto, f)) {
        await this.serial(receiver.ns, () => this.exec(receiver.ns, [iptablesFor(f, '-restore'), '--noflush'], { input: appendRules('filter', INPUT_CHAIN, rules) }));
      }
    }
  }

  /** Appends the rules `rulesOf(family)` to a chain in every family the lab has. */
  private async appendEach(ns: string, table: string, chain: string, rulesOf: (f: Family) => readonly (readonly string[])[]): Promise<void> {
    for (const f of this.families) await this.exec(ns, [iptablesFor(f, '-restore'), '--noflush'], { input: appendRules(table, chain, rulesOf(f)) });
  }

  /** Drops every packet of one protocol into a node (e.g. ICMP: ping fails both ways, TCP works). */
  async blockProtocol(node: string, proto: Proto = 'icmp'): Promise<void> {
    const n = this.node(node);
    await this.serial(n.ns, () => this.appendEach(n.ns, 'filter', INPUT_CHAIN, (f) => [protoRule(n, proto, f)]));
  }

  /**
   * Closes one port of a node to the network, as a host firewall rule does (see
   * portRule): `reject` gives ECONNREFUSED for TCP (ICMP port unreachable for
   * UDP), `drop` a timeout. ICMP and other ports pass; so do the node's own
   * connections over lo. clear(node) or clear() remove it.
   */
  async blockPort(node: string, port: number, mode: PortMode = 'reject', proto: PortProto = 'tcp'): Promise<void> {
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new Error(`blockPort: port ${port}: expected an integer from 1 to 65535`);
    const n = this.node(node);
    await this.serial(n.ns, () => this.appendEach(n.ns, 'filter', INPUT_CHAIN, (f) => [portRule(n, port, proto, mode, f)]));
  }

  /** Pulls a node's cable: its bridge-side veth goes down, so nothing reaches or leaves the node. */
  async cutCable(node: string): Promise<void> {
    const n = this.node(node);
    await this.cmd(['ip', '-n', this.bridgeNs, 'link', 'set', n.vethHost, 'down']);
  }

  /** Plugs the cable back in and waits until the port forwards again. */
  async restoreCable(node: string): Promise<void> {
    await this.plugIn(this.node(node).vethHost, node);
  }

  private async plugIn(vethHost: string, name: string): Promise<void> {
    await this.cmd(['ip', '-n', this.bridgeNs, 'link', 'set', vethHost, 'up']);
    await waitUntil(`${name}'s cable to come back`, async () => {
      const out = await this.cmd(['ip', '-n', this.bridgeNs, '-j', '-d', 'link', 'show', 'dev', vethHost]);
      const [link] = JSON.parse(out.stdout) as Array<{ operstate: string; linkinfo?: { info_slave_data?: { state?: string } } }>;
      return link?.operstate === 'UP' && link.linkinfo?.info_slave_data?.state === 'forwarding';
    }, 5000);
  }

  /**
   * Sets the MTU of a node's bridge-side veth (1500 restores it). Frames larger
   * than that are dropped by the bridge without any ICMP error: an MTU blackhole,
   * as an overlay with a wrong MTU makes one (a 1472-byte DF ping times out while
   * a smaller one is answered).
   */
  async mtu(node: string, bytes: number): Promise<void> {
    if (!(Number.isInteger(bytes) && bytes >= 576 && bytes <= 9000)) throw new Error(`mtu ${bytes}: expected an integer from 576 to 9000`);
    const n = this.node(node);
    await this.cmd(['ip', '-n', this.bridgeNs, 'link', 'set', n.vethHost, 'mtu', String(bytes)]);
  }

  /**
   * Delays everything a node (or a DNS replica: dns-b, ...) sends by `ms` ±
   * `jitterMs` (uniform), in order: an NFQUEUE rule on its eth0 egress and
   * delayer.py holding verdicts. A replica's delay is its answers' delay.
   * Replaces a previous delay of the node; 0 and 0 removes it.
   */
  async delay(node: string, ms: number, jitterMs = 0): Promise<void> {
    if (!(ms >= 0 && jitterMs >= 0 && ms <= 60_000 && jitterMs <= 60_000)) throw new Error(`delay ${ms} ms ± ${jitterMs} ms: expected 0-60000`);
    const n = this.target(node);
    await this.serial(n.ns, async () => {
      await this.removeDelay(n);
      if (ms === 0 && jitterMs === 0) return;
      const argv = [python(), delayerPath(), '--queue', String(DELAY_QUEUE), '--delay-ms', String(ms), '--jitter-ms', String(jitterMs)];
      if (!this.persistent) argv.push('--exit-on-eof');
      const child = this.startProcess(n.ns, argv, `delayer-${n.name}.log`);
      let sawReady = false;
      child.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) sawReady = true;
      });
      await this.waitReady(`the delayer of ${node}`, child, `delayer-${n.name}.log`, () => sawReady);
      await this.appendEach(n.ns, 'mangle', EGRESS_CHAIN, () => [delayRule(n)]);
    });
  }

  private async removeDelay(n: LabNode | DnsReplica): Promise<void> {
    for (const f of this.families) await this.exec(n.ns, [iptablesFor(f), '-t', 'mangle', '-F', EGRESS_CHAIN]);
    await terminateAll(() => this.delayerPids(n), `${n.ns} (delayer)`);
  }

  private async delayerPids(n: LabNode | DnsReplica): Promise<number[]> {
    const pids = await pidsInNamespaces([n.ns]);
    const mine: number[] = [];
    for (const pid of pids) if ((await processArgv(pid)).some((a) => a.endsWith('delayer.py'))) mine.push(pid);
    return mine;
  }

  /** Randomly drops `percent` % of the frames a node sends into the bridge (silently, like netem loss). 0 removes it. */
  async loss(node: string, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`loss ${percent} %: expected 0-100`);
    const n = this.node(node);
    await this.serial(this.bridgeNs, () => this.exec(this.bridgeNs, ['nft', '-f', '-'], { input: lossScript(n, percent) }));
  }

  /**
   * Frames a node's loss rule has dropped since its loss was last set (the rule's
   * nft counter; 0 without loss): proof that a loss fault really lost something.
   */
  async lossDrops(node: string): Promise<number> {
    const n = this.node(node);
    const out = await this.exec(this.bridgeNs, ['nft', 'list', 'chain', 'bridge', NFT_TABLE, lossChain(n)]);
    return parseLossDrops(out.stdout);
  }

  /**
   * Removes every fault of one node (its rules, the pair rules that name it on
   * other nodes, its DNS block, its delay and loss, its cut cable), of one DNS
   * replica (its delay; a stopped replica is started), or of the whole lab.
   */
  async clear(node?: string): Promise<void> {
    const target = node === undefined ? undefined : this.target(node);
    const nodeTargets = target === undefined ? this.nodes : this.nodes.filter((n) => n === target);
    const replicaTargets = target === undefined ? this.dnsReplicas : this.dnsReplicas.filter((r) => r === target);
    const isNode = nodeTargets.length > 0 && target !== undefined;
    await mapLimit(this.nodes, PARALLEL, async (n) => {
      await this.serial(n.ns, async () => {
        if (target === undefined || n === target) {
          for (const f of this.families) await this.exec(n.ns, [iptablesFor(f), '-F', INPUT_CHAIN]);
        } else if (isNode) {
          await this.removeRulesNaming(n.ns, n.name === target.name ? '' : target.name);
        }
      });
    });
    // The replicas' INPUT holds the DNS blocks of nodes.
    await mapLimit(this.dnsReplicas, PARALLEL, (r) =>
      this.serial(r.ns, async () => {
        if (target === undefined) for (const f of this.families) await this.exec(r.ns, [iptablesFor(f), '-F', INPUT_CHAIN]);
        else if (isNode) await this.removeRulesNaming(r.ns, target.name);
      }),
    );
    await mapLimit(nodeTargets, PARALLEL, async (n) => {
      await this.serial(n.ns, () => this.removeDelay(n));
      await this.loss(n.name, 0);
      const cable = await this.cable(n);
      if (cable.mtu !== DEFAULT_MTU) await this.mtu(n.name, DEFAULT_MTU);
      if (cable.cut) await this.restoreCable(n.name);
    });
    await mapLimit(replicaTargets, PARALLEL, async (r) => {
      await this.serial(r.ns, () => this.removeDelay(r));
      await this.serial(r.ns, () => this.startReplica(r));
    });
  }

  private async removeRulesNaming(ns: string, name: string): Promise<void> {
    if (!name) return;
    for (const f of this.families) {
      const listed = await this.exec(ns, [iptablesFor(f), '-S', INPUT_CHAIN]);
      const lines = rulesNaming(listed.stdout, name);
      if (lines.length > 0) {
        await this.exec(ns, [iptablesFor(f, '-restore'), '--noflush'], { input: ['*filter', ...lines.map((l) => l.replace(/^-A /, '-D ')), 'COMMIT', ''].join('\n') });
      }
    }
  }

  /** The faults tagged in a namespace's INPUT chain, both families read (see mergeFamilies). */
  private async taggedFaults(ns: string): Promise<Fault[]> {
    const [v4, v6] = await Promise.all(this.families.map(async (f) => parseTaggedRules((await this.exec(ns, [iptablesFor(f), '-S', INPUT_CHAIN])).stdout)));
    return mergeFamilies(v4 ?? [], v6 ?? [], this.ipv6);
  }

  private async cable(n: { readonly vethHost: string }): Promise<{ cut: boolean; mtu: number }> {
    const out = await this.cmd(['ip', '-n', this.bridgeNs, '-j', 'link', 'show', 'dev', n.vethHost]);
    const [link] = JSON.parse(out.stdout) as Array<{ flags: string[]; mtu: number }>;
    return { cut: !(link?.flags ?? []).includes('UP'), mtu: link?.mtu ?? DEFAULT_MTU };
  }

  /** The faults in force, read from the lab itself (so it also sees what another process injected). */
  async faults(): Promise<Fault[]> {
    const seen = new Map<string, Fault>();
    const add = (f: Fault) => seen.set(faultKey(f), f);
    const lossOut = await this.exec(this.bridgeNs, ['nft', 'list', 'table', 'bridge', NFT_TABLE]);
    const blocks = lossOut.stdout.split(/\n\s*chain /);
    await mapLimit(this.nodes, PARALLEL, async (n) => {
      for (const f of await this.taggedFaults(n.ns)) add(f);
      for (const pid of await this.delayerPids(n)) {
        const argv = await processArgv(pid);
        const opt = (name: string) => Number(argv[argv.indexOf(name) + 1] ?? 0);
        add({ kind: 'delay', node: n.name, ms: opt('--delay-ms'), jitterMs: opt('--jitter-ms') });
      }
      const chain = blocks.find((b) => b.startsWith(`${lossChain(n)} `));
      const percent = chain ? parseLoss(chain) : 0;
      if (percent > 0) add({ kind: 'loss', node: n.name, percent });
      const cable = await this.cable(n);
      if (cable.cut) add({ kind: 'cut', node: n.name });
      if (cable.mtu !== DEFAULT_MTU) add({ kind: 'mtu', node: n.name, bytes: cable.mtu });
    });
    await mapLimit(this.dnsReplicas, PARALLEL, async (r) => {
      for (const f of await this.taggedFaults(r.ns)) add(f);
      for (const pid of await this.delayerPids(r)) {
        const argv = await processArgv(pid);
        const opt = (name: string) => Number(argv[argv.indexOf(name) + 1] ?? 0);
        add({ kind: 'delay', node: r.name, ms: opt('--delay-ms'), jitterMs: opt('--jitter-ms') });
      }
      if ((await this.cable(r)).cut || (await this.dnsmasqPids(r)).length === 0) add({ kind: 'dns-stopped', replica: r.name });
    });
    return [...seen.values()];
  }
}

/** Ends the processes in, and deletes, every namespace of the lab `prefix`; removes its state. Idempotent. */
async function destroyNamespaces(prefix: string): Promise<void> {
  const names = (await listNamespaces()).filter((ns) => prefixOfNamespace(ns) === prefix);
  if (names.length > 0) {
    await terminateNamespaces(names);
    await run(['ip', '-force', '-batch', '-'], { input: names.map((ns) => `netns del ${ns}\n`).join('') });
    const left = (await listNamespaces()).filter((ns) => prefixOfNamespace(ns) === prefix);
    if (left.length > 0) throw new Error(`lab ${prefix}: could not delete namespaces ${left.join(', ')}`);
  }
  removeState(prefix);
}

/** Builds and starts a lab: `const lab = await createLab({ nodes: 3 })`; `await lab.down()` when done. */
export async function createLab(opts: LabOptions): Promise<Lab> {
  assertLabRequirements();
  // Labs of test processes that died without tearing down (killed by a timeout, a crash) go first.
  await sweepStaleLabs();
  let prefix = opts.prefix;
  if (prefix === undefined) {
    const taken = new Set([...(await listNamespaces()).map(prefixOfNamespace), ...listStates().map((s) => s.prefix)]);
    do prefix = randomPrefix();
    while (taken.has(prefix));
  }
  const lab = new Lab({ ...opts, prefix });
  await lab.up();
  return lab;
}

/** Labs this machine has: from the state files, plus namespaces of labs nobody wrote down. */
export async function listLabs(): Promise<Array<{ prefix: string; state?: LabState; stale: boolean; namespaces: string[] }>> {
  const byPrefix = new Map<string, string[]>();
  for (const ns of await listNamespaces()) {
    const p = prefixOfNamespace(ns);
    if (p) byPrefix.set(p, [...(byPrefix.get(p) ?? []), ns]);
  }
  const states = listStates();
  const prefixes = new Set([...byPrefix.keys(), ...states.map((s) => s.prefix)]);
  return [...prefixes].sort().map((prefix) => {
    const state = states.find((s) => s.prefix === prefix);
    // A lab with namespaces but no state file: a crash before it was written down, or someone else's naming.
    return { prefix, ...(state ? { state } : {}), stale: state ? isStale(state) : true, namespaces: byPrefix.get(prefix) ?? [] };
  });
}

/** Tears down every lab whose owning process is gone (crashed test runs). Returns their prefixes. */
export async function sweepStaleLabs(): Promise<string[]> {
  const stale = (await listLabs()).filter((l) => l.state && l.stale).map((l) => l.prefix);
  for (const p of stale) await Lab.destroy(p);
  return stale;
}
