// Original file: netmatrix/v1/collector.proto

import type { CniFile as _netmatrix_v1_CniFile, CniFile__Output as _netmatrix_v1_CniFile__Output } from '../../netmatrix/v1/CniFile.js';
import type { CniEffective as _netmatrix_v1_CniEffective, CniEffective__Output as _netmatrix_v1_CniEffective__Output } from '../../netmatrix/v1/CniEffective.js';
import type { CniBinary as _netmatrix_v1_CniBinary, CniBinary__Output as _netmatrix_v1_CniBinary__Output } from '../../netmatrix/v1/CniBinary.js';
import type { CniPool as _netmatrix_v1_CniPool, CniPool__Output as _netmatrix_v1_CniPool__Output } from '../../netmatrix/v1/CniPool.js';
import type { Long } from '@grpc/proto-loader';

export interface CniSnapshot {
  'takenAtMs'?: (number | string | Long);
  'full'?: (boolean);
  'files'?: (_netmatrix_v1_CniFile)[];
  'effective'?: (_netmatrix_v1_CniEffective | null);
  'binaries'?: (_netmatrix_v1_CniBinary)[];
  'pools'?: (_netmatrix_v1_CniPool)[];
  'errors'?: (string)[];
}

export interface CniSnapshot__Output {
  'takenAtMs': (number);
  'full': (boolean);
  'files': (_netmatrix_v1_CniFile__Output)[];
  'effective': (_netmatrix_v1_CniEffective__Output | null);
  'binaries': (_netmatrix_v1_CniBinary__Output)[];
  'pools': (_netmatrix_v1_CniPool__Output)[];
  'errors': (string)[];
}
