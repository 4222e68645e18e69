// netmatrix status: the nodes and one matrix per kind, fetched together.
import { PAIR_KINDS, type PairKind } from '../../common/vocabulary.js';
import { isMatrix, isNodeList } from '../api-types.js';
import type { ApiClient } from '../client.js';
import { renderStatus, type RenderOptions } from '../render.js';
import { statusVerdict, type KindMatrix } from '../verdict.js';
import { matrixPath } from './matrix.js';

/** The kinds status summarises. mtu is left out: a path-MTU check, not reachability; `netmatrix matrix --kind mtu` shows it. */
export const STATUS_KINDS: readonly PairKind[] = PAIR_KINDS.filter((k) => k !== 'mtu');

export async function statusCommand(client: ApiClient, q: { readonly json: boolean }, o: RenderOptions, out: (s: string) => void): Promise<number> {
  // The first failure cancels the other calls: its line is what the user
  // sees, and the process should not sit on sockets until their deadlines.
  const cancel = new AbortController();
  const get = async <T>(path: string, accept: (body: unknown) => body is T, what: string): Promise<T> => {
    try {
      return await client.get(path, { signal: cancel.signal, accept, what });
    } catch (e) {
      cancel.abort();
      throw e;
    }
  };
  const [{ nodes }, ms] = await Promise.all([
    get('/api/v1/nodes', isNodeList, 'a node list'),
    Promise.all(STATUS_KINDS.map((k) => get(matrixPath(k), isMatrix, 'a matrix'))),
  ]);
  const matrices: KindMatrix[] = STATUS_KINDS.map((kind, i) => ({ kind, matrix: ms[i]! }));
  if (q.json) {
    out(JSON.stringify({ nodes, matrices: Object.fromEntries(matrices.map((m) => [m.kind, m.matrix.summary])) }, null, 2));
  } else {
    // Ages of last reports are judged on the aggregator's clock, as the aggregator judges staleness.
    const aggregatorNow = Date.parse(ms[0]?.generatedAt ?? '');
    out(renderStatus(nodes, matrices, o.now !== undefined || Number.isNaN(aggregatorNow) ? o : { ...o, now: aggregatorNow }));
  }
  return statusVerdict(nodes, matrices).exitCode;
}
