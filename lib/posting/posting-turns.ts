/**
 * One posting write at a time per report, whatever its version. Every dialect posts by looking up what the ERP
 * holds under the report's number and then writing (a journal, an invoice); the ledger keeps one marker per
 * version (documentLedgerKey), so it does not keep two versions of one report apart. Two versions in flight
 * at once both found nothing and both wrote: two postings of one report, and in Business Central one batch
 * that posted the lines of both versions (they share the report's FS batch). Taking turns per report makes
 * the second version find the first one's posting and answer as a later version of a posted report does
 * (ERP_CONFLICT naming what differs).
 *
 * In this process the turns are a queue per report. On a store several hosts share they are also a lease per
 * report (the approval's DocumentLock), which costs two store round trips per posting; a store of one host
 * (LMDB) goes without it. A host waits at most a few seconds for another host's turn, then fails with a
 * retryable STORE_UNAVAILABLE that sent nothing, so a parked retry tries again without using an attempt.
 */
import { DocumentLock } from '../approval/document-lock';
import { KeyedQueue } from '../purchasing/keyed-queue';
import type { FinanceStore } from '../reliability/store';

/** The lease namespace: the same for every finance-post node and host, since they post to the same ERPs. */
export const POSTING_TURNS_NAMESPACE = 'finance-post';

export class PostingTurns {
  readonly #queue = new KeyedQueue();
  readonly #lock: DocumentLock;

  constructor(store: Pick<FinanceStore, 'claimLease' | 'sharedAcrossHosts'>, warn?: (text: string) => void) {
    this.#lock = new DocumentLock(store, {
      namespace: POSTING_TURNS_NAMESPACE,
      subject: 'posting',
      ...(warn && { warn }),
    });
  }

  /** Runs `work` when no other posting of the report `reportKey` (source, type and id; no version) runs. */
  run<T>(reportKey: string, work: () => Promise<T>): Promise<T> {
    return this.#queue.run(reportKey, () => this.#lock.run(reportKey, work));
  }
}

/** The key the turns of a report go by: its identity in its source, the same for every version. */
export function reportTurnKey(report: { docType: string; sourceRef: { system: string; id: string } }): string {
  return JSON.stringify([report.sourceRef.system, report.docType, report.sourceRef.id]);
}
