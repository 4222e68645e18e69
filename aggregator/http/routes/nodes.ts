// The nodes the aggregator knows, and forgetting one that is gone for good.
import type { FastifyPluginAsync } from 'fastify';
import { wallOf } from '../../../common/clock.js';
import { iso, type ApiDeps } from '../app.js';
import { apiError, errorResponses } from '../errors.js';
import { ForgetNodeResponse, NodeParams, NodesResponse } from '../schemas.js';

export const nodeRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  // The registry keeps monotonic times; people read wall-clock ones.
  const toWall = wallOf(deps.clock);
  const wallIso = (mono: number | null) => iso(mono === null ? null : toWall(mono));
  app.get(
    '/api/v1/nodes',
    { schema: { summary: 'Nodes and the state of their agents', response: { 200: NodesResponse, ...errorResponses() } } },
    async () => ({
      nodes: deps.nodes.list().map((n) => ({
        name: n.name,
        zone: n.zone,
        podIPs: [...n.podIPs],
        nodeIPs: [...n.nodeIPs],
        agent: {
          connected: n.agent.connected,
          connectedSince: n.agent.connected ? wallIso(n.agent.connectedSince) : null,
          lastReportAt: wallIso(n.agent.lastReportAt),
          version: n.agent.version,
          capabilities: [...n.agent.capabilities],
          reports: n.agent.reports,
          results: n.agent.results,
          loopDelayed: { ...n.agent.loopDelayed },
        },
        kubernetes: n.kube ? { ...n.kube, podCidrs: [...n.kube.podCidrs], internalIPs: [...n.kube.internalIPs] } : null,
      })),
    }),
  );

  // The one route that changes anything. Without an API token anyone who reaches the port could
  // call it, so the API stays read-only then; with one, the guard has checked it before this runs.
  app.delete(
    '/api/v1/nodes/:name',
    {
      schema: {
        summary: 'Forget a node that is gone for good',
        description:
          'Without the Kubernetes API, a node stays while a NodeUnreachable, NodeIsolated or PodNetworkUnreachable finding about it is firing or pending, ' +
          'even past --node-expiry (else its alert would resolve while the node is down). This removes it from the node list, the matrix, ' +
          'DNS and CNI; its findings resolve at the next evaluation. Needs the API token (--api-token-file): without one the API is read-only. ' +
          'Refused while the node\'s agent is connected (it would come straight back) and for a node the Kubernetes API lists (delete the Node instead).',
        params: NodeParams,
        response: { 200: ForgetNodeResponse, ...errorResponses('READ_ONLY', 'NODE_NOT_FOUND', 'NODE_AGENT_CONNECTED', 'NODE_IN_KUBERNETES', 'INVALID_REQUEST') },
      },
    },
    async (req) => {
      if (deps.apiToken === undefined) throw apiError('READ_ONLY');
      const { name } = req.params as { name: string };
      const rec = deps.nodes.get(name);
      if (!rec) throw apiError('NODE_NOT_FOUND', name);
      if (rec.kube !== null) throw apiError('NODE_IN_KUBERNETES', name);
      if (rec.agent.connected) throw apiError('NODE_AGENT_CONNECTED', name);
      const { disconnectedAt, lastReportAt } = rec.agent;
      const findings = deps.findings.forgetNode(name);
      deps.removeNode(name);
      const at = deps.clock.now();
      req.log.info(
        { node: name, client: req.ip, agentGoneSince: wallIso(disconnectedAt), findings: findings.map((f) => `${f.kind} ${f.id}`) },
        'node forgotten through the API: it left the node list, matrix, DNS and CNI; its findings resolve at the next evaluation',
      );
      return {
        node: name,
        forgottenAt: iso(at)!,
        agent: { disconnectedAt: wallIso(disconnectedAt), lastReportAt: wallIso(lastReportAt) },
        findings: findings.map((f) => ({ id: f.id, kind: f.kind, severity: f.severity, state: f.state as 'pending' | 'firing' })),
      };
    },
  );
};
