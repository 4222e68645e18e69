#!/usr/bin/env node
// netmatrix-sim: N simulated agents over real gRPC to a real aggregator, each
// answering the plan it is sent from a fault model, for sizing an aggregator
// and for the benchmarks (docs/scaling.md "Simulator"). A JSON progress line
// on stderr every --progress, one JSON summary line on stdout at the end.
// SIGUSR1 starts the faults at once (before --fault-after); Ctrl-C ends the
// run early, with the summary. Exit codes: 0 the run went through, 1 no agent ever got a plan (the summary
// says why), 2 a bad setting (one line naming it).
import { parseOrExit } from '../common/main.js';
import { lateQuantile } from './agents.js';
import { parseSimConfig } from './config.js';
import { readCredentials } from './credentials.js';
import { runSim } from './run.js';

const config = parseOrExit(() => parseSimConfig(process.argv.slice(2), process.env));
const credentials = parseOrExit(() => readCredentials(config, process.env));

// Ctrl-C (or a TERM) ends the run early; the summary is still printed. A second one exits at once.
const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  });
}
// SIGUSR1 starts the faults now (before --fault-after): for a benchmark or an operator timing a fault.
const faultsNow = new AbortController();
process.on('SIGUSR1', () => faultsNow.abort());

process.stderr.write(
  `netmatrix-sim: ${config.n} agents in ${config.zones} zones → ${config.aggregator} for ${config.durationMs / 1000} s on ${config.workers} worker thread${config.workers === 1 ? '' : 's'}\n`,
);
const summary = await runSim(config, credentials, {
  signal: abort.signal,
  faultsNow: faultsNow.signal,
  onProgress: ({ elapsedS, stats: s }) =>
    process.stderr.write(
      `${JSON.stringify({
        elapsedS: Math.round(elapsedS),
        agentsConnected: s.agentsUp,
        agentsPlanned: s.agentsPlanned,
        plansSampled: s.plansSampled,
        planEpoch: s.planEpoch,
        reportsSent: s.reportsSent,
        reportsAcked: s.reportsAcked,
        roundsSkipped: s.roundsSkipped,
        results: s.results,
        lateP99Ms: Number.isNaN(lateQuantile(s.late, 0.99)) ? null : lateQuantile(s.late, 0.99),
        errors: s.connectErrors + s.streamErrors,
      })}\n`,
    ),
});
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = summary.agentsPlanned > 0 ? 0 : 1;
