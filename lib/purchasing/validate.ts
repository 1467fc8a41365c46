/**
 * Validation of a purchase order before the ERP is called, so that a document the ERP would refuse is
 * refused here with every reason at once, each naming the line and the field:
 * - the document's own rules (lib/model/validate.ts): the canonical shape, currencies that exist, line
 *   amounts, and splits that add up exactly to 100 percent or to the line amount;
 * - the ERP's master data: the supplier exists and is not blocked, a line's tax code exists and belongs to
 *   the supplier's country, every split is completely assigned (a GL account and a cost center or a
 *   project) to records that exist and are open.
 * Pure functions: the master data comes in through MasterDataLookup.
 */
import { validateDocument } from '../model/validate';
import type { CostCenter, Dimensions, GlAccount, Project, PurchaseOrder, Supplier, TaxCode } from '../model/types';
import type { Violation } from '../model/violations';

export interface ValidationFailure {
  /** lineId of the line at fault; absent when the failure is about the document as a whole. */
  line?: string;
  /** The field at fault, within the line for a line's failure: "taxCode", "accountAssignments.1.dimensions.project". */
  field: string;
  /** JSON pointer into the document: "/lines/0/taxCode". */
  path: string;
  /** The rule that failed, e.g. "supplierBlocked", "taxCodeCountry", "split", "currency", "required". */
  rule: string;
  /** What is wrong and what to do, naming the line and the field. */
  message: string;
}

/** The ERP's master data, by id. */
export interface MasterDataLookup {
  supplier(id: string): Supplier | undefined;
  /**
   * Absent when the ERP does not publish its tax codes (Business Central API v2.0: tax rates live in VAT
   * posting setup); a line's tax code is then checked by the ERP when the purchase order is written.
   */
  taxCode?(id: string): TaxCode | undefined;
  costCenter(id: string): CostCenter | undefined;
  /**
   * Absent when the ERP does not publish its projects (SAP S/4HANA: WBS elements are checked by SAP when the
   * purchase order is written, see lib/erp/sap/master-data.ts); a line's project is then left to the ERP.
   */
  project?(id: string): Project | undefined;
  glAccount(id: string): GlAccount | undefined;
}

export interface DocumentCheck {
  /** False when the document does not have the canonical shape: its fields cannot be read, only reported. */
  wellFormed: boolean;
  failures: ValidationFailure[];
}

/**
 * The rules lib/model checks after the schema has passed (lib/model/semantic-checks.ts). A violation of any
 * other rule is a schema keyword, which means the shape itself is wrong.
 */
const RULES_OF_WELL_FORMED_DOCUMENTS: ReadonlySet<string> = new Set([
  'currency',
  'precision',
  'canonical',
  'negative',
  'currencyMismatch',
  'total',
  'uniqueLineId',
  'lineAmount',
  'split',
]);

/** The document's own rules, as failures that name the line and field. */
export function documentCheck(docType: string, document: unknown): DocumentCheck {
  const result = validateDocument(docType, document);
  if (result.valid) return { wellFormed: true, failures: [] };
  const lines = linesOf(document);
  return {
    wellFormed: result.errors.every((violation) => RULES_OF_WELL_FORMED_DOCUMENTS.has(violation.rule)),
    failures: result.errors.map((violation) => failureOfViolation(violation, lines)),
  };
}

/** Every reason the ERP's master data gives for refusing the purchase order. */
export function masterDataFailures(po: PurchaseOrder, lookup: MasterDataLookup): ValidationFailure[] {
  const failures: ValidationFailure[] = [];
  const supplier = lookup.supplier(po.supplierId);
  const where = `supplierId "${po.supplierId}"`;
  if (supplier === undefined) {
    failures.push({
      field: 'supplierId',
      path: '/supplierId',
      rule: 'supplierUnknown',
      message: `${where}: the ERP has no such supplier; check the id, or create the supplier in the ERP first.`,
    });
  } else if (supplier.status === 'blocked') {
    failures.push({
      field: 'supplierId',
      path: '/supplierId',
      rule: 'supplierBlocked',
      message: `${where}: ${supplier.name} is blocked in the ERP, so no purchase order may be placed with it; choose another supplier or have it unblocked first.`,
    });
  }
  po.lines.forEach((line, index) => {
    const at = new LineFailures(failures, line.lineId, index);
    if (line.taxCode !== undefined && lookup.taxCode !== undefined) {
      checkTaxCode(at, line.taxCode, supplier, lookup.taxCode(line.taxCode));
    }
    line.accountAssignments.forEach((split, splitIndex) =>
      checkAssignment(at, `accountAssignments.${splitIndex}.dimensions`, split.dimensions, lookup),
    );
  });
  return failures;
}

function checkTaxCode(
  at: LineFailures,
  id: string,
  supplier: Supplier | undefined,
  taxCode: TaxCode | undefined,
): void {
  const suggestion = supplier?.taxCodes?.length ? ` such as ${supplier.taxCodes.join(', ')}` : '';
  if (taxCode === undefined) {
    at.add(
      'taxCode',
      id,
      'taxCodeUnknown',
      `the ERP has no such tax code; use one of the supplier's country${suggestion}.`,
    );
  } else if (supplier !== undefined && taxCode.country !== supplier.country) {
    at.add(
      'taxCode',
      id,
      'taxCodeCountry',
      `the tax code is for ${taxCode.country} but supplier ${supplier.id} is in ${supplier.country}; use a tax code of ${supplier.country}${suggestion}.`,
    );
  }
}

function checkAssignment(at: LineFailures, field: string, dimensions: Dimensions, lookup: MasterDataLookup): void {
  const complete = 'every split needs a glAccount and a costCenter or a project';
  if (dimensions.glAccount === undefined) {
    at.add(`${field}.glAccount`, undefined, 'assignmentIncomplete', `the split names no GL account; ${complete}.`);
  }
  if (dimensions.costCenter === undefined && dimensions.project === undefined) {
    at.add(
      field,
      undefined,
      'assignmentIncomplete',
      `the split names neither a cost center nor a project; ${complete}.`,
    );
  }
  if (dimensions.costCenter !== undefined) {
    const center = lookup.costCenter(dimensions.costCenter);
    if (center === undefined) {
      at.add(
        `${field}.costCenter`,
        dimensions.costCenter,
        'costCenterUnknown',
        'the ERP has no such cost center; check the code.',
      );
    } else if (!center.open) {
      at.add(
        `${field}.costCenter`,
        dimensions.costCenter,
        'costCenterClosed',
        `cost center ${center.name} is closed; charge an open cost center.`,
      );
    }
  }
  if (dimensions.project !== undefined && lookup.project !== undefined) {
    const project = lookup.project(dimensions.project);
    if (project === undefined) {
      at.add(`${field}.project`, dimensions.project, 'projectUnknown', 'the ERP has no such project; check the code.');
    } else if (project.status !== 'open') {
      at.add(
        `${field}.project`,
        dimensions.project,
        'projectClosed',
        `project ${project.name} is ${project.status === 'on_hold' ? 'on hold' : 'closed'}; charge an open project.`,
      );
    }
  }
  if (dimensions.glAccount !== undefined) {
    const account = lookup.glAccount(dimensions.glAccount);
    if (account === undefined) {
      at.add(
        `${field}.glAccount`,
        dimensions.glAccount,
        'glAccountUnknown',
        'the ERP has no such GL account; check the number.',
      );
    } else if (!account.open) {
      at.add(
        `${field}.glAccount`,
        dimensions.glAccount,
        'glAccountClosed',
        `GL account ${account.name} is closed for postings; charge an open GL account.`,
      );
    }
  }
}

/** Collects the failures of one line, each message starting with the line and the field it is about. */
class LineFailures {
  constructor(
    private readonly failures: ValidationFailure[],
    private readonly lineId: string,
    private readonly index: number,
  ) {}

  add(field: string, value: string | undefined, rule: string, text: string): void {
    const named = value === undefined ? field : `${field} "${value}"`;
    this.failures.push({
      line: this.lineId,
      field,
      path: `/lines/${this.index}/${field.split('.').join('/')}`,
      rule,
      message: `Line "${this.lineId}", ${named}: ${text}`,
    });
  }
}

function linesOf(document: unknown): unknown[] {
  const lines = (document as { lines?: unknown } | null)?.lines;
  return Array.isArray(lines) ? lines : [];
}

/** A document rule's violation with the line and field its path points at. */
function failureOfViolation(violation: Violation, lines: readonly unknown[]): ValidationFailure {
  const segments = violation.path.split('/').slice(1).map(unescapePointer);
  const inLine = segments[0] === 'lines' && segments.length >= 2 && /^\d+$/.test(segments[1]);
  if (!inLine) {
    return {
      field: segments.length === 0 ? 'document' : segments.join('.'),
      path: violation.path,
      rule: violation.rule,
      message: violation.message,
    };
  }
  const index = Number(segments[1]);
  const lineId = (lines[index] as { lineId?: unknown } | undefined)?.lineId;
  const rest = segments.slice(2);
  const field = rest.length === 0 ? 'line' : rest.join('.');
  const named = typeof lineId === 'string' && lineId !== '' ? `Line "${lineId}"` : `Line ${index + 1}`;
  return {
    ...(typeof lineId === 'string' && lineId !== '' ? { line: lineId } : {}),
    field,
    path: violation.path,
    rule: violation.rule,
    message: `${named}, ${field}: ${violation.message}`,
  };
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
