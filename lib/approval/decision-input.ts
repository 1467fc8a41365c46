/**
 * Reading an approver's decision from a message. Decisions come from outside (an approver's app over HTTP,
 * a button in a dashboard, a canonical ApprovalEvent from a source), so everything is checked before the
 * approval it names is even looked up.
 */
import { FinanceError } from '../errors';
import type { SourceRef } from '../model/types';
import { checkDecision, type ApprovalDecision, type DecisionKind } from './process';

/** The document a decision is about: its source reference, or the report id the approver saw. */
export type DecisionTarget = { subject: SourceRef } | { reportId: string };

export interface DecisionInput {
  target: DecisionTarget;
  decision: ApprovalDecision;
}

/** A message is a decision when its topic says so or its payload is a canonical ApprovalEvent. */
export function isDecisionMessage(msg: { topic?: unknown; payload?: unknown }): boolean {
  return (
    msg.topic === 'decision' ||
    (typeof msg.payload === 'object' &&
      msg.payload !== null &&
      (msg.payload as { docType?: unknown }).docType === 'ApprovalEvent')
  );
}

/**
 * `{ decision, approver, comment?, subject: {system, id} | reportId, decidedAt?, stage? }`. A decision
 * without `decidedAt` is taken as made at `now`; sending it lets a redelivered decision be recognised as
 * the same one.
 */
export function parseDecision(payload: unknown, now: Date): DecisionInput {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid(
      'payload',
      'must be an object { decision, approver, subject or reportId, comment?, decidedAt? } (send JSON with Content-Type: application/json)',
    );
  }
  const input = payload as Record<string, unknown>;
  const decision: ApprovalDecision = {
    decision: input.decision as DecisionKind,
    approver: input.approver as string,
    decidedAt: input.decidedAt === undefined ? now.toISOString() : (input.decidedAt as string),
    ...(input.comment !== undefined && { comment: input.comment as string }),
    ...(input.stage !== undefined && { stage: input.stage as number }),
  };
  checkDecision(decision);
  return { target: targetOf(input), decision };
}

function targetOf(input: Record<string, unknown>): DecisionTarget {
  const subject = input.subject;
  if (subject !== undefined) {
    if (typeof subject !== 'object' || subject === null) {
      throw invalid('subject', 'must be the source reference { system, id } of the document decided on');
    }
    const { system, id } = subject as Record<string, unknown>;
    if (!isText(system)) throw invalid('subject.system', 'must name the source system, e.g. "concur"');
    if (!isText(id)) throw invalid('subject.id', "must be the document's id in the source system");
    return { subject: { system, id } };
  }
  if (isText(input.reportId)) return { reportId: input.reportId };
  throw invalid('subject', 'or reportId is needed to know which document the decision is about');
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function invalid(field: string, problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `The approval decision is invalid: ${field} ${problem}.`, {
    details: { field },
  });
}
