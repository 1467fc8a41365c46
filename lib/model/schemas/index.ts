/** All canonical JSON Schemas, and which schema describes which document type. */
import { approvalEventSchema } from './approval-event';
import { budgetCheckRequestSchema } from './budget-check-request';
import { budgetCheckResultSchema } from './budget-check-result';
import { commonSchema } from './common';
import { costCenterSchema } from './cost-center';
import { employeeSchema } from './employee';
import { envelopeSchema } from './envelope';
import { expenseReportSchema } from './expense-report';
import { glAccountSchema } from './gl-account';
import { moneySchema } from './money';
import { postingResultSchema } from './posting-result';
import { projectSchema } from './project';
import { purchaseOrderSchema } from './purchase-order';
import { requisitionSchema } from './requisition';
import { supplierSchema } from './supplier';
import { taxCodeSchema } from './tax-code';

export {
  approvalEventSchema,
  budgetCheckRequestSchema,
  budgetCheckResultSchema,
  commonSchema,
  costCenterSchema,
  employeeSchema,
  envelopeSchema,
  expenseReportSchema,
  glAccountSchema,
  moneySchema,
  postingResultSchema,
  projectSchema,
  purchaseOrderSchema,
  requisitionSchema,
  supplierSchema,
  taxCodeSchema,
};
export { AMOUNT_PATTERN, CURRENCY_PATTERN } from './money';
export { COUNTRY_PATTERN, PERCENT_PATTERN, PERIOD_PATTERN, QUANTITY_PATTERN, RATE_PATTERN } from './common';

/** The document types validateDocument() knows, each with the schema that describes it. */
export const SCHEMA_BY_DOC_TYPE = {
  ExpenseReport: expenseReportSchema,
  Requisition: requisitionSchema,
  PurchaseOrder: purchaseOrderSchema,
  ApprovalEvent: approvalEventSchema,
  BudgetCheckRequest: budgetCheckRequestSchema,
  BudgetCheckResult: budgetCheckResultSchema,
  Posting: postingResultSchema,
  Employee: employeeSchema,
  Supplier: supplierSchema,
  CostCenter: costCenterSchema,
  Project: projectSchema,
  GlAccount: glAccountSchema,
  TaxCode: taxCodeSchema,
  FinanceEnvelope: envelopeSchema,
  Money: moneySchema,
} as const;

/** Every schema, the shared definitions included, for registering with a validator. */
export const ALL_SCHEMAS = [commonSchema, ...Object.values(SCHEMA_BY_DOC_TYPE)] as const;

export type DocType = keyof typeof SCHEMA_BY_DOC_TYPE;

export const DOC_TYPES = Object.keys(SCHEMA_BY_DOC_TYPE) as readonly DocType[];
