import type { ApiMatrix, ApiNode } from '../api-types.js';
import { EXIT, type ApiClient } from '../client.js';
import { renderNodes, summaryLine, type RenderOptions } from '../render.js';

const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;

export async function statusCommand(client: ApiClient, q: { json: boolean }, o: RenderOptions, out: (s: string) => void): Promise<number> {
  const [{ nodes }, ...matrices] = await Promise.all([
    client.get<{ nodes: ApiNode[] }>('/api/v1/nodes'),
    ...KINDS.map((k) => client.get<ApiMatrix>(`/api/v1/matrix?kind=${k}`)),
  ]);
  const byKind = Object.fromEntries(KINDS.map((k, i) => [k, matrices[i]!]));
  const disconnected = nodes.filter((n) => !n.agent.connected).length;
  const failing = matrices.reduce((n, m) => n + m.summary.failing, 0);
  if (q.json) {
    out(JSON.stringify({ nodes, matrices: Object.fromEntries(KINDS.map((k) => [k, byKind[k]!.summary])) }, null, 2));
  } else {
    const lines = [renderNodes(nodes, o), ''];
    for (const k of KINDS) {
      const s = byKind[k]!.summary;
      const total = s.ok + s.degraded + s.failing + s.unknown;
      lines.push(`${k.padEnd(5)} ${total === 0 || s.unknown === total ? 'no data' : summaryLine(s, o)}`);
    }
    lines.push('');
    lines.push(
      failing === 0 && disconnected === 0
        ? `all ${nodes.length} agents connected, no failing pair`
        : `${disconnected} of ${nodes.length} agents disconnected, ${failing} failing cells: see netmatrix matrix --kind K`,
    );
    out(lines.join('\n'));
  }
  return failing > 0 || disconnected > 0 ? EXIT.problems : EXIT.ok;
}
