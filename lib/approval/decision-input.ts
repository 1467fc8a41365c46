/**
 * Reading an approver's decision from a message. Decisions come from outside (an approver's app over HTTP,
 * a button in a dashboard, a canonical ApprovalEvent from a source), so everything is checked before the
 * approval it names is even looked up.
 */
import { FinanceError } from '../errors';
import type { SourceRef } from '../model/types';
import { checkDecision, type ApprovalDecision, type DecisionKind } from './process';

/**
 * The document a decision is about: its source reference, or the report id the approver saw; with the version
 * the approver saw when the decision names one (subject.version, or `version` next to reportId). A decision
 * about another version than the one pending is refused (ApprovalWorkflow.decide).
 */
export type DecisionTarget = { subject: SourceRef } | { reportId: string; version?: number };

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
 * `{ decision, approver, comment?, subject: {system, id, version?} | reportId, version?, decidedAt?, stage? }`.
 * A decision without `decidedAt` is taken as made at `now`; sending it lets a redelivered decision be
 * recognised as the same one. Sending the version the approver saw (the pending list and the request show it)
 * is what makes sure a decision never approves a later version of the document with other amounts.
 */
export function parseDecision(payload: unknown, now: Date): DecisionInput {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid(
      'payload',
      'must be an object { decision, approver, subject or reportId, version?, comment?, decidedAt? } (send JSON with Content-Type: application/json)',
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
    const { system, id, version } = subject as Record<string, unknown>;
    if (!isText(system)) throw invalid('subject.system', 'must name the source system, e.g. "concur"');
    if (!isText(id)) throw invalid('subject.id', "must be the document's id in the source system");
    const subjectVersion = versionOf(version, 'subject.version');
    const topVersion = versionOf(input.version, 'version');
    if (subjectVersion !== undefined && topVersion !== undefined && subjectVersion !== topVersion) {
      throw invalid('version', `is ${topVersion} but subject.version is ${subjectVersion}; send one of them`);
    }
    const known = subjectVersion ?? topVersion;
    return { subject: { system, id, ...(known !== undefined && { version: known }) } };
  }
  if (isText(input.reportId)) {
    const version = versionOf(input.version, 'version');
    return { reportId: input.reportId, ...(version !== undefined && { version }) };
  }
  throw invalid('subject', 'or reportId is needed to know which document the decision is about');
}

/** The document version the decision names (a whole number from 0, as SourceRef.version), or undefined. */
function versionOf(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(
      field,
      `must be the version of the document decided on, a whole number from 0, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function invalid(field: string, problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `The approval decision is invalid: ${field} ${problem}.`, {
    details: { field },
  });
}
