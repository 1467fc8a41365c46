/**
 * The demo data the sandbox starts with (and returns to on reset): "FS-DEMO", a European company booking in
 * EUR, and "FS-JP", a small Japanese subsidiary booking in JPY (no decimals, to exercise currency exponents).
 * Budgets cover every month of the current year; a few are deliberately tight so a demo shows over-budget
 * outcomes after one or two documents.
 */
import type { CostCenter, Employee, GlAccount, Project, Supplier, TaxCode } from '../model/types';
import type { BudgetLine, Company, MasterRecords, SeedCompany } from './types';

type Row<T> = Omit<T, 'modifiedAt' | 'company'>;

interface CompanySeed {
  company: Company;
  employees: Row<Employee>[];
  suppliers: Row<Supplier>[];
  costCenters: Row<CostCenter>[];
  projects: Row<Project>[];
  glAccounts: Row<GlAccount>[];
  taxCodes: Row<TaxCode>[];
  /** Monthly budget of a cost center on a GL account, in the company currency. */
  costCenterBudgets: Array<[costCenter: string, glAccount: string, monthly: string]>;
  /** Monthly budget of a project over all its accounts. */
  projectBudgets: Array<[project: string, monthly: string]>;
}

function eur(amount: string) {
  return { amount, currency: 'EUR' };
}

function jpy(amount: string) {
  return { amount, currency: 'JPY' };
}

function person(
  id: string,
  name: string,
  costCenter: string,
  managerId: string | undefined,
  approvalLimit: { amount: string; currency: string },
  domain: string,
  active = true,
): Row<Employee> {
  const email = `${name
    .toLowerCase()
    .replace(/[^a-z ]/g, '')
    .replace(/ /g, '.')}@${domain}`;
  return { id, name, email, costCenter, approvalLimit, active, ...(managerId ? { managerId } : {}) };
}

const FS_DEMO: CompanySeed = {
  company: { id: 'FS-DEMO', name: 'Finance Sync Demo GmbH', currency: 'EUR' },
  employees: [
    // Management and finance: the CEO approves anything, the CFO and the finance controller handle exceptions.
    person('E1001', 'Helena Vogt', 'CC-100', undefined, eur('1000000.00'), 'fs-demo.example'),
    person('E1002', 'Marc Dubois', 'CC-100', 'E1001', eur('250000.00'), 'fs-demo.example'),
    person('E1003', 'Sofia Marques', 'CC-100', 'E1002', eur('50000.00'), 'fs-demo.example'),
    // Department heads.
    person('E1004', 'Jonas Berg', 'CC-200', 'E1001', eur('25000.00'), 'fs-demo.example'),
    person('E1005', 'Aisha Khan', 'CC-300', 'E1001', eur('25000.00'), 'fs-demo.example'),
    person('E1006', 'Lukas Novak', 'CC-400', 'E1001', eur('25000.00'), 'fs-demo.example'),
    person('E1007', 'Emma Laurent', 'CC-500', 'E1001', eur('25000.00'), 'fs-demo.example'),
    person('E1008', 'Pieter de Vries', 'CC-600', 'E1001', eur('15000.00'), 'fs-demo.example'),
    // Team leads and staff.
    person('E1009', 'Nina Schulz', 'CC-100', 'E1003', eur('500.00'), 'fs-demo.example'),
    person('E1010', 'Tom Becker', 'CC-100', 'E1003', eur('500.00'), 'fs-demo.example'),
    person('E1011', 'Carla Rossi', 'CC-200', 'E1013', eur('500.00'), 'fs-demo.example'),
    person('E1012', 'David Okafor', 'CC-200', 'E1013', eur('500.00'), 'fs-demo.example'),
    person('E1013', 'Lea Wagner', 'CC-200', 'E1004', eur('5000.00'), 'fs-demo.example'),
    person('E1014', 'Hugo Martin', 'CC-200', 'E1013', eur('500.00'), 'fs-demo.example'),
    person('E1015', 'Mia Jensen', 'CC-300', 'E1016', eur('500.00'), 'fs-demo.example'),
    person('E1016', 'Oliver Smith', 'CC-300', 'E1005', eur('5000.00'), 'fs-demo.example'),
    person('E1017', 'Yuki Tanaka', 'CC-400', 'E1018', eur('500.00'), 'fs-demo.example'),
    person('E1018', 'Pablo Garcia', 'CC-400', 'E1006', eur('10000.00'), 'fs-demo.example'),
    person('E1019', 'Anna Kowalska', 'CC-400', 'E1018', eur('500.00'), 'fs-demo.example'),
    person('E1020', 'Liam O Brien', 'CC-400', 'E1018', eur('500.00'), 'fs-demo.example'),
    person('E1021', 'Sara Lindqvist', 'CC-500', 'E1007', eur('500.00'), 'fs-demo.example'),
    person('E1022', 'Mateo Fernandez', 'CC-500', 'E1007', eur('2500.00'), 'fs-demo.example'),
    person('E1023', 'Julia Klein', 'CC-600', 'E1008', eur('500.00'), 'fs-demo.example'),
    person('E1024', 'Noah Weber', 'CC-600', 'E1008', eur('500.00'), 'fs-demo.example'),
    // Left the company: still in the directory, no longer routable.
    person('E1025', 'Ines Costa', 'CC-200', 'E1013', eur('500.00'), 'fs-demo.example', false),
  ],
  suppliers: [
    {
      id: 'SUP-1001',
      name: 'Buerobedarf Mueller GmbH',
      country: 'DE',
      currency: 'EUR',
      status: 'active',
      taxCodes: ['DE-19', 'DE-7'],
    },
    {
      id: 'SUP-1002',
      name: 'Lisboa Catering Lda',
      country: 'PT',
      currency: 'EUR',
      status: 'active',
      taxCodes: ['PT-23'],
    },
    { id: 'SUP-1003', name: 'Nordic Cloud AB', country: 'SE', currency: 'SEK', status: 'active', taxCodes: ['SE-25'] },
    {
      id: 'SUP-1004',
      name: 'Acme Software Inc.',
      country: 'US',
      currency: 'USD',
      status: 'active',
      taxCodes: ['US-0'],
    },
    {
      id: 'SUP-1005',
      name: 'Paris Evenements SARL',
      country: 'FR',
      currency: 'EUR',
      status: 'active',
      taxCodes: ['FR-20'],
    },
    {
      id: 'SUP-1006',
      name: 'Dutch Travel Partners BV',
      country: 'NL',
      currency: 'EUR',
      status: 'active',
      taxCodes: ['NL-21'],
    },
    { id: 'SUP-1007', name: 'Tokyo Devices KK', country: 'JP', currency: 'JPY', status: 'active', taxCodes: ['JP-10'] },
    { id: 'SUP-1008', name: 'Thames Legal LLP', country: 'GB', currency: 'GBP', status: 'active', taxCodes: ['GB-20'] },
    // Blocked after a failed compliance check: purchase orders and payables to it are refused.
    {
      id: 'SUP-1009',
      name: 'Northwind Trading Ltd',
      country: 'GB',
      currency: 'GBP',
      status: 'blocked',
      taxCodes: ['GB-20'],
    },
    {
      id: 'SUP-1010',
      name: 'Hotel Wienblick GmbH',
      country: 'AT',
      currency: 'EUR',
      status: 'active',
      taxCodes: ['AT-20'],
    },
  ],
  costCenters: [
    { id: 'CC-100', name: 'Finance and Management', ownerId: 'E1002', open: true },
    { id: 'CC-200', name: 'Sales', ownerId: 'E1004', open: true },
    { id: 'CC-300', name: 'Marketing', ownerId: 'E1005', open: true },
    { id: 'CC-400', name: 'Engineering', ownerId: 'E1006', open: true },
    { id: 'CC-500', name: 'Operations', ownerId: 'E1007', open: true },
    { id: 'CC-600', name: 'People', ownerId: 'E1008', open: true },
  ],
  projects: [
    { id: 'PRJ-2001', name: 'ERP migration', status: 'open', ownerId: 'E1003' },
    { id: 'PRJ-2002', name: 'Product launch Aurora', status: 'open', ownerId: 'E1005' },
    { id: 'PRJ-2003', name: 'Lisbon office fit-out', status: 'open', ownerId: 'E1007' },
    // Finished: nothing may be charged to it any more.
    { id: 'PRJ-1907', name: 'Trade fair Hannover (done)', status: 'closed', ownerId: 'E1016' },
  ],
  glAccounts: [
    { id: '6000', name: 'Travel', type: 'expense', open: true },
    { id: '6010', name: 'Meals and entertainment', type: 'expense', open: true },
    { id: '6020', name: 'Accommodation', type: 'expense', open: true },
    { id: '6100', name: 'Office supplies', type: 'expense', open: true },
    { id: '6200', name: 'Software subscriptions', type: 'expense', open: true },
    { id: '6210', name: 'Cloud hosting', type: 'expense', open: true },
    { id: '6300', name: 'Consulting and legal fees', type: 'expense', open: true },
    { id: '6400', name: 'Marketing and events', type: 'expense', open: true },
    { id: '6500', name: 'Training', type: 'expense', open: true },
    { id: '6600', name: 'Telephone and internet', type: 'expense', open: true },
    { id: '0650', name: 'Office equipment', type: 'asset', open: true },
    // A suspense account that is blocked for direct postings.
    { id: '6999', name: 'Suspense (do not use)', type: 'expense', open: false },
  ],
  taxCodes: [
    { id: 'DE-19', name: 'Germany standard rate', country: 'DE', rate: '19.00' },
    { id: 'DE-7', name: 'Germany reduced rate', country: 'DE', rate: '7.00' },
    { id: 'FR-20', name: 'France standard rate', country: 'FR', rate: '20.00' },
    { id: 'NL-21', name: 'Netherlands standard rate', country: 'NL', rate: '21.00' },
    { id: 'AT-20', name: 'Austria standard rate', country: 'AT', rate: '20.00' },
    { id: 'PT-23', name: 'Portugal standard rate', country: 'PT', rate: '23.00' },
    { id: 'SE-25', name: 'Sweden standard rate', country: 'SE', rate: '25.00' },
    { id: 'GB-20', name: 'United Kingdom standard rate', country: 'GB', rate: '20.00' },
    { id: 'US-0', name: 'United States, no VAT', country: 'US', rate: '0.00' },
    { id: 'JP-10', name: 'Japan consumption tax', country: 'JP', rate: '10.00' },
  ],
  costCenterBudgets: [
    ['CC-100', '6300', '8000.00'],
    ['CC-100', '6200', '3000.00'],
    ['CC-100', '6000', '1500.00'],
    ['CC-200', '6000', '6000.00'],
    ['CC-200', '6010', '1200.00'],
    ['CC-200', '6020', '3000.00'],
    ['CC-300', '6400', '12000.00'],
    ['CC-300', '6010', '300.00'], // tight: one team dinner exceeds it
    ['CC-300', '6000', '800.00'], // tight
    ['CC-400', '6200', '5000.00'],
    ['CC-400', '6210', '9000.00'],
    ['CC-400', '6500', '1000.00'],
    ['CC-400', '0650', '4000.00'],
    ['CC-500', '6100', '1500.00'],
    ['CC-500', '6600', '700.00'],
    ['CC-500', '0650', '2000.00'],
    ['CC-600', '6500', '2500.00'],
    ['CC-600', '6000', '500.00'], // tight
  ],
  projectBudgets: [
    ['PRJ-2001', '20000.00'],
    ['PRJ-2002', '15000.00'],
    ['PRJ-2003', '5000.00'],
  ],
};

const FS_JP: CompanySeed = {
  company: { id: 'FS-JP', name: 'Finance Sync Japan KK', currency: 'JPY' },
  employees: [
    person('J001', 'Kenji Sato', 'JP-10', undefined, jpy('5000000'), 'fs-jp.example'),
    person('J002', 'Aiko Yamamoto', 'JP-20', 'J001', jpy('2000000'), 'fs-jp.example'),
    person('J003', 'Haruto Suzuki', 'JP-20', 'J002', jpy('50000'), 'fs-jp.example'),
  ],
  suppliers: [
    {
      id: 'JSUP-01',
      name: 'Sakura Office Supplies KK',
      country: 'JP',
      currency: 'JPY',
      status: 'active',
      taxCodes: ['JP-10'],
    },
    {
      id: 'JSUP-02',
      name: 'Kansai Travel Co.',
      country: 'JP',
      currency: 'JPY',
      status: 'active',
      taxCodes: ['JP-10', 'JP-8'],
    },
  ],
  costCenters: [
    { id: 'JP-10', name: 'Tokyo sales', ownerId: 'J001', open: true },
    { id: 'JP-20', name: 'Tokyo engineering', ownerId: 'J002', open: true },
  ],
  projects: [{ id: 'JP-PRJ-01', name: 'Osaka showroom', status: 'open', ownerId: 'J001' }],
  glAccounts: [
    { id: '6000', name: 'Travel', type: 'expense', open: true },
    { id: '6200', name: 'Software subscriptions', type: 'expense', open: true },
    { id: '6400', name: 'Marketing and events', type: 'expense', open: true },
  ],
  taxCodes: [
    { id: 'JP-10', name: 'Consumption tax standard rate', country: 'JP', rate: '10.00' },
    { id: 'JP-8', name: 'Consumption tax reduced rate', country: 'JP', rate: '8.00' },
  ],
  costCenterBudgets: [
    ['JP-10', '6000', '300000'],
    ['JP-10', '6400', '1500000'],
    ['JP-20', '6200', '800000'],
  ],
  projectBudgets: [['JP-PRJ-01', '2000000']],
};

const DAY_MS = 24 * 60 * 60 * 1000;

function budgetLines(seed: CompanySeed, year: number): BudgetLine[] {
  const lines: BudgetLine[] = [];
  for (let month = 1; month <= 12; month += 1) {
    const period = `${year}-${String(month).padStart(2, '0')}`;
    for (const [costCenter, glAccount, monthly] of seed.costCenterBudgets) {
      lines.push({
        id: `BUD-${costCenter}-${glAccount}-${period}`,
        costCenter,
        glAccount,
        period,
        amount: { amount: monthly, currency: seed.company.currency },
      });
    }
    for (const [project, monthly] of seed.projectBudgets) {
      lines.push({
        id: `BUD-${project}-${period}`,
        project,
        period,
        amount: { amount: monthly, currency: seed.company.currency },
      });
    }
  }
  return lines;
}

/**
 * Master records get distinct modification times a day before `now`, one second apart in seed order, so paging
 * by (modifiedAt, id) is stable and any later change sorts after every seeded record.
 */
function masterRecords(seed: CompanySeed, now: Date): MasterRecords {
  let tick = now.getTime() - DAY_MS;
  const stamp = <T>(rows: T[]): Array<T & { modifiedAt: string; company: string }> =>
    rows.map((row) => {
      tick += 1000;
      return { ...row, company: seed.company.id, modifiedAt: new Date(tick).toISOString() };
    });
  return {
    employees: stamp(seed.employees),
    suppliers: stamp(seed.suppliers),
    costCenters: stamp(seed.costCenters),
    projects: stamp(seed.projects),
    glAccounts: stamp(seed.glAccounts),
    taxCodes: stamp(seed.taxCodes),
  };
}

/** Fresh seed data; budgets are for the calendar year of `now`. */
export function demoSeed(now: Date): SeedCompany[] {
  return [FS_DEMO, FS_JP].map((seed) => ({
    company: { ...seed.company },
    master: masterRecords(seed, now),
    budgets: budgetLines(seed, now.getUTCFullYear()),
  }));
}
