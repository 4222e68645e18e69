#!/usr/bin/env node
// `npm run bench`: every benchmark, each printing ratios against a reference
// measured in the same run plus absolute figures. `npm run bench -- NAME` runs
// one (verdicts, ingest (with memory per cell), evaluation, plans, scale, matrix-api, cni, cni-detection, dns, detection, alerting, icmp, footprint). detection,
// alerting, icmp and footprint build a network-namespace lab (root, the lab's tools; see
// test/e2e/lab/README.md) and run the built agent and aggregator (npm run build).
import { alertingBenchmark } from './alerting.js';
import { cniBenchmark } from './cni.js';
import { cniDetectionBenchmark } from './cni-detection.js';
import { evaluationBenchmark } from './evaluation.js';
import { detectionBenchmark } from './detection.js';
import { dnsBenchmark } from './dns.js';
import { footprintBenchmark } from './footprint.js';
import { icmpBenchmark } from './icmp.js';
import { ingestBenchmark } from './ingest.js';
import { planBenchmark } from './plans.js';
import { scaleBenchmark } from './scale.js';
import { verdictsBenchmark } from './verdicts.js';
import { matrixApiBenchmark } from './matrix-api.js';

const BENCHMARKS: Record<string, () => void | Promise<void>> = {
  ingest: ingestBenchmark,
  evaluation: evaluationBenchmark,
  plans: planBenchmark,
  scale: scaleBenchmark,
  'matrix-api': matrixApiBenchmark,
  cni: cniBenchmark,
  'cni-detection': cniDetectionBenchmark,
  dns: dnsBenchmark,
  detection: detectionBenchmark,
  alerting: alertingBenchmark,
  icmp: icmpBenchmark,
  footprint: footprintBenchmark,
  verdicts: verdictsBenchmark,
};

// Ctrl-C or a kill: exit through 'exit', where labs still up are torn down.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

const only = process.argv[2];
if (only !== undefined && !(only in BENCHMARKS)) {
  console.error(`bench: no benchmark ${JSON.stringify(only)} (have ${Object.keys(BENCHMARKS).join(', ')})`);
  process.exit(2);
}
for (const [name, bench] of Object.entries(BENCHMARKS)) {
  if (only !== undefined && only !== name) continue;
  try {
    await bench();
  } catch (e) {
    // One benchmark that can't run here (no root, no build) does not hide the others' figures.
    console.error(`${name}: could not run: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
