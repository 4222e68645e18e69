// Simulated agents over real gRPC: one Collector stream per node, a Hello, then
// every interval a Report with one result per (target, kind) whose outcome a
// function decides. The function can be swapped at run time to inject and clear
// faults. No probe is sent anywhere: pod and node IPs are documentation
// addresses (RFC 5737). For tests that need a whole cluster's worth of
// aggregator state (metrics, findings) without a namespace lab.
import * as grpc from '@grpc/grpc-js';
import { capabilities, outcomes, probeKinds, type Capability, type Outcome, type PairKind } from '../../common/vocabulary.js';
import { loadProto, type AggregatorMessage__Output, type WireProbeResult } from '../../proto/load.js';
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
}

export type SimOutcomeFn = (src: string, dst: string, kind: PairKind) => SimResult;

export interface SimClusterOptions {
  readonly nodes: readonly SimNode[];
  outcome: SimOutcomeFn;
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  /** Deadline of each stream (grpc-js calls always get one); default 10 minutes. */
  readonly streamDeadlineMs?: number;
}

export interface SimCluster {
  /** Replaces the outcome function from the next report on. */
  setOutcome(fn: SimOutcomeFn): void;
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
  readonly client: InstanceType<ReturnType<typeof loadProto>['netmatrix']['v1']['Collector']>;
  readonly call: grpc.ClientDuplexStream<unknown, AggregatorMessage__Output>;
  sequence: number;
  acked: number;
  planned: boolean;
  open: boolean;
}

export function simCluster(grpcAddress: string, opts: SimClusterOptions): SimCluster {
  const Collector = loadProto().netmatrix.v1.Collector;
  let outcomeFn = opts.outcome;
  const caps = [...new Set(opts.kinds.map((k) => KIND_CAPABILITY[k]))].map((c) => capabilities.toProto(c));
  const nodeIP = (n: SimNode) => n.nodeIP ?? `198.51.100.${n.podIP.split('.').pop()}`;
  const agents = new Map<string, SimAgent>();
  let round = 0;

  for (const node of opts.nodes) {
    const client = new Collector(grpcAddress, grpc.credentials.createInsecure());
    const call = client.Connect({ deadline: Date.now() + (opts.streamDeadlineMs ?? 600_000) }) as unknown as SimAgent['call'];
    const agent: SimAgent = { node, client, call, sequence: 0, acked: 0, planned: false, open: true };
    call.on('data', (m: AggregatorMessage__Output) => {
      if (m.plan) agent.planned = true;
      if (m.ack) agent.acked = Math.max(agent.acked, Number(m.ack.sequence));
    });
    // A stream the aggregator ends (its stop, a refusal) just stops this agent.
    call.on('error', () => close(agent));
    call.on('end', () => close(agent));
    call.write({
      hello: {
        nodeName: node.name,
        podIps: [node.podIP],
        nodeIps: [nodeIP(node)],
        zone: node.zone,
        agentVersion: 'sim',
        capabilities: caps,
        responderPort: 9402,
        instanceId: `${node.name}-sim`,
      },
    });
    agents.set(node.name, agent);
  }

  function close(agent: SimAgent): void {
    if (!agent.open) return;
    agent.open = false;
    agent.call.cancel();
    agent.client.close();
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
        });
      }
    }
    agent.sequence++;
    agent.call.write({ report: { sequence: agent.sequence, round, sentAtMs: now, results } });
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
