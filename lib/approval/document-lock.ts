/**
 * One change at a time to a document's approval, across every host that shares the store. The workflow reads
 * a document's approval records, decides, and writes them back (a decision, an escalation, a new version);
 * its in-process queue keeps two such changes of one process apart, but not those of two hosts on one
 * PostgreSQL store: an approval on one host and a rejection on another were both applied, and an escalation
 * wrote a decided approval back as pending. On a store several hosts share (FinanceStore.sharedAcrossHosts)
 * each change therefore runs under a lease per document (claimLease), and reads the records again inside it:
 * the second change sees what the first one stored, and is answered as a second change on one host is.
 *
 * A change waits at most `waitMs` for a lease another holder has (normally a few milliseconds: the other
 * host's change is a handful of store writes), then fails with a retryable STORE_UNAVAILABLE that says so and
 * changed nothing (details.sent false, so a parked retry does not use up an attempt). A host that dies holding
 * a lease blocks the document until the lease lapses after `ttlMs`; a change that runs longer (a slow store)
 * keeps it (reliability/kept-lease.ts). The lease costs two store round trips per change (the claim and the
 * release), which is why a store of one host (LMDB) goes without it.
 */
import { randomUUID } from 'node:crypto';
import { FinanceError } from '../errors';
import { whileKeepingLease } from '../reliability/kept-lease';
import { runnerHolder } from '../reliability/single-runner';
import type { FinanceStore } from '../reliability/store';

export type DocumentLockStore = Pick<FinanceStore, 'claimLease' | 'sharedAcrossHosts'>;

export interface DocumentLockOptions {
  /** Prefix of the lease names, e.g. "finance-approval/<node id>"; the same on every host. */
  namespace: string;
  /** What is changed, for messages: "approval" (the default) or "posting". */
  subject?: string;
  /** How long a lease lasts unless renewed: a dead holder blocks the document this long. Default 30 s. */
  ttlMs?: number;
  /** How long a change waits for another holder's lease before it fails (retryable). Default 5 s. */
  waitMs?: number;
  /** Told when a running change's lease could not be renewed (it goes on all the same). */
  warn?: (text: string) => void;
}

export const DEFAULT_DOCUMENT_LOCK_TTL_MS = 30_000;
export const DEFAULT_DOCUMENT_LOCK_WAIT_MS = 5_000;
const FIRST_PAUSE_MS = 5;
const LONGEST_PAUSE_MS = 100;

export class DocumentLock {
  /** Unique per lock (per workflow): a redeployed node's workflow and its predecessor's must not share leases. */
  readonly holder: string;
  private readonly ttlMs: number;
  private readonly waitMs: number;

  constructor(
    private readonly store: DocumentLockStore,
    private readonly options: DocumentLockOptions,
  ) {
    this.holder = `${options.namespace}/${runnerHolder()}/${randomUUID()}`;
    this.ttlMs = options.ttlMs ?? DEFAULT_DOCUMENT_LOCK_TTL_MS;
    this.waitMs = options.waitMs ?? DEFAULT_DOCUMENT_LOCK_WAIT_MS;
  }

  /** The lease name of a document: the same on every host. */
  leaseName(docKey: string): string {
    return `${this.options.namespace}/lock:${docKey}`;
  }

  /** Runs `work` holding the document's lease (on a store of one host: at once, without one). */
  async run<T>(docKey: string, work: () => Promise<T>): Promise<T> {
    if (this.store.sharedAcrossHosts !== true) return work();
    const name = this.leaseName(docKey);
    await this.acquire(name, docKey);
    const warn = this.options.warn ?? (() => undefined);
    const subject = this.options.subject ?? 'approval';
    const lease = {
      store: this.store,
      name,
      holder: this.holder,
      ttlMs: this.ttlMs,
      onLost: () =>
        warn(
          `A change to the ${subject} of ${docKey} ran longer than its lease (${this.ttlMs} ms), and another host ` +
            'took the lease meanwhile; check why the store is so slow.',
        ),
      onRenewalFailed: (error: unknown) =>
        warn(
          `The lease of a running change to the ${subject} of ${docKey} could not be renewed: ${(error as Error).message}`,
        ),
    };
    return whileKeepingLease(lease, work);
  }

  private async acquire(name: string, docKey: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    let pause = FIRST_PAUSE_MS;
    for (;;) {
      if (await this.store.claimLease(name, this.holder, this.ttlMs)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw busy(this.options.subject ?? 'approval', docKey, name, this.waitMs);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }
}

/** True for the error of a change that could not have its document's lease in time (nothing was changed). */
export function isDocumentBusy(error: unknown): boolean {
  return error instanceof FinanceError && error.details?.documentBusy === true;
}

function busy(subject: string, docKey: string, lease: string, waitMs: number): FinanceError {
  return new FinanceError(
    'STORE_UNAVAILABLE',
    `The ${subject} of ${docKey} is being changed by another host sharing the store (or its lease is left by a ` +
      `host that stopped, and lapses shortly); this change waited ${waitMs} ms and was not applied: nothing was ` +
      'changed. It is retryable: send it again in a few seconds, and it is then checked against what the other ' +
      'change stored.',
    { retryable: true, details: { lease, docKey, sent: false, documentBusy: true } },
  );
}
