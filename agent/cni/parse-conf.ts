// One CNI conf file's bytes → what it says and whether the runtime can use it.
// Pure: read-conf.ts does the bounded reading. The rules follow libcni
// (containernetworking/cni, libcni/conf.go) as containerd and CRI-O call it:
// a .conflist needs a "name" and a non-empty "plugins" list whose entries each
// have a "type"; a .conf/.json holds one plugin ("type" at the top) and is
// run as a one-plugin chain (libcni's ConfListFromConf).
import type { CniFileInfo } from '../../common/cni.js';
import { CNI_LIMITS } from '../../common/cni.js';
import { locateJsonError } from './json-error.js';
import { boundedText } from './limits.js';

export type JsonObject = { [key: string]: unknown };

/** A usable network config, always in conflist shape. */
export interface NetworkList {
  readonly name: string;
  readonly cniVersion: string | null;
  /** The whole config as a conflist: a .conf/.json is wrapped as {name, cniVersion, plugins: [it]}. */
  readonly config: JsonObject;
  readonly plugins: readonly JsonObject[];
}

export interface ParsedConf {
  readonly info: CniFileInfo;
  /** null when the file is not valid. */
  readonly list: NetworkList | null;
}

/** Extensions libcni's ConfFiles picks for the runtime's conf dir. */
export const CONF_EXTENSIONS: readonly string[] = ['.conf', '.conflist', '.json'];

/** No CNI config nests deeper than a handful of levels; deeper is hostile or broken. */
export const MAX_JSON_DEPTH = 64;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The extension as Go's filepath.Ext sees it (from the last dot, case kept). */
export function confExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

/** An info for a file that could not be looked into. */
export function unreadableInfo(name: string, size: number, sha256: string | null, error: string): CniFileInfo {
  return { name, size, sha256, valid: false, error: boundedText(error), cniVersion: null, network: null, plugins: [], ipamType: null, ranges: [] };
}

export function parseConf(name: string, bytes: Buffer, sha256: string): ParsedConf {
  const fail = (error: string): ParsedConf => ({ info: unreadableInfo(name, bytes.length, sha256, error), list: null });
  if (bytes.length === 0) return fail('empty file');
  if (bytes.includes(0)) return fail('binary file (NUL bytes)');
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return fail('starts with a UTF-8 byte order mark, which the runtime’s JSON parser rejects');
  }
  const text = bytes.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const where = locateJsonError(text);
    return fail(
      where
        ? `invalid JSON at position ${where.position} (line ${where.line}, column ${where.column}): ${where.reason}`
        : `invalid JSON: ${(err as Error).message}`,
    );
  }
  if (!isJsonObject(doc)) return fail(`top level is ${describeJson(doc)}, not a JSON object`);
  if (jsonDepth(doc) > MAX_JSON_DEPTH) return fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  return confExtension(name) === '.conflist' ? checkList(name, bytes.length, sha256, doc) : checkSingle(name, bytes.length, sha256, doc);
}

function checkList(name: string, size: number, sha256: string, doc: JsonObject): ParsedConf {
  const rawPlugins = Array.isArray(doc.plugins) ? doc.plugins : [];
  const plugins = rawPlugins.filter(isJsonObject);
  const info = describeConfig(name, size, sha256, doc, plugins);
  const error = ((): string | null => {
    if (doc.name === undefined) return 'conflist has no name';
    if (typeof doc.name !== 'string') return `name is ${describeJson(doc.name)}, not a string`;
    if (doc.name === '') return 'conflist has an empty name';
    if (doc.cniVersion !== undefined && typeof doc.cniVersion !== 'string') return `cniVersion is ${describeJson(doc.cniVersion)}, not a string`;
    if (doc.plugins === undefined) return 'conflist has no plugins';
    if (!Array.isArray(doc.plugins)) return `plugins is ${describeJson(doc.plugins)}, not a list`;
    if (doc.plugins.length === 0) return 'conflist has no plugins';
    for (const [i, p] of doc.plugins.entries()) {
      const which = `plugin ${i + 1} (plugins[${i}])`;
      if (!isJsonObject(p)) return `${which} is ${describeJson(p)}, not an object`;
      if (p.type === undefined || p.type === '') return `${which} has no type`;
      if (typeof p.type !== 'string') return `${which} type is ${describeJson(p.type)}, not a string`;
    }
    return null;
  })();
  if (error !== null) return { info: { ...info, valid: false, error }, list: null };
  return {
    info,
    list: { name: doc.name as string, cniVersion: typeof doc.cniVersion === 'string' ? doc.cniVersion : null, config: doc, plugins },
  };
}

function checkSingle(name: string, size: number, sha256: string, doc: JsonObject): ParsedConf {
  const info = describeConfig(name, size, sha256, doc, [doc]);
  const error = ((): string | null => {
    if (doc.type === undefined || doc.type === '') {
      return Array.isArray(doc.plugins)
        ? `no type: a ${confExtension(name)} file holds one plugin, and this one looks like a conflist (rename it to .conflist)`
        : 'plugin has no type';
    }
    if (typeof doc.type !== 'string') return `type is ${describeJson(doc.type)}, not a string`;
    if (doc.name === undefined || doc.name === '') return 'config has no name';
    if (typeof doc.name !== 'string') return `name is ${describeJson(doc.name)}, not a string`;
    if (doc.cniVersion !== undefined && typeof doc.cniVersion !== 'string') return `cniVersion is ${describeJson(doc.cniVersion)}, not a string`;
    return null;
  })();
  if (error !== null) return { info: { ...info, plugins: typeof doc.type === 'string' && doc.type !== '' ? info.plugins : [], valid: false, error }, list: null };
  // Wrapped the way libcni's ConfListFromConf does, so a .conf and the
  // equivalent .conflist normalize to the same text.
  const config: JsonObject = { name: doc.name, ...(doc.cniVersion !== undefined ? { cniVersion: doc.cniVersion } : {}), plugins: [doc] };
  return { info, list: { name: doc.name as string, cniVersion: typeof doc.cniVersion === 'string' ? doc.cniVersion : null, config, plugins: [doc] } };
}

/** What a config says, read leniently (an invalid file still shows what it could). */
function describeConfig(name: string, size: number, sha256: string, doc: JsonObject, plugins: readonly JsonObject[]): CniFileInfo {
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? boundedText(v) : null);
  const types = plugins.flatMap((p) => (typeof p.type === 'string' && p.type !== '' ? [boundedText(p.type)] : []));
  const ipam = plugins.map((p) => p.ipam).find((i): i is JsonObject => isJsonObject(i) && typeof i.type === 'string');
  const ranges = hostLocalIpams(plugins).flatMap(({ ipam: i }) => writtenSubnets(i));
  return {
    name,
    size,
    sha256,
    valid: true,
    error: null,
    cniVersion: text(doc.cniVersion),
    network: text(doc.name),
    plugins: types.slice(0, CNI_LIMITS.binaries),
    ipamType: ipam ? text(ipam.type) : null,
    ranges: ranges.slice(0, CNI_LIMITS.pools).map((r) => boundedText(r)),
  };
}

/** The host-local IPAM blocks of a chain, with the index of their plugin. */
export function hostLocalIpams(plugins: readonly JsonObject[]): { index: number; ipam: JsonObject }[] {
  return plugins.flatMap((p, index) => (isJsonObject(p.ipam) && p.ipam.type === 'host-local' ? [{ index, ipam: p.ipam }] : []));
}

/** One host-local range as written: "ranges" entries and the legacy top-level "subnet". */
export interface WrittenRange {
  readonly subnet: string;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
  readonly gateway?: string;
}

export function writtenRanges(ipam: JsonObject): WrittenRange[] {
  const out: WrittenRange[] = [];
  const take = (r: JsonObject): void => {
    if (typeof r.subnet !== 'string') return;
    out.push({
      subnet: r.subnet,
      ...(typeof r.rangeStart === 'string' ? { rangeStart: r.rangeStart } : {}),
      ...(typeof r.rangeEnd === 'string' ? { rangeEnd: r.rangeEnd } : {}),
      ...(typeof r.gateway === 'string' ? { gateway: r.gateway } : {}),
    });
  };
  if (Array.isArray(ipam.ranges)) {
    for (const set of ipam.ranges) if (Array.isArray(set)) for (const r of set) if (isJsonObject(r)) take(r);
  }
  take(ipam);
  return out;
}

function writtenSubnets(ipam: JsonObject): string[] {
  return writtenRanges(ipam).map((r) => r.subnet);
}

/** "a number", "null", "a list"…: for messages about a value of the wrong kind. */
export function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return 'an object';
  }
}

/** Nesting depth of a parsed JSON value, without recursion. */
export function jsonDepth(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) max = depth;
    if (depth > MAX_JSON_DEPTH) return depth;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}
