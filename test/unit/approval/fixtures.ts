/**
 * A small organisation for the approval tests:
 *
 *   E400 (limit 100000.00 EUR, top)            E1001 CFO (manager E400, limit 1000000.00 EUR)
 *    └ E300 (limit 5000.00 EUR)                E900 finance controller (manager E400)
 *       └ E200 (limit 1000.00 EUR)             E950 second controller (no manager)
 *          └ E100 submitter                    E500 owner of CC-RND
 *       └ E210 (inactive)
 *          └ E110 submitter
 *   E120 has no manager; E130's manager E999 is unknown; E600 and E601 manage each other (bad data).
 */
import type { ApprovalDirectory, DirectoryEmployee } from '../../../lib/approval/directory';
import type { ApprovalMatrix } from '../../../lib/approval/matrix';
import type { ExpenseLine, ExpenseReport, PolicyException } from '../../../lib/model/types';

const EMPLOYEES: DirectoryEmployee[] = [
  { id: 'E100', managerId: 'E200', active: true },
  { id: 'E110', managerId: 'E210', active: true },
  { id: 'E120', active: true },
  { id: 'E130', managerId: 'E999', active: true },
  { id: 'E200', managerId: 'E300', active: true, approvalLimit: { amount: '1000.00', currency: 'EUR' } },
  { id: 'E210', managerId: 'E300', active: false, approvalLimit: { amount: '1000.00', currency: 'EUR' } },
  { id: 'E300', managerId: 'E400', active: true, approvalLimit: { amount: '5000.00', currency: 'EUR' } },
  { id: 'E400', active: true, approvalLimit: { amount: '100000.00', currency: 'EUR' } },
  { id: 'E500', managerId: 'E400', active: true },
  { id: 'E600', managerId: 'E601', active: true },
  { id: 'E601', managerId: 'E600', active: true, approvalLimit: { amount: '100.00', currency: 'EUR' } },
  { id: 'E900', managerId: 'E400', active: true },
  { id: 'E950', active: true },
  { id: 'E1001', managerId: 'E400', active: true, approvalLimit: { amount: '1000000.00', currency: 'EUR' } },
];

export function directory(overrides: DirectoryEmployee[] = []): ApprovalDirectory {
  const byId = new Map([...EMPLOYEES, ...overrides].map((employee) => [employee.id, employee]));
  const owners = new Map([['CC-RND', 'E500']]);
  return {
    employee: (id) => byId.get(id),
    costCenterOwner: (code) => owners.get(code),
  };
}

export function matrixConfig(overrides: Partial<ApprovalMatrix> = {}): ApprovalMatrix {
  return {
    financeController: 'controller',
    roles: { controller: 'E900', cfo: 'E1001' },
    slaHours: 24,
    rules: [
      { id: 'small', currency: 'EUR', maxAmount: '100.00', approvers: [], autoApprove: true },
      { id: 'medium', currency: 'EUR', minAmount: '100.00', maxAmount: '1000.00', approvers: [{ type: 'manager' }] },
      { id: 'large', currency: 'EUR', minAmount: '1000.00', approvers: [{ type: 'managerChain' }] },
      { id: 'jpy-small', currency: 'JPY', maxAmount: '10000', approvers: [{ type: 'manager' }] },
      { id: 'jpy-large', currency: 'JPY', minAmount: '10000', approvers: [{ type: 'managerChain', levels: 2 }] },
      {
        id: 'rnd',
        currency: 'EUR',
        costCenter: 'CC-RND',
        minAmount: '100.00',
        approvers: [{ type: 'costCenterOwner' }, { type: 'role', value: 'cfo' }],
      },
    ],
    ...overrides,
  };
}

export interface ReportOptions {
  employeeId?: string;
  amount?: string;
  currency?: string;
  costCenter?: string;
  lines?: ExpenseLine[];
  policyExceptions?: PolicyException[];
}

/** A report with one line carrying the whole total, unless lines are given. */
export function report(options: ReportOptions = {}): ExpenseReport {
  const currency = options.currency ?? 'EUR';
  const amount = options.amount ?? '500.00';
  return {
    docType: 'ExpenseReport',
    sourceRef: { system: 'concur', id: 'RPT-1', version: 1 },
    reportId: 'RPT-1',
    employeeId: options.employeeId ?? 'E100',
    company: 'C01',
    submittedAt: '2025-03-03T08:00:00.000Z',
    state: 'submitted',
    total: { amount, currency },
    lines: options.lines ?? [
      {
        lineId: 'L1',
        date: '2025-03-01',
        amount: { amount, currency },
        dimensions: { costCenter: options.costCenter ?? 'CC-OPS' },
      },
    ],
    ...(options.policyExceptions && { policyExceptions: options.policyExceptions }),
  };
}
