// netmatrix matrix: one GET, printed as the API's JSON or as a grid.
import type { AddressFamily, PairKind } from '../../common/vocabulary.js';
import { fullMatrix, isMatrix, isMatrixEitherForm } from '../api-types.js';
import type { ApiClient } from '../client.js';
import { renderMatrix, type RenderOptions } from '../render.js';
import { matrixExitCode } from '../verdict.js';

export interface MatrixQuery {
  /** Absent: the aggregator's default, the first of icmp, tcp, http, node it plans. */
  readonly kind?: PairKind;
  readonly family?: AddressFamily;
  readonly json: boolean;
}

/** compact: a letter per cell and objects only where a cell is not ok (1 MB instead of ~127 MB at 1,000 nodes). */
export function matrixPath(kind?: string, family?: string, format?: 'compact'): string {
  const params = new URLSearchParams();
  if (kind !== undefined) params.set('kind', kind);
  if (family !== undefined) params.set('family', family);
  if (format !== undefined) params.set('format', format);
  const q = params.toString();
  return q === '' ? '/api/v1/matrix' : `/api/v1/matrix?${q}`;
}

export async function matrixCommand(client: ApiClient, q: MatrixQuery, o: RenderOptions, out: (s: string) => void): Promise<number> {
  if (q.json) {
    // --json prints the full form, unchanged, as scripts expect it.
    const m = await client.get(matrixPath(q.kind, q.family), { accept: isMatrix, what: 'a matrix' });
    out(JSON.stringify(m, null, 2));
    return matrixExitCode(m);
  }
  // The grid needs statuses, the problem list the cells that are not ok: the compact form has both.
  // An aggregator older than it ignores ?format= and answers the full form, which is read as before.
  const m = fullMatrix(await client.get(matrixPath(q.kind, q.family, 'compact'), { accept: isMatrixEitherForm, what: 'a matrix' }));
  out(renderMatrix(m, o));
  return matrixExitCode(m);
}
