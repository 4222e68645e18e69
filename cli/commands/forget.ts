// netmatrix forget NODE: one DELETE, the API's answer printed as JSON or as a
// few lines saying what went and what resolves. Each refusal is the
// aggregator's own message (it says what to do); the CLI adds what only it knows.
import { isForgotten, type ApiForgotten } from '../api-types.js';
import { ApiError, EXIT, type ApiClient } from '../client.js';
import { columns } from '../render.js';
import { printable } from '../terminal.js';

export const nodePath = (node: string) => `/api/v1/nodes/${encodeURIComponent(node)}`;

export interface ForgetQuery {
  readonly node: string;
  readonly json: boolean;
}

/** Hints for refusals whose cause lies on this side. */
function explained(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  const hint =
    e.httpStatus === 404 && e.reason === 'ROUTE_NOT_FOUND'
      ? 'this aggregator is older than DELETE /api/v1/nodes/{name}; upgrade it to use netmatrix forget'
      : e.reason === 'NODE_NOT_FOUND'
        ? 'netmatrix status lists the nodes it knows'
        : e.reason === 'READ_ONLY'
          ? 'then give this command the token with --token or NETMATRIX_API_TOKEN'
          : undefined;
  return hint === undefined ? e : new ApiError(`${e.message} (${hint})`, e.url, e.reason, e.httpStatus, e.exitCode);
}

export function renderForgotten(f: ApiForgotten): string {
  const node = printable(f.node);
  const gone = f.agent.disconnectedAt === null ? 'its agent never connected' : `its agent left at ${printable(f.agent.disconnectedAt)}`;
  const lines = [`Forgot ${node} (${gone}): it left the node list, the matrix, DNS and CNI checks.`];
  if (f.findings.length === 0) {
    lines.push('No findings about it were open.');
  } else {
    lines.push(`${f.findings.length === 1 ? 'Its finding resolves' : `Its ${f.findings.length} findings resolve`} at the aggregator's next evaluation:`);
    const rows = columns(f.findings.map((x) => [printable(x.severity), printable(x.kind), printable(x.state), printable(x.id)]));
    lines.push(...rows.map((r) => `  ${r}`));
  }
  lines.push(`If its agent comes back, ${node} is a new node again.`);
  return lines.join('\n');
}

export async function forgetCommand(client: ApiClient, q: ForgetQuery, out: (s: string) => void): Promise<number> {
  let f: ApiForgotten;
  try {
    f = await client.delete(nodePath(q.node), { accept: isForgotten, what: 'a forgotten node' });
  } catch (e) {
    throw explained(e);
  }
  out(q.json ? JSON.stringify(f, null, 2) : renderForgotten(f));
  return EXIT.ok;
}
