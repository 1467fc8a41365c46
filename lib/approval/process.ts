/**
 * The approval state machine over one report's approval record (msg.approval, DESIGN section 5). Each
 * function returns a new record and never changes the one it was given, so the node can persist the result
 * before it emits anything. Time always comes in as an argument: the SLA clock is whatever the caller injects.
 */
import { FinanceError } from '../errors';
import type { PolicyException, SourceRef } from '../model/types';
import { authorityOf, type Authority, type Delegation } from './delegation';
import { nextManager, type ApprovalDirectory } from './directory';
import type { CompiledMatrix } from './matrix';
import { personKey, sameId } from './person-id';
import type { ApprovalPlan, StageKind } from './route';

export type ApprovalRecordState = 'pending_approval' | 'approved' | 'rejected' | 'returned' | 'escalated';
export type DecisionKind = 'approve' | 'reject' | 'return';
export type DecisionOutcome = 'advanced' | 'approved' | 'rejected' | 'returned';

export interface ChainEntry {
  stage: number;
  /** Person expected to decide this stage (after an escalation, the one it escalated to). */
  approver: string;
  kind: StageKind;
  reason: string;
  ruleId: string;
  /** When the SLA of this stage runs out; set when the stage becomes current. */
  dueAt?: string;
  /** Approvers this stage escalated away from, oldest first. */
  escalatedFrom?: string[];
  /** When each of those escalations happened (this host's clock), in the same order. */
  escalatedAt?: string[];
  /** Who actually decided: the approver or their delegate. */
  decidedBy?: string;
  /** Set when `decidedBy` decided as the delegate of this person. */
  delegateOf?: string;
  decision?: DecisionKind;
  comment?: string;
  decidedAt?: string;
}

export interface ApprovalRecord {
  /** 'escalated' still awaits a decision: it marks the message emitted when a stage passed its SLA. */
  state: ApprovalRecordState;
  /** 1-based current stage; 0 when approved automatically. */
  stage: number;
  chain: ChainEntry[];
  /** While pending, whom the approval waits for; once decided, who made the last decision. */
  approver?: string;
  /** Set when the last decision was made by a delegate: the approver they stood in for. */
  delegateOf?: string;
  decidedAt?: string;
  comment?: string;
  policyExceptions: PolicyException[];
  sourceRef: SourceRef;
  correlationId?: string;
  submittedAt: string;
  escalations: number;
  submitterId: string;
  ruleId: string;
  autoApproved: boolean;
  /** How the report was routed, from the plan. */
  routingReason: string;
  slaHours: number;
  /**
   * The latest decision on an earlier version of the report that this approval replaced (its decidedAt, the
   * source's time): a decision dated at or before it was made on that version, and must not approve this one.
   */
  earlierVersionDecidedAt?: string;
}

/** A decision message; an ApprovalEvent of the canonical model fits this shape. */
export interface ApprovalDecision {
  decision: DecisionKind;
  /** Person id of whoever decided. */
  approver: string;
  comment?: string;
  decidedAt: string;
  /** The stage decided, when the source knows it; makes duplicate detection exact. */
  stage?: number;
}

export interface DecisionResult {
  record: ApprovalRecord;
  outcome: DecisionOutcome;
  /** True when this decision was already applied (a duplicate delivery): the record is returned unchanged. */
  duplicate: boolean;
}

export interface EscalationResult {
  record: ApprovalRecord;
  /** False when nothing was due (or the approval is already decided): the record is returned unchanged. */
  escalated: boolean;
}

const DECISIONS: readonly DecisionKind[] = ['approve', 'reject', 'return'];
const FINAL_STATE = { approve: 'approved', reject: 'rejected', return: 'returned' } as const;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const HOUR_MS = 60 * 60 * 1000;
/** How far a decision's time may lie after this host's clock, or before its stage began: the source's clock drifts. */
export const DECISION_CLOCK_SKEW_MS = 5 * 60 * 1000;

export function start(
  plan: ApprovalPlan,
  now: Date,
  options: { correlationId?: string; replaces?: ApprovalRecord } = {},
): ApprovalRecord {
  const earlierVersionDecidedAt = options.replaces === undefined ? undefined : latestDecisionOf(options.replaces);
  const base = {
    policyExceptions: plan.policyExceptions,
    sourceRef: plan.sourceRef,
    ...(options.correlationId !== undefined && { correlationId: options.correlationId }),
    submittedAt: plan.submittedAt ?? now.toISOString(),
    escalations: 0,
    submitterId: plan.submitterId,
    ruleId: plan.ruleId,
    autoApproved: plan.autoApproved,
    routingReason: plan.reason,
    slaHours: plan.slaHours,
    ...(earlierVersionDecidedAt !== undefined && { earlierVersionDecidedAt }),
  };
  if (plan.state === 'approved') {
    return { ...base, state: 'approved', stage: 0, chain: [], decidedAt: now.toISOString() };
  }
  // Only the router may approve without a decision; a pending plan with nobody to ask is a bug, not a yes.
  if (plan.stages.length === 0) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'The approval plan is pending but names no approver; plan it with planApproval.',
      {
        details: { sourceRef: plan.sourceRef },
      },
    );
  }
  const chain: ChainEntry[] = plan.stages.map((stage) => ({
    stage: stage.stage,
    approver: stage.approver,
    kind: stage.kind,
    reason: stage.reason,
    ruleId: stage.ruleId,
  }));
  chain[0] = { ...chain[0], dueAt: addHours(now, plan.slaHours) };
  return { ...base, state: 'pending_approval', stage: 1, chain, approver: chain[0].approver };
}

export function isFinal(record: ApprovalRecord): boolean {
  return record.state === 'approved' || record.state === 'rejected' || record.state === 'returned';
}

/** The stage awaiting a decision, or undefined once the approval is decided. */
export function currentEntry(record: ApprovalRecord): ChainEntry | undefined {
  return isFinal(record) ? undefined : record.chain[record.stage - 1];
}

/**
 * Applies a decision. Only the expected approver of the current stage, or a delegate valid when the decision
 * was made and when it is received (`now`), may decide; anyone else gets APPROVER_NOT_ALLOWED. With a
 * `directory`, so does a decider it lists as inactive: routing checked the approver was active, but people
 * leave while an approval waits. Sources deliver decisions more than once, so a decision already applied
 * (same person, same decision, same stage when given) returns the outcome it had the first time and leaves the
 * record as it is.
 */
export function decide(
  record: ApprovalRecord,
  decision: ApprovalDecision,
  delegations: readonly Delegation[],
  now: Date,
  directory?: ApprovalDirectory,
): DecisionResult {
  checkDecision(decision);
  // Checked first so that a redelivered decision cannot count again when its author is, after an escalation,
  // also the approver of the current stage.
  const redelivered = findApplied(record, decision, true);
  if (redelivered !== undefined) return duplicateOf(record, redelivered);

  const entry = currentEntry(record);
  const verdict: Authority =
    entry === undefined
      ? {
          allowed: false,
          reason: `the approval is already ${record.state}${record.approver ? ` by ${record.approver}` : ''}; a new decision needs a new submission`,
        }
      : judge(record, entry, decision, delegations, now, directory);
  if (verdict.allowed) return apply(record, entry as ChainEntry, decision, verdict.delegateOf, now);

  const repeated = findApplied(record, decision, false);
  if (repeated !== undefined) return duplicateOf(record, repeated);
  throw new FinanceError(
    'APPROVER_NOT_ALLOWED',
    `Decision "${decision.decision}" by ${decision.approver} on ${record.sourceRef.system}/${record.sourceRef.id} was refused: ${verdict.reason}.`,
    {
      details: {
        sourceRef: record.sourceRef,
        decidedBy: decision.approver,
        state: record.state,
        stage: record.stage,
        expectedApprover: entry?.approver,
      },
    },
  );
}

/**
 * When the current stage is at or past its due time, hands it to the approver's next active manager (when a
 * directory is given) or else the finance controller, and starts a new SLA period. The record's state becomes
 * 'escalated' for the message the node emits; it still awaits a decision, now from the new approver. Nobody who
 * is the approver of another stage, or decided one, is chosen (escalationTarget).
 */
export function escalate(
  record: ApprovalRecord,
  now: Date,
  matrix: CompiledMatrix,
  directory?: ApprovalDirectory,
): EscalationResult {
  const entry = currentEntry(record);
  if (entry === undefined || entry.dueAt === undefined || now.getTime() < Date.parse(entry.dueAt)) {
    return { record, escalated: false };
  }
  const target = escalationTarget(record, entry, matrix, directory);
  const escalated: ChainEntry = {
    ...entry,
    approver: target,
    escalatedFrom: [...(entry.escalatedFrom ?? []), entry.approver],
    escalatedAt: [...(entry.escalatedAt ?? []), now.toISOString()],
    dueAt: addHours(now, record.slaHours),
  };
  return {
    record: {
      ...record,
      state: 'escalated',
      chain: replaceEntry(record.chain, escalated),
      approver: target,
      escalations: record.escalations + 1,
    },
    escalated: true,
  };
}

function apply(
  record: ApprovalRecord,
  entry: ChainEntry,
  decision: ApprovalDecision,
  delegateOf: string | undefined,
  now: Date,
): DecisionResult {
  const decided: ChainEntry = {
    ...entry,
    decidedBy: decision.approver,
    ...(delegateOf !== undefined && { delegateOf }),
    decision: decision.decision,
    ...(decision.comment !== undefined && { comment: decision.comment }),
    decidedAt: decision.decidedAt,
  };
  let chain = replaceEntry(record.chain, decided);
  // Record-level comment and delegate describe the last decision: an earlier stage's must not carry over.
  const last: ApprovalRecord = { ...record, decidedAt: decision.decidedAt };
  delete last.comment;
  delete last.delegateOf;
  if (decision.comment !== undefined) last.comment = decision.comment;

  if (decision.decision === 'approve' && entry.stage < chain.length) {
    const next = { ...chain[entry.stage], dueAt: addHours(now, record.slaHours) };
    chain = replaceEntry(chain, next);
    return {
      record: { ...last, state: 'pending_approval', stage: next.stage, chain, approver: next.approver },
      outcome: 'advanced',
      duplicate: false,
    };
  }
  const outcome = FINAL_STATE[decision.decision];
  return {
    record: {
      ...last,
      state: outcome,
      chain,
      approver: decision.approver,
      ...(delegateOf !== undefined && { delegateOf }),
    },
    outcome,
    duplicate: false,
  };
}

/** Whether the decision may decide the stage awaiting one, and as whose delegate. */
function judge(
  record: ApprovalRecord,
  entry: ChainEntry,
  decision: ApprovalDecision,
  delegations: readonly Delegation[],
  now: Date,
  directory: ApprovalDirectory | undefined,
): Authority {
  const refused = (reason: string): Authority => ({ allowed: false, reason });
  if (decision.stage !== undefined && decision.stage !== entry.stage) {
    return refused(
      `the decision is for stage ${decision.stage} but stage ${entry.stage} is awaiting a decision from ${entry.approver}`,
    );
  }
  const timing = timingProblem(record, entry, decision.decidedAt, now);
  if (timing !== undefined) return refused(timing);
  // Decisions delivered late still count: one the stage's approver made before the stage escalated away from
  // them is theirs to make, and a rejection must not be lost because its message came after the escalation.
  const authority: Authority = decidedBeforeEscalationFrom(entry, decision)
    ? { allowed: true }
    : authorityOf(
        entry.approver,
        decision.approver,
        new Date(decision.decidedAt),
        delegations,
        record.submitterId,
        now,
      );
  if (!authority.allowed) {
    return refused(
      `${authority.reason}; ask ${entry.approver} to decide, or record a delegation from ${entry.approver}`,
    );
  }
  const standing = directory === undefined ? undefined : inactiveProblem(directory, decision.approver);
  if (standing !== undefined) {
    const next = sameId(entry.approver, decision.approver)
      ? `the stage goes to someone else when its SLA runs out (${entry.dueAt ?? 'at the next SLA check'})`
      : `ask ${entry.approver} to decide`;
    return refused(`${standing}, so cannot decide any more; ${next}`);
  }
  if (authority.delegateOf === undefined) return authority;
  // A delegation must not let one person decide two stages of a chain, each meant as a different person's
  // check. (The router gives a person named twice only one check unless nobody else may take the other, and an
  // escalation never lands on another stage's approver, see escalationTarget.)
  const otherStage = otherStageOf(record, entry.stage, decision.approver);
  if (otherStage !== undefined) {
    return refused(
      `${decision.approver} ${otherStage.decidedBy === decision.approver ? 'decided' : 'is the approver of'} stage ` +
        `${otherStage.stage} of this approval, so cannot also decide stage ${entry.stage} as the delegate of ` +
        `${entry.approver}; ask ${entry.approver} to decide, or record a delegation from ${entry.approver} to someone else`,
    );
  }
  return authority;
}

/**
 * The stage other than `stage` whose approver `person` is, or which `person` decided: such a person may not
 * also decide `stage` as a delegate (judge), nor be offered as one (the request's delegates).
 */
export function otherStageOf(record: ApprovalRecord, stage: number, person: string): ChainEntry | undefined {
  return record.chain.find(
    (other) => other.stage !== stage && (sameId(other.approver, person) || sameId(other.decidedBy, person)),
  );
}

/**
 * Why the directory says `person` may not decide (inactive), or undefined. Someone it does not know is left to
 * the other checks: a delegate hired since the last sync must not be refused for it.
 */
function inactiveProblem(directory: ApprovalDirectory, person: string): string | undefined {
  return directory.employee(person)?.active === false ? `${person} is inactive in the employee directory` : undefined;
}

/**
 * Why a decision's time cannot be right for the stage awaiting it, or undefined. The time says when the person
 * decided, and delegations are checked at it, so it must lie within the stage: not later than now (a delegate
 * could otherwise claim a delegation that starts next week) and not before the stage began (a decision on an
 * earlier version of the report, delivered again, must not approve the new one). When the stage began is told
 * in the source's own times, so that a decision delivered late (a poller, a backlog after an outage) still
 * counts: stage 1 began when the report was submitted, a later stage when the stage before it was decided.
 * Both bounds allow DECISION_CLOCK_SKEW_MS, since the source's clock is not ours.
 */
function timingProblem(record: ApprovalRecord, entry: ChainEntry, decidedAt: string, now: Date): string | undefined {
  const decided = Date.parse(decidedAt);
  if (decided > now.getTime() + DECISION_CLOCK_SKEW_MS) {
    return `the decision is dated ${decidedAt}, later than now (${now.toISOString()}); send the time it was made`;
  }
  const began = stageBegan(record, entry);
  if (began !== undefined && decided < Date.parse(began) - DECISION_CLOCK_SKEW_MS) {
    const since = entry.stage === 1 ? 'the report was submitted' : `stage ${entry.stage - 1} was decided`;
    return (
      `the decision is dated ${decidedAt}, before stage ${entry.stage} began (${since} at ${began}): a decision on ` +
      `an earlier version of the report; ${entry.approver} must decide again`
    );
  }
  const earlier = record.earlierVersionDecidedAt;
  if (earlier !== undefined && decided <= Date.parse(earlier)) {
    return (
      `the decision is dated ${decidedAt}, not after the last decision on the version this one replaced ` +
      `(${earlier}): it was made on that version; ${entry.approver} must decide on version ` +
      `${record.sourceRef.version ?? 'the new version'} again`
    );
  }
  return undefined;
}

/** True when `decision` is by an approver this stage escalated away from, dated before that escalation. */
function decidedBeforeEscalationFrom(entry: ChainEntry, decision: ApprovalDecision): boolean {
  const from = entry.escalatedFrom ?? [];
  let index = from.length - 1;
  while (index >= 0 && !sameId(from[index], decision.approver)) index -= 1;
  const escalatedAt = index < 0 ? undefined : entry.escalatedAt?.[index];
  return escalatedAt !== undefined && Date.parse(decision.decidedAt) < Date.parse(escalatedAt);
}

/** The latest decision time of an approval, counting one it replaced in turn; undefined when nobody decided. */
function latestDecisionOf(record: ApprovalRecord): string | undefined {
  const times = [
    record.earlierVersionDecidedAt,
    ...record.chain.map((entry) => entry.decidedAt),
    record.autoApproved ? undefined : record.decidedAt,
  ].filter((time): time is string => time !== undefined && !Number.isNaN(Date.parse(time)));
  return times.reduce<string | undefined>(
    (latest, time) => (latest === undefined || Date.parse(time) > Date.parse(latest) ? time : latest),
    undefined,
  );
}

/** When the stage began, in the source's times: the submission for stage 1, the previous decision after. */
function stageBegan(record: ApprovalRecord, entry: ChainEntry): string | undefined {
  const began = entry.stage === 1 ? record.submittedAt : record.chain[entry.stage - 2]?.decidedAt;
  return began !== undefined && !Number.isNaN(Date.parse(began)) ? began : undefined;
}

function findApplied(record: ApprovalRecord, decision: ApprovalDecision, sameInstant: boolean): ChainEntry | undefined {
  return record.chain.find(
    (entry) =>
      sameId(entry.decidedBy, decision.approver) &&
      entry.decision === decision.decision &&
      (decision.stage === undefined || entry.stage === decision.stage) &&
      (!sameInstant || entry.decidedAt === decision.decidedAt),
  );
}

function duplicateOf(record: ApprovalRecord, entry: ChainEntry): DecisionResult {
  return {
    record,
    outcome: outcomeOf(entry.decision as DecisionKind, entry.stage === record.chain.length),
    duplicate: true,
  };
}

function outcomeOf(decision: DecisionKind, lastStage: boolean): DecisionOutcome {
  return decision === 'approve' && !lastStage ? 'advanced' : FINAL_STATE[decision];
}

/**
 * Who an overdue stage goes to: the first active manager above its approver (not the submitter), else the
 * finance controller, else (nobody else may take it) the same approver again, reminded with a new due time.
 * Passed over on the way is anyone who is the approver of another stage of this approval, or decided one: each
 * stage is a different person's check, and an escalation must not fold two of them into one person, any more
 * than a delegation may (judge). The climb goes on above such a person, so the stage still reaches someone
 * senior to its approver.
 */
function escalationTarget(
  record: ApprovalRecord,
  entry: ChainEntry,
  matrix: CompiledMatrix,
  directory: ApprovalDirectory | undefined,
): string {
  const decidesAnotherStage = (person: string): boolean => otherStageOf(record, entry.stage, person) !== undefined;
  if (directory !== undefined) {
    // nextManager stops at a loop within one climb; `climbed` stops one across the climbs past such people.
    const climbed = new Set<string>([personKey(entry.approver)]);
    let from = entry.approver;
    for (;;) {
      const manager = nextManager(directory, from, record.submitterId).manager;
      if (manager === undefined || climbed.has(personKey(manager.id))) break;
      if (!decidesAnotherStage(manager.id)) return manager.id;
      climbed.add(personKey(manager.id));
      from = manager.id;
    }
  }
  const controller = matrix.financeController;
  // An inactive or unknown controller is passed over too, when the directory can tell (routing refuses both).
  const controllerMayDecide = directory === undefined || directory.employee(controller)?.active === true;
  if (controllerMayDecide && !sameId(controller, record.submitterId) && !decidesAnotherStage(controller)) {
    return controller;
  }
  return entry.approver;
}

function replaceEntry(chain: readonly ChainEntry[], entry: ChainEntry): ChainEntry[] {
  return chain.map((existing) => (existing.stage === entry.stage ? entry : existing));
}

function addHours(now: Date, hours: number): string {
  return new Date(now.getTime() + hours * HOUR_MS).toISOString();
}

/**
 * Decisions arrive as messages from outside, so their shape is checked before anything is trusted. Throws
 * SCHEMA_INVALID naming the field.
 */
export function checkDecision(decision: ApprovalDecision): void {
  const invalid = (field: string, problem: string): FinanceError =>
    new FinanceError('SCHEMA_INVALID', `The approval decision is invalid: ${field} ${problem}.`, {
      details: { field },
    });
  if (typeof decision !== 'object' || decision === null) {
    throw invalid('decision', 'must be an object { decision, approver, decidedAt }');
  }
  if (!DECISIONS.includes(decision.decision)) {
    throw invalid('decision', `must be one of ${DECISIONS.join(', ')}, not ${JSON.stringify(decision.decision)}`);
  }
  if (typeof decision.approver !== 'string' || decision.approver === '') {
    throw invalid('approver', 'must be the id of the person who decided');
  }
  if (
    typeof decision.decidedAt !== 'string' ||
    !ISO_DATE_TIME.test(decision.decidedAt) ||
    Number.isNaN(Date.parse(decision.decidedAt))
  ) {
    throw invalid(
      'decidedAt',
      `must be an ISO 8601 date-time with a time zone, e.g. "2025-03-31T14:05:00Z", not ${JSON.stringify(decision.decidedAt)}`,
    );
  }
  if (decision.comment !== undefined && typeof decision.comment !== 'string') throw invalid('comment', 'must be text');
  if (decision.stage !== undefined && (!Number.isInteger(decision.stage) || decision.stage < 1)) {
    throw invalid('stage', `must be a whole number from 1, not ${JSON.stringify(decision.stage)}`);
  }
}
