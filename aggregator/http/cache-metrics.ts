// The evaluation cache's metrics, on the registry the API is given, read at
// scrape time from the cache's own counters.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvaluationCache } from './evaluation-cache.js';

export function registerCacheMetrics(registry: Registry, cache: EvaluationCache): void {
  new Gauge({
    name: 'netmatrix_http_response_cache_bytes',
    help: 'Bytes of response bodies (and their compressed variants) the HTTP API keeps for the current evaluation.',
    registers: [registry],
    collect() {
      this.set(cache.bytes);
    },
  });
  new Gauge({
    name: 'netmatrix_http_response_cache_max_bytes',
    help: 'Bound of netmatrix_http_response_cache_bytes.',
    registers: [registry],
    collect() {
      this.set(cache.maxBytes);
    },
  });
  new Counter({
    name: 'netmatrix_http_response_cache_requests_total',
    help: 'Requests for a per-evaluation body (matrix, zone summary) by result: hit (served as built) or miss (built now).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, cache.stats.hits);
      this.inc({ result: 'miss' }, cache.stats.misses);
    },
  });
  new Counter({
    name: 'netmatrix_http_response_cache_compressions_total',
    help: 'Cached bodies compressed (once per body, evaluation and encoding).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.stats.compressions);
    },
  });
  new Counter({
    name: 'netmatrix_http_response_cache_bound_hits_total',
    help: 'Times the cache bound was hit: evicted (a body of the current evaluation dropped for another) or not_cached (larger than the whole bound: built per request).',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ action: 'evicted' }, cache.stats.evicted);
      this.inc({ action: 'not_cached' }, cache.stats.notCached);
    },
  });
}
