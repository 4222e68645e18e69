// One page of a list request, over the KubeConfig's own authentication and TLS (its fetch options:
// headers with the token, the agent with the CA, client certificate or proxy), read as JSON and
// handed back as plain objects. The library's typed list calls are not used: they turn every item
// into a model class whose field names differ from the wire form, which then had to be serialized
// back; here each item is reduced by the caller right after this page is parsed, and the page is
// dropped.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ListPage {
  readonly items: readonly unknown[];
  /** The list's resourceVersion (the same on every page of one list). */
  readonly resourceVersion: string;
  /** '' on the last page. */
  readonly continue: string;
  /** The server's estimate of the items after this page (absent with selectors and on the last page). */
  readonly remainingItemCount: number | undefined;
}

/** An error with the HTTP status the API answered and the reason its Status body gave. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly verb: 'list' | 'watch',
  ) {
    super(message);
  }
}

export type ListQuery = Readonly<Record<string, string | number | undefined>>;

/** GET `path?query` on the current cluster; resolves with the page, rejects with a KubeApiError or the transport's error. */
export async function getListPage(kc: KubeConfig, path: string, query: ListQuery, signal: AbortSignal): Promise<ListPage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubernetes: the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  // Fetched per request: it refreshes tokens that expire (a projected service account token, exec plugins).
  const init = await kc.applyToFetchOptions({});
  signal.throwIfAborted();
  const headers: Record<string, string> = { accept: 'application/json' };
  (init.headers as { forEach(fn: (value: string, key: string) => void): void } | undefined)?.forEach((value, key) => {
    headers[key] = value;
  });
  const transport = url.protocol === 'https:' ? https : http;
  const { status, body } = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = transport.request(url, { method: 'GET', headers, agent: init.agent as http.Agent | undefined, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('kubernetes: list response aborted')));
    });
    req.on('error', reject);
    req.end();
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (status !== 200) {
    const message = (parsed as { message?: unknown } | undefined)?.message;
    throw new KubeApiError(typeof message === 'string' && message !== '' ? message : `${http.STATUS_CODES[status] ?? 'HTTP'} (${status})`, status, 'list');
  }
  const list = parsed as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown; remainingItemCount?: unknown } } | undefined;
  if (!list || !Array.isArray(list.items)) throw new KubeApiError(`the answer to GET ${url.pathname} is not a list (no items array)`, status, 'list');
  const meta = list.metadata ?? {};
  return {
    items: list.items,
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    continue: typeof meta.continue === 'string' ? meta.continue : '',
    remainingItemCount: typeof meta.remainingItemCount === 'number' ? meta.remainingItemCount : undefined,
  };
}
