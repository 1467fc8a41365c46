/**
 * Ramp reimbursements (out-of-pocket expenses an employee claims back).
 *
 * Sources, none of them in ../shared/specs: the webhook envelope and signature from Ramp's webhook guide
 * and the reimbursement resource from Ramp's developer API OpenAPI file (schemas `Reimbursement`,
 * `ApiReimbursementLineItem`, `ApiReimbursementAccountingFieldSelection`, `CurrencyAmount`), both read in a
 * third-party copy of Ramp's docs (riker-t/ramp-dev-mcp, data/developer-api*, commit b945e5a). Marked [U]
 * below: choices that document does not settle and that should be checked against a live Ramp account.
 *
 * The webhook only announces a change (`object.id`); the reimbursement is read with
 * `GET /developer/v1/reimbursements/{id}` and passed to toCanonical.
 */
import { FinanceError } from '../../errors';
import { compare, exponentOf, sum } from '../../model/money';
import type { ApprovalState, Dimensions, ExpenseLine, ExpenseReport, Money } from '../../model/types';
import { moneyFromJsonNumber, moneyFromMinorUnits } from '../amounts';
import { describe, shapeReader, withoutUndefined, type JsonObject } from '../shape';
import { choiceOption, stringOption } from './options';
import type { EventFacts, SourceProfile } from './profile';

const EMPLOYEE_ID_FIELDS = ['employee_id', 'user_id', 'user_email'] as const;
const DIMENSION_KEYS = ['external_id', 'external_code'] as const;

export interface RampProfileOptions {
  /**
   * The reimbursement field that is the ERP employee id. Default "employee_id" (Ramp: "Employee ID of the
   * person who made the reimbursement", set from the HR system); "user_id" is Ramp's own UUID.
   */
  employeeIdFrom?: (typeof EMPLOYEE_ID_FIELDS)[number];
  /**
   * Which id of a coding selection is the ERP's code. Default "external_id" (Ramp: "uniquely identifies this
   * option in the ERP"); "external_code" is the code the ERP displays. [U] which one an ERP sync fills.
   */
  dimensionKey?: (typeof DIMENSION_KEYS)[number];
  /** The canonical (ERP) company the reimbursements belong to. */
  company?: string;
}

/** Ramp reimbursement `state` -> canonical state. [U] Ramp documents the values, not their workflow meaning. */
export const RAMP_REIMBURSEMENT_STATE: Readonly<Record<string, ApprovalState>> = {
  INIT: 'draft',
  DRAFT: 'draft',
  PENDING: 'pending_approval',
  APPROVED: 'approved',
  // Approved and on its way to the accounting system or the bank; failures here are payment problems,
  // not a change of the approval decision.
  AWAITING_EXPORT: 'approved',
  EXPORT_INITIATED: 'approved',
  EXPORT_SUCCESSFUL: 'approved',
  EXPORT_FAILED: 'approved',
  EXPORTED: 'approved',
  AWAITING_PAYMENT: 'approved',
  AWAITING_PUSH_PAYMENT: 'approved',
  PROCESSING: 'approved',
  MISSING_ACH: 'approved',
  PUSH_PAYMENT_INITIATED: 'approved',
  PUSH_PAYMENT_FAILED: 'approved',
  FAILED_REIMBURSEMENT: 'approved',
  REIMBURSED: 'paid',
  REIMBURSED_VIA_PUSH: 'paid',
  MANUALLY_REIMBURSED: 'paid',
  REJECTED: 'rejected',
  CANCELED: 'cancelled',
  DELETED: 'cancelled',
};

/** Ramp accounting field types that are canonical dimensions; other types (TAX_CODE, SUBSIDIARY...) are left out. */
const DIMENSION_OF_TYPE: Readonly<Record<string, keyof Dimensions>> = {
  COST_CENTER: 'costCenter',
  PROJECT: 'project',
  GL_ACCOUNT: 'glAccount',
};

const readEvent = shapeReader(
  'Ramp webhook',
  'Subscribe this endpoint to Ramp reimbursement events (reimbursements.ready_for_review, ' +
    'reimbursements.ready_to_sync) and pass the body unchanged.',
);
const readReimbursement = shapeReader(
  'Ramp reimbursement',
  'Pass the JSON that GET https://api.ramp.com/developer/v1/reimbursements/{id} returns.',
);

interface RampConfig {
  employeeIdFrom: (typeof EMPLOYEE_ID_FIELDS)[number];
  dimensionKey: (typeof DIMENSION_KEYS)[number];
  company?: string;
}

export function createRampProfile(options: RampProfileOptions = {}): SourceProfile {
  if (typeof options !== 'object' || options === null) {
    throw new FinanceError('CONFIG_INVALID', 'The ramp profile options must be an object.');
  }
  const config: RampConfig = {
    employeeIdFrom: choiceOption('ramp', options, 'employeeIdFrom', EMPLOYEE_ID_FIELDS) ?? 'employee_id',
    dimensionKey: choiceOption('ramp', options, 'dimensionKey', DIMENSION_KEYS) ?? 'external_id',
    company: stringOption('ramp', options, 'company', 'FS-DEMO'),
  };
  return {
    name: 'ramp',
    docType: 'ExpenseReport',
    signatureScheme: 'ramp',
    embedsCanonical: false,
    envelopeOf: rampEnvelope,
    toCanonical: (body: unknown) => rampReimbursement(body, config),
  };
}

function rampEnvelope(body: unknown): EventFacts {
  const event = readEvent.object(body, '');
  const type = readEvent.string(event.type, '/type');
  if (!type.startsWith('reimbursements.')) {
    const hint =
      type === 'webhooks.verification'
        ? ' (a subscription challenge: answer it with POST /developer/v1/webhooks/{id}/verify)'
        : '';
    throw readEvent.fail('/type', `is ${describe(type)} but this profile maps reimbursement events only${hint}`);
  }
  const object = readEvent.object(event.object, '/object');
  const reimbursementId = readEvent.string(object.id, '/object/id');
  return {
    // Ramp keeps the event id across retries, so it de-duplicates redeliveries.
    id: readEvent.string(event.id, '/id'),
    source: `ramp:${readEvent.string(event.business_id, '/business_id')}`,
    type: `ramp.${type}`,
    subject: reimbursementId,
    // Ramp: "UTC is assumed if no timezone offset is specified".
    time: readEvent.dateTime(event.created_at, '/created_at', { assumeUtc: true }),
    docType: 'ExpenseReport',
    docId: reimbursementId,
  };
}

function rampReimbursement(body: unknown, config: RampConfig): ExpenseReport {
  const reimbursement = readReimbursement.object(body, '');
  const id = readReimbursement.string(reimbursement.id, '/id');
  const currency = readReimbursement.string(reimbursement.currency, '/currency');
  exponentOf(currency, '/currency', 'Ramp reimbursement');
  if (reimbursement.direction === 'USER_TO_BUSINESS') {
    throw readReimbursement.fail(
      '/direction',
      'is USER_TO_BUSINESS: the employee pays the business back, which is not an expense claim; route paybacks elsewhere',
    );
  }
  // `amount` is "the amount that the payor pays", a decimal JSON number (Ramp's legacy representation).
  const total = moneyFromJsonNumber(reimbursement.amount, currency, {
    document: 'Ramp reimbursement',
    path: '/amount',
    currencyPath: '/currency',
  });
  const headerDimensions = dimensionsOf(
    reimbursement.accounting_field_selections,
    '/accounting_field_selections',
    config,
  );
  const receipts =
    reimbursement.receipts === undefined || reimbursement.receipts === null
      ? []
      : readReimbursement.array(reimbursement.receipts, '/receipts');
  const common = withoutUndefined({
    date: readReimbursement.date(reimbursement.transaction_date, '/transaction_date'),
    // [U] `type` (OUT_OF_POCKET, MILEAGE, PER_DIEM) is the closest Ramp has to an expense type.
    expenseType: readReimbursement.optionalString(reimbursement.type, '/type'),
    merchant: readReimbursement.optionalString(reimbursement.merchant, '/merchant'),
    receiptAttached: receipts.length > 0,
  });
  const memo = readReimbursement.optionalString(reimbursement.memo, '/memo');

  const items =
    reimbursement.line_items === undefined || reimbursement.line_items === null
      ? []
      : readReimbursement.array(reimbursement.line_items, '/line_items');
  // Without line items the reimbursement is one line; with them, each item is a line coded on its own and
  // inheriting the reimbursement's coding for the dimensions it does not set.
  const lines: ExpenseLine[] =
    items.length === 0
      ? [
          withoutUndefined({
            lineId: `${id}-1`,
            ...common,
            description: memo,
            amount: total,
            dimensions: headerDimensions,
          }),
        ]
      : items.map((value, index) => {
          const path = `/line_items/${index}`;
          const item = readReimbursement.object(value, path);
          return withoutUndefined({
            lineId: `${id}-${index + 1}`,
            ...common,
            description: readReimbursement.optionalString(item.memo, `${path}/memo`) ?? memo,
            amount: lineAmountOf(item, path, currency),
            dimensions: {
              ...headerDimensions,
              ...dimensionsOf(item.accounting_field_selections, `${path}/accounting_field_selections`, config),
            },
          });
        });

  const linesTotal = sum(
    lines.map((line) => line.amount),
    currency,
  );
  if (compare(linesTotal, total) !== 0) {
    throw readReimbursement.fail(
      '/line_items',
      `add up to ${linesTotal.amount} ${currency} but the reimbursement amount is ${total.amount} ${currency}`,
    );
  }

  return withoutUndefined({
    docType: 'ExpenseReport' as const,
    sourceRef: { system: 'ramp', id },
    reportId: id,
    businessPurpose: memo,
    employeeId: employeeIdOf(reimbursement, config),
    company: config.company,
    submittedAt:
      reimbursement.submitted_at === undefined || reimbursement.submitted_at === null
        ? undefined
        : readReimbursement.dateTime(reimbursement.submitted_at, '/submitted_at', { assumeUtc: true }),
    state: stateOf(reimbursement),
    total,
    lines,
  });
}

/** A line item's `CurrencyAmount`: integer minor units, in the reimbursement's currency. */
function lineAmountOf(item: JsonObject, path: string, currency: string): Money {
  const amount = readReimbursement.object(item.amount, `${path}/amount`);
  const code = readReimbursement.string(amount.currency_code, `${path}/amount/currency_code`);
  if (code !== currency) {
    throw readReimbursement.fail(`${path}/amount/currency_code`, `is ${code} but the reimbursement is in ${currency}`);
  }
  return moneyFromMinorUnits(amount.amount, code, {
    document: 'Ramp reimbursement',
    path: `${path}/amount/amount`,
    currencyPath: `${path}/amount/currency_code`,
  });
}

function dimensionsOf(value: unknown, path: string, config: RampConfig): Dimensions {
  const dimensions: Dimensions = {};
  if (value === undefined || value === null) return dimensions;
  readReimbursement.array(value, path).forEach((entry, index) => {
    const selectionPath = `${path}/${index}`;
    const selection = readReimbursement.object(entry, selectionPath);
    // [U] The selection's own `type` and its `category_info.type` are both documented as "type of
    // accounting field"; the selection's wins when both are present.
    const category =
      selection.category_info === undefined || selection.category_info === null
        ? {}
        : readReimbursement.object(selection.category_info, `${selectionPath}/category_info`);
    const type =
      readReimbursement.optionalString(selection.type, `${selectionPath}/type`) ??
      readReimbursement.optionalString(category.type, `${selectionPath}/category_info/type`);
    if (type === undefined || !Object.hasOwn(DIMENSION_OF_TYPE, type)) return;
    const code = readReimbursement.optionalString(
      selection[config.dimensionKey],
      `${selectionPath}/${config.dimensionKey}`,
    );
    if (code === undefined) {
      throw readReimbursement.fail(
        `${selectionPath}/${config.dimensionKey}`,
        `is missing on a ${type} selection; sync the ${type} list from the ERP into Ramp, or choose the other ` +
          'dimensionKey in the profile options',
      );
    }
    dimensions[DIMENSION_OF_TYPE[type]] = code;
  });
  return dimensions;
}

function employeeIdOf(reimbursement: JsonObject, config: RampConfig): string {
  const field = config.employeeIdFrom;
  if (reimbursement[field] === undefined || reimbursement[field] === null || reimbursement[field] === '') {
    throw readReimbursement.fail(
      `/${field}`,
      `is missing, and it is the field configured as the employee id; fill it in Ramp or set the profile option ` +
        `employeeIdFrom to one of ${EMPLOYEE_ID_FIELDS.join(', ')}`,
    );
  }
  return readReimbursement.string(reimbursement[field], `/${field}`);
}

function stateOf(reimbursement: JsonObject): ApprovalState {
  const state = readReimbursement.string(reimbursement.state, '/state');
  if (!Object.hasOwn(RAMP_REIMBURSEMENT_STATE, state)) {
    throw readReimbursement.fail('/state', `"${state}" is not a reimbursement state this profile knows`);
  }
  return RAMP_REIMBURSEMENT_STATE[state];
}
