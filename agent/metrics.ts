// The agent's own Prometheus registry. Labels are closed sets (kind, outcome,
// reason), the configured aggregator addresses, or the DNS servers of the
// current plan (series of servers that left the plan are removed): bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createAgentMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'netmatrix_agent_process_' });
  const r = [registry];
  // The ICMP socket keeps its own counts; they are read at each scrape (readIcmpCounts).
  let icmpCounts: () => { readonly ignored: number; readonly full: number } = () => ({ ignored: 0, full: 0 });
  return {
    readIcmpCounts(f: () => { readonly ignored: number; readonly full: number }): void {
      icmpCounts = f;
    },
    registry,
    probes: new Counter({ name: 'netmatrix_agent_probes_total', help: 'Probes run, by kind and outcome.', labelNames: ['kind', 'outcome'], registers: r }),
    rtt: new Histogram({
      name: 'netmatrix_agent_probe_rtt_seconds',
      help: 'Round-trip time of successful probes, by kind.',
      labelNames: ['kind'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    roundLoopDelay: new Histogram({
      name: 'netmatrix_agent_round_loop_delay_seconds',
      help: 'Per probe round, the longest time the agent\'s event loop was busy or waiting for a CPU while one of the round\'s probes was in flight: what its RTTs may include. Past --loop-delay-threshold the results are marked (netmatrix_agent_probes_loop_delayed_total).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    loopDelayed: new Counter({
      name: 'netmatrix_agent_probes_loop_delayed_total',
      help: 'Probe results marked because the agent\'s event loop was held up (busy, or waiting for a CPU) for at least --loop-delay-threshold while they were in flight, by kind and outcome: the aggregator judges no RTT of an ok one and no loss of a timeout one. A CPU-starved agent, not the network, when it grows.',
      labelNames: ['kind', 'outcome'],
      registers: r,
    }),
    skipped: new Counter({
      name: 'netmatrix_agent_probes_skipped_total',
      help: 'Probes not run or not reported, by kind and reason: no_slot (the kind\'s slots were all held until the round\'s latest start), not_allowed (target outside the allowed CIDRs: every probe of every round not sent to it), no_prober (kind of the plan this agent cannot run, e.g. icmp and node without CAP_NET_RAW: every probe of every round not sent), no_address (DNS server without a usable address), nodelocal_silent (NodeLocal DNSCache address that never answered here).',
      labelNames: ['kind', 'reason'],
      registers: r,
    }),
    slots: new Gauge({ name: 'netmatrix_agent_probe_slots', help: 'Probes of the kind that may hold a socket at once, sized from the plan (peers × timeout / interval) within --max-concurrent-probes; icmp and node take none.', labelNames: ['kind'], registers: r }),
    plansRefused: new Counter({ name: 'netmatrix_agent_plans_refused_total', help: 'Plans not followed because their interval or timeout is out of range (the previous plan stays), by reason.', labelNames: ['reason'], registers: r }),
    callbackErrors: new Counter({ name: 'netmatrix_agent_scheduler_callback_errors_total', help: 'Exceptions thrown by what the scheduler calls back (probe, round, skipped): caught, the probe and its slot unaffected; a bug when it grows.', labelNames: ['callback'], registers: r }),
    rounds: new Counter({ name: 'netmatrix_agent_rounds_total', help: 'Probe rounds completed.', registers: r }),
    peers: new Gauge({ name: 'netmatrix_agent_peers', help: 'Peers in the current plan that this agent probes.', registers: r }),
    targetsRefused: new Gauge({ name: 'netmatrix_agent_targets_refused', help: 'Addresses in the current plan (peer pod and node IPs, DNS servers) outside --allowed-cidrs, so never probed.', registers: r }),
    peersOverLimit: new Gauge({ name: 'netmatrix_agent_peers_over_limit', help: 'Peers in the current plan ignored because of --max-peers.', registers: r }),
    peersFailing: new Gauge({ name: 'netmatrix_agent_peers_failing', help: 'Sampled plan: walk peers whose last probe failed, followed up every round until they answer (at most the plan\'s follow_max a round).', registers: r }),
    followUpsOverLimit: new Gauge({ name: 'netmatrix_agent_follow_ups_over_limit', help: 'Sampled plan: failing peers beyond the plan\'s follow_max, waiting for their turn in the walk.', registers: r }),
    dnsIgnored: new Counter({ name: 'netmatrix_agent_dns_replies_ignored_total', help: 'Datagrams and TCP frames the DNS prober dropped as not the reply to its query (wrong ID or question, undecodable; over UDP the connected socket already drops other sources): spoofing or a broken server when it grows. Only servers of the current plan have a series.', labelNames: ['server'], registers: r }),
    dnsServers: new Gauge({ name: 'netmatrix_agent_dns_servers', help: 'DNS servers in the current plan that this agent asks.', registers: r }),
    cniSnapshots: new Counter({ name: 'netmatrix_agent_cni_snapshots_total', help: 'CNI snapshots sent: full="false" when something changed, full="true" for the periodic full one.', labelNames: ['full'], registers: r }),
    cniErrors: new Gauge({ name: 'netmatrix_agent_cni_errors', help: 'Problems in the last CNI snapshot: invalid config files, directory errors, unreadable plugin binaries.', registers: r }),
    planEpoch: new Gauge({ name: 'netmatrix_agent_plan_epoch', help: 'Epoch of the plan being followed.', registers: r }),
    icmp: new Gauge({ name: 'netmatrix_agent_icmp_available', help: '1 while the agent can send ICMP: its raw ICMP sockets (CAP_NET_RAW) are open; 0 without CAP_NET_RAW, or while a socket that died is being reopened.', registers: r }),
    icmpReopens: new Counter({
      name: 'netmatrix_agent_icmp_socket_reopens_total',
      help: 'Attempts to reopen a raw ICMP socket that died (closed by itself after a poll error), by family and result (ok, failed); attempts back off from 0.5 s to 30 s. Its ICMP probes fail with outcome error until one succeeds.',
      labelNames: ['family', 'result'],
      registers: r,
    }),
    icmpIgnored: new Counter({
      name: 'netmatrix_agent_icmp_packets_ignored_total',
      help: 'ICMP packets the raw sockets read and ignored: not the reply to (or an error about) an echo of this agent that is pending: late replies, other agents\' echoes in the namespace, garbage. The kernel filter already drops every other ICMP type.',
      registers: r,
      collect() {
        this.reset();
        this.inc(icmpCounts().ignored);
      },
    }),
    icmpFull: new Counter({
      name: 'netmatrix_agent_icmp_pending_full_total',
      help: 'ICMP probes not sent because 4096 echoes were pending on the socket (its bound): outcome error "too many pending ICMP probes".',
      registers: r,
      collect() {
        this.reset();
        this.inc(icmpCounts().full);
      },
    }),
    reportsCreated: new Counter({ name: 'netmatrix_agent_reports_total', help: 'Reports created: one per probe round, more when a round is split to fit the message limits.', registers: r }),
    reportsAcked: new Counter({ name: 'netmatrix_agent_reports_acked_total', help: 'Reports acknowledged, by aggregator.', labelNames: ['aggregator'], registers: r }),
    reportsDropped: new Counter({ name: 'netmatrix_agent_reports_dropped_total', help: 'Unacknowledged reports dropped because the buffer was full (older rounds thinned), by aggregator.', labelNames: ['aggregator'], registers: r }),
    reportsRefused: new Counter({ name: 'netmatrix_agent_reports_refused_total', help: 'Reports the aggregator refused (too large, too many results, undecodable), dropped instead of sent again, by aggregator.', labelNames: ['aggregator'], registers: r }),
    reportsBuffered: new Gauge({ name: 'netmatrix_agent_reports_buffered', help: 'Unacknowledged reports held, by aggregator.', labelNames: ['aggregator'], registers: r }),
    reportsBufferedBytes: new Gauge({ name: 'netmatrix_agent_reports_buffered_bytes', help: 'Encoded bytes of the unacknowledged reports held, by aggregator.', labelNames: ['aggregator'], registers: r }),
    connected: new Gauge({ name: 'netmatrix_agent_connected', help: '1 while the stream to the aggregator is up, by aggregator.', labelNames: ['aggregator'], registers: r }),
    reconnects: new Counter({ name: 'netmatrix_agent_reconnects_total', help: 'Stream (re)connection attempts, by aggregator.', labelNames: ['aggregator'], registers: r }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
