/**
 * Postings: journals (e.g. an approved expense report) and payables (a supplier invoice or an employee
 * reimbursement). A posting is final; its lines are actuals against the budgets of their dimensions.
 */
import { sum, toMinorUnits } from '../model/money';
import type { Charge } from './budget-ledger';
import type { CompanyState } from './company-state';
import { SandboxProblem, notFound } from './problem';
import { checkDimensions, checkDocumentCurrency, checkEmployee, checkSupplier, checkTaxCode } from './references';
import type { SandboxState } from './state';
import type { PostingDoc, PostingLine, SandboxResponse } from './types';
import {
  FieldErrors,
  bodyObject,
  isObject,
  readArray,
  readCurrency,
  readDate,
  readDimensions,
  readEnum,
  readMoney,
  readString,
  type JsonObject,
} from './validate';

const KINDS = ['journal', 'payable'] as const;
const MAX_LINES = 500;

type PostingInput = Omit<PostingDoc, 'id' | 'number' | 'company' | 'status' | 'total' | 'postedAt'>;

function readLine(value: unknown, path: string, errors: FieldErrors): PostingLine | undefined {
  if (!isObject(value)) {
    errors.add(path, 'must be a line object { "lineId", "amount", "dimensions" }');
    return undefined;
  }
  const lineId = readString(value, 'lineId', path, errors, { required: true, maxLength: 50 });
  const amount = readMoney(value.amount, `${path}/amount`, errors, { required: true });
  const dimensions = readDimensions(value.dimensions, `${path}/dimensions`, errors);
  const description = readString(value, 'description', path, errors, { maxLength: 500 });
  // The same length as a purchase order line's tax code (purchase-orders.ts).
  const taxCode = readString(value, 'taxCode', path, errors, { maxLength: 20 });
  if (!lineId || !amount || !dimensions) return undefined;
  return { lineId, amount, dimensions, ...(description ? { description } : {}), ...(taxCode ? { taxCode } : {}) };
}

/** Well-formedness (400). Fields other than the documented ones are ignored. */
function readPosting(body: JsonObject): PostingInput {
  const errors = new FieldErrors();
  const kind = readEnum(body, 'kind', '', errors, KINDS, { required: true });
  const externalReference = readString(body, 'externalReference', '', errors, { required: true, maxLength: 100 });
  const employeeId = readString(body, 'employeeId', '', errors, { maxLength: 50 });
  const supplierId = readString(body, 'supplierId', '', errors, { maxLength: 50 });
  const postingDate = readDate(body, 'postingDate', '', errors, { required: true });
  const currency = readCurrency(body, 'currency', '', errors, { required: true });
  const values = readArray(body, 'lines', '', errors, { required: true, maxItems: MAX_LINES });
  const lines = (values ?? []).map((value, index) => readLine(value, `/lines/${index}`, errors));
  if (kind === 'payable' && body.supplierId === undefined && body.employeeId === undefined) {
    errors.add('/supplierId', 'a payable needs a supplierId (invoice) or an employeeId (reimbursement) to pay');
  }
  errors.throwIfAny(400);
  return {
    kind: kind as PostingInput['kind'],
    externalReference: externalReference as string,
    ...(employeeId ? { employeeId } : {}),
    ...(supplierId ? { supplierId } : {}),
    postingDate: postingDate as string,
    currency: currency as string,
    lines: lines as PostingLine[],
  };
}

/** Business rules (422): the posting period, who is paid, the currency and the dimensions. */
function checkPosting(company: CompanyState, posting: PostingInput): void {
  const errors = new FieldErrors();
  const periods = company.postingPeriods;
  if (periods !== undefined && !company.isPostingPeriodOpen(posting.postingDate)) {
    errors.add(
      '/postingDate',
      `falls into the posting period ${posting.postingDate.slice(0, 7)}, which is closed; the open periods are ${periods.from} to ${periods.to}`,
      'POSTING_PERIOD_CLOSED',
    );
  }
  if (posting.supplierId !== undefined) checkSupplier(company, posting.supplierId, '/supplierId', errors);
  if (posting.employeeId !== undefined) checkEmployee(company, posting.employeeId, '/employeeId', errors);
  checkDocumentCurrency(company, posting.currency, '/currency', errors);
  posting.lines.forEach((line, index) => {
    const path = `/lines/${index}`;
    if (line.amount.currency !== posting.currency) {
      errors.add(`${path}/amount`, `must be in the document currency ${posting.currency}`, 'CURRENCY_MISMATCH');
    }
    checkDimensions(company, line.dimensions, `${path}/dimensions`, errors);
    if (line.taxCode !== undefined) checkTaxCode(company, line.taxCode, `${path}/taxCode`, errors);
  });
  errors.throwIfAny(422);
}

export function actualsOf(posting: PostingDoc): Charge[] {
  const period = posting.postingDate.slice(0, 7);
  return posting.lines.map((line) => ({
    period,
    dimensions: line.dimensions,
    minor: toMinorUnits(line.amount.amount, posting.currency),
  }));
}

export function createPosting(state: SandboxState, company: CompanyState, rawBody: unknown): SandboxResponse {
  const input = readPosting(bodyObject(rawBody));
  const existingId = company.postingByReference.get(input.externalReference);
  if (existingId !== undefined) {
    throw new SandboxProblem(
      409,
      'DUPLICATE_REFERENCE',
      `A posting with externalReference "${input.externalReference}" already exists (id ${existingId}); ` +
        'it was posted once, do not post it again.',
      { members: { existingId } },
    );
  }
  checkPosting(company, input);
  const posting: PostingDoc = {
    ...input,
    id: state.newId(),
    number: company.nextNumber(input.kind === 'journal' ? 'JNL' : 'PAY'),
    company: company.company.id,
    status: 'posted',
    total: sum(
      input.lines.map((line) => line.amount),
      input.currency,
    ),
    postedAt: state.timestamp(),
  };
  company.postings.set(posting.id, posting);
  company.postingByReference.set(posting.externalReference, posting.id);
  company.ledger.book(actualsOf(posting), 'actuals', 1n);
  state.counters.writes += 1;
  return {
    status: 201,
    headers: { Location: `/api/v1/companies/${encodeURIComponent(posting.company)}/postings/${posting.id}` },
    body: posting,
  };
}

export function getPosting(company: CompanyState, id: string): SandboxResponse {
  const posting = company.postings.get(id);
  if (!posting) throw notFound(`Posting "${id}" in ${company.company.id}`);
  return { status: 200, body: posting };
}

export function findPostings(company: CompanyState, externalReference: string | null): SandboxResponse {
  if (externalReference === null) {
    throw new SandboxProblem(
      400,
      'QUERY_REQUIRED',
      'Give ?externalReference=... to find a posting; GET /_sandbox/state lists all of them.',
    );
  }
  const id = company.postingByReference.get(externalReference);
  const posting = id === undefined ? undefined : company.postings.get(id);
  return { status: 200, body: { items: posting ? [posting] : [] } };
}

/**
 * POST /_sandbox/companies/{company}/posting-periods: `{ "from": "YYYY-MM", "to": "YYYY-MM" }` leaves only
 * those months open for posting (the sandbox's postings and the SAP simulator's supplier invoices), `{}` opens
 * every month again (the default).
 */
export function setPostingPeriods(company: CompanyState, rawBody: unknown): SandboxResponse {
  const body = bodyObject(rawBody ?? {});
  const errors = new FieldErrors();
  if (body.from === undefined && body.to === undefined) {
    company.openPostingPeriods();
    return { status: 200, body: { postingPeriods: 'all open' } };
  }
  const month = (key: 'from' | 'to') => {
    const value = body[key];
    if (typeof value === 'string' && /^\d{4}-(0[1-9]|1[0-2])$/.test(value)) return value;
    errors.add(`/${key}`, 'must be a month YYYY-MM');
    return undefined;
  };
  const from = month('from');
  const to = month('to');
  if (from !== undefined && to !== undefined && from > to) errors.add('/to', `must not be before from (${from})`);
  errors.throwIfAny(400);
  company.openPostingPeriods({ from: from as string, to: to as string });
  return { status: 200, body: { postingPeriods: { from, to } } };
}
