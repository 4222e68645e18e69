// netmatrix matrix: one GET, printed as the API's JSON or as a grid.
import type { AddressFamily, PairKind } from '../../common/vocabulary.js';
import { isMatrix } from '../api-types.js';
import type { ApiClient } from '../client.js';
import { renderMatrix, type RenderOptions } from '../render.js';
import { matrixExitCode } from '../verdict.js';

export interface MatrixQuery {
  readonly kind: PairKind;
  readonly family?: AddressFamily;
  readonly json: boolean;
}

export function matrixPath(kind: string, family?: string): string {
  const params = new URLSearchParams({ kind });
  if (family !== undefined) params.set('family', family);
  return `/api/v1/matrix?${params}`;
}

export async function matrixCommand(client: ApiClient, q: MatrixQuery, o: RenderOptions, out: (s: string) => void): Promise<number> {
  const m = await client.get(matrixPath(q.kind, q.family), { accept: isMatrix, what: 'a matrix' });
  out(q.json ? JSON.stringify(m, null, 2) : renderMatrix(m, o));
  return matrixExitCode(m);
}
