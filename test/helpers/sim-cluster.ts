// Simulated agents over real gRPC: one Collector stream per node (netmatrix-sim's
// AgentStream, sim/stream.ts), a Hello, then every interval a Report with one
// result per (target, kind) whose outcome a function decides. Where
// netmatrix-sim answers each agent's plan from a fault model with hand-encoded
// reports (fast, fixed faults), this answers the nodes and kinds a test names
// with any outcome function, DNS results and CNI snapshots, encoded by the
// proto loader (flexible, slow). The function can be swapped at run time to inject and clear
// faults. No probe is sent anywhere: pod and node IPs are documentation
// addresses (RFC 5737). For tests that need a whole cluster's worth of
// aggregator state (metrics, findings) without a namespace lab. With the `dns`
// option each node also sends, every interval, one DNS result per server and
// question and one "must not exist" check per server, as agent/report/reporter.ts
// does: the aggregator must be started with a --dns-servers naming the same
// servers (and --dns-names the same questions). With the `cni` option each
// node sends a CniSnapshot once it has its plan, as agent/report/connection.ts
// does, and again whenever the test changes it (setCni); simCniSnapshot builds
// one the way agent/cni/ would for a bridge + host-local node.
import * as grpc from '@grpc/grpc-js';
import { PlanCache } from '../../sim/plan.js';
import { AgentStream } from '../../sim/stream.js';
import { canonicalJson, sha256Hex } from '../../agent/cni/normalize.js';
import { cniToWire, type CniSnapshot } from '../../common/cni.js';
import { capabilities, dnsTypes, outcomes, probeKinds, type Capability, type DnsRole, type Outcome, type PairKind } from '../../common/vocabulary.js';
import type { WireProbeResult } from '../../proto/load.js';
import { waitFor } from './wait.js';

export interface SimNode {
  readonly name: string;
  readonly zone: string;
  readonly podIP: string;
  /** Default: the pod IP's last octet in 198.51.100.0/24. */
  readonly nodeIP?: string;
}

export interface SimResult {
  readonly outcome: Outcome;
  readonly rttUs: number;
  /** The agent's loop_delay_us: set (> 0) as an agent whose event loop was held up marks the result. */
  readonly loopDelayUs?: number;
}

export type SimOutcomeFn = (src: string, dst: string, kind: PairKind) => SimResult;

export interface SimDnsServer {
  /** The server's name in --dns-servers (its `server` label). */
  readonly name: string;
  readonly role: DnsRole;
  /** The IP address the agents ask. */
  readonly address: string;
}

export interface SimDnsResult {
  readonly outcome: Outcome;
  readonly rttUs: number;
  /** Addresses of an ok answer; default ['10.96.0.1']. Ignored for a "must not exist" check unless its outcome is ok. */
  readonly answers?: readonly string[];
}

/**
 * The result of one DNS query from node `src` to `server`: `name` is a
 * question of the plan, or '' for the "must not exist" check (`nx`), whose
 * healthy outcome is 'nxdomain'.
 */
export type SimDnsOutcomeFn = (src: string, server: string, name: string, nx: boolean) => SimDnsResult;

export interface SimDnsOptions {
  readonly servers: readonly SimDnsServer[];
  /** The questions (A records) of --dns-names; default ['kubernetes.default.svc.cluster.local']. */
  readonly names?: readonly string[];
  outcome: SimDnsOutcomeFn;
  /** The TCP check's outcome (the first name over TCP, as an agent with a plan's dnsTcpCheck asks it); none: no TCP check sent. */
  readonly tcpOutcome?: (src: string, server: string) => SimDnsResult;
  /** The resolv.conf nameservers a node reports in its Hello; default none (no resolver view). */
  readonly nameservers?: (node: string) => readonly string[];
}

/** Every server answers every name at once, and says NXDOMAIN to the name that must not exist. */
export const healthyDns: SimDnsOutcomeFn = (_src, _server, _name, nx) => (nx ? { outcome: 'nxdomain', rttUs: 800 } : { outcome: 'ok', rttUs: 800 });

export interface SimCniOptions {
  /** The snapshot a node sends once it has its plan; null: the node sends none (an agent without CNI checks). */
  readonly snapshot: (node: string) => CniSnapshot | null;
}

/** What simCniSnapshot builds: a bridge + portmap chain with host-local IPAM, as most kubeadm clusters have. */
export interface SimCniSpec {
  /** The node's host-local subnet: its pod CIDR and its one pool. */
  readonly podCidr: string;
  /** Network name; default 'k8s-pod-network'. */
  readonly network?: string;
  /** The bridge's MTU, part of the compared config: another value on one node is drift. Default 1450. */
  readonly mtu?: number;
  /** sha256 of each plugin binary (bridge, portmap, host-local); default the same on every node; null: missing. */
  readonly binaries?: Readonly<Record<string, string | null>>;
  /** Addresses allocated from the pool; default 10. */
  readonly used?: number;
  /** Addresses the pool can hand out; default 253 (a /24 less network, gateway and broadcast). */
  readonly size?: number;
  /** Unusable files after the effective one (name → error), e.g. a broken leftover. */
  readonly brokenFiles?: Readonly<Record<string, string>>;
  /** Unusable files that sort before the effective one (name → error): containerd stops at them. */
  readonly brokenFilesBefore?: Readonly<Record<string, string>>;
  /** Directory-level errors. */
  readonly errors?: readonly string[];
  /** No valid config at all (only the broken files, if any). */
  readonly invalid?: boolean;
  readonly takenAtMs?: number;
}


/** The same default binary of each plugin on every node. */
export const SIM_CNI_BINARIES: Readonly<Record<string, string>> = Object.freeze({
  bridge: sha256Hex('bridge v1.4.0'),
  portmap: sha256Hex('portmap v1.4.0'),
  'host-local': sha256Hex('host-local v1.4.0'),
});

/** A node's CniSnapshot as the agent would take it of a 10-bridge.conflist with host-local IPAM. */
export function simCniSnapshot(spec: SimCniSpec): CniSnapshot {
  const network = spec.network ?? 'k8s-pod-network';
  const ranges = [[{ subnet: spec.podCidr }]];
  // The per-node field (the node's subnet) is set aside before hashing.
  const conf = (perNode: boolean) => ({
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, mtu: spec.mtu ?? 1450, ipam: { type: 'host-local', ...(perNode ? { ranges } : {}), routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  const text = JSON.stringify(conf(true), null, 2);
  const normalized = canonicalJson(conf(false));
  const valid = !spec.invalid;
  const broken = (list: Readonly<Record<string, string>> | undefined) =>
    Object.entries(list ?? {}).map(([name, error]) => ({ name, size: 17, sha256: sha256Hex(name), valid: false, error, cniVersion: null, network: null, plugins: [], ipamType: null, ranges: [] }));
  const files = [
    ...broken(spec.brokenFilesBefore),
    ...(valid ? [{ name: '10-bridge.conflist', size: text.length, sha256: sha256Hex(text), valid: true, error: null, cniVersion: '1.0.0', network, plugins: ['bridge', 'portmap'], ipamType: 'host-local', ranges: [spec.podCidr] }] : []),
    ...broken(spec.brokenFiles),
  ];
  const binaries = { ...SIM_CNI_BINARIES, ...spec.binaries };
  return {
    takenAtMs: spec.takenAtMs ?? Date.now(),
    full: true,
    files,
    effective: valid
      ? { file: '10-bridge.conflist', network, cniVersion: '1.0.0', plugins: ['bridge', 'portmap'], ipamType: 'host-local', normalized, hash: sha256Hex(normalized), perNode: { 'plugins[0].ipam.ranges': canonicalJson(ranges) }, podCidrs: [spec.podCidr] }
      : null,
    binaries: valid
      ? ['bridge', 'portmap', 'host-local'].map((plugin) => {
          const h = binaries[plugin] ?? null;
          return { plugin, size: h === null ? 0 : 4_200_000, sha256: h, error: h === null ? 'not found in /opt/cni/bin' : null };
        })
      : [],
    pools: valid ? [{ network, range: spec.podCidr, size: spec.size ?? 253, used: spec.used ?? 10 }] : [],
    errors: [...(spec.errors ?? [])],
  };
}

export interface SimClusterOptions {
  readonly nodes: readonly SimNode[];
  outcome: SimOutcomeFn;
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  /** Deadline of each stream (grpc-js calls always get one); default 10 minutes. */
  readonly streamDeadlineMs?: number;
  /** DNS results too; default none. */
  readonly dns?: SimDnsOptions;
  /** CNI snapshots too; default none. */
  readonly cni?: SimCniOptions;
}

export interface SimCluster {
  /** Replaces the outcome function from the next report on. */
  setOutcome(fn: SimOutcomeFn): void;
  /** Replaces the DNS outcome function from the next report on (only with the dns option). */
  setDnsOutcome(fn: SimDnsOutcomeFn): void;
  /** Replaces a node's CNI snapshot and sends it now if its stream is up (only with the cni option). */
  setCni(name: string, snapshot: CniSnapshot): void;
  /** Resolves when every running node has received a Plan and an Ack. */
  ready(timeoutMs?: number): Promise<void>;
  /** Names of the nodes whose stream is open. */
  running(): string[];
  /** Reports acknowledged so far, per node. */
  acked(name: string): number;
  /** Closes one node's stream (its agent "dies"), or every stream. */
  stop(name?: string): void;
}

const KIND_CAPABILITY: Record<PairKind, Capability> = { icmp: 'icmp', tcp: 'tcp', http: 'http', mtu: 'mtu', node: 'icmp' };

interface SimAgent {
  readonly node: SimNode;
  readonly stream: AgentStream;
  sequence: number;
  acked: number;
  planned: boolean;
  open: boolean;
  /** The node's current CNI snapshot and whether this stream has sent it. */
  cni: CniSnapshot | null;
  cniSent: boolean;
}

export function simCluster(grpcAddress: string, opts: SimClusterOptions): SimCluster {
  const plans = new PlanCache(new Map(opts.nodes.map((n, i) => [n.name, i])));
  let outcomeFn = opts.outcome;
  let dnsFn = opts.dns?.outcome;
  const dnsNames = opts.dns?.names ?? ['kubernetes.default.svc.cluster.local'];
  const caps = [...new Set([...opts.kinds.map((k) => KIND_CAPABILITY[k]), ...(opts.dns ? (['dns'] as const) : []), ...(opts.cni ? (['cni'] as const) : [])])].map((c) => capabilities.toProto(c));
  const nodeIP = (n: SimNode) => n.nodeIP ?? `198.51.100.${n.podIP.split('.').pop()}`;
  const agents = new Map<string, SimAgent>();
  let round = 0;

  for (const node of opts.nodes) {
    const hello = {
      nodeName: node.name,
      podIps: [node.podIP],
      nodeIps: [nodeIP(node)],
      zone: node.zone,
      agentVersion: 'sim',
      capabilities: caps,
      responderPort: 9402,
      instanceId: `${node.name}-sim`,
      ...(opts.dns?.nameservers
        ? { resolver: { nameservers: [...opts.dns.nameservers(node.name)], search: ['svc.cluster.local', 'cluster.local'], ndots: 5, timeoutSeconds: 5, attempts: 2, warnings: [], error: '' } }
        : {}),
    };
    const stream = new AgentStream(
      {
        address: grpcAddress,
        credentials: { channel: grpc.credentials.createInsecure() },
        maxSendBytes: 64 * 1024 * 1024,
        deadline: Date.now() + (opts.streamDeadlineMs ?? 600_000),
        plans,
        onMessage: (m) => {
          if ('plan' in m || 'refused' in m) {
            agent.planned = true;
            sendCni(agent);
          }
          if ('ack' in m) agent.acked = Math.max(agent.acked, m.ack);
        },
        // A stream the aggregator ends (its stop, a refusal) just stops this agent.
        onEnd: () => close(agent),
      },
      hello,
    );
    const agent: SimAgent = { node, stream, sequence: 0, acked: 0, planned: false, open: true, cni: opts.cni?.snapshot(node.name) ?? null, cniSent: false };
    agents.set(node.name, agent);
  }

  function close(agent: SimAgent): void {
    if (!agent.open) return;
    agent.open = false;
    agent.stream.close();
  }

  /** Like the agent: once the stream has its plan, the snapshot if it has not gone out yet. */
  function sendCni(agent: SimAgent): void {
    if (!agent.open || !agent.planned || !agent.cni || agent.cniSent) return;
    agent.cniSent = true;
    agent.stream.write({ cni: cniToWire(agent.cni) });
  }

  function report(agent: SimAgent): void {
    const now = Date.now();
    const results: WireProbeResult[] = [];
    for (const target of opts.nodes) {
      if (target.name === agent.node.name) continue;
      for (const kind of opts.kinds) {
        const r = outcomeFn(agent.node.name, target.name, kind);
        results.push({
          kind: probeKinds.toProto(kind),
          targetNode: target.name,
          targetIp: kind === 'node' ? nodeIP(target) : target.podIP,
          family: 'ADDRESS_FAMILY_IPV4',
          outcome: outcomes.toProto(r.outcome),
          rttUs: r.outcome === 'ok' ? Math.round(r.rttUs) : 0,
          timestampMs: now,
          detail: r.outcome === 'ok' ? '' : `simulated ${r.outcome}`,
          ...(r.loopDelayUs ? { loopDelayUs: r.loopDelayUs } : {}),
        });
      }
    }
    if (opts.dns && dnsFn) {
      for (const server of opts.dns.servers) {
        const questions = [...dnsNames.map((name) => ({ name, nx: false, tcp: false })), { name: '', nx: true, tcp: false }];
        if (opts.dns.tcpOutcome) questions.push({ name: dnsNames[0]!, nx: false, tcp: true });
        for (const { name, nx, tcp } of questions) {
          const r = tcp ? opts.dns.tcpOutcome!(agent.node.name, server.name) : dnsFn(agent.node.name, server.name, name, nx);
          const answered = r.outcome === 'ok';
          results.push({
            kind: probeKinds.toProto('dns'),
            targetNode: '',
            targetIp: server.address,
            family: server.address.includes(':') ? 'ADDRESS_FAMILY_IPV6' : 'ADDRESS_FAMILY_IPV4',
            outcome: outcomes.toProto(r.outcome),
            rttUs: answered || r.outcome === 'nxdomain' ? Math.round(r.rttUs) : 0,
            timestampMs: now,
            detail: answered || (nx && r.outcome === 'nxdomain') ? '' : `simulated ${r.outcome}`,
            dns: {
              server: server.name,
              // The agent sends '' for the random name of the nx check (reporter.ts).
              name,
              type: dnsTypes.toProto('a'),
              nxCheck: nx,
              tcpCheck: tcp,
              answers: answered ? [...(r.answers ?? ['10.96.0.1'])] : [],
              rcode: r.outcome === 'ok' ? 'NOERROR' : r.outcome === 'nxdomain' ? 'NXDOMAIN' : r.outcome === 'servfail' ? 'SERVFAIL' : r.outcome === 'dns_refused' ? 'REFUSED' : '',
              tcp,
              ignored: 0,
            },
          });
        }
      }
    }
    agent.sequence++;
    agent.stream.write({ report: { sequence: agent.sequence, round, sentAtMs: now, results } });
  }

  const timer = setInterval(() => {
    round++;
    for (const a of agents.values()) if (a.open && a.planned) report(a);
  }, opts.intervalMs);

  function stop(name?: string): void {
    for (const a of agents.values()) if (name === undefined || a.node.name === name) close(a);
    if (name === undefined || ![...agents.values()].some((a) => a.open)) clearInterval(timer);
  }

  return {
    setOutcome(fn) {
      outcomeFn = fn;
    },
    setDnsOutcome(fn) {
      if (!opts.dns) throw new Error('simCluster: setDnsOutcome needs the dns option');
      dnsFn = fn;
    },
    setCni(name, snapshot) {
      if (!opts.cni) throw new Error('simCluster: setCni needs the cni option');
      const agent = agents.get(name);
      if (!agent) throw new Error(`simCluster: no node ${name}`);
      agent.cni = snapshot;
      agent.cniSent = false;
      sendCni(agent);
    },
    async ready(timeoutMs = 10_000) {
      await waitFor(
        'every simulated agent to get a plan and an ack',
        () => [...agents.values()].every((a) => !a.open || (a.planned && a.acked > 0)),
        timeoutMs,
        20,
      );
    },
    running: () => [...agents.values()].filter((a) => a.open).map((a) => a.node.name),
    acked: (name) => agents.get(name)?.acked ?? 0,
    stop,
  };
}
