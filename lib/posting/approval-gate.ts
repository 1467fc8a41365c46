/**
 * Whether a document may be posted: only approved documents reach the ERP. The approval comes from the
 * approval node (msg.approval); a flow without one (documents approved in the source system) may turn the
 * requirement off, and then the document's own state must say approved.
 */
import { FinanceError } from '../errors';
import type { SourceRef } from '../model/types';
import { isRecord } from '../erp/records';

export interface ApprovalGateInput {
  /** msg.approval, as the approval node leaves it (or anything a flow put there). */
  approval: unknown;
  /** The document's state and identity. */
  document: { state: string; sourceRef: SourceRef };
  /** When false, a document without msg.approval is judged by its own state. */
  requireApproval: boolean;
}

/** Undefined when the document may be posted; otherwise the NOT_APPROVED refusal saying why. */
export function approvalRefusal(input: ApprovalGateInput): FinanceError | undefined {
  const { approval, document, requireApproval } = input;
  const what = `Document ${document.sourceRef.system}:${document.sourceRef.id}`;
  if (approval === undefined || approval === null) {
    if (requireApproval) {
      return notApproved(
        `${what} carries no approval (msg.approval) and this node requires one: route it through finance-approval first, or untick "Require approval" if the source system approves documents itself.`,
      );
    }
    return document.state === 'approved'
      ? undefined
      : notApproved(
          `${what} is "${document.state}" in its source and carries no approval (msg.approval); only approved documents are posted.`,
        );
  }
  if (!isRecord(approval) || typeof approval.state !== 'string') {
    return notApproved(`${what}: msg.approval has no state; it must be the approval node's result ({ state, ... }).`);
  }
  const subject = approval.sourceRef;
  if (isRecord(subject) && (subject.system !== document.sourceRef.system || subject.id !== document.sourceRef.id)) {
    return notApproved(
      `${what}: msg.approval is about another document (${String(subject.system)}:${String(subject.id)}); check the flow, an approval must travel with its own document.`,
    );
  }
  if (approval.state !== 'approved') {
    return notApproved(`${what} is "${approval.state}" in its approval, not "approved"; it is not posted.`);
  }
  return undefined;
}

function notApproved(message: string): FinanceError {
  return new FinanceError('NOT_APPROVED', message, { retryable: false });
}
