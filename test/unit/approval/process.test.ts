import { FinanceError } from '../../../lib/errors';
import type { Delegation } from '../../../lib/approval/delegation';
import { compileMatrix } from '../../../lib/approval/matrix';
import {
  DECISION_CLOCK_SKEW_MS,
  decide,
  escalate,
  start,
  type ApprovalDecision,
  type ApprovalRecord,
} from '../../../lib/approval/process';
import { planApproval } from '../../../lib/approval/route';
import { directory, matrixConfig, report, type ReportOptions } from './fixtures';

const matrix = compileMatrix(matrixConfig());
const T0 = new Date('2025-03-12T09:00:00.000Z');
const later = (hours: number, ms = 0): Date => new Date(T0.getTime() + hours * 3_600_000 + ms);

/** Starts the approval of a report at T0: 1200.00 EUR goes to E200 then E300. */
function started(options: ReportOptions = { amount: '1200.00' }): ApprovalRecord {
  const plan = planApproval({ report: report(options), directory: directory() }, matrix);
  return start(plan, T0, { correlationId: 'corr-1' });
}

function decision(approver: string, kind: ApprovalDecision['decision'] = 'approve', at = later(1)): ApprovalDecision {
  return { decision: kind, approver, comment: `${kind} by ${approver}`, decidedAt: at.toISOString() };
}

function refusal(run: () => unknown): FinanceError {
  try {
    run();
  } catch (error) {
    if (error instanceof FinanceError) return error;
    throw error;
  }
  throw new Error('expected a FinanceError');
}

describe('start', () => {
  it('opens stage 1 with its SLA due time and the expected approver', () => {
    const record = started();
    expect(record).toMatchObject({
      state: 'pending_approval',
      stage: 1,
      approver: 'E200',
      escalations: 0,
      correlationId: 'corr-1',
      submittedAt: '2025-03-03T08:00:00.000Z',
      submitterId: 'E100',
      ruleId: 'large',
      autoApproved: false,
      slaHours: 24,
      sourceRef: { system: 'concur', id: 'RPT-1', version: 1 },
      policyExceptions: [],
    });
    expect(record.chain.map(({ stage, approver, dueAt }) => ({ stage, approver, dueAt }))).toEqual([
      { stage: 1, approver: 'E200', dueAt: '2025-03-13T09:00:00.000Z' },
      { stage: 2, approver: 'E300', dueAt: undefined },
    ]);
  });

  it('records an automatically approved report as approved with no chain', () => {
    const record = started({ amount: '20.00' });
    expect(record).toMatchObject({
      state: 'approved',
      stage: 0,
      chain: [],
      autoApproved: true,
      decidedAt: T0.toISOString(),
    });
    expect(record.routingReason).toContain('Approved automatically');
  });

  it('refuses a pending plan that names nobody instead of approving it', () => {
    const plan = planApproval({ report: report({ amount: '500.00' }), directory: directory() }, matrix);
    expect(() => start({ ...plan, stages: [] }, T0)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
  });
});

describe('decide', () => {
  it('advances stage by stage and approves after the last one', () => {
    const first = decide(started(), decision('E200', 'approve', later(2)), [], later(3));
    expect(first.outcome).toBe('advanced');
    expect(first.duplicate).toBe(false);
    expect(first.record).toMatchObject({
      state: 'pending_approval',
      stage: 2,
      approver: 'E300',
      decidedAt: later(2).toISOString(),
      comment: 'approve by E200',
    });
    expect(first.record.chain[0]).toMatchObject({
      decidedBy: 'E200',
      decision: 'approve',
      decidedAt: later(2).toISOString(),
    });
    expect(first.record.chain[1].dueAt).toBe(later(3 + 24).toISOString());

    const second = decide(
      first.record,
      { decision: 'approve', approver: 'E300', decidedAt: later(4).toISOString() },
      [],
      later(4),
    );
    expect(second.outcome).toBe('approved');
    expect(second.record).toMatchObject({
      state: 'approved',
      stage: 2,
      approver: 'E300',
      decidedAt: later(4).toISOString(),
    });
    expect(second.record.comment).toBeUndefined();
  });

  it('refuses a decision from someone who is not the expected approver, leaving the record as it was', () => {
    const record = started();
    const snapshot = structuredClone(record);
    const error = refusal(() => decide(record, decision('E300'), [], later(1)));
    expect(error.code).toBe('APPROVER_NOT_ALLOWED');
    expect(error.message).toBe(
      'Decision "approve" by E300 on concur/RPT-1 was refused: E300 is not the expected approver E200 and holds no ' +
        'delegation from E200 valid at 2025-03-12T10:00:00.000Z; ask E200 to decide, or record a delegation from E200.',
    );
    expect(error.details).toMatchObject({ expectedApprover: 'E200', decidedBy: 'E300', stage: 1 });
    expect(record).toEqual(snapshot);
  });

  it('refuses the submitter', () => {
    const error = refusal(() =>
      decide(
        started(),
        decision('E100'),
        [{ from: 'E200', to: 'E100', validFrom: '2025-03-01', validTo: '2025-03-31' }],
        later(1),
      ),
    );
    expect(error.code).toBe('APPROVER_NOT_ALLOWED');
    expect(error.message).toContain('E100 submitted the report and cannot decide on it');
  });

  it('accepts a delegate valid when they decided and records whom they stood in for', () => {
    const delegations: Delegation[] = [
      { from: 'E200', to: 'E250', validFrom: '2025-03-12', validTo: '2025-03-12' },
      { from: 'E300', to: 'E350', validFrom: '2025-03-12', validTo: '2025-03-14' },
    ];
    const first = decide(started(), decision('E250', 'approve', later(2)), delegations, later(2));
    expect(first.record.chain[0]).toMatchObject({
      approver: 'E200',
      decidedBy: 'E250',
      delegateOf: 'E200',
      decision: 'approve',
    });
    expect(first.record.delegateOf).toBeUndefined();

    const second = decide(first.record, decision('E350', 'approve', later(3)), delegations, later(3));
    expect(second.outcome).toBe('approved');
    expect(second.record).toMatchObject({ state: 'approved', approver: 'E350', delegateOf: 'E300' });
    expect(second.record.chain[1]).toMatchObject({ decidedBy: 'E350', delegateOf: 'E300' });
  });

  it('refuses a delegate who would decide two stages of one chain alone', () => {
    // 1200.00 EUR needs E200, then E300: two people.
    const toNextStage: Delegation[] = [{ from: 'E200', to: 'E300', validFrom: '2025-03-12', validTo: '2025-03-12' }];
    const forE200 = refusal(() => decide(started(), decision('E300', 'approve', later(1)), toNextStage, later(1)));
    expect(forE200.code).toBe('APPROVER_NOT_ALLOWED');
    expect(forE200.message).toContain(
      'E300 is the approver of stage 2 of this approval, so cannot also decide stage 1',
    );

    const toPreviousStage: Delegation[] = [
      { from: 'E300', to: 'E200', validFrom: '2025-03-12', validTo: '2025-03-12' },
    ];
    const stageOne = decide(started(), decision('E200', 'approve', later(1)), toPreviousStage, later(1));
    const forE300 = refusal(() =>
      decide(stageOne.record, { ...decision('E200', 'approve', later(2)), stage: 2 }, toPreviousStage, later(2)),
    );
    expect(forE300.message).toContain('E200 decided stage 1 of this approval, so cannot also decide stage 2');
    // Without a stage it reads as E200's approval of stage 1 sent again: nothing changes.
    const again = decide(stageOne.record, decision('E200', 'approve', later(2)), toPreviousStage, later(2));
    expect(again).toMatchObject({ duplicate: true, record: stageOne.record });
    // Another delegate of E300 may.
    const other: Delegation[] = [{ from: 'E300', to: 'E350', validFrom: '2025-03-12', validTo: '2025-03-12' }];
    expect(decide(stageOne.record, decision('E350', 'approve', later(2)), other, later(2)).outcome).toBe('approved');
  });

  it('judges a delegation at the time of the decision and when the decision is received', () => {
    const delegations: Delegation[] = [{ from: 'E200', to: 'E250', validFrom: '2025-03-12', validTo: '2025-03-12' }];
    // Made at 23:58 on the last day, received at 00:02: within DELEGATION_RECEIPT_SKEW_MS, it stands.
    const justInTime = decide(
      started(),
      decision('E250', 'approve', later(14, 58 * 60_000)),
      delegations,
      later(15, 2 * 60_000),
    );
    expect(justInTime.outcome).toBe('advanced');
    const tooLate = refusal(() => decide(started(), decision('E250', 'approve', later(15)), delegations, later(15)));
    expect(tooLate.code).toBe('APPROVER_NOT_ALLOWED');
    // Dated back into the delegation but received after it ended (formerly approved: the decision's own time was
    // all that was checked, and it is what the sender claims).
    const backdated = refusal(() => decide(started(), decision('E250', 'approve', later(14)), delegations, later(40)));
    expect(backdated.message).toContain(
      'E250 held a delegation from E200 at 2025-03-12T23:00:00.000Z, the time the decision gives, but not when it was received (2025-03-14T01:00:00.000Z)',
    );
  });

  it('refuses a decision dated in the future, so a delegate cannot claim a delegation that starts later', () => {
    const nextWeek: Delegation[] = [{ from: 'E200', to: 'E250', validFrom: '2025-03-19', validTo: '2025-03-25' }];
    const claimed = refusal(() => decide(started(), decision('E250', 'approve', later(24 * 7)), nextWeek, later(1)));
    expect(claimed.code).toBe('APPROVER_NOT_ALLOWED');
    expect(claimed.message).toContain('is dated 2025-03-19T09:00:00.000Z, later than now (2025-03-12T10:00:00.000Z)');
    // Also the expected approver: a decision is made when it is made.
    expect(refusal(() => decide(started(), decision('E200', 'approve', later(2)), [], later(1))).code).toBe(
      'APPROVER_NOT_ALLOWED',
    );
    // A source clock a little ahead of ours is not a reason to refuse.
    const skewed = decide(started(), decision('E200', 'approve', later(1, DECISION_CLOCK_SKEW_MS)), [], later(1));
    expect(skewed.outcome).toBe('advanced');
  });

  it('refuses a decision dated before its stage began: a decision on an earlier version does not approve a new one', () => {
    // Version 2 was submitted at T0 + 1 h; a decision made at T0 + 30 min was one on version 1.
    const version2 = { ...report({ amount: '1200.00' }), submittedAt: later(1).toISOString() };
    const routed = start(planApproval({ report: version2, directory: directory() }, matrix), later(1));
    const earlier = refusal(() => decide(routed, decision('E200', 'approve', later(0.5)), [], later(2)));
    expect(earlier.code).toBe('APPROVER_NOT_ALLOWED');
    expect(earlier.message).toContain(
      'before stage 1 began (the report was submitted at 2025-03-12T10:00:00.000Z): a decision on an earlier version',
    );
    expect(earlier.message).toContain('E200 must decide again');
    // A few minutes before, within the clock skew, is accepted.
    const skewed = decide(routed, decision('E200', 'approve', later(1, -DECISION_CLOCK_SKEW_MS)), [], later(2));
    expect(skewed.outcome).toBe('advanced');
  });

  it('accepts decisions delivered late: when a stage began is told in the source times, not when the host saw it', () => {
    // Submitted at T0; the host routes it only at T0 + 5 h (a poller, a backlog) and both decisions, made in the
    // source at T0 + 1 h and T0 + 2 h, arrive together at T0 + 6 h.
    const submitted = { ...report({ amount: '1200.00' }), submittedAt: T0.toISOString() };
    const routedLate = start(planApproval({ report: submitted, directory: directory() }, matrix), later(5));
    const first = decide(routedLate, decision('E200', 'approve', later(1)), [], later(6));
    expect(first.outcome).toBe('advanced');
    const second = decide(first.record, decision('E300', 'approve', later(2)), [], later(6));
    expect(second.outcome).toBe('approved');
    // Stage 2 began when stage 1 was decided: a stage-2 decision dated before that is refused.
    const tooEarly = refusal(() => decide(first.record, decision('E300', 'approve', later(0.5)), [], later(6)));
    expect(tooEarly.message).toContain('before stage 2 began (stage 1 was decided at 2025-03-12T10:00:00.000Z)');
  });

  it('returns the same outcome without change when a decision is delivered again', () => {
    const first = decide(started(), decision('E200'), [], later(1));
    const again = decide(first.record, decision('E200'), [], later(5));
    expect(again).toEqual({ record: first.record, outcome: 'advanced', duplicate: true });
    expect(again.record).toBe(first.record);

    const final = decide(first.record, decision('E300', 'approve', later(2)), [], later(2));
    const finalAgain = decide(final.record, decision('E300', 'approve', later(2)), [], later(6));
    expect(finalAgain).toEqual({ record: final.record, outcome: 'approved', duplicate: true });
  });

  it('treats a repeated decision by the same approver for the same stage as a duplicate even with another timestamp', () => {
    const first = decide(started(), decision('E200', 'approve', later(1)), [], later(1));
    const clickedTwice = decide(
      first.record,
      { ...decision('E200', 'approve', later(1, 500)), stage: 1 },
      [],
      later(1),
    );
    expect(clickedTwice).toMatchObject({ outcome: 'advanced', duplicate: true });
    expect(clickedTwice.record).toBe(first.record);
  });

  it('ends the process on reject; later decisions are refused', () => {
    const rejected = decide(started(), decision('E200', 'reject'), [], later(1));
    expect(rejected.outcome).toBe('rejected');
    expect(rejected.record).toMatchObject({ state: 'rejected', stage: 1, approver: 'E200', comment: 'reject by E200' });
    expect(rejected.record.chain[1].decision).toBeUndefined();

    const error = refusal(() => decide(rejected.record, decision('E300'), [], later(2)));
    expect(error.code).toBe('APPROVER_NOT_ALLOWED');
    expect(error.message).toContain('the approval is already rejected by E200; a new decision needs a new submission');

    const changedMind = refusal(() => decide(rejected.record, decision('E200', 'approve'), [], later(2)));
    expect(changedMind.code).toBe('APPROVER_NOT_ALLOWED');
    expect(decide(rejected.record, decision('E200', 'reject'), [], later(3))).toMatchObject({
      outcome: 'rejected',
      duplicate: true,
    });
  });

  it('ends the process on return, at any stage', () => {
    const first = decide(started(), decision('E200'), [], later(1));
    const returned = decide(first.record, decision('E300', 'return', later(2)), [], later(2));
    expect(returned.outcome).toBe('returned');
    expect(returned.record).toMatchObject({ state: 'returned', stage: 2, approver: 'E300' });
    expect(() => decide(returned.record, decision('E300', 'approve', later(3)), [], later(3))).toThrow(FinanceError);
  });

  it('refuses a decision for another stage than the current one', () => {
    const error = refusal(() => decide(started(), { ...decision('E200'), stage: 2 }, [], later(1)));
    expect(error.message).toContain('the decision is for stage 2 but stage 1 is awaiting a decision from E200');
  });

  it('refuses a malformed decision with SCHEMA_INVALID naming the field', () => {
    const bad = (changes: Record<string, unknown>): FinanceError =>
      refusal(() => decide(started(), { ...decision('E200'), ...changes } as ApprovalDecision, [], later(1)));
    expect(bad({ decision: 'ok' })).toMatchObject({
      code: 'SCHEMA_INVALID',
      message: 'The approval decision is invalid: decision must be one of approve, reject, return, not "ok".',
    });
    expect(bad({ approver: '' }).details).toEqual({ field: 'approver' });
    expect(bad({ decidedAt: '2025-03-12 10:00' }).details).toEqual({ field: 'decidedAt' });
    expect(bad({ stage: 0 }).details).toEqual({ field: 'stage' });
  });
});

describe('escalate', () => {
  it('does nothing before the due time', () => {
    const record = started();
    expect(escalate(record, later(23, 59 * 60_000), matrix, directory())).toEqual({ record, escalated: false });
  });

  it("hands an overdue stage to the approver's manager with a new due time, still awaiting a decision", () => {
    // 500.00 EUR: one stage, E200.
    const record = started({ amount: '500.00' });
    const result = escalate(record, later(24, 1), matrix, directory());
    expect(result.escalated).toBe(true);
    expect(result.record).toMatchObject({ state: 'escalated', stage: 1, approver: 'E300', escalations: 1 });
    expect(result.record.chain[0]).toMatchObject({
      approver: 'E300',
      escalatedFrom: ['E200'],
      dueAt: later(48, 1).toISOString(),
    });
    expect(record.state).toBe('pending_approval');

    const error = refusal(() => decide(result.record, decision('E200', 'approve', later(25)), [], later(25)));
    expect(error.code).toBe('APPROVER_NOT_ALLOWED');
    const decided = decide(result.record, decision('E300', 'approve', later(25)), [], later(25));
    expect(decided).toMatchObject({ outcome: 'approved', record: { state: 'approved', approver: 'E300' } });
  });

  it("passes over the approver of another stage, so two stages stay two people's checks", () => {
    // 1200.00 EUR: E200, then E300. E200's manager is E300, who decides stage 2: stage 1 climbs on to E400.
    const escalated = escalate(started(), later(24, 1), matrix, directory()).record;
    expect(escalated).toMatchObject({ state: 'escalated', stage: 1, approver: 'E400' });
    expect(escalated.chain.map((entry) => entry.approver)).toEqual(['E400', 'E300']);
    const stageOne = decide(escalated, decision('E400', 'approve', later(25)), [], later(25));
    expect(stageOne.record).toMatchObject({ state: 'pending_approval', stage: 2, approver: 'E300' });

    // Stage 2 overdue: E300's manager E400 decided stage 1, and E400 is the top; the finance controller takes it.
    const stageTwo = escalate(stageOne.record, later(50), matrix, directory()).record;
    expect(stageTwo).toMatchObject({ stage: 2, approver: 'E900' });
  });

  it('reminds the same approver when everyone above and the controller decide other stages, even in a loop', () => {
    // E200 -> E300 -> E900 (the finance controller) -> E300 again (bad data). A third stage, E900, is added to the
    // chain: E300 and E900 each decide a stage, so nobody may take stage 1 and E200 is reminded.
    const people = directory([
      { id: 'E300', managerId: 'E900', active: true, approvalLimit: { amount: '5000.00', currency: 'EUR' } },
      { id: 'E900', managerId: 'E300', active: true },
    ]);
    const record = started();
    const threeStages = { ...record, chain: [...record.chain, { ...record.chain[1], stage: 3, approver: 'E900' }] };
    expect(threeStages.chain.map((entry) => entry.approver)).toEqual(['E200', 'E300', 'E900']);
    const reminded = escalate(threeStages, later(25), matrix, people).record;
    expect(reminded).toMatchObject({ state: 'escalated', approver: 'E200', escalations: 1 });
    expect(reminded.chain[0]).toMatchObject({
      approver: 'E200',
      escalatedFrom: ['E200'],
      dueAt: later(49).toISOString(),
    });
    // Without the third stage, E900 is free: the climb passes E300 and stops at E900.
    expect(escalate(record, later(25), matrix, people).record.approver).toBe('E900');
  });

  it('counts a decision the approver made before the stage escalated away from them, delivered late', () => {
    const escalated = escalate(started({ amount: '500.00' }), later(24, 1), matrix, directory()).record;
    expect(escalated.chain[0]).toMatchObject({ escalatedFrom: ['E200'], escalatedAt: [later(24, 1).toISOString()] });
    // E200 rejected in time; the message arrives two hours after the escalation to E300.
    const late = decide(escalated, decision('E200', 'reject', later(23)), [], later(26));
    expect(late).toMatchObject({ outcome: 'rejected', duplicate: false });
    expect(late.record.chain[0]).toMatchObject({ decidedBy: 'E200', decision: 'reject', approver: 'E300' });
    // E300 can no longer approve what E200 rejected.
    const afterwards = refusal(() => decide(late.record, decision('E300', 'approve', later(27)), [], later(27)));
    expect(afterwards.code).toBe('APPROVER_NOT_ALLOWED');
    // A decision E200 dates after the escalation is still not theirs to make.
    const tooLate = refusal(() => decide(escalated, decision('E200', 'approve', later(24, 2)), [], later(26)));
    expect(tooLate.message).toContain('E300');
  });

  it('escalates to the finance controller without a directory, and counts every escalation', () => {
    const once = escalate(started(), later(24), matrix).record;
    expect(once).toMatchObject({ approver: 'E900', escalations: 1 });
    expect(escalate(once, later(47), matrix).escalated).toBe(false);
    const twice = escalate(once, later(48), matrix, directory()).record;
    expect(twice).toMatchObject({ state: 'escalated', approver: 'E400', escalations: 2 });
    expect(twice.chain[0].escalatedFrom).toEqual(['E200', 'E900']);
  });

  it('skips the submitter when climbing, and falls back to the finance controller at the top', () => {
    // E400 submits; the CFO E1001 reports to E400, so the escalation cannot go to their manager.
    const plan = planApproval(
      { report: report({ employeeId: 'E400', costCenter: 'CC-RND' }), directory: directory() },
      matrix,
    );
    const atCfo = decide(start(plan, T0), decision('E500'), [], later(1)).record;
    expect(atCfo.approver).toBe('E1001');
    expect(escalate(atCfo, later(26), matrix, directory()).record.approver).toBe('E900');

    // E100 submits and is (in this data) the CFO's manager: the escalation climbs past E100 to E200.
    const people = directory([
      { id: 'E1001', managerId: 'E100', active: true, approvalLimit: { amount: '1000000.00', currency: 'EUR' } },
    ]);
    const plan100 = planApproval({ report: report({ costCenter: 'CC-RND' }), directory: people }, matrix);
    const atCfo100 = decide(start(plan100, T0), decision('E500'), [], later(1)).record;
    expect(escalate(atCfo100, later(26), matrix, people).record.approver).toBe('E200');
  });

  it('does not escalate a decided approval', () => {
    const rejected = decide(started(), decision('E200', 'reject'), [], later(1)).record;
    expect(escalate(rejected, later(100), matrix, directory())).toEqual({ record: rejected, escalated: false });
  });

  it('does not let a redelivered decision count twice when its author is also the next approver', () => {
    // E200's stage escalated to E300, who is also the approver of stage 2: escalations no longer do that, but an
    // approval stored by an earlier version of the pack may still wait like this.
    const current = escalate(started(), later(25), matrix, directory()).record;
    const stageOne = { ...current.chain[0], approver: 'E300' };
    const escalated = { ...current, approver: 'E300', chain: [stageOne, current.chain[1]] };
    const first = decide(escalated, decision('E300', 'approve', later(26)), [], later(26));
    expect(first.record).toMatchObject({ stage: 2, approver: 'E300', state: 'pending_approval' });

    const redelivered = decide(first.record, decision('E300', 'approve', later(26)), [], later(27));
    expect(redelivered).toMatchObject({ outcome: 'advanced', duplicate: true });
    expect(redelivered.record.stage).toBe(2);

    const stageTwo = decide(first.record, decision('E300', 'approve', later(28)), [], later(28));
    expect(stageTwo).toMatchObject({ outcome: 'approved', duplicate: false });
  });
});
