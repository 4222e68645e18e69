// Query parameters shared by the matrix and pair routes, parsed against the
// closed vocabularies so that a bad value is a catalogued 400, not a new word.
import { addressFamilies, isPairKind, PAIR_KINDS, type AddressFamily, type PairKind } from '../../../common/vocabulary.js';
import type { MatrixQuery } from '../../matrix/query.js';
import { apiError } from '../errors.js';

export function parseKind(raw: string | undefined): PairKind {
  if (raw === undefined) return 'icmp';
  if (!isPairKind(raw)) throw apiError('INVALID_KIND', raw, PAIR_KINDS);
  return raw;
}

export function parseFamily(raw: string | undefined, query: MatrixQuery): AddressFamily {
  if (raw === undefined) return query.defaultFamily();
  if (!addressFamilies.isWord(raw)) throw apiError('INVALID_FAMILY', raw);
  return raw;
}
