import type { ApiMatrix } from '../api-types.js';
import { EXIT, type ApiClient } from '../client.js';
import { renderMatrix, type RenderOptions } from '../render.js';

export async function matrixCommand(client: ApiClient, q: { kind: string; family?: string; json: boolean }, o: RenderOptions, out: (s: string) => void): Promise<number> {
  const params = new URLSearchParams({ kind: q.kind, ...(q.family ? { family: q.family } : {}) });
  const m = await client.get<ApiMatrix>(`/api/v1/matrix?${params}`);
  out(q.json ? JSON.stringify(m, null, 2) : renderMatrix(m, o));
  return m.summary.failing > 0 ? EXIT.problems : EXIT.ok;
}
