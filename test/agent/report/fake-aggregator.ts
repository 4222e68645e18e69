// A stand-in for the aggregator: a real grpc-js server on 127.0.0.1 serving the
// Collector service of the project's .proto, whose answers a test scripts: the
// plan's epoch, the resume point it acks right after the plan (as the real
// collector acks what it stored before), and what it does with each report:
// store and ack it, refuse the stream with a status, or say nothing.
import * as grpc from '@grpc/grpc-js';
import { loadProto, type AgentMessage__Output, type AggregatorMessage } from '../../../proto/load.js';
import { waitFor } from '../../helpers/wait.js';

export interface ReceivedReport {
  readonly sequence: number;
  readonly round: number;
  readonly sentAtMs: number;
  readonly results: number;
  /** Which stream (1-based, in the order they opened) carried it. */
  readonly stream: number;
}

/** store: keep and ack; keep: keep, ack nothing (acks lost on the way); ignore: neither; or end the stream with a status. */
export type Verdict = 'store' | 'keep' | 'ignore' | { readonly code: grpc.status; readonly details: string };

export interface FakeAggregatorOptions {
  /** Listen on this port (a restarted aggregator); default any. */
  readonly port?: number;
  readonly epoch: number;
  /** Largest message the server accepts (grpc-js refuses a larger one with RESOURCE_EXHAUSTED). */
  readonly maxMessageBytes?: number;
  /** Highest sequence already stored, acked after the plan when above 0; default what this one stored. */
  readonly resume?: () => number;
  /** Ack the resume point before the plan, even when it is 0 (what an aggregator could do to make it explicit). */
  readonly resumeFirst?: boolean;
  /** What to do with a report; default store it. */
  readonly verdict?: (r: ReceivedReport) => Verdict;
}

export interface FakeAggregator {
  readonly address: string;
  readonly port: number;
  /** Streams opened (each after a Hello). */
  readonly streams: number;
  /** When each stream said Hello (Date.now()). */
  readonly opened: number[];
  /** Every report read, in order, duplicates included (not those after a refusal ended the stream). */
  readonly reports: ReceivedReport[];
  /** CNI snapshots read. */
  readonly cnis: number;
  /** Highest sequence stored (acked or kept). */
  readonly stored: number;
  verdict: (r: ReceivedReport) => Verdict;
  /** Stops reading every open stream (as an aggregator that is stuck), or starts again. */
  setReading(on: boolean): void;
  /** Ends every open stream with UNAVAILABLE, as a restarting aggregator would. */
  dropStreams(): void;
  /** Gone at once: streams cut, port released. */
  close(): Promise<void>;
}

export async function fakeAggregator(o: FakeAggregatorOptions): Promise<FakeAggregator> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': o.maxMessageBytes ?? 4 * 1024 * 1024 });
  const calls = new Set<grpc.ServerDuplexStream<AgentMessage__Output, AggregatorMessage>>();
  let reading = true;
  let streams = 0;
  let stored = 0;
  let cnis = 0;
  const opened: number[] = [];
  const reports: ReceivedReport[] = [];
  const fake: FakeAggregator = {
    address: '',
    port: 0,
    get streams() {
      return streams;
    },
    opened,
    reports,
    get stored() {
      return stored;
    },
    get cnis() {
      return cnis;
    },
    verdict: o.verdict ?? (() => 'store'),
    setReading(on) {
      reading = on;
      for (const c of calls) if (on) c.resume();
      else c.pause();
    },
    dropStreams() {
      for (const c of calls) c.emit('error', { code: grpc.status.UNAVAILABLE, details: 'restarting' });
      calls.clear();
    },
    async close() {
      calls.clear();
      server.forceShutdown();
    },
  };
  server.addService(loadProto().netmatrix.v1.Collector.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, AggregatorMessage>) => {
      calls.add(call);
      if (!reading) call.pause();
      let stream = 0;
      let ended = false;
      call.on('data', (msg: AgentMessage__Output) => {
        // As the collector: what arrives after the stream was refused is not read.
        if (ended) return;
        if (msg.hello) {
          stream = ++streams;
          opened.push(Date.now());
          const resume = o.resume?.() ?? stored;
          if (o.resumeFirst) call.write({ ack: { sequence: resume } });
          call.write({ plan: { epoch: o.epoch, peers: [], kinds: ['PROBE_KIND_TCP'], intervalMs: 1_000, timeoutMs: 500 } });
          if (!o.resumeFirst && resume > 0) call.write({ ack: { sequence: resume } });
        } else if (msg.cni) {
          cnis++;
        } else if (msg.report) {
          const r: ReceivedReport = { sequence: msg.report.sequence, round: msg.report.round, sentAtMs: msg.report.sentAtMs, results: msg.report.results.length, stream };
          reports.push(r);
          const v = fake.verdict(r);
          if (v === 'store' || v === 'keep') {
            stored = Math.max(stored, r.sequence);
            if (v === 'store') call.write({ ack: { sequence: stored } });
          } else if (v !== 'ignore') {
            ended = true;
            calls.delete(call);
            // grpc-js turns an 'error' event on a server stream into the call's status, as in the collector.
            call.emit('error', v);
          }
        }
      });
      call.on('error', () => calls.delete(call));
      call.on('cancelled', () => calls.delete(call));
      call.on('end', () => {
        calls.delete(call);
        call.end();
      });
    },
  });
  // A restarted aggregator takes its old port again: retry while the old socket lets go.
  const port = await waitFor(
    `a port for the fake aggregator${o.port ? ` (${o.port})` : ''}`,
    () => new Promise<number | undefined>((resolve) => server.bindAsync(`127.0.0.1:${o.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => resolve(err ? undefined : p))),
    5_000,
    50,
  );
  return Object.assign(fake, { port, address: `127.0.0.1:${port}` });
}
