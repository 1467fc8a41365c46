/**
 * Posting an approved expense report to the ERP, once: the approval gate, the mapping to a PostingRequest,
 * and the write through the ledger protocol (lookup by external reference whenever an earlier attempt may
 * have posted it). What the finance-post node does per message, without Node-RED.
 */
import type { ErpDialect, FoundDocument, PostingRef } from '../erp/dialect';
import { FinanceError } from '../errors';
import { assertValid } from '../model/validate';
import type { ErpRef, ExpenseReport } from '../model/types';
import { approvalRefusal } from './approval-gate';
import { expensePostingRequest, type PostingDateRule, type PostingKind } from './expense-posting';
import { documentLedgerKey, type LedgerWriter } from './idempotent-write';
import { reportTurnKey, type PostingTurns } from './posting-turns';

/** The ledger operation of posting a document. */
export const POST_OPERATION = 'post';

export interface PostExpenseSettings {
  kind: PostingKind;
  postingDate: PostingDateRule;
  requireApproval: boolean;
}

export interface PostExpenseInput {
  /** msg.payload: checked to be a valid canonical ExpenseReport. */
  document: unknown;
  /** msg.approval. */
  approval: unknown;
  correlationId: string;
  now: Date;
}

/** msg.erp of a posting (DESIGN section 5). */
export interface PostedErp {
  system: string;
  dialect: string;
  documentType: PostingKind;
  documentId: string;
  number?: string;
  status?: string;
  /** 201 when this message created it, 200 when it was found in the ERP; absent when the ledger knew it. */
  httpStatus?: number;
}

export type PostExpenseResult =
  | {
      outcome: 'posted';
      erp: PostedErp;
      /** For payload.erpRef. */
      erpRef: ErpRef;
      /** How the posting was obtained: this attempt wrote it, found it after a doubt, or the ledger knew it. */
      via: 'written' | 'found' | 'duplicate';
    }
  | { outcome: 'refused'; error: FinanceError };

/** The reference kept in the ledger: the posting's identity, never the ERP's whole document. */
type StoredPostingRef = Omit<PostingRef, 'etag'>;

export async function postExpenseReport(
  writer: LedgerWriter,
  dialect: ErpDialect,
  input: PostExpenseInput,
  settings: PostExpenseSettings,
  turns?: PostingTurns,
): Promise<PostExpenseResult> {
  const report = validReport(input.document);
  const notApproved = approvalRefusal({
    approval: input.approval,
    document: report,
    requireApproval: settings.requireApproval,
  });
  if (notApproved) return { outcome: 'refused', error: notApproved };

  const posting = expensePostingRequest(report, {
    kind: settings.kind,
    postingDate: settings.postingDate,
    now: input.now,
  });
  const write = () =>
    writer.write<StoredPostingRef>({
      key: documentLedgerKey(report, POST_OPERATION),
      correlationId: input.correlationId,
      write: async (ctx) => storedRef(await dialect.post(posting, ctx)),
      lookup: async (ctx) => {
        const found = dialect.findPosting
          ? await dialect.findPosting(posting, ctx)
          : await dialect.findByReference('posting', posting.externalReference, ctx);
        return found === null ? null : storedRef(found);
      },
    });
  const result = turns ? await turns.run(reportTurnKey(report), write) : await write();
  if (result.outcome === 'refused') return result;
  const ref = result.ref;
  const erpRef: ErpRef = {
    system: ref.system,
    dialect: ref.dialect,
    documentType: settings.kind,
    documentId: ref.documentId,
    ...(ref.number === undefined ? {} : { number: ref.number }),
    ...(ref.status === undefined ? {} : { status: ref.status }),
  };
  const erp: PostedErp = {
    ...erpRef,
    documentType: settings.kind,
    ...(result.outcome === 'duplicate' ? {} : { httpStatus: result.outcome === 'written' ? 201 : 200 }),
  };
  return { outcome: 'posted', erp, erpRef, via: result.outcome };
}

function validReport(document: unknown): ExpenseReport {
  const docType = (document as { docType?: unknown } | null)?.docType;
  if (docType !== 'ExpenseReport') {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `msg.payload must be a canonical ExpenseReport (docType "ExpenseReport"), not ${docType === undefined ? 'a document without docType' : `"${String(docType)}"`}; map the source document with finance-map first.`,
    );
  }
  assertValid('ExpenseReport', document);
  return document;
}

/** Only the identifying fields, without undefined values and without the ERP's raw document. */
function storedRef(ref: PostingRef | FoundDocument): StoredPostingRef {
  const stored: StoredPostingRef = {
    system: ref.system,
    dialect: ref.dialect,
    documentType: ref.documentType,
    documentId: ref.documentId,
  };
  if (ref.number !== undefined) stored.number = ref.number;
  if (ref.status !== undefined) stored.status = ref.status;
  if ('total' in ref && ref.total !== undefined) stored.total = ref.total;
  if ('postedAt' in ref && ref.postedAt !== undefined) stored.postedAt = ref.postedAt;
  return stored;
}
