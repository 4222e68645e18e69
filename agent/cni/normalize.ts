// The effective network config, made comparable across nodes: canonical JSON
// (sorted keys, no whitespace) with the fields that legitimately differ per
// node set aside. Two nodes with the same `hash` run the same CNI config.
// docs/cni.md lists every rule and why it is there.
import { createHash } from 'node:crypto';
import { parseCidr } from '../../common/cidr.js';
import type { CniEffective } from '../../common/cni.js';
import { CNI_LIMITS } from '../../common/cni.js';
import { boundedText } from './limits.js';
import { hostLocalIpams, isJsonObject, writtenRanges, type JsonObject, type NetworkList } from './parse-conf.js';

export interface PerNodeRule {
  /** Where the key lives: on every plugin of the chain, or in a plugin's host-local "ipam" block. */
  readonly scope: 'plugin' | 'host-local ipam';
  readonly key: string;
  readonly why: string;
}

/** Fields set aside; anything not listed here is part of the hash. */
export const PER_NODE_RULES: readonly PerNodeRule[] = Object.freeze([
  { scope: 'host-local ipam', key: 'ranges', why: "the node's pod CIDR (kindnet, bridge and antrea-style configs write it per node)" },
  { scope: 'host-local ipam', key: 'subnet', why: 'legacy single-range form of the pod CIDR' },
  { scope: 'host-local ipam', key: 'rangeStart', why: 'legacy single-range form: an address inside the pod CIDR' },
  { scope: 'host-local ipam', key: 'rangeEnd', why: 'legacy single-range form: an address inside the pod CIDR' },
  { scope: 'host-local ipam', key: 'gateway', why: 'legacy single-range form: an address inside the pod CIDR' },
  { scope: 'plugin', key: 'nodename', why: "Calico's install-cni writes the node's name (__KUBERNETES_NODE_NAME__)" },
  { scope: 'plugin', key: 'nodeIP', why: "the AWS VPC CNI's egress-cni plugin gets the node's IP (__NODEIP__)" },
]);

/**
 * Dropped from every plugin without being set aside: libcni injects the
 * list's "name" and "cniVersion" into each plugin before running it, so what
 * a plugin says for them never takes effect.
 */
export const RUNTIME_INJECTED_KEYS: readonly string[] = ['name', 'cniVersion'];

/** Bounds of `perNode`: a few fields per plugin, each a short value (a dual-stack ranges list is ~100 bytes). */
export const PER_NODE_ENTRIES = 32;
export const PER_NODE_VALUE_BYTES = 4096;

/** JSON with object keys sorted (UTF-16 code unit order) and no whitespace. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  if (isJsonObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Link-local pools (AWS egress-cni's 169.254.172.0/22) are the same on every node by design: never a pod CIDR overlap. */
function isLinkLocal(cidr: string): boolean {
  const c = parseCidr(cidr);
  if (!c) return false;
  if (c.family === 'ipv4') return c.address.startsWith('169.254.') && c.prefix >= 16;
  return /^fe[89ab][0-9a-f]:/i.test(c.address) && c.prefix >= 10;
}

export function normalizeEffective(file: string, list: NetworkList): CniEffective {
  const config = structuredClone(list.config);
  const perNode: Record<string, string> = {};
  const plugins = Array.isArray(config.plugins) ? config.plugins : [];
  for (const [i, plugin] of plugins.entries()) {
    if (!isJsonObject(plugin)) continue;
    for (const key of RUNTIME_INJECTED_KEYS) delete plugin[key];
    const setAside = (owner: JsonObject, key: string, path: string): void => {
      if (owner[key] === undefined) return;
      perNode[path] = canonicalJson(owner[key]);
      delete owner[key];
    };
    for (const rule of PER_NODE_RULES) {
      if (rule.scope === 'plugin') setAside(plugin, rule.key, `plugins[${i}].${rule.key}`);
      else if (isJsonObject(plugin.ipam) && plugin.ipam.type === 'host-local') setAside(plugin.ipam, rule.key, `plugins[${i}].ipam.${rule.key}`);
    }
  }
  const text = canonicalJson(config);
  const hash = sha256Hex(text);
  const bytes = Buffer.byteLength(text);
  const normalized =
    bytes <= CNI_LIMITS.normalizedBytes ? text : `(normalized config is ${bytes} bytes, over the ${CNI_LIMITS.normalizedBytes}-byte limit: only its hash is kept)`;

  const podCidrs = [
    ...new Set(
      hostLocalIpams(list.plugins)
        .flatMap(({ ipam }) => writtenRanges(ipam))
        .map((r) => r.subnet)
        .filter((s) => parseCidr(s) !== undefined && !isLinkLocal(s)),
    ),
  ].slice(0, CNI_LIMITS.pools);
  const ipam = list.plugins.map((p) => p.ipam).find((i): i is JsonObject => isJsonObject(i) && typeof i.type === 'string' && i.type !== '');

  const boundedPerNode: Record<string, string> = {};
  // Sorted, so equal sets of per-node fields serialize equally.
  for (const [path, value] of Object.entries(perNode).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, PER_NODE_ENTRIES)) boundedPerNode[path] = boundedText(value, PER_NODE_VALUE_BYTES);

  return {
    file,
    network: boundedText(list.name),
    cniVersion: boundedText(list.cniVersion ?? ''),
    plugins: list.plugins.map((p) => boundedText(String(p.type))).slice(0, CNI_LIMITS.binaries),
    ipamType: ipam ? boundedText(ipam.type as string) : null,
    normalized,
    hash,
    perNode: boundedPerNode,
    podCidrs,
  };
}
