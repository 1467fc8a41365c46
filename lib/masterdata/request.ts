/**
 * What an input message asks of a node in sync mode: `msg.payload.sync` (or `msg.sync`) "full" or "delta"
 * (default "delta"), and optionally `kinds`, a list of the kinds to sync (default: every kind the dialog syncs).
 */
import { FinanceError } from '../errors';
import { MASTER_DATA_KINDS, isMasterDataKind, type MasterDataKind } from './kinds';
import type { SyncMode } from './sync';

export interface SyncRequest {
  mode: SyncMode;
  kinds?: MasterDataKind[];
}

export function syncRequestOf(msg: { payload?: unknown; sync?: unknown; kinds?: unknown }): SyncRequest {
  const payload =
    msg.payload !== null && typeof msg.payload === 'object' ? (msg.payload as Record<string, unknown>) : {};
  const mode = msg.sync ?? payload.sync ?? 'delta';
  if (mode !== 'full' && mode !== 'delta') {
    throw new FinanceError('SCHEMA_INVALID', `sync must be "full" or "delta", not ${JSON.stringify(mode)}.`);
  }
  const kinds = msg.kinds ?? payload.kinds;
  if (kinds === undefined) return { mode };
  if (!Array.isArray(kinds) || !kinds.every(isMasterDataKind)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `kinds must be a list of master data kinds (${MASTER_DATA_KINDS.join(', ')}), not ${JSON.stringify(kinds)}.`,
    );
  }
  return { mode, kinds };
}
