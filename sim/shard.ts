// One share of the simulated agents, as a worker thread (or the main thread,
// with one worker) runs it: nodes w, w + W, w + 2W, … of the cluster, with the
// cluster, the fault model and the timeline every share computes alike.
import { SimAgents } from './agents.js';
import type { SimConfig } from './config.js';
import { channelCredentials, type CredentialBytes } from './credentials.js';
import { FaultModel } from './faults.js';
import { simNodes } from './nodes.js';

export interface ShardInput {
  readonly config: SimConfig;
  readonly credentials: CredentialBytes;
  readonly worker: number;
  /** simNow() time the run starts. */
  readonly startAt: number;
  readonly runId: string;
}

export function shardAgents(s: ShardInput): SimAgents {
  const c = s.config;
  const nodes = simNodes(c.n, c.zones, c.prefix);
  const shard: number[] = [];
  for (let i = s.worker; i < c.n; i += c.workers) shard.push(i);
  return new SimAgents({
    address: c.aggregator,
    nodes,
    model: new FaultModel(c.n, nodes.zoneOf, c.faults),
    shard,
    credentials: channelCredentials(s.credentials),
    limits: { maxMessageBytes: c.maxMessageBytes, maxResultsPerReport: c.maxResultsPerReport },
    maxUnacked: c.maxUnacked,
    connectTimeoutMs: c.connectTimeoutMs,
    startAt: s.startAt,
    faultAt: s.startAt + c.faultAfterMs,
    endAt: s.startAt + c.durationMs,
    jitterMs: c.jitterMs,
    ...(c.churnPerMinute > 0 ? { churn: { perMinute: c.churnPerMinute, downtimeMs: c.churnDowntimeMs } } : {}),
    runId: s.runId,
  });
}
