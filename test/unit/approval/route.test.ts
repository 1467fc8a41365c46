import { compileMatrix } from '../../../lib/approval/matrix';
import { planApproval, type ApprovalPlan } from '../../../lib/approval/route';
import type { BudgetStatus, ExpenseReport } from '../../../lib/model/types';
import { directory, matrixConfig, report, type ReportOptions } from './fixtures';

const matrix = compileMatrix(matrixConfig());

function plan(options: ReportOptions = {}, budgetStatus?: BudgetStatus, people = directory()): ApprovalPlan {
  return planApproval({ report: report(options), budgetStatus, directory: people }, matrix);
}

function approvers(result: ApprovalPlan): string[] {
  return result.stages.map((stage) => stage.approver);
}

describe('planApproval: bands and auto-approval', () => {
  it('approves automatically in an auto-approve band with no exception and the budget not exceeded', () => {
    const result = plan({ amount: '99.99' }, 'within');
    expect(result).toMatchObject({ state: 'approved', autoApproved: true, ruleId: 'small', stages: [] });
    expect(result.reason).toBe(
      'Approved automatically: rule small approves 0.00 up to but not including 100.00 EUR automatically, ' +
        'with no policy exception and the budget not exceeded.',
    );
  });

  it('routes the band minimum to the next band (min inclusive, max exclusive)', () => {
    const result = plan({ amount: '100.00' });
    expect(result).toMatchObject({ state: 'pending_approval', autoApproved: false, ruleId: 'medium' });
    expect(approvers(result)).toEqual(['E200']);
  });

  it('picks JPY bands on whole yen', () => {
    expect(plan({ amount: '9999', currency: 'JPY' }).ruleId).toBe('jpy-small');
    expect(plan({ amount: '10000', currency: 'JPY' }).ruleId).toBe('jpy-large');
  });

  it('does not auto-approve with a report-level policy exception; the finance controller decides', () => {
    const result = plan({ amount: '20.00', policyExceptions: [{ code: 'LATE', message: 'Submitted after 60 days' }] });
    expect(result.state).toBe('pending_approval');
    expect(result.autoApproved).toBe(false);
    expect(result.stages).toEqual([
      {
        stage: 1,
        approver: 'E900',
        kind: 'finance_controller',
        reason: 'finance controller review: policy exceptions: LATE',
        ruleId: 'small',
      },
    ]);
  });

  it('does not auto-approve over budget and adds the finance controller after the band approvers', () => {
    const small = plan({ amount: '20.00' }, 'exceeded');
    expect(approvers(small)).toEqual(['E900']);
    expect(small.stages[0].reason).toBe('finance controller review: the budget is exceeded');

    const medium = plan({ amount: '500.00' }, 'exceeded');
    expect(approvers(medium)).toEqual(['E200', 'E900']);
  });

  it('treats a budget warning as within budget', () => {
    expect(plan({ amount: '20.00' }, 'warning').state).toBe('approved');
    expect(approvers(plan({ amount: '500.00' }, 'warning'))).toEqual(['E200']);
  });

  it('adds the finance controller for a line-level exception and reports it with its line', () => {
    const lines: ExpenseReport['lines'] = [
      {
        lineId: 'L1',
        date: '2025-03-01',
        amount: { amount: '300.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-OPS' },
      },
      {
        lineId: 'L2',
        date: '2025-03-02',
        amount: { amount: '200.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-OPS' },
        policyExceptions: [{ code: 'NO_RECEIPT', message: 'Receipt missing' }],
      },
    ];
    const result = plan({ amount: '500.00', lines, policyExceptions: [{ code: 'LATE', message: 'Late' }] }, 'exceeded');
    expect(approvers(result)).toEqual(['E200', 'E900']);
    expect(result.stages[1].reason).toBe(
      'finance controller review: the budget is exceeded; policy exceptions: LATE, NO_RECEIPT',
    );
    expect(result.policyExceptions).toEqual([
      { code: 'LATE', message: 'Late' },
      { code: 'NO_RECEIPT', message: 'Receipt missing', lineId: 'L2' },
    ]);
  });

  it('auto-approves below the matrix threshold of the currency, and not at it', () => {
    const thresholdMatrix = compileMatrix(
      matrixConfig({
        autoApproveBelow: { EUR: '50.00' },
        rules: [{ id: 'all', currency: 'EUR', approvers: [{ type: 'manager' }] }],
      }),
    );
    const route = (amount: string): ApprovalPlan =>
      planApproval({ report: report({ amount }), directory: directory() }, thresholdMatrix);
    expect(route('49.99')).toMatchObject({ state: 'approved', autoApproved: true, stages: [] });
    expect(route('49.99').reason).toContain('the total is below the auto-approval threshold of 50.00 EUR');
    expect(approvers(route('50.00'))).toEqual(['E200']);
  });

  it('fails clearly when the matrix has no rule for the report currency', () => {
    expect(() => plan({ amount: '10.00', currency: 'USD' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('no rule for USD') }),
    );
  });

  it('refuses a malformed total with INVALID_AMOUNT naming the field', () => {
    expect(() => plan({ amount: '12.345' })).toThrow(
      expect.objectContaining({ code: 'INVALID_AMOUNT', message: expect.stringContaining('report.total.amount') }),
    );
  });
});

describe('planApproval: manager chain', () => {
  it('climbs until an approval limit covers the total', () => {
    const result = plan({ amount: '1200.00' });
    expect(approvers(result)).toEqual(['E200', 'E300']);
    expect(result.stages.map((stage) => stage.reason)).toEqual([
      'manager chain level 1 above E100; approval limit 1000.00 EUR does not cover the total',
      'manager chain level 2 above E100; approval limit 5000.00 EUR covers the total',
    ]);
  });

  it('stops at the first manager whose limit equals the total exactly', () => {
    expect(approvers(plan({ amount: '5000.00' }))).toEqual(['E200', 'E300']);
    expect(approvers(plan({ amount: '5000.01' }))).toEqual(['E200', 'E300', 'E400']);
  });

  it('hands the decision to the finance controller when nobody up the chain has a high enough limit', () => {
    const result = plan({ amount: '200000.00' });
    expect(approvers(result)).toEqual(['E200', 'E300', 'E400', 'E900']);
    expect(result.stages[3]).toMatchObject({
      kind: 'finance_controller',
      reason: 'no manager above E100 has an approval limit covering the total (E400 has no manager)',
    });
  });

  it("takes the configured number of levels, then climbs on while the last one's limit does not cover the total", () => {
    // Formerly just E200, E300: limits were ignored. The limits here are in EUR, so none covers a JPY total.
    expect(approvers(plan({ amount: '10000', currency: 'JPY' }))).toEqual(['E200', 'E300', 'E400', 'E900']);
  });

  it('skips an inactive manager and says so', () => {
    const result = plan({ employeeId: 'E110' });
    expect(approvers(result)).toEqual(['E300']);
    expect(result.stages[0].reason).toBe('manager of E110; skipped E210 (inactive)');
  });

  it('never routes a report to its submitter, even when the hierarchy loops back to them', () => {
    const result = plan({ employeeId: 'E600', amount: '1500.00' });
    expect(approvers(result)).toEqual(['E601', 'E900']);
    expect(result.stages[1].reason).toBe(
      'no manager above E600 has an approval limit covering the total (the manager chain loops back to E601); skipped E600 (the submitter)',
    );
  });

  it('routes to the finance controller when the submitter has no manager', () => {
    const result = plan({ employeeId: 'E120' });
    expect(result.stages).toEqual([
      {
        stage: 1,
        approver: 'E900',
        kind: 'finance_controller',
        reason: 'no manager found (E120 has no manager)',
        ruleId: 'medium',
      },
    ]);
  });

  it('routes to the finance controller when the manager or the submitter is not in the directory', () => {
    expect(plan({ employeeId: 'E130' }).stages[0]).toMatchObject({
      approver: 'E900',
      reason: 'no manager found (manager E999 of E130 is not in the employee directory)',
    });
    // An unknown submitter also gets the controller's review, with a warning (formerly silent).
    const unknown = plan({ employeeId: 'E777' });
    expect(unknown.stages).toHaveLength(1);
    expect(unknown.stages[0]).toMatchObject({
      approver: 'E900',
      reason:
        'no manager found (E777 is not in the employee directory); also finance controller review: the submitter E777 is not in the employee directory',
    });
    expect(unknown.warnings).toEqual([
      expect.stringContaining('The submitter E777 of concur/RPT-1 is not in the employee directory'),
    ]);
  });

  it('fills missing levels with the finance controller', () => {
    const result = plan({ employeeId: 'E300', amount: '20000', currency: 'JPY' });
    expect(approvers(result)).toEqual(['E400', 'E900']);
    expect(result.stages[1].reason).toBe('only 1 of 2 manager levels exist above E300 (E400 has no manager)');
  });
});

describe('planApproval: roles, people, cost center owners and the controller', () => {
  it('routes by the rule of every cost center carrying part of the report, the largest share first', () => {
    const lines: ExpenseReport['lines'] = [
      {
        lineId: 'L1',
        date: '2025-03-01',
        amount: { amount: '60.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-RND' },
      },
      {
        lineId: 'L2',
        date: '2025-03-01',
        amount: { amount: '100.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-OPS' },
      },
      {
        lineId: 'L3',
        date: '2025-03-01',
        amount: { amount: '60.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-RND' },
      },
    ];
    const result = plan({ amount: '220.00', lines });
    // Formerly CC-RND's rule alone: CC-OPS's share (rule medium, the manager) went unchecked.
    expect(result).toMatchObject({ ruleId: 'rnd+medium', costCenter: 'CC-RND', company: 'C01' });
    expect(result.stages).toEqual([
      { stage: 1, approver: 'E500', kind: 'costCenterOwner', reason: 'owner of cost center CC-RND', ruleId: 'rnd' },
      { stage: 2, approver: 'E1001', kind: 'role', reason: 'role cfo', ruleId: 'rnd' },
      { stage: 3, approver: 'E200', kind: 'manager', reason: 'manager of E100', ruleId: 'medium' },
    ]);
  });

  it('replaces a role holder who is the submitter with the finance controller', () => {
    const result = plan({ employeeId: 'E1001', costCenter: 'CC-RND' });
    expect(result.stages.map(({ approver, reason }) => ({ approver, reason }))).toEqual([
      { approver: 'E500', reason: 'owner of cost center CC-RND' },
      { approver: 'E900', reason: 'role cfo E1001 is the submitter' },
    ]);
  });

  it('replaces an inactive named person with the finance controller', () => {
    const result = plan({ costCenter: 'CC-RND' }, undefined, directory([{ id: 'E1001', active: false }]));
    expect(result.stages[1]).toMatchObject({ approver: 'E900', reason: 'role cfo E1001 is inactive' });
  });

  it('routes to the finance controller when the cost center has no owner', () => {
    const ownerless = compileMatrix(
      matrixConfig({ rules: [{ id: 'o', currency: 'EUR', approvers: [{ type: 'costCenterOwner' }] }] }),
    );
    const result = planApproval({ report: report({ costCenter: 'CC-OPS' }), directory: directory() }, ownerless);
    expect(result.stages[0]).toMatchObject({ approver: 'E900', reason: 'cost center CC-OPS has no owner' });
  });

  it('gives the second check of someone named twice to the next person above them', () => {
    const twice = compileMatrix(matrixConfig({ financeController: 'E200' }));
    const result = planApproval(
      { report: report({ amount: '500.00' }), budgetStatus: 'exceeded', directory: directory() },
      twice,
    );
    // Formerly one stage: E200 took both the manager's and the controller's check.
    expect(result.stages).toEqual([
      { stage: 1, approver: 'E200', kind: 'manager', reason: 'manager of E100', ruleId: 'medium' },
      {
        stage: 2,
        approver: 'E300',
        kind: 'finance_controller',
        reason:
          'finance controller review: the budget is exceeded; E200 already decides stage 1, so E300, next above them, decides',
        ruleId: 'medium',
      },
    ]);
  });

  it("sends the finance controller's own report with an exception to the controller's manager", () => {
    const result = plan({ employeeId: 'E900', amount: '20.00', policyExceptions: [{ code: 'LATE', message: 'Late' }] });
    expect(result.stages).toEqual([
      {
        stage: 1,
        approver: 'E400',
        kind: 'finance_controller',
        reason:
          'finance controller review: policy exceptions: LATE; the finance controller submitted the report, so their manager decides',
        ruleId: 'small',
      },
    ]);
  });

  it('fails clearly when the finance controller submitted and has nobody above them', () => {
    const lonely = compileMatrix(matrixConfig({ financeController: 'E950' }));
    expect(() =>
      planApproval(
        { report: report({ employeeId: 'E950', amount: '20.00' }), budgetStatus: 'exceeded', directory: directory() },
        lonely,
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('The finance controller E950 submitted this report'),
      }),
    );
  });

  it('refuses a report without a submitter with SCHEMA_INVALID', () => {
    const anonymous = { ...report(), employeeId: '' };
    expect(() => planApproval({ report: anonymous, directory: directory() }, matrix)).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID' }),
    );
  });

  it('carries what the approval record needs', () => {
    const result = plan({ amount: '500' });
    expect(result).toMatchObject({
      submitterId: 'E100',
      total: { amount: '500.00', currency: 'EUR' },
      sourceRef: { system: 'concur', id: 'RPT-1', version: 1 },
      submittedAt: '2025-03-03T08:00:00.000Z',
      slaHours: 24,
      reason: 'Routed by rule medium (100.00 up to but not including 1000.00 EUR, company *, cost center *).',
    });
  });
});
