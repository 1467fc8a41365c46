/**
 * The last version of each purchase order applied to the ERP, kept in the store (kv namespace `po-versions`,
 * keyed by the PO's external reference), and the rule that decides what an arriving version does:
 * - newer than the last applied (or the first one seen): apply it;
 * - the same as the last applied: a duplicate delivery or a replay, answered with the recorded outcome; except a
 *   cancel of a PO still open, which is applied (eventVerdict: a status change need not raise the version);
 * - older: STALE_VERSION, reported and not applied, so v3 followed by a late v2 ends with v3's content.
 * A document without versions has no order to keep: each of its events is applied as it arrives.
 *
 * The record also holds the content that version asked for, from which the next version's changes are
 * computed, and the ERP's copy with its ETag, against which they are sent (If-Match).
 */
import { FinanceError } from '../errors';
import type { ErpRef } from '../model/types';
import type { FinanceStore } from '../reliability/store';
import type { PurchaseOrderContent } from './document';
import { UnsettledCreates, type UnsettledStore } from './unsettled-create';

export const VERSIONS_NAMESPACE = 'po-versions';

export type PurchaseOrderAction = 'created' | 'updated' | 'unchanged' | 'cancelled';

export interface AppliedVersion {
  /** Absent for a document without versions. */
  version?: number;
  /** The ERP's purchase order; absent when a cancel found none to cancel. */
  erpRef?: ErpRef;
  /** What the applied version asked for: the base the next version's changes are computed from. */
  content?: PurchaseOrderContent;
  /**
   * The ERP's copy as it was after this host's last write (or read) of it, with its ETag: what the next
   * change is applied to and sent against (If-Match). It differs from `content` when someone edited the PO
   * in the ERP, and those edits are kept.
   */
  erpCopy?: { content: PurchaseOrderContent; etag: string };
  status: 'open' | 'cancelled';
  /** What applying the version did to the ERP. */
  action: PurchaseOrderAction;
  appliedAt: string;
}

export type VersionVerdict = 'apply' | 'replay' | 'stale';

export function versionVerdict(lastApplied: number | undefined, incoming: number | undefined): VersionVerdict {
  if (incoming === undefined || lastApplied === undefined || incoming > lastApplied) return 'apply';
  return incoming === lastApplied ? 'replay' : 'stale';
}

/**
 * What an event does, given the record of the last version applied: versionVerdict, except for a cancel of the
 * version applied while the PO is still open. A source may change a document's status without raising its version
 * (Coupa does not document whether cancelling or closing a PO raises `version`), so that cancel is news, not a
 * replay: it is applied. Once the PO is cancelled, the same cancel again and an open event of the same version (a
 * late delivery of the state before) are replays, answered with the recorded outcome: nothing reopens it.
 */
export function eventVerdict(
  record: Pick<AppliedVersion, 'version' | 'status'> | undefined,
  incoming: number | undefined,
  cancels: boolean,
): VersionVerdict {
  const verdict = versionVerdict(record?.version, incoming);
  return verdict === 'replay' && cancels && record?.status === 'open' ? 'apply' : verdict;
}

export class VersionBook {
  readonly #store: Pick<FinanceStore, 'kvGet' | 'kvPut' | 'kvList'>;
  /** Creates whose outcome is unknown, for an ERP that cannot find a PO by reference (unsettled-create.ts). */
  readonly unsettled: UnsettledCreates;

  constructor(store: UnsettledStore) {
    this.#store = store;
    this.unsettled = new UnsettledCreates(store);
  }

  /**
   * The external reference whose applied version holds the ERP purchase order `documentId`, if any. It reads
   * every record, so it is only for a person's rare check (unsettled-create.ts), never for the flow.
   */
  async referenceOf(documentId: string): Promise<string | undefined> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.kvList(VERSIONS_NAMESPACE, {
        limit: 500,
        ...(after === undefined ? {} : { after }),
      });
      const holding = page.find(
        (entry) => (entry.value as AppliedVersion | undefined)?.erpRef?.documentId === documentId,
      );
      if (holding) return holding.key;
      if (page.length < 500) return undefined;
      after = page.at(-1)!.key;
    }
  }

  async get(externalReference: string): Promise<AppliedVersion | undefined> {
    const value = await this.#store.kvGet(VERSIONS_NAMESPACE, externalReference);
    if (value === undefined) return undefined;
    if (!isAppliedVersion(value)) {
      throw new FinanceError(
        'STORE_UNAVAILABLE',
        `The store holds an unreadable version record for purchase order "${externalReference}" (kv namespace ${VERSIONS_NAMESPACE}); remove it so the next event is checked against the ERP again.`,
      );
    }
    return value;
  }

  /** Kept for as long as the store lives: a version older than this must be recognised however late it comes. */
  record(externalReference: string, applied: AppliedVersion): Promise<void> {
    return this.#store.kvPut(VERSIONS_NAMESPACE, externalReference, applied);
  }
}

function isAppliedVersion(value: unknown): value is AppliedVersion {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<AppliedVersion>;
  return (
    (record.version === undefined || typeof record.version === 'number') &&
    (record.status === 'open' || record.status === 'cancelled') &&
    typeof record.action === 'string'
  );
}
