// netmatrix findings: one GET, printed as the API's JSON or one block per finding.
import { isFindingList } from '../api-types.js';
import type { ApiClient } from '../client.js';
import { renderFindings, type FindingsScope, type RenderOptions } from '../render.js';
import { findingsExitCode } from '../verdict.js';

export interface FindingsQuery extends FindingsScope {
  readonly json: boolean;
}

export function findingsPath(state: FindingsScope['state'], kind?: string): string {
  const params = new URLSearchParams({ state });
  if (kind !== undefined) params.set('kind', kind);
  return `/api/v1/findings?${params}`;
}

export async function findingsCommand(client: ApiClient, q: FindingsQuery, o: RenderOptions, out: (s: string) => void): Promise<number> {
  const body = await client.get(findingsPath(q.state, q.kind), { accept: isFindingList, what: 'a findings list' });
  out(q.json ? JSON.stringify(body, null, 2) : renderFindings(body, { state: q.state, ...(q.kind !== undefined ? { kind: q.kind } : {}) }, o));
  return findingsExitCode(body.findings);
}
