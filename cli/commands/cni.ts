// netmatrix cni: one GET, printed as the API's JSON or as a table of nodes and
// what differs between them; with --node, that node's config against its reference.
import { isCniNodeView, isCniView, type ApiCniNodeView, type ApiCniView } from '../api-types.js';
import { ApiError, type ApiClient } from '../client.js';
import { renderCni, renderCniNode, type RenderOptions } from '../render.js';
import { cniExitCode, cniNodeExitCode } from '../verdict.js';

export const CNI_PATH = '/api/v1/cni';

export interface CniQuery {
  /** Only this node, with its diff against the majority. */
  readonly node?: string;
  readonly json: boolean;
}

/** An aggregator from before the CNI API: say so rather than only "no route". */
function olderAggregator(e: unknown): unknown {
  if (e instanceof ApiError && e.httpStatus === 404 && e.reason === 'ROUTE_NOT_FOUND') {
    return new ApiError(`${e.message}: this aggregator is older than the CNI API (${CNI_PATH}); upgrade it to use netmatrix cni`, e.url, e.reason, e.httpStatus, e.exitCode);
  }
  return e;
}

export async function cniCommand(client: ApiClient, q: CniQuery, o: RenderOptions, out: (s: string) => void): Promise<number> {
  if (q.node !== undefined) {
    let v: ApiCniNodeView;
    try {
      // An unknown node is the aggregator's 404 NODE_NOT_FOUND: exit 3, its message.
      v = await client.get(`${CNI_PATH}/${encodeURIComponent(q.node)}`, { accept: isCniNodeView, what: "a node's CNI view" });
    } catch (e) {
      throw olderAggregator(e);
    }
    out(q.json ? JSON.stringify(v, null, 2) : renderCniNode(v, o));
    return cniNodeExitCode(v);
  }
  let v: ApiCniView;
  try {
    v = await client.get(CNI_PATH, { accept: isCniView, what: 'a CNI view' });
  } catch (e) {
    throw olderAggregator(e);
  }
  out(q.json ? JSON.stringify(v, null, 2) : renderCni(v, o));
  return cniExitCode(v);
}
