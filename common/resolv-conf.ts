// The pod's resolver configuration, as glibc and musl read /etc/resolv.conf,
// and what it costs: how many names one lookup of a short name may try before
// it resolves. "It pings by IP but not by name" is often ndots:5 walking a
// search list of four domains, each an A and an AAAA query, against a service
// IP nobody serves. Pure: the agent reads the file (a setting, so tests use
// fixtures) and passes the text in.

export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
  readonly ndots: number;
  /** Per-try timeout in seconds and tries, as the resolver uses them. */
  readonly timeoutSeconds: number;
  readonly attempts: number;
  /** Things an SRE would want to know: ignored lines, limits the C libraries apply. */
  readonly warnings: readonly string[];
}

/** glibc uses at most 3 name servers (MAXNS); kubelet refuses more than 32 search domains. */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH = 32;
const NDOTS_CAP = 15; // glibc clamps ndots to 15

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  let ndots = 1;
  let timeoutSeconds = 5;
  let attempts = 2;
  const warnings: string[] = [];
  text.split('\n').forEach((raw, i) => {
    // Comments start a line (glibc): a '#' later on a search line would be a domain.
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const [key, ...args] = line.split(/\s+/);
    switch (key) {
      case 'nameserver':
        if (args[0] === undefined) warnings.push(`line ${i + 1}: nameserver without an address`);
        else nameservers.push(args[0]);
        break;
      case 'search':
      case 'domain':
        // The last search or domain line wins, as in glibc.
        search = args.map((d) => d.replace(/\.$/, '').toLowerCase()).filter((d) => d !== '');
        break;
      case 'options':
        for (const opt of args) {
          const [name, value] = opt.split(':');
          const n = Number(value);
          if (name === 'ndots' && Number.isInteger(n) && n >= 0) ndots = Math.min(n, NDOTS_CAP);
          else if (name === 'timeout' && Number.isInteger(n) && n >= 1) timeoutSeconds = Math.min(n, 30);
          else if (name === 'attempts' && Number.isInteger(n) && n >= 1) attempts = Math.min(n, 5);
        }
        break;
      case 'sortlist':
        break;
      default:
        warnings.push(`line ${i + 1}: unknown directive ${JSON.stringify(key!.slice(0, 40))} ignored`);
    }
  });
  if (nameservers.length === 0) warnings.push('no nameserver: the resolver falls back to 127.0.0.1');
  if (nameservers.length > MAX_NAMESERVERS) {
    warnings.push(`${nameservers.length} name servers: the C libraries use only the first ${MAX_NAMESERVERS} (${nameservers.slice(MAX_NAMESERVERS).join(', ')} never asked)`);
  }
  if (search.length > MAX_SEARCH) warnings.push(`${search.length} search domains: more than kubelet allows (${MAX_SEARCH})`);
  return { nameservers, search, ndots, timeoutSeconds, attempts, warnings };
}

/**
 * The names the resolver tries for `name`, in order: an absolute name (trailing
 * dot) only itself; a name with at least `ndots` dots itself first, then with
 * each search domain; a shorter one with each search domain first, then itself.
 */
export function expandName(name: string, conf: Pick<ResolvConf, 'search' | 'ndots'>): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1).toLowerCase()];
  const n = name.toLowerCase();
  const dots = n.split('.').length - 1;
  const searched = conf.search.map((d) => `${n}.${d}`);
  return dots >= conf.ndots ? [n, ...searched] : [...searched, n];
}

export interface LookupCost {
  readonly name: string;
  /** Names tried until the first that exists (`resolvesAs`), or all when none does. */
  readonly tried: readonly string[];
  /** Queries sent: names tried × record types (A, and AAAA on a dual-stack pod). */
  readonly queries: number;
  /** Worst case with every server silent: tries × attempts × timeout, in seconds. */
  readonly worstCaseSeconds: number;
}

/** What one lookup of `name` costs, given which fully qualified names exist. */
export function lookupCost(name: string, conf: ResolvConf, exists: (fqdn: string) => boolean, recordTypes = 2): LookupCost {
  const all = expandName(name, conf);
  const hit = all.findIndex(exists);
  const tried = hit < 0 ? all : all.slice(0, hit + 1);
  const servers = Math.max(1, Math.min(conf.nameservers.length, MAX_NAMESERVERS));
  return {
    name,
    tried,
    queries: tried.length * recordTypes,
    worstCaseSeconds: all.length * conf.attempts * servers * conf.timeoutSeconds,
  };
}
