/**
 * Itemized and allocated Concur expenses: the itemizations and allocations Concur serves apart from the expenses,
 * and the exact split of an amount by allocation percentages. Shapes:
 *
 * - itemizations: `ItemizationGet` of the v3.0 Itemizations API (`GET /api/v3.0/expense/itemizations`), from
 *   developer.concur.com build/swagger-converter/v3.0/Itemizations.swagger.json (not among ../shared/specs):
 *   ID, EntryID (the parent expense), ReportID, ExpenseTypeCode, TransactionDate, PostedAmount and ApprovedAmount
 *   (report currency), IsPersonal, AllocationType, HasVAT, Custom1..40 and OrgUnit1..6 ({ Code, Value, ... }).
 * - allocations: `AllocationGet` of ../shared/specs/concur/concur-v3.0-Allocations.swagger.json: ID, EntryID,
 *   Percentage (text, "the percentage of the expense that is included in this allocation"), IsHidden,
 *   Custom1..20 ({ Code, Value, ... }). An allocation carries no amount: the split is done here.
 */
import { allocate } from '../../model/money';
import type { ExpenseLine, Money } from '../../model/types';
import { describe, shapeReader, withoutUndefined, type JsonObject, type ShapeReader } from '../shape';

export const readItemizations = shapeReader(
  'Concur itemizations',
  'Pass the Items of every page of GET /api/v3.0/expense/itemizations?reportID=<reportId>.',
);
export const readAllocations = shapeReader(
  'Concur allocations',
  'Pass the Items of every page of GET /api/v3.0/expense/allocations?reportID=<reportId>.',
);

/** One item of a collection and its JSON pointer in what was passed. */
export interface Child {
  item: JsonObject;
  path: string;
}

/**
 * The items of an itemization or allocation collection by their EntryID, in the order passed: either the
 * concatenated Items of all pages, or one complete collection. Undefined when nothing was passed.
 */
export function childrenByEntry(value: unknown, reader: ShapeReader): ReadonlyMap<string, Child[]> | undefined {
  if (value === undefined) return undefined;
  let items: { value: unknown; path: string }[];
  if (Array.isArray(value)) {
    items = value.map((item, index) => ({ value: item, path: `/${index}` }));
  } else {
    const collection = reader.object(value, '');
    if (reader.optionalString(collection.NextPage, '/NextPage') !== undefined) {
      throw reader.fail('/NextPage', 'is set, so this is one page of several; fetch every page and pass all Items');
    }
    items = reader.array(collection.Items, '/Items').map((item, index) => ({ value: item, path: `/Items/${index}` }));
  }
  const byEntry = new Map<string, Child[]>();
  for (const { value: raw, path } of items) {
    const item = reader.object(raw, path);
    reader.string(item.ID, `${path}/ID`);
    const entryId = reader.string(item.EntryID, `${path}/EntryID`);
    const siblings = byEntry.get(entryId);
    if (siblings === undefined) byEntry.set(entryId, [{ item, path }]);
    else siblings.push({ item, path });
  }
  return byEntry;
}

/**
 * A custom or org unit field by its configured id, matched case-insensitively ("custom1" -> `Custom1`,
 * "orgUnit2" -> `OrgUnit2`). For list fields `Code` is the list item code and `Value` its name, so the code wins.
 */
export function customFieldCode(
  object: JsonObject,
  fieldId: string,
  path: string,
  reader: ShapeReader,
): string | undefined {
  const wanted = fieldId.toLowerCase();
  // The length test first: it spares lower-casing every key of every expense (this runs per line and field).
  const key = Object.keys(object).find((name) => name.length === wanted.length && name.toLowerCase() === wanted);
  if (key === undefined || object[key] === null || object[key] === undefined) return undefined;
  const field = reader.object(object[key], `${path}/${key}`);
  return (
    reader.optionalString(field.Code, `${path}/${key}/Code`) ??
    reader.optionalString(field.Value, `${path}/${key}/Value`)
  );
}

/** A percentage as decimal text, "33.33" or "100"; a JSON number is read through its shortest decimal form. */
const PERCENTAGE = /^(\d{1,3})(?:\.(\d{1,10}))?$/;

/**
 * The allocations' percentages as integer weights on one common scale (33.33 and 33.334 -> 33330 and 33334),
 * refused unless they add up to exactly 100: parsed as decimals, never as floats, so 33.33 + 33.33 + 33.34 is 100.
 */
export function percentageWeights(allocations: readonly Child[], where: string): bigint[] {
  const parsed = allocations.map(({ item, path }) => {
    const value = item.Percentage;
    const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    const match = typeof text === 'string' ? PERCENTAGE.exec(text.trim()) : null;
    if (match === null) {
      throw readAllocations.fail(
        `${path}/Percentage`,
        `is ${describe(value)}, not a percentage such as "50" or "33.33"; correct the allocation in Concur`,
      );
    }
    return { whole: match[1], decimals: match[2] ?? '' };
  });
  const scale = Math.max(...parsed.map(({ decimals }) => decimals.length));
  const weights = parsed.map(({ whole, decimals }) => BigInt(whole + decimals.padEnd(scale, '0')));
  const total = weights.reduce((a, b) => a + b, 0n);
  const hundred = 100n * 10n ** BigInt(scale);
  if (total !== hundred) {
    const text =
      scale === 0
        ? String(total)
        : `${total / 10n ** BigInt(scale)}.${String(total % 10n ** BigInt(scale)).padStart(scale, '0')}`;
    throw readAllocations.fail(
      `${allocations[0].path}/Percentage`,
      `the allocations of ${where} add up to ${text} percent, not 100 (${allocations
        .map(({ item }) => describe(item.Percentage))
        .join(' + ')}); pass every allocation of it (all pages), or correct them in Concur`,
    );
  }
  return weights;
}

/** Allocations in a fixed order (by ID), so a re-delivery in another order splits and names the lines the same. */
export function inIdOrder(allocations: readonly Child[]): Child[] {
  return [...allocations].sort((a, b) => {
    const x = String(a.item.ID);
    const y = String(b.item.ID);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** What splitting one line needs from the profile's options. */
export interface SplitFields {
  costCenterField?: string;
  projectField?: string;
}

/**
 * One line per allocation (`<lineId>/<allocation ID>`), the amount split exactly in minor units by largest
 * remainder: the parts add up to the line's amount to the cent. Each part is charged to the cost center and
 * project of its allocation's custom fields (Code, else Value), else to the line's own.
 */
export function splitByAllocations(
  line: ExpenseLine,
  allocations: readonly Child[],
  where: string,
  fields: SplitFields,
): ExpenseLine[] {
  const ordered = inIdOrder(allocations);
  const amounts: Money[] = allocate(line.amount, percentageWeights(ordered, where));
  return ordered.map(({ item, path }, index) => {
    const dimension = (field: string | undefined, own: string | undefined) =>
      field === undefined ? own : (customFieldCode(item, field, path, readAllocations) ?? own);
    return withoutUndefined({
      ...line,
      lineId: `${line.lineId}/${readAllocations.string(item.ID, `${path}/ID`)}`,
      amount: amounts[index],
      dimensions: withoutUndefined({
        ...line.dimensions,
        costCenter: dimension(fields.costCenterField, line.dimensions.costCenter),
        project: dimension(fields.projectField, line.dimensions.project),
      }),
      // A policy exception names the line it is on: it stays once, on the first part.
      policyExceptions:
        index === 0
          ? line.policyExceptions?.map((exception) => ({ ...exception, lineId: `${line.lineId}/${String(item.ID)}` }))
          : undefined,
    });
  });
}
