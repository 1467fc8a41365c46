import { ALL_SCHEMAS, DOC_TYPES, SCHEMA_BY_DOC_TYPE, type DocType } from '../../../lib/model/schemas';
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
} from '../../../lib/model/types';
import { validateDocument } from '../../../lib/model/validate';

/** The schemas are `as const` (deeply readonly); an example must fit the readonly form of its TS type. */
type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

// Compile-time proof that every example has the shape of its TypeScript type (ts-jest type-checks tests).
const typedExamples: {
  [K in DocType]: unknown;
} = {
  ExpenseReport: SCHEMA_BY_DOC_TYPE.ExpenseReport.examples[0] satisfies DeepReadonly<ExpenseReport>,
  Requisition: SCHEMA_BY_DOC_TYPE.Requisition.examples[0] satisfies DeepReadonly<Requisition>,
  PurchaseOrder: SCHEMA_BY_DOC_TYPE.PurchaseOrder.examples[0] satisfies DeepReadonly<PurchaseOrder>,
  ApprovalEvent: SCHEMA_BY_DOC_TYPE.ApprovalEvent.examples[0] satisfies DeepReadonly<ApprovalEvent>,
  BudgetCheckRequest: SCHEMA_BY_DOC_TYPE.BudgetCheckRequest.examples[0] satisfies DeepReadonly<BudgetCheckRequest>,
  BudgetCheckResult: SCHEMA_BY_DOC_TYPE.BudgetCheckResult.examples[0] satisfies DeepReadonly<BudgetCheckResult>,
  Posting: SCHEMA_BY_DOC_TYPE.Posting.examples[0] satisfies DeepReadonly<PostingResult>,
  Employee: SCHEMA_BY_DOC_TYPE.Employee.examples[0] satisfies DeepReadonly<Employee>,
  Supplier: SCHEMA_BY_DOC_TYPE.Supplier.examples[0] satisfies DeepReadonly<Supplier>,
  CostCenter: SCHEMA_BY_DOC_TYPE.CostCenter.examples[0] satisfies DeepReadonly<CostCenter>,
  Project: SCHEMA_BY_DOC_TYPE.Project.examples[0] satisfies DeepReadonly<Project>,
  GlAccount: SCHEMA_BY_DOC_TYPE.GlAccount.examples[0] satisfies DeepReadonly<GlAccount>,
  TaxCode: SCHEMA_BY_DOC_TYPE.TaxCode.examples[0] satisfies DeepReadonly<TaxCode>,
  FinanceEnvelope: SCHEMA_BY_DOC_TYPE.FinanceEnvelope.examples[0] satisfies DeepReadonly<FinanceEnvelope>,
  Money: SCHEMA_BY_DOC_TYPE.Money.examples[0] satisfies DeepReadonly<Money>,
};

/** The required fields of each type in lib/model/types.ts (the fields without "?"). */
const REQUIRED_BY_TYPE: Record<DocType, string[]> = {
  ExpenseReport: ['docType', 'sourceRef', 'reportId', 'employeeId', 'state', 'total', 'lines'],
  Requisition: [
    'docType',
    'sourceRef',
    'requisitionId',
    'requesterId',
    'supplierId',
    'state',
    'currency',
    'total',
    'lines',
  ],
  PurchaseOrder: ['docType', 'sourceRef', 'externalReference', 'supplierId', 'orderDate', 'currency', 'total', 'lines'],
  ApprovalEvent: ['docType', 'subject', 'decision', 'approver', 'decidedAt'],
  BudgetCheckRequest: ['period', 'amount'],
  // available is optional: a deferred result (the ERP checks at the write) or a refusal at the write has none.
  BudgetCheckResult: ['status', 'requested', 'currency', 'period', 'checkedAt', 'erpMessages'],
  Posting: ['docType', 'kind', 'erpRef', 'amount', 'postedAt'],
  Employee: ['id', 'name', 'modifiedAt', 'active'],
  Supplier: ['id', 'name', 'modifiedAt', 'country', 'status'],
  CostCenter: ['id', 'name', 'modifiedAt', 'open'],
  Project: ['id', 'name', 'modifiedAt', 'status'],
  GlAccount: ['id', 'name', 'modifiedAt', 'type', 'open'],
  TaxCode: ['id', 'name', 'modifiedAt', 'country', 'rate'],
  FinanceEnvelope: ['id', 'source', 'type', 'time', 'correlationId', 'docType', 'docId', 'attempt'],
  Money: ['amount', 'currency'],
};

describe('canonical schemas', () => {
  test('all the document types of the contract are supported', () => {
    expect([...DOC_TYPES].sort()).toEqual(
      [
        'ExpenseReport',
        'Requisition',
        'PurchaseOrder',
        'ApprovalEvent',
        'BudgetCheckRequest',
        'BudgetCheckResult',
        'Posting',
        'Employee',
        'Supplier',
        'CostCenter',
        'Project',
        'GlAccount',
        'TaxCode',
        'FinanceEnvelope',
        'Money',
      ].sort(),
    );
  });

  test.each(DOC_TYPES.map((docType) => [docType]))(
    '%s has $id, title, description and one example that validates',
    (docType) => {
      const schema = SCHEMA_BY_DOC_TYPE[docType];
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toMatch(/^https:\/\/finance-sync\.dev\/schemas\/[a-z-]+\.json$/);
      expect(schema.title.length).toBeGreaterThan(0);
      expect(schema.description.length).toBeGreaterThan(20);
      expect(schema.examples).toHaveLength(1);
      expect(validateDocument(docType, schema.examples[0])).toEqual({ valid: true });
      expect(validateDocument(docType, typedExamples[docType])).toEqual({ valid: true });
    },
  );

  test('the expense report schema has the documented $id', () => {
    expect(SCHEMA_BY_DOC_TYPE.ExpenseReport.$id).toBe('https://finance-sync.dev/schemas/expense-report.json');
  });

  test('schema ids are unique', () => {
    const ids = ALL_SCHEMAS.map((schema) => schema.$id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every object schema forbids unknown fields, so typos are caught', () => {
    const objectSchemas: Array<{ where: string; schema: Record<string, unknown> }> = [];
    const visit = (node: unknown, where: string): void => {
      if (node === null || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      if (record.type === 'object') objectSchemas.push({ where, schema: record });
      for (const [key, child] of Object.entries(record)) if (key !== 'examples') visit(child, `${where}/${key}`);
    };
    for (const schema of ALL_SCHEMAS) visit(schema, schema.$id);
    expect(objectSchemas.length).toBeGreaterThan(20);
    for (const { where, schema } of objectSchemas) {
      expect({ where, additionalProperties: schema.additionalProperties }).toEqual({
        where,
        additionalProperties: false,
      });
    }
  });

  test.each(DOC_TYPES.map((docType) => [docType]))(
    '%s requires exactly the fields its TypeScript type requires',
    (docType) => {
      const example = SCHEMA_BY_DOC_TYPE[docType].examples[0] as Record<string, unknown>;
      const required: string[] = [];
      for (const field of Object.keys(example)) {
        const without = Object.fromEntries(Object.entries(example).filter(([key]) => key !== field));
        const result = validateDocument(docType, without);
        if (!result.valid && result.errors.some((e) => e.rule === 'required' && e.path === `/${field}`))
          required.push(field);
      }
      expect(required.sort()).toEqual([...REQUIRED_BY_TYPE[docType]].sort());
    },
  );
});
