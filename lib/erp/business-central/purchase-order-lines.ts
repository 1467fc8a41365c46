/**
 * The lines of a Business Central purchase order: one BC line of type Account per account assignment of a
 * canonical line (its line id in description2), read back into canonical lines, and the plan of a revision
 * that writes only the lines that differ.
 */
import { splitByPercent } from '../../model/money';
import type { Dimensions, Money, PurchaseOrderLine } from '../../model/types';
import { jsonNumber } from '../json-number';
import type { Entity } from './odata';
import { BC_LENGTHS, checkLength, invalidPo, readTaxCode, sameTaxCode, taxCodeField } from './fields';
import { asEntities, dimensionsOf, matches } from './odata';
import type { BcContext } from './context';

export interface BcLine {
  lineType: 'Account';
  lineObjectNumber: string;
  description: string;
  description2: string;
  quantity: number;
  directUnitCost: number;
  taxCode?: string;
  dimensionSetLines: Array<{ code: string; valueCode: string }>;
}

/** One BC line of type Account per account assignment; splits by percent are divided to the cent. */
export function bcLines(bc: BcContext, lines: readonly PurchaseOrderLine[]): BcLine[] {
  return lines.flatMap((line, index) => {
    const where = `lines[${index}]`;
    checkLength(line.description, BC_LENGTHS.description, `${where}.description`);
    checkLength(line.lineId, BC_LENGTHS.description2, `${where}.lineId (kept in description2)`);
    const assignments = line.accountAssignments;
    if (assignments.length === 1) {
      const quantity = jsonNumber(line.quantity, `${where}.quantity`);
      return [bcLine(bc, line, assignments[0].dimensions, quantity, line.unitPrice, where)];
    }
    const amounts = assignments.every((a) => a.percent !== undefined)
      ? splitByPercent(
          line.amount,
          assignments.map((a) => a.percent as string),
          `${where}.accountAssignments`,
        )
      : assignments.map((a, i) => {
          if (!a.amount) throw invalidPo(`${where}.accountAssignments[${i}] needs a percent or an amount`);
          return a.amount;
        });
    return assignments.map((assignment, i) =>
      bcLine(bc, line, assignment.dimensions, 1, amounts[i], `${where}.accountAssignments[${i}]`),
    );
  });
}

function bcLine(
  bc: BcContext,
  line: PurchaseOrderLine,
  dimensions: Dimensions,
  quantity: number,
  unitCost: Money,
  where: string,
): BcLine {
  if (!dimensions.glAccount)
    throw invalidPo(`${where}: a G/L account (dimensions.glAccount) is required; BC books the line to it`);
  return {
    lineType: 'Account',
    lineObjectNumber: dimensions.glAccount,
    description: line.description,
    description2: line.lineId,
    quantity,
    directUnitCost: jsonNumber(unitCost.amount, `${where} unit cost`),
    ...taxCodeField(line.taxCode, `${where}.taxCode`, invalidPo),
    dimensionSetLines: bc.dimensionSetLines(dimensions),
  };
}

export function canonicalDimensions(bc: BcContext, line: Entity): Dimensions {
  const set = dimensionsOf(line.dimensionSetLines);
  return {
    glAccount: String(line.lineObjectNumber),
    ...(set[bc.costCenterDimension] ? { costCenter: set[bc.costCenterDimension] } : {}),
    ...(set[bc.projectDimension] ? { project: set[bc.projectDimension] } : {}),
  };
}

/** The lines of a change: only those that differ from what BC holds are written. */
export interface LinePlan {
  /** Lines BC holds that go: no longer wanted, or wanted on another G/L account or dimensions. */
  remove: Entity[];
  /** Lines that stay (with their id, receipts and invoices) and the fields of theirs to PATCH. */
  change: Array<{ line: Entity; body: Entity }>;
  add: BcLine[];
}

/** What a change wrote to the lines before it failed, for #restore. */
export interface AppliedLines {
  removed: Entity[];
  changed: Array<{ line: Entity; body: Entity }>;
}

export const NO_LINE_CHANGE: LinePlan = { remove: [], change: [], add: [] };

export function isEmptyPlan(plan: LinePlan): boolean {
  return plan.remove.length === 0 && plan.change.length === 0 && plan.add.length === 0;
}

/**
 * Pairs the wanted lines with BC's as the dialect identifies them: by the canonical line id in description2,
 * and within one canonical line (one BC line per account assignment) in sequence order. A pair on the same
 * G/L account and dimensions is changed in place; one on another account or dimensions is replaced (BC
 * re-initialises a line whose No. changes, and its dimension set lines are a collection of their own).
 * BC lines without a line id (added by hand in BC) are not the pack's and go, as the version's lines are the
 * whole order.
 */
export function planLines(current: Entity[], desired: BcLine[]): LinePlan {
  const held = new Map<string, Entity[]>();
  for (const line of [...current].sort((a, b) => Number(a.sequence) - Number(b.sequence))) {
    const key =
      typeof line.description2 === 'string' && line.description2 !== '' ? line.description2 : `#${String(line.id)}`;
    held.set(key, [...(held.get(key) ?? []), line]);
  }
  const plan: LinePlan = { remove: [], change: [], add: [] };
  const used = new Map<string, number>();
  for (const line of desired) {
    const index = used.get(line.description2) ?? 0;
    used.set(line.description2, index + 1);
    const have = held.get(line.description2)?.[index];
    if (have === undefined) {
      plan.add.push(line);
    } else if (!sameCoding(have, line)) {
      plan.remove.push(have);
      plan.add.push(line);
    } else {
      const body = lineChange(have, line);
      if (Object.keys(body).length > 0) plan.change.push({ line: have, body });
    }
  }
  for (const [key, lines] of held) plan.remove.push(...lines.slice(used.get(key) ?? 0));
  return plan;
}

/** Same line type, G/L account and dimension values. */
function sameCoding(have: Entity, line: BcLine): boolean {
  const held = dimensionsOf(have.dimensionSetLines);
  const wanted = Object.fromEntries(line.dimensionSetLines.map((d) => [d.code, d.valueCode]));
  return (
    have.lineType === line.lineType &&
    have.lineObjectNumber === line.lineObjectNumber &&
    Object.keys(held).length === Object.keys(wanted).length &&
    matches(held, wanted)
  );
}

/** The fields of a kept line that the wanted line changes: only those go into its PATCH. */
function lineChange(have: Entity, line: BcLine): Entity {
  const body: Entity = {};
  for (const name of ['description', 'quantity', 'directUnitCost'] as const) {
    if (have[name] !== line[name]) body[name] = line[name];
  }
  if (!sameTaxCode(have.taxCode, line.taxCode)) body.taxCode = line.taxCode;
  return body;
}

export function linePath(orderPath: string, line: Entity): string {
  return `${orderPath}/purchaseOrderLines(${String(line.id)})`;
}

export function received(line: Entity): number {
  return typeof line.receivedQuantity === 'number' ? line.receivedQuantity : 0;
}

export function invoiced(line: Entity): number {
  return typeof line.invoicedQuantity === 'number' ? line.invoicedQuantity : 0;
}

export function lineName(line: Entity): string {
  const id = typeof line.description2 === 'string' && line.description2 !== '' ? line.description2 : 'without id';
  return `line ${id} (G/L account ${String(line.lineObjectNumber)}, sequence ${String(line.sequence)})`;
}

/** A line as BC holds it, as the body that adds it again: what the pack writes, and the line type BC has. */
export function lineBody(line: Entity): Entity {
  return {
    lineType: line.lineType,
    lineObjectNumber: line.lineObjectNumber,
    description: line.description,
    description2: line.description2,
    quantity: line.quantity,
    directUnitCost: line.directUnitCost,
    ...readTaxCode(line),
    dimensionSetLines: asEntities(line.dimensionSetLines).map((d) => ({ code: d.code, valueCode: d.valueCode })),
  };
}
