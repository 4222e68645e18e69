// Matrix API benchmark: what one GET /api/v1/matrix costs at 200 and 1,000
// nodes (full mesh, tcp, 3 failing pairs), in each form: building the body
// from MatrixQuery.matrix() and serializing it, its size, and compressing it
// (gzip -6, brotli 4, as the API does). Reference measured in the same run:
// reading every cell once through MatrixQuery.matrix(), which every form does.
// Since bodies are built once per evaluation (aggregator/http/evaluation-cache.ts),
// these are per evaluation, not per request.
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { BROTLI_OPTIONS, GZIP_OPTIONS } from '../aggregator/http/compression.js';
import { compactMatrixJson, fullMatrixBody, zonesBody } from '../aggregator/http/routes/matrix.js';
import { MatrixQuery } from '../aggregator/matrix/query.js';
import { Cluster, INTERVAL, WINDOW, type World } from '../test/aggregator/localize/cluster-fixture.js';
import { median } from './proc-stats.js';

const SIZES = (process.env.BENCH_MATRIX_API_NODES ?? '200,1000').split(',').map(Number);
const REPEATS = 3;

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
}

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e6 ? 2 : 1)} MB`;

export async function matrixApiBenchmark(): Promise<void> {
  console.log(`matrix-api: full mesh, tcp, 4 zones, 3 failing pairs; median of ${REPEATS}`);
  for (const n of SIZES) {
    const c = new Cluster();
    for (let i = 1; i <= n; i++) {
      const rec = c.nodes.upsert({ name: `n-${i}`, zone: `zone-${i % 4}`, podIPs: [`198.51.100.${i % 250}`], nodeIPs: [], responderPort: 9402 }, c.clock.now());
      Object.assign(rec.agent, { connected: true, instanceId: `n-${i}`, connectedSince: c.clock.now(), instanceSince: c.clock.now() });
    }
    const failing = new Set(['n-1>n-2', 'n-50>n-120', `n-${n - 1}>n-7`]);
    const world: World = (s, d) => (failing.has(`${s}>${d}`) ? 'timeout' : 'ok');
    c.run(WINDOW / INTERVAL + 1, world, ['tcp']);
    const query = new MatrixQuery(c.nodes, c.store, () => c.clock.monotonic());
    const now = c.clock.now();
    console.log(`  ${n} nodes (${(n * (n - 1)).toLocaleString('en')} pairs):`);
    const read = median(Array.from({ length: REPEATS }, () => time(() => query.matrix('tcp', 'ipv4'))[1]));
    console.log(`    reading every cell (MatrixQuery.matrix): ${read.toFixed(0)} ms`);
    // Serialized as the route does: the compact form is written as JSON bytes.
    const forms: readonly [string, () => Buffer][] = [
      ['full', () => Buffer.from(JSON.stringify(fullMatrixBody(query.matrix('tcp', 'ipv4'), WINDOW, now)))],
      ['compact', () => compactMatrixJson(query.compact('tcp', 'ipv4'), WINDOW, now)],
      ['zones', () => Buffer.from(JSON.stringify(zonesBody(query.compact('tcp', 'ipv4'), WINDOW, now)))],
    ];
    for (const [form, body] of forms) {
      let bytes: Buffer = Buffer.alloc(0);
      const builds = Array.from({ length: REPEATS }, () => {
        const [b, ms] = time(body);
        bytes = b;
        return ms;
      });
      const [gz, gzMs] = time(() => gzipSync(bytes, GZIP_OPTIONS));
      const [br, brMs] = time(() => brotliCompressSync(bytes, BROTLI_OPTIONS));
      console.log(
        `    ${form.padEnd(7)} build + serialize ${median(builds).toFixed(0)} ms, ${mb(bytes.length)}; gzip ${mb(gz.length)} in ${gzMs.toFixed(0)} ms; br ${mb(br.length)} in ${brMs.toFixed(0)} ms`,
      );
    }
  }
}
