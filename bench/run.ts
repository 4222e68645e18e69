#!/usr/bin/env node
// `npm run bench`: every benchmark, each printing ratios against a reference
// measured in the same run plus absolute figures.
import { ingestBenchmark, memoryBenchmark } from './ingest.js';

const only = process.argv[2];
if (!only || only === 'ingest') await ingestBenchmark();
if (!only || only === 'memory') memoryBenchmark();
