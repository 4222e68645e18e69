// Query parameters shared by the matrix and pair routes, parsed against the
// closed vocabularies so that a bad value is a catalogued 400, not a new word.
import { addressFamilies, isPairKind, PAIR_KINDS, type AddressFamily, type PairKind } from '../../../common/vocabulary.js';
import type { MatrixQuery } from '../../matrix/query.js';
import { apiError } from '../errors.js';

/** The kinds a matrix without ?kind= may show, best first: the reachability probes, not the MTU check. */
const DEFAULT_KIND_ORDER: readonly PairKind[] = ['icmp', 'tcp', 'http', 'node'];

/** The first of icmp, tcp, http, node that the aggregator plans (else the first planned kind): a kind with data. */
export function defaultKind(planned: readonly PairKind[]): PairKind {
  return DEFAULT_KIND_ORDER.find((k) => planned.includes(k)) ?? planned[0] ?? 'icmp';
}

export function parseKind(raw: string | undefined, planned: readonly PairKind[]): PairKind {
  if (raw === undefined) return defaultKind(planned);
  if (!isPairKind(raw)) throw apiError('INVALID_KIND', raw, PAIR_KINDS);
  return raw;
}

export function parseFamily(raw: string | undefined, query: MatrixQuery): AddressFamily {
  if (raw === undefined) return query.defaultFamily();
  if (!addressFamilies.isWord(raw)) throw apiError('INVALID_FAMILY', raw);
  return raw;
}
