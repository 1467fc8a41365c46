/**
 * Change detection: a record from the owner compared with the cached copy. Equal content (in any key order) is
 * no change, so re-reading a record (the delta overlap, a record seen again behind the cursor) emits nothing.
 */
import { canonicalJson } from '../model/canonical-json';
import type { MasterDataKind, MasterRecord } from './kinds';

export type ChangeType = 'created' | 'updated' | 'removed';

/** One change message (msg.payload of the changes output). */
export interface MasterDataChange {
  kind: MasterDataKind;
  id: string;
  change: ChangeType;
  /** The cached record before the change (absent when created). */
  before?: MasterRecord;
  /** The record after the change (absent when removed). */
  after?: MasterRecord;
}

/** What storing `incoming` over `cached` means: a change, nothing (`undefined`), or `stale` (older than cached). */
export function compareRecords(
  cached: MasterRecord | undefined,
  incoming: MasterRecord,
): 'created' | 'updated' | 'stale' | undefined {
  if (cached === undefined) return 'created';
  if (sameContent(cached, incoming)) return undefined;
  // A copy older than the cached one (e.g. replayed from a retained MQTT message) must not undo a newer change.
  if (Date.parse(incoming.modifiedAt) < Date.parse(cached.modifiedAt)) return 'stale';
  return 'updated';
}

export function sameContent(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
