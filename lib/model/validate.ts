/**
 * Validation of canonical documents: the JSON Schema first (Ajv, draft 2020-12), then the money rules a
 * schema cannot express (./semantic-checks.ts). Schemas are compiled once, on first use, and reused for
 * every message (DESIGN principle 7: nothing is compiled per message).
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { FinanceError } from '../errors';
import { FAST_FORMATS } from './formats';
import { ALL_SCHEMAS, DOC_TYPES, SCHEMA_BY_DOC_TYPE, type DocType } from './schemas';
import { semanticViolations } from './semantic-checks';
import type {
  ApprovalEvent,
  BudgetCheckRequest,
  BudgetCheckResult,
  CostCenter,
  Employee,
  ExpenseReport,
  FinanceEnvelope,
  GlAccount,
  Money,
  PostingResult,
  Project,
  PurchaseOrder,
  Requisition,
  Supplier,
  TaxCode,
} from './types';
import { violationsFromAjv, type Violation } from './violations';

export type { Violation } from './violations';
export { DOC_TYPES, type DocType } from './schemas';

export type ValidationResult = { valid: true } | { valid: false; errors: Violation[] };

/** The TypeScript type each document type validates to. */
export interface DocumentTypes {
  ExpenseReport: ExpenseReport;
  Requisition: Requisition;
  PurchaseOrder: PurchaseOrder;
  ApprovalEvent: ApprovalEvent;
  BudgetCheckRequest: BudgetCheckRequest;
  BudgetCheckResult: BudgetCheckResult;
  Posting: PostingResult;
  Employee: Employee;
  Supplier: Supplier;
  CostCenter: CostCenter;
  Project: Project;
  GlAccount: GlAccount;
  TaxCode: TaxCode;
  FinanceEnvelope: FinanceEnvelope;
  Money: Money;
}

let validators: ReadonlyMap<DocType, ValidateFunction> | undefined;

function compiledValidators(): ReadonlyMap<DocType, ValidateFunction> {
  if (validators === undefined) {
    // verbose: errors carry the offending value and schema, which the plain-word messages need.
    // strictRequired is off because the "percent or amount" oneOf branches require fields that the
    // enclosing schema defines, which that check cannot see; every other strict check stays on.
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false });
    addFormats(ajv);
    for (const [name, definition] of Object.entries(FAST_FORMATS)) ajv.addFormat(name, definition);
    for (const schema of ALL_SCHEMAS) ajv.addSchema(schema);
    validators = new Map(DOC_TYPES.map((docType) => [docType, ajv.getSchema(SCHEMA_BY_DOC_TYPE[docType].$id)!]));
  }
  return validators;
}

export function isDocType(value: unknown): value is DocType {
  return typeof value === 'string' && (DOC_TYPES as readonly string[]).includes(value);
}

/**
 * Checks a document against its schema and the money rules. Never throws for bad input: an unknown
 * document type is reported as a violation too, because docType usually comes from the message itself.
 */
export function validateDocument(docType: string, doc: unknown): ValidationResult {
  if (!isDocType(docType)) {
    return {
      valid: false,
      errors: [
        {
          path: '',
          rule: 'docType',
          message: `"${docType}" is not a document type finance-sync knows; use one of ${DOC_TYPES.join(', ')}.`,
        },
      ],
    };
  }
  const validate = compiledValidators().get(docType)!;
  if (!validate(doc)) return { valid: false, errors: violationsFromAjv(validate.errors ?? []) };
  const errors = semanticViolations(docType, doc);
  return errors.length === 0 ? { valid: true } : { valid: false, errors };
}

/** The first few violations in one sentence, for an error message. */
export function summariseViolations(violations: readonly Violation[], limit = 3): string {
  const shown = violations.slice(0, limit).map((violation) => violation.message.replace(/\.$/, ''));
  const more = violations.length - shown.length;
  return shown.join('; ') + (more > 0 ? ` (and ${more} more)` : '') + '.';
}

/** Throws FinanceError SCHEMA_INVALID with every violation in details.violations when the document is invalid. */
export function assertValid<K extends string>(
  docType: K,
  doc: unknown,
): asserts doc is K extends DocType ? DocumentTypes[K] : unknown {
  const result = validateDocument(docType, doc);
  if (result.valid) return;
  throw new FinanceError('SCHEMA_INVALID', `${docType} is not valid: ${summariseViolations(result.errors)}`, {
    details: { docType, violations: result.errors },
  });
}
