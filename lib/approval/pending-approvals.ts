/**
 * The approvals one finance-approval node is waiting on, kept in the durable store so a restart loses
 * none, and the ones it finished, remembered for a while so a redelivered document or decision is
 * recognised instead of starting over.
 *
 * Keys in the node's namespace:
 *   `doc:<docKey>`      -> PendingApproval   (while a person has to decide)
 *   `done:<docKey>`     -> FinishedApproval  (for `retentionMs` after the last decision)
 *   `report:<reportId>` -> docKey            (decisions may name the report id instead of the source reference)
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json';
import type { FinanceStore } from '../reliability/store';
import type { ExpenseReport, SourceRef } from '../model/types';
import type { ApprovalRecord } from './process';

/** The parts of the message that started an approval, emitted again (with the record) when it ends. */
export interface DocumentMessage {
  payload: ExpenseReport;
  /** The envelope (msg.finance), when the document came through intake. */
  finance?: Record<string, unknown>;
  /** The budget check result (msg.budget), when there was one. */
  budget?: Record<string, unknown>;
}

export interface PendingApproval {
  docKey: string;
  message: DocumentMessage;
  record: ApprovalRecord;
  /** Inbox key of the event that started the approval, when the message had an envelope. */
  eventKey?: string;
  /**
   * The document's content digest (contentDigestOf), kept for a document without a version only: a changed
   * document is then told from a redelivery by it. Absent in approvals stored before it was kept.
   */
  digest?: string;
}

export interface FinishedApproval {
  record: ApprovalRecord;
  eventKey?: string;
  version?: number;
  /** As PendingApproval.digest. */
  digest?: string;
}

export type ApprovalBookStore = Pick<FinanceStore, 'kvPut' | 'kvGet' | 'kvDelete' | 'kvList'>;

/**
 * A digest of what is approved in a document: the whole canonical document but `state` and `erpRef`, which say
 * where the document is in its life, not what it asks for. Keys are sorted, so the same content always gives
 * the same digest whatever the order its fields came in. For a source without versions (Ramp), whose changed
 * document comes again under the same id: a different digest means a new submission, not a redelivery.
 */
export function contentDigestOf(report: ExpenseReport): string {
  const content: Partial<ExpenseReport> = { ...report };
  delete content.state;
  delete content.erpRef;
  return createHash('sha256').update(canonicalJson(content)).digest('base64url');
}

/** One key per source document: system and id, with `:` and `%` escaped so no two documents share a key. */
export function docKeyOf(sourceRef: SourceRef): string {
  return [sourceRef.system, sourceRef.id].map((part) => part.replace(/%/g, '%25').replace(/:/g, '%3A')).join(':');
}

export class PendingApprovals {
  constructor(
    private readonly store: ApprovalBookStore,
    private readonly namespace: string,
    private readonly retentionMs: number,
  ) {}

  async get(docKey: string): Promise<PendingApproval | undefined> {
    return (await this.store.kvGet(this.namespace, `doc:${docKey}`)) as PendingApproval | undefined;
  }

  async finished(docKey: string): Promise<FinishedApproval | undefined> {
    return (await this.store.kvGet(this.namespace, `done:${docKey}`)) as FinishedApproval | undefined;
  }

  async docKeyOfReport(reportId: string): Promise<string | undefined> {
    const docKey = await this.store.kvGet(this.namespace, `report:${reportId}`);
    return typeof docKey === 'string' ? docKey : undefined;
  }

  async save(approval: PendingApproval): Promise<void> {
    await this.store.kvPut(this.namespace, `doc:${approval.docKey}`, approval);
    await this.store.kvPut(this.namespace, `report:${approval.message.payload.reportId}`, approval.docKey);
  }

  /** Records the final record, then forgets the pending approval (a crash in between leaves it pending). */
  async finish(approval: PendingApproval, record: ApprovalRecord): Promise<void> {
    await this.recordOutcome(approval, record);
    await this.store.kvPut(
      this.namespace,
      `report:${approval.message.payload.reportId}`,
      approval.docKey,
      this.retentionMs,
    );
    await this.store.kvDelete(this.namespace, `doc:${approval.docKey}`);
  }

  /**
   * Records only the outcome (`done:`), for a document approved automatically with nothing pending: no decision
   * will come for it, so no report id is looked up. One write, since it is on every such event's path.
   */
  async recordOutcome(approval: PendingApproval, record: ApprovalRecord): Promise<void> {
    const finished: FinishedApproval = {
      record,
      ...(approval.eventKey !== undefined && { eventKey: approval.eventKey }),
      ...(approval.message.payload.sourceRef.version !== undefined && {
        version: approval.message.payload.sourceRef.version,
      }),
      ...(approval.digest !== undefined && { digest: approval.digest }),
    };
    await this.store.kvPut(this.namespace, `done:${approval.docKey}`, finished, this.retentionMs);
  }

  /** Forgets a pending approval without a decision (a newer version of the document replaced it). */
  async remove(approval: PendingApproval): Promise<void> {
    await this.store.kvDelete(this.namespace, `doc:${approval.docKey}`);
  }

  /** Pending approvals in document key order. */
  async list(limit: number): Promise<PendingApproval[]> {
    const entries = await this.store.kvList(this.namespace, { prefix: 'doc:', limit });
    return entries.map((entry) => entry.value as PendingApproval);
  }
}
