/**
 * Definitions shared by several canonical documents (references, dimensions, order lines...). This schema
 * holds definitions only; documents point into it with `common.json#/$defs/<Name>` (see ./refs.ts).
 */
import { APPROVAL_STATES } from '../types';
import { refs } from './refs';

/** Fiscal period "YYYY-MM". */
export const PERIOD_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])$';
/** A split percentage: up to 3 digits and 2 decimals ("33.33"); splits of a line add up to exactly 100. */
export const PERCENT_PATTERN = '^\\d{1,3}(\\.\\d{1,2})?$';
/** A quantity: up to 12 digits and 6 decimals, never negative (the same grammar as money.multiply). */
export const QUANTITY_PATTERN = '^\\d{1,12}(\\.\\d{1,6})?$';
/** ISO 3166-1 alpha-2 country code, upper case. */
export const COUNTRY_PATTERN = '^[A-Z]{2}$';
/** A tax rate in percent with up to 4 decimals ("19.00", "7.5"). */
export const RATE_PATTERN = '^\\d{1,3}(\\.\\d{1,4})?$';

export const commonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/common.json',
  title: 'Shared definitions',
  description: 'Building blocks of the canonical documents: references, dimensions, order lines, ERP messages.',
  $defs: {
    Identifier: { type: 'string', minLength: 1, description: 'A non-empty identifier.' },
    Date: { type: 'string', format: 'date', description: 'A calendar date, YYYY-MM-DD.' },
    DateTime: { type: 'string', format: 'date-time', description: 'An RFC 3339 date-time with a time zone.' },
    Period: { type: 'string', pattern: PERIOD_PATTERN, description: 'A fiscal period, YYYY-MM.' },
    CountryCode: { type: 'string', pattern: COUNTRY_PATTERN, description: 'ISO 3166-1 alpha-2 code, e.g. DE.' },
    Percent: { type: 'string', pattern: PERCENT_PATTERN, description: 'A percentage such as "25" or "33.33".' },
    Quantity: { type: 'string', pattern: QUANTITY_PATTERN, description: 'A quantity such as "2" or "1.5".' },
    ApprovalState: {
      enum: [...APPROVAL_STATES],
      description: 'The canonical approval state; each source code is normalised to one of these.',
    },
    SourceRef: {
      type: 'object',
      description: 'Where the document comes from.',
      additionalProperties: false,
      required: ['system', 'id'],
      properties: {
        system: { ...refs.identifier, description: 'The source system, e.g. "concur" or "coupa".' },
        id: { ...refs.identifier, description: "The document's id in the source system." },
        version: { type: 'integer', minimum: 0, description: 'Revision number in the source, when it has one.' },
      },
    },
    ErpRef: {
      type: 'object',
      description: 'The ERP document this one became, once it is known.',
      additionalProperties: false,
      required: ['system', 'dialect', 'documentType', 'documentId'],
      properties: {
        system: refs.identifier,
        dialect: refs.identifier,
        documentType: refs.identifier,
        documentId: refs.identifier,
        number: { type: 'string' },
        status: { type: 'string' },
        etag: { type: 'string' },
      },
    },
    Dimensions: {
      type: 'object',
      description: 'The accounting dimensions an amount is charged to.',
      additionalProperties: false,
      properties: {
        company: refs.identifier,
        costCenter: refs.identifier,
        project: refs.identifier,
        glAccount: refs.identifier,
        department: refs.identifier,
      },
    },
    PolicyException: {
      type: 'object',
      description: 'A policy the expense platform flagged; lineId is absent for report-level exceptions.',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: refs.identifier,
        message: { type: 'string' },
        lineId: refs.identifier,
      },
    },
    AccountAssignment: {
      type: 'object',
      description:
        'One split of a line: a percentage or an amount (never both). All splits of a line use the same kind ' +
        'and add up exactly to 100 percent or to the line amount.',
      additionalProperties: false,
      required: ['dimensions'],
      properties: {
        dimensions: refs.dimensions,
        percent: { $ref: '#/$defs/Percent' },
        amount: refs.money,
      },
      oneOf: [{ required: ['percent'] }, { required: ['amount'] }],
    },
    OrderLine: {
      type: 'object',
      description: 'A requisition or purchase order line; amount = quantity x unitPrice, rounded to the currency.',
      additionalProperties: false,
      required: ['lineId', 'description', 'quantity', 'unitPrice', 'amount', 'accountAssignments'],
      properties: {
        lineId: refs.identifier,
        description: { type: 'string', minLength: 1 },
        itemCode: refs.identifier,
        quantity: { $ref: '#/$defs/Quantity' },
        unitOfMeasure: refs.identifier,
        unitPrice: refs.money,
        amount: refs.money,
        taxCode: refs.identifier,
        needBy: refs.date,
        accountAssignments: { type: 'array', minItems: 1, items: { $ref: '#/$defs/AccountAssignment' } },
      },
    },
    ErpMessage: {
      type: 'object',
      description: 'A message the ERP returned, with its own code.',
      additionalProperties: false,
      required: ['code', 'severity', 'text'],
      properties: {
        code: { type: 'string' },
        severity: { enum: ['error', 'warning', 'info'] },
        text: { type: 'string' },
      },
    },
  },
} as const;

/** The fields every master record has (types.ts MasterRecordBase), spread into each master-data schema. */
export const MASTER_RECORD_PROPERTIES = {
  id: refs.identifier,
  name: { type: 'string', minLength: 1 },
  modifiedAt: refs.dateTime,
  company: refs.identifier,
} as const;

export const MASTER_RECORD_REQUIRED = ['id', 'name', 'modifiedAt'] as const;
