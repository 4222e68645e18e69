// netmatrix dns: one GET, printed as the API's JSON or as a node × server table.
import { isDnsView, type ApiDnsView } from '../api-types.js';
import { ApiError, EXIT, type ApiClient } from '../client.js';
import { renderDns, someOf, type RenderOptions } from '../render.js';
import { printable } from '../terminal.js';
import { dnsExitCode } from '../verdict.js';

export const DNS_PATH = '/api/v1/dns';

export interface DnsQuery {
  /** Only this node's row and resolver. */
  readonly node?: string;
  readonly json: boolean;
}

/** The view narrowed to one node: its row of cells and its resolver; the answers are the cluster's. */
export function dnsForNode(v: ApiDnsView, node: string): ApiDnsView {
  const i = v.nodes.indexOf(node);
  return { ...v, nodes: [node], cells: [v.cells[i]!], resolvers: v.resolvers.filter((r) => r.node === node) };
}

export async function dnsCommand(client: ApiClient, q: DnsQuery, o: RenderOptions, out: (s: string) => void): Promise<number> {
  let v: ApiDnsView;
  try {
    v = await client.get(DNS_PATH, { accept: isDnsView, what: 'a DNS view' });
  } catch (e) {
    // An aggregator from before the DNS API: say so rather than only "no route".
    if (e instanceof ApiError && e.httpStatus === 404 && e.reason === 'ROUTE_NOT_FOUND') {
      throw new ApiError(`${e.message}: this aggregator is older than the DNS API (${DNS_PATH}); upgrade it to use netmatrix dns`, e.url, e.reason, e.httpStatus, e.exitCode);
    }
    throw e;
  }
  if (q.node !== undefined && v.servers.length > 0 && !v.nodes.includes(q.node)) {
    const known = v.nodes.length === 0 ? 'it has no nodes yet' : `its nodes: ${someOf(v.nodes.map(printable))}`;
    // Found out only from the aggregator's answer: an error like its own 404s (exit 3), not a usage error.
    throw new ApiError(`${client.url(DNS_PATH)}: no node named ${JSON.stringify(printable(q.node))} (${known})`, client.url(DNS_PATH), 'NODE_NOT_FOUND', undefined, EXIT.unreachable);
  }
  const shown = q.node !== undefined && v.servers.length > 0 ? dnsForNode(v, q.node) : v;
  out(q.json ? JSON.stringify(shown, null, 2) : renderDns(shown, o, q.node));
  return dnsExitCode(shown);
}
