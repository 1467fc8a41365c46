/**
 * The approval step as a finance control: nobody approves their own report under another spelling of their id,
 * a delegation counts only while valid, approval limits count for every approver, one person never takes two
 * checks of one chain, inactive people do not decide, and every cost center carrying a share brings its rule.
 */
import { authorityOf, delegatesOf, type Delegation } from '../../../lib/approval/delegation';
import { directoryOf } from '../../../lib/approval/directory-cache';
import { nextManager, type DirectoryEmployee } from '../../../lib/approval/directory';
import { compileMatrix, type ApprovalMatrix } from '../../../lib/approval/matrix';
import { decide, escalate, start, type ApprovalDecision } from '../../../lib/approval/process';
import { planApproval } from '../../../lib/approval/route';
import { ApprovalWorkflow } from '../../../lib/approval/workflow';
import type { BudgetStatus, ExpenseReport } from '../../../lib/model/types';
import { storeSandbox } from '../store/store-fixture';
import { directory, matrixConfig, report, type ReportOptions } from './fixtures';

const matrix = compileMatrix(matrixConfig());
const HOUR = 3_600_000;

function plan(
  options: ReportOptions = {},
  budgetStatus?: BudgetStatus,
  people = directory(),
  compiled = matrix,
  extra: Partial<ExpenseReport> = {},
) {
  return planApproval({ report: { ...report(options), ...extra }, budgetStatus, directory: people }, compiled);
}

const approvers = (result: ReturnType<typeof plan>): string[] => result.stages.map((stage) => stage.approver);

function decision(approver: string, at: Date): ApprovalDecision {
  return { decision: 'approve', approver, decidedAt: at.toISOString() };
}

function line(id: string, amount: string, costCenter: string, currency = 'EUR'): ExpenseReport['lines'][number] {
  return { lineId: id, date: '2025-03-01', amount: { amount, currency }, dimensions: { costCenter } };
}

describe('1. a person id is the same person in any letter case and without surrounding spaces', () => {
  it.each(['e900', 'E900 ', ' e900'])(
    'routes the controller\'s own report, sent as "%s", past the controller',
    (id) => {
      const result = plan({ employeeId: id }, 'exceeded');
      expect(approvers(result)).not.toContain('E900');
      expect(result.stages.some((stage) => stage.kind === 'finance_controller')).toBe(true);
    },
  );

  it('does not make a cost center owner or a named person the approver of their own report', () => {
    expect(approvers(plan({ employeeId: 'e500', costCenter: 'CC-RND' }))).not.toContain('E500');
    const named = compileMatrix(
      matrixConfig({ rules: [{ id: 'p', currency: 'EUR', approvers: [{ type: 'person', value: 'E1001' }] }] }),
    );
    expect(approvers(plan({ employeeId: ' E1001' }, undefined, directory(), named))).not.toContain('E1001');
  });

  it('skips the submitter in the manager chain and lets no delegation reach them', () => {
    expect(nextManager(directory(), 'E100', 'e200 ').skipped).toEqual(['E200 (the submitter)']);
    const toSubmitter: Delegation = { from: 'E200', to: 'e100', validFrom: '2025-03-01', validTo: '2025-03-31' };
    const noon = new Date('2025-03-12T12:00:00Z');
    expect(delegatesOf('E200', noon, [toSubmitter], 'E100')).toEqual([]);
    expect(authorityOf('E200', 'e100', noon, [toSubmitter], 'E100', noon)).toMatchObject({ allowed: false });
    expect(authorityOf('E200', 'e200', noon, [], 'E100', noon)).toEqual({ allowed: true });
  });

  it('refuses the submitter under another spelling even as the expected approver (routed before this check)', () => {
    const routed = start(plan({ employeeId: 'e900' }), new Date('2025-03-12T09:00:00Z'));
    const old = { ...routed, approver: 'E900', chain: [{ ...routed.chain[0], approver: 'E900' }] };
    const now = new Date('2025-03-12T10:00:00Z');
    expect(() => decide(old, decision('E900', now), [], now)).toThrow(
      expect.objectContaining({
        message: expect.stringContaining('E900 submitted the report and cannot decide on it'),
      }),
    );
  });

  it('finds an employee in the directory snapshot under any spelling of their id', () => {
    const snapshot = directoryOf({
      loadedAt: '2025-03-01T00:00:00Z',
      employees: [{ id: 'E100', managerId: 'E200', active: true }],
      costCenters: [],
    });
    expect(snapshot.employee(' e100')?.id).toBe('E100');
  });

  it('refuses the controller deciding their own report sent under another spelling', async () => {
    const sandbox = storeSandbox('approval-controls');
    try {
      const warnings: string[] = [];
      const flow = new ApprovalWorkflow({
        store: sandbox.open({ path: sandbox.newPath() }),
        namespace: 'finance-approval/controls',
        matrix,
        delegations: [],
        directory: () => Promise.resolve(directory()),
        clock: () => new Date('2025-03-12T09:00:00Z'),
        warn: (text) => warnings.push(text),
      });
      const started = await flow.start({
        payload: report({ employeeId: 'e900' }),
        finance: { source: 'src', id: 'evt-1' },
        budget: { status: 'exceeded' },
      });
      expect(started.record.approver).not.toBe('E900');
      const own = {
        target: { subject: { system: 'concur', id: 'RPT-1' } },
        decision: decision('E900', new Date('2025-03-12T09:00:00Z')),
      };
      await expect(flow.decide(own)).rejects.toMatchObject({ code: 'APPROVER_NOT_ALLOWED' });
      // The submitter is unknown under that spelling: the node says so.
      expect(warnings).toEqual([expect.stringContaining('The submitter e900 of concur/RPT-1 is not in the employee')]);
    } finally {
      await sandbox.cleanup();
    }
  });

  it('sends an unknown submitter to the finance controller with a warning, even below auto-approval', () => {
    const result = plan({ employeeId: 'E777', amount: '50.00' });
    expect(result).toMatchObject({ state: 'pending_approval', autoApproved: false });
    expect(approvers(result)).toEqual(['E900']);
    expect(result.stages[0].reason).toContain('the submitter E777 is not in the employee directory');
    expect(result.warnings).toHaveLength(1);
    expect(plan({ amount: '50.00' }).warnings).toBeUndefined();
  });
});

describe('2. a delegate decides only while their delegation is valid', () => {
  it('refuses a decision dated back into a delegation that ended before it was received', () => {
    const delegations: Delegation[] = [{ from: 'E200', to: 'E500', validFrom: '2025-03-01', validTo: '2025-03-02' }];
    const result = plan({}, undefined, directory(), matrix, { submittedAt: '2025-03-01T08:00:00Z' });
    const now = new Date('2025-03-20T10:00:00Z');
    const record = start(result, now);
    expect(() => decide(record, decision('E500', new Date('2025-03-02T12:00:00Z')), delegations, now)).toThrow(
      expect.objectContaining({
        code: 'APPROVER_NOT_ALLOWED',
        message: expect.stringContaining('but not when it was received (2025-03-20T10:00:00.000Z)'),
      }),
    );
    // While the delegation runs, the delegate decides.
    const during = new Date('2025-03-02T12:00:00Z');
    expect(decide(start(result, during), decision('E500', during), delegations, during).outcome).toBe('approved');
  });
});

describe('3. approval limits count for every approver', () => {
  const limited = (amount: string): DirectoryEmployee[] => [
    { id: 'E200', managerId: 'E300', active: true, approvalLimit: { amount, currency: 'EUR' } },
  ];

  it('climbs above a manager whose limit does not cover the total', () => {
    const result = plan({ amount: '900.00' }, undefined, directory(limited('150.00')));
    expect(approvers(result)).toEqual(['E200', 'E300']);
    expect(result.stages[1]).toMatchObject({
      kind: 'managerChain',
      reason:
        'the approval limit of E200 does not cover the total (approval limit 150.00 EUR does not cover the total): ' +
        'manager above E200; approval limit 5000.00 EUR covers the total',
    });
    expect(approvers(plan({ amount: '900.00' }))).toEqual(['E200']);
  });

  it('climbs above a named person, a cost center owner and a fixed-level chain alike', () => {
    const rules = (approvers: ApprovalMatrix['rules'][number]['approvers']) =>
      compileMatrix(matrixConfig({ rules: [{ id: 'r', currency: 'EUR', approvers }] }));
    // E300 (limit 5000) for 9000 EUR: E400 (100000) too.
    expect(
      approvers(plan({ amount: '9000.00' }, undefined, directory(), rules([{ type: 'person', value: 'E300' }]))),
    ).toEqual(['E300', 'E400']);
    // The owner E500 has no limit on record: the matrix names them for this band, and they decide alone (an ERP
    // whose employees carry no limits, as Business Central's and ERPNext's, would otherwise send every report up
    // the whole hierarchy).
    expect(
      approvers(
        plan({ amount: '500.00', costCenter: 'CC-RND' }, undefined, directory(), rules([{ type: 'costCenterOwner' }])),
      ),
    ).toEqual(['E500']);
    expect(
      approvers(plan({ amount: '1500.00' }, undefined, directory(), rules([{ type: 'managerChain', levels: 1 }]))),
    ).toEqual(['E200', 'E300']);
    // Covered: nothing added.
    expect(
      approvers(plan({ amount: '500.00' }, undefined, directory(), rules([{ type: 'managerChain', levels: 1 }]))),
    ).toEqual(['E200']);
  });

  it('ends at the finance controller when nobody above has a limit covering the total', () => {
    const result = plan(
      { amount: '500.00' },
      undefined,
      directory(limited('150.00').map((e) => ({ ...e, managerId: undefined }))),
    );
    expect(approvers(result)).toEqual(['E200', 'E900']);
    expect(result.stages[1].kind).toBe('finance_controller');
  });
});

describe('4. one person never takes two checks of one chain', () => {
  it('gives a role held by the manager to the next person above them', () => {
    const dual = compileMatrix(
      matrixConfig({
        roles: { controller: 'E900', cfo: 'E200' },
        rules: [{ id: 'dual', currency: 'EUR', approvers: [{ type: 'manager' }, { type: 'role', value: 'cfo' }] }],
      }),
    );
    const result = plan({ amount: '500.00' }, undefined, directory(), dual);
    expect(result.stages.map(({ approver, kind }) => [approver, kind])).toEqual([
      ['E200', 'manager'],
      ['E300', 'role'],
    ]);
  });

  it("gives the controller's review to the next person when the manager is the controller", () => {
    const managerIsController = compileMatrix(matrixConfig({ financeController: 'E200' }));
    const result = plan(
      { amount: '500.00', policyExceptions: [{ code: 'NO_RECEIPT', message: 'no receipt' }] },
      'exceeded',
      directory(),
      managerIsController,
    );
    expect(approvers(result)).toEqual(['E200', 'E300']);
    expect(result.stages[1].reason).toContain('E200 already decides stage 1, so E300, next above them, decides');
  });

  it('lets one person take both checks only when nobody else may, and warns', () => {
    const top = directory([{ id: 'E200', active: true, approvalLimit: { amount: '1000.00', currency: 'EUR' } }]);
    const result = plan(
      { amount: '500.00' },
      'exceeded',
      top,
      compileMatrix(matrixConfig({ financeController: 'E200' })),
    );
    expect(approvers(result)).toEqual(['E200']);
    expect(result.warnings).toEqual([expect.stringContaining('E200 takes two checks of one approval')]);
  });

  it("merges the controller's review into a stage the controller already holds as the controller", () => {
    const result = plan({ employeeId: 'E130' }, 'exceeded');
    expect(approvers(result)).toEqual(['E900']);
    expect(result.stages[0].reason).toContain('also finance controller review: the budget is exceeded');
  });
});

describe('5. inactive people do not decide', () => {
  it("gives an inactive controller's checks to their manager, with a warning", () => {
    const result = plan({}, 'exceeded', directory([{ id: 'E900', managerId: 'E400', active: false }]));
    expect(approvers(result)).toEqual(['E200', 'E400']);
    expect(result.stages[1].reason).toContain('the finance controller is inactive, so their manager decides');
    expect(result.warnings).toEqual([expect.stringContaining('The finance controller E900 is inactive')]);
  });

  it('refuses a controller the directory does not know with CONFIG_INVALID', () => {
    const unknown = compileMatrix(matrixConfig({ financeController: 'E4242' }));
    expect(() => plan({}, 'exceeded', directory(), unknown)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('E4242') }),
    );
  });

  it('refuses a decision by someone deactivated after routing, when the directory is given', () => {
    const now = new Date('2025-03-12T10:00:00Z');
    const record = start(plan(), new Date('2025-03-12T09:00:00Z'));
    const left = directory([{ id: 'E200', managerId: 'E300', active: false }]);
    expect(() => decide(record, decision('E200', now), [], now, left)).toThrow(
      expect.objectContaining({
        code: 'APPROVER_NOT_ALLOWED',
        message: expect.stringContaining('E200 is inactive in the employee directory, so cannot decide any more'),
      }),
    );
    expect(decide(record, decision('E200', now), [], now, directory()).outcome).toBe('approved');
  });

  it('refuses, in the workflow, a decision by an approver deactivated since routing', async () => {
    const sandbox = storeSandbox('approval-controls-inactive');
    try {
      let people = directory();
      const flow = new ApprovalWorkflow({
        store: sandbox.open({ path: sandbox.newPath() }),
        namespace: 'finance-approval/controls',
        matrix,
        delegations: [],
        directory: () => Promise.resolve(people),
        clock: () => new Date('2025-03-12T09:00:00Z'),
      });
      await flow.start({ payload: report(), finance: { source: 'src', id: 'evt-1' } });
      people = directory([{ id: 'E200', managerId: 'E300', active: false }]);
      const late = {
        target: { subject: { system: 'concur', id: 'RPT-1' } },
        decision: decision('E200', new Date('2025-03-12T09:00:00Z')),
      };
      await expect(flow.decide(late)).rejects.toMatchObject({
        code: 'APPROVER_NOT_ALLOWED',
        message: expect.stringContaining('E200 is inactive in the employee directory'),
      });
    } finally {
      await sandbox.cleanup();
    }
  });

  it('does not escalate to an inactive controller', () => {
    // E200 has nobody above them, so an overdue stage of theirs goes to the controller, unless inactive.
    const topE200 = { id: 'E200', active: true, approvalLimit: { amount: '1000.00', currency: 'EUR' } };
    const started = start(plan({}, undefined, directory([topE200])), new Date(0));
    const due = new Date(100 * HOUR);
    expect(escalate(started, due, matrix, directory([topE200])).record.approver).toBe('E900');
    const inactive = directory([topE200, { id: 'E900', managerId: 'E400', active: false }]);
    expect(escalate(started, due, matrix, inactive).record.approver).toBe('E200');
  });
});

describe('6. every cost center carrying a share brings its rule', () => {
  it("applies CC-RND's rule to a report split to keep CC-RND the smaller share", () => {
    const split = plan({
      amount: '9000.00',
      lines: [line('L1', '4400.00', 'CC-RND'), line('L2', '4600.00', 'CC-OPS')],
    });
    expect(split.ruleId).toBe('large+rnd');
    expect(split.stages.map(({ approver, ruleId }) => [approver, ruleId])).toEqual([
      ['E200', 'large'],
      ['E300', 'large'],
      ['E400', 'large'],
      ['E500', 'rnd'],
      ['E1001', 'rnd'],
    ]);
    expect(split.reason).toContain('for cost center CC-RND, which carries part of the report');
  });

  it('counts a line in another currency, but not a credit', () => {
    const foreign = plan({
      amount: '500.00',
      lines: [line('L1', '500.00', 'CC-OPS'), line('L2', '20.00', 'CC-RND', 'USD')],
    });
    expect(approvers(foreign)).toContain('E500');
    const credit = plan({ amount: '500.00', lines: [line('L1', '520.00', 'CC-OPS'), line('L2', '-20.00', 'CC-RND')] });
    expect(credit.ruleId).toBe('medium');
  });
});
