/**
 * Realistic, signed sample events for each profile, for the demo script, tests and benchmarks. The same
 * seed (and clock) always gives the same event, byte for byte. Employee, cost center, GL account and
 * project ids come from `ids`, so they can match the master data the sandbox ERP is seeded with.
 */
import { FinanceError } from '../errors';
import { exponentOf, formatMinorUnits, sum, toMinorUnits } from '../model/money';
import type { ExpenseLine, ExpenseReport, Money } from '../model/types';
import { getProfile, type ProfileName, type ProfileOptions } from './profiles';
import { signPayload, type SignatureScheme } from './signatures';

export interface SampleIds {
  employees: readonly string[];
  costCenters: readonly string[];
  glAccounts: readonly string[];
  projects: readonly string[];
  /** The canonical (ERP) company. */
  company: string;
  currency: string;
}

const numbered = (prefix: string, from: number, to: number, step = 1): string[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, index) => `${prefix}${from + index * step}`);

/** Ids that exist in the sandbox ERP's demo company (lib/sandbox/seed.ts): staff, cost centers, GL accounts. */
export const DEFAULT_SAMPLE_IDS: SampleIds = {
  employees: numbered('E', 1009, 1024),
  costCenters: numbered('CC-', 100, 600, 100),
  glAccounts: ['6000', '6010', '6020', '6200', '6300', '6400', '6500'],
  projects: ['PRJ-2001', 'PRJ-2002', 'PRJ-2003'],
  company: 'FS-DEMO',
  currency: 'EUR',
};

/** Concur expense type codes used by the samples; the n-th maps to the n-th GL account. */
const EXPENSE_TYPES: readonly { code: string; name: string; merchants: readonly string[] }[] = [
  { code: 'AIRFR', name: 'Airfare', merchants: ['Lufthansa', 'Air France', 'KLM'] },
  { code: 'LODNG', name: 'Hotel', merchants: ['Marriott', 'Novotel', 'Hilton'] },
  { code: 'BUSML', name: 'Business Meal', merchants: ['Cafe Central', 'Trattoria Roma', 'The Ivy'] },
  { code: 'CARRT', name: 'Car Rental', merchants: ['Sixt', 'Hertz', 'Europcar'] },
  { code: 'TAXIX', name: 'Taxi', merchants: ['FreeNow', 'Uber', 'City Cabs'] },
  { code: 'TRAIN', name: 'Train', merchants: ['Deutsche Bahn', 'SNCF', 'Eurostar'] },
  { code: 'PARKG', name: 'Parking', merchants: ['APCOA', 'Q-Park', 'Indigo'] },
  { code: 'OFCSP', name: 'Office Supplies', merchants: ['Staples', 'Viking', 'Office Depot'] },
  { code: 'TELPH', name: 'Mobile Phone', merchants: ['Vodafone', 'Telekom', 'Orange'] },
];

export const SAMPLE_CLOUDEVENTS_SOURCE = 'urn:finance-sync:samples';
export const SAMPLE_CLOUDEVENTS_TYPE = 'finance.expense-report.submitted';

export interface SampleEventOptions {
  profile?: ProfileName;
  seed: number;
  /** The signing secret; required unless the scheme is "none" (base64 for standard-webhooks). */
  secret?: string;
  /** Defaults to the profile's scheme. */
  scheme?: SignatureScheme;
  ids?: Partial<SampleIds>;
  /** Current time in milliseconds (event time and signature timestamp). */
  now?: () => number;
}

export interface SampleEvent {
  profile: ProfileName;
  scheme: SignatureScheme;
  /** The event as parsed JSON. */
  body: Record<string, unknown>;
  /** The exact bytes that were signed. */
  rawBody: Buffer;
  /** Content-Type and the signature headers. */
  headers: Record<string, string>;
  /**
   * For profiles whose events only announce a document (Concur, Ramp): what fetching it returns, ready
   * for `profile.toCanonical(fetched.document, { lines: fetched.lines })`.
   */
  fetched?: { document: unknown; lines?: unknown };
  /** The canonical document the event stands for. */
  expected: ExpenseReport;
}

/** The profile options under which the samples' vendor documents map to `expected`. */
export function sampleProfileOptions(ids: Partial<SampleIds> = {}): ProfileOptions {
  const all = sampleIds(ids);
  return {
    costCenterField: 'custom1',
    projectField: 'custom2',
    employeeIdField: 'custom3',
    glAccountByExpenseType: Object.fromEntries(
      EXPENSE_TYPES.map((type, index) => [type.code, all.glAccounts[index % all.glAccounts.length]]),
    ),
    employeeIdFrom: 'employee_id',
    dimensionKey: 'external_id',
    company: all.company,
  };
}

export function sampleEvent(options: SampleEventOptions): SampleEvent {
  const profile = options.profile ?? 'cloudevents';
  const ids = sampleIds(options.ids ?? {});
  const now = (options.now ?? Date.now)();
  const scheme = options.scheme ?? getProfile(profile).signatureScheme;
  if (scheme !== 'none' && (typeof options.secret !== 'string' || options.secret === '')) {
    throw new FinanceError('CONFIG_INVALID', `A sample signed with the "${scheme}" scheme needs a secret.`);
  }
  const random = seededRandom(options.seed);
  const draft = draftReport(random, ids, now);

  const built =
    profile === 'concur'
      ? concurSample(draft, random, ids, options.seed)
      : profile === 'ramp'
        ? rampSample(draft, random, ids)
        : cloudEventsSample(draft, options.seed);
  const rawBody = Buffer.from(JSON.stringify(built.body), 'utf8');
  const signatureHeaders = signPayload(scheme, rawBody, options.secret ?? '', {
    timestamp: Math.floor(now / 1000),
    id: String(built.body.id),
  });
  const expected =
    built.fetched === undefined
      ? built.expected
      : (getProfile(profile, sampleProfileOptions(ids)).toCanonical(built.fetched.document, {
          lines: built.fetched.lines,
        }) as ExpenseReport);
  return {
    profile,
    scheme,
    body: built.body,
    rawBody,
    headers: { 'Content-Type': built.contentType, ...signatureHeaders },
    ...(built.fetched === undefined ? {} : { fetched: built.fetched }),
    expected,
  };
}

/** `count` events with the seeds seed, seed + 1, ... */
export function sampleEvents(count: number, options: SampleEventOptions): SampleEvent[] {
  return Array.from({ length: count }, (_, index) => sampleEvent({ ...options, seed: options.seed + index }));
}

// ---- the report every profile dresses differently ---------------------------------------------------

interface DraftLine {
  expenseType: (typeof EXPENSE_TYPES)[number];
  glAccount: string;
  costCenter: string;
  project?: string;
  merchant: string;
  date: string;
  amount: Money;
  receiptAttached: boolean;
}

interface DraftReport {
  employeeId: string;
  costCenter: string;
  project?: string;
  name: string;
  businessPurpose: string;
  time: string;
  lines: DraftLine[];
  total: Money;
}

/** A sample either carries its canonical document or announces a vendor document that maps to it. */
type BuiltSample = { body: Record<string, unknown>; contentType: string } & (
  | { expected: ExpenseReport; fetched?: undefined }
  | { fetched: { document: unknown; lines?: unknown }; expected?: undefined }
);

const PURPOSES = ['Customer visit', 'Trade fair', 'Team offsite', 'Project kick-off', 'Training', 'Site audit'];
const DAY_MS = 86_400_000;

function draftReport(random: SeededRandom, ids: SampleIds, now: number): DraftReport {
  const costCenter = random.pick(ids.costCenters);
  const project = random.next() < 0.5 ? random.pick(ids.projects) : undefined;
  const scale = 10 ** exponentOf(ids.currency);
  const lines = Array.from({ length: random.int(1, 4) }, (): DraftLine => {
    const typeIndex = random.int(0, EXPENSE_TYPES.length - 1);
    const expenseType = EXPENSE_TYPES[typeIndex];
    return {
      expenseType,
      glAccount: ids.glAccounts[typeIndex % ids.glAccounts.length],
      costCenter,
      project,
      merchant: random.pick(expenseType.merchants),
      date: new Date(now - random.int(1, 20) * DAY_MS).toISOString().slice(0, 10),
      amount: {
        amount: formatMinorUnits(BigInt(random.int(5 * scale, 1500 * scale)), ids.currency),
        currency: ids.currency,
      },
      receiptAttached: random.next() < 0.8,
    };
  });
  const purpose = random.pick(PURPOSES);
  return {
    employeeId: random.pick(ids.employees),
    costCenter,
    project,
    name: `${purpose} ${new Date(now).toISOString().slice(0, 7)}`,
    businessPurpose: purpose,
    time: new Date(now).toISOString(),
    lines,
    total: sum(
      lines.map((line) => line.amount),
      ids.currency,
    ),
  };
}

function cloudEventsSample(draft: DraftReport, seed: number): BuiltSample {
  const reportId = `ER-${String(seed).padStart(6, '0')}`;
  const lines: ExpenseLine[] = draft.lines.map((line, index) => ({
    lineId: `${reportId}-${index + 1}`,
    date: line.date,
    expenseType: line.expenseType.code,
    description: line.expenseType.name,
    merchant: line.merchant,
    amount: line.amount,
    dimensions: {
      costCenter: line.costCenter,
      glAccount: line.glAccount,
      ...(line.project === undefined ? {} : { project: line.project }),
    },
    receiptAttached: line.receiptAttached,
  }));
  const report: ExpenseReport = {
    docType: 'ExpenseReport',
    sourceRef: { system: `cloudevents:${SAMPLE_CLOUDEVENTS_SOURCE}`, id: reportId, version: 1 },
    reportId,
    name: draft.name,
    businessPurpose: draft.businessPurpose,
    employeeId: draft.employeeId,
    submittedAt: draft.time,
    state: 'submitted',
    total: draft.total,
    lines,
  };
  return {
    body: {
      specversion: '1.0',
      id: `evt-${reportId}-1`,
      source: SAMPLE_CLOUDEVENTS_SOURCE,
      type: SAMPLE_CLOUDEVENTS_TYPE,
      subject: reportId,
      time: draft.time,
      datacontenttype: 'application/json',
      data: report,
    },
    contentType: 'application/cloudevents+json',
    expected: report,
  };
}

/** A Concur statusChanged event (submitted), the v4 report it announces and the report's v3.0 entries. */
function concurSample(draft: DraftReport, random: SeededRandom, ids: SampleIds, seed: number): BuiltSample {
  const reportId = random.hex(20).toUpperCase();
  const userId = random.uuid();
  const companyId = random.uuid();
  const amount = (money: Money) => ({ value: Number(money.amount), currencyCode: money.currency });
  const zero = amount({ amount: formatMinorUnits(0n, ids.currency), currency: ids.currency });
  const href = `https://us.api.concursolutions.com/expensereports/v4/users/${userId}/context/TRAVELER/reports/${reportId}`;
  const report = {
    reportId,
    name: draft.name,
    businessPurpose: draft.businessPurpose,
    userId,
    currencyCode: ids.currency,
    approvalStatus: 'Submitted & Pending Approval',
    approvalStatusId: 'A_PEND',
    paymentStatus: 'Not Paid',
    paymentStatusId: 'P_NOTP',
    claimedAmount: amount(draft.total),
    approvedAmount: zero,
    reportTotal: amount(draft.total),
    personalAmount: zero,
    amountDueEmployee: amount(draft.total),
    customData: [
      { id: 'custom1', value: draft.costCenter, isValid: true },
      ...(draft.project === undefined ? [] : [{ id: 'custom2', value: draft.project, isValid: true }]),
      { id: 'custom3', value: draft.employeeId, isValid: true },
    ],
    creationDate: `${draft.time.slice(0, 19)}Z`,
    submitDate: `${draft.time.slice(0, 19)}Z`,
    reportVersion: 1,
    isFinancialIntegrationEnabled: true,
  };
  const entries = draft.lines.map((line, index) => ({
    ID: `${reportId}${String(index + 1).padStart(4, '0')}`,
    ReportID: reportId,
    ReportOwnerID: `${draft.employeeId.toLowerCase()}@example.com`,
    ExpenseTypeCode: line.expenseType.code,
    ExpenseTypeName: line.expenseType.name,
    TransactionDate: line.date,
    TransactionAmount: Number(line.amount.amount),
    TransactionCurrencyCode: line.amount.currency,
    PostedAmount: Number(line.amount.amount),
    ApprovedAmount: Number(line.amount.amount),
    VendorDescription: line.merchant,
    Description: line.expenseType.name,
    IsPersonal: false,
    HasImage: line.receiptAttached,
    HasExceptions: false,
    Custom1: { Type: 'List', Code: line.costCenter, Value: `Cost center ${line.costCenter}` },
    ...(line.project === undefined
      ? {}
      : { Custom2: { Type: 'List', Code: line.project, Value: `Project ${line.project}` } }),
  }));
  return {
    body: {
      id: random.uuid(),
      correlationId: `sample-${seed}`,
      eventType: 'statusChanged',
      topic: 'public.concur.expense.report',
      timeStamp: draft.time,
      subtopic: companyId,
      facts: {
        companyId,
        userId,
        actingUserId: null,
        reportId,
        previousApprovalStatus: 'A_NOTF',
        currentApprovalStatus: 'A_PEND',
        previousPaymentStatus: 'P_NOTP',
        currentPaymentStatus: 'P_NOTP',
        stepCode: null,
        href,
      },
    },
    contentType: 'application/json',
    fetched: { document: report, lines: { Items: entries, NextPage: null } },
  };
}

/** A Ramp reimbursements.ready_to_sync webhook and the approved reimbursement it announces. */
function rampSample(draft: DraftReport, random: SeededRandom, ids: SampleIds): BuiltSample {
  const reimbursementId = random.uuid();
  const selection = (type: string, code: string, name: string) => ({
    id: random.uuid(),
    external_id: code,
    name,
    type,
    category_info: { id: random.uuid(), external_id: type, name, type },
  });
  const reimbursement = {
    id: reimbursementId,
    amount: Number(draft.total.amount),
    currency: ids.currency,
    direction: 'BUSINESS_TO_USER',
    type: 'OUT_OF_POCKET',
    state: 'APPROVED',
    sync_status: 'SYNC_READY',
    employee_id: draft.employeeId,
    user_id: random.uuid(),
    user_email: `${draft.employeeId.toLowerCase()}@example.com`,
    user_full_name: `Employee ${draft.employeeId}`,
    merchant: draft.lines[0].merchant,
    memo: draft.businessPurpose,
    transaction_date: draft.lines[0].date,
    created_at: draft.time,
    submitted_at: draft.time,
    receipts: draft.lines.some((line) => line.receiptAttached) ? [random.uuid()] : [],
    accounting_field_selections: [
      selection('COST_CENTER', draft.costCenter, `Cost center ${draft.costCenter}`),
      ...(draft.project === undefined ? [] : [selection('PROJECT', draft.project, `Project ${draft.project}`)]),
    ],
    line_items: draft.lines.map((line) => ({
      amount: {
        amount: Number(toMinorUnits(line.amount.amount, line.amount.currency)),
        currency_code: line.amount.currency,
      },
      memo: `${line.expenseType.name}, ${line.merchant}`,
      accounting_field_selections: [selection('GL_ACCOUNT', line.glAccount, line.expenseType.name)],
    })),
  };
  return {
    body: {
      id: random.uuid(),
      type: 'reimbursements.ready_to_sync',
      created_at: draft.time,
      business_id: random.uuid(),
      object: { id: reimbursementId },
    },
    contentType: 'application/json',
    fetched: { document: reimbursement },
  };
}

// ---- helpers --------------------------------------------------------------------------------------

function sampleIds(ids: Partial<SampleIds>): SampleIds {
  const all = { ...DEFAULT_SAMPLE_IDS, ...ids };
  for (const key of ['employees', 'costCenters', 'glAccounts', 'projects'] as const) {
    const list = all[key];
    if (!Array.isArray(list) || list.length === 0 || list.some((id) => typeof id !== 'string' || id === '')) {
      throw new FinanceError('CONFIG_INVALID', `Sample ids "${key}" must be a non-empty list of non-empty strings.`);
    }
  }
  exponentOf(all.currency, 'sample ids currency');
  return all;
}

interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  hex(length: number): string;
  uuid(): string;
}

/** mulberry32: tiny, fast and good enough for sample data (not for anything secret). */
function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const hex = (length: number): string => Array.from({ length }, () => int(0, 15).toString(16)).join('');
  return {
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)],
    hex,
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[int(0, 3)]}${hex(3)}-${hex(12)}`,
  };
}
