/**
 * The approval requests that may not have left the node yet. A request to an approver is written here before
 * the approval that needs it is saved, and removed once the node has sent it. A host that dies in between
 * leaves the entry behind, and an SLA check sends that request again (ApprovalWorkflow.unsentRequests).
 * Without it, such a request was lost: the approval waited for a person who was never asked, until its SLA
 * escalated it.
 *
 * The entry names the stage it asks for (stage, approver, escalations so far), because the approval it belongs
 * to may have moved on, or never been saved (a crash before the save), when it is found: only a request that
 * still matches the stored approval is sent again. A request may so be sent twice (a crash after the send,
 * before the removal), never not at all.
 *
 * Keys in the node's namespace: `unsent:<docKey>` -> UnsentRequest (one per document, its latest request).
 */
import type { FinanceStore } from '../reliability/store';
import { currentEntry, type ApprovalRecord } from './process';

export type OutboxStore = Pick<FinanceStore, 'kvPut' | 'kvGet' | 'kvDelete' | 'kvList'>;

export interface UnsentRequest {
  docKey: string;
  stage: number;
  approver: string;
  escalations: number;
  /** Why this person is asked (an escalation says whose SLA ran out). */
  reason: string;
  /** When it was written, epoch milliseconds of the workflow's clock. */
  since: number;
}

export class RequestOutbox {
  constructor(
    private readonly store: OutboxStore,
    private readonly namespace: string,
  ) {}

  /** Writes the request the record's current stage needs; call before saving the record. */
  async add(docKey: string, record: ApprovalRecord, reason: string, now: number): Promise<void> {
    const entry = currentEntry(record);
    if (entry === undefined) return;
    const unsent: UnsentRequest = {
      docKey,
      stage: entry.stage,
      approver: entry.approver,
      escalations: record.escalations,
      reason,
      since: now,
    };
    await this.store.kvPut(this.namespace, keyOf(docKey), unsent);
  }

  /** Removes the document's entry if it is still the one for this stage of `record`, i.e. the request sent. */
  async sent(docKey: string, record: ApprovalRecord): Promise<void> {
    const unsent = (await this.store.kvGet(this.namespace, keyOf(docKey))) as UnsentRequest | undefined;
    if (unsent !== undefined && matches(unsent, record)) await this.remove(docKey);
  }

  async remove(docKey: string): Promise<void> {
    await this.store.kvDelete(this.namespace, keyOf(docKey));
  }

  /**
   * Of the first `limit` entries in document key order, those written at or before `writtenBy`. Entries are
   * few (requests on their way out, and what a crash left), so the younger ones rarely crowd out older ones.
   */
  async olderThan(writtenBy: number, limit: number): Promise<UnsentRequest[]> {
    const entries = await this.store.kvList(this.namespace, { prefix: 'unsent:', limit });
    return entries.map((entry) => entry.value as UnsentRequest).filter((unsent) => unsent.since <= writtenBy);
  }
}

/** True when the stored record still waits on the stage and person the request asks. */
export function matches(unsent: UnsentRequest, record: ApprovalRecord): boolean {
  const entry = currentEntry(record);
  return (
    entry !== undefined &&
    entry.stage === unsent.stage &&
    entry.approver === unsent.approver &&
    record.escalations === unsent.escalations
  );
}

function keyOf(docKey: string): string {
  return `unsent:${docKey}`;
}
