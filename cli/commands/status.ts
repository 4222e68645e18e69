// netmatrix status: the nodes, one matrix per kind and the firing findings, fetched together.
import { PAIR_KINDS, type PairKind } from '../../common/vocabulary.js';
import { fullMatrix, isFindingList, isMatrixEitherForm, isNodeList, type ApiFindings } from '../api-types.js';
import { ApiError, type ApiClient } from '../client.js';
import { renderStatus, type RenderOptions } from '../render.js';
import { statusVerdict, type KindMatrix } from '../verdict.js';
import { findingsPath } from './findings.js';
import { matrixPath } from './matrix.js';

/** The kinds status summarises. mtu is left out: a path-MTU check, not reachability; `netmatrix matrix --kind mtu` shows it. */
export const STATUS_KINDS: readonly PairKind[] = PAIR_KINDS.filter((k) => k !== 'mtu');

/** What an aggregator from before the findings API answers: status goes on without the section. */
function isMissingRoute(e: unknown): boolean {
  return e instanceof ApiError && e.httpStatus === 404 && e.reason === 'ROUTE_NOT_FOUND';
}

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
  const getFindings = async (): Promise<ApiFindings | undefined> => {
    try {
      return await client.get(findingsPath('firing'), { signal: cancel.signal, accept: isFindingList, what: 'a findings list' });
    } catch (e) {
      if (isMissingRoute(e)) return undefined;
      cancel.abort();
      throw e;
    }
  };
  const [{ nodes }, ms, findings] = await Promise.all([
    get('/api/v1/nodes', isNodeList, 'a node list'),
    // Compact: status reads the counts and whether a kind has data, not a million cell objects.
    Promise.all(STATUS_KINDS.map(async (k) => fullMatrix(await get(matrixPath(k, undefined, 'compact'), isMatrixEitherForm, 'a matrix')))),
    getFindings(),
  ]);
  const matrices: KindMatrix[] = STATUS_KINDS.map((kind, i) => ({ kind, matrix: ms[i]! }));
  if (q.json) {
    const summaries = Object.fromEntries(matrices.map((m) => [m.kind, m.matrix.summary]));
    out(JSON.stringify({ nodes, matrices: summaries, ...(findings !== undefined ? { findings: findings.findings } : {}) }, null, 2));
  } else {
    // Ages of last reports are judged on the aggregator's clock, as the aggregator judges staleness.
    const aggregatorNow = Date.parse(ms[0]?.generatedAt ?? '');
    out(renderStatus(nodes, matrices, o.now !== undefined || Number.isNaN(aggregatorNow) ? o : { ...o, now: aggregatorNow }, findings));
  }
  return statusVerdict(nodes, matrices, findings?.findings).exitCode;
}
