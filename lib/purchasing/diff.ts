/**
 * What changed between two versions of a purchase order, as a list of changes that can be applied again to
 * whatever the ERP holds now. Lines are matched by lineId, so a quantity revision, an added or removed line
 * and a re-split of the coding are each one change. A change re-applied after the ERP's copy moved on
 * (HTTP 412) touches only the header fields it is about, so a buyer's edit of another header field stays;
 * the lines are the pack's and are sent as the version wants them (see reconcile).
 */
import type { PurchaseOrderPatch } from '../erp/dialect';
import type { PurchaseOrderLine } from '../model/types';
import type { PurchaseOrderContent } from './document';

export const HEADER_FIELDS = ['supplierId', 'orderDate', 'currency'] as const;
export type HeaderField = (typeof HEADER_FIELDS)[number];

export const LINE_FIELDS = [
  'description',
  'itemCode',
  'quantity',
  'unitOfMeasure',
  'unitPrice',
  'amount',
  'taxCode',
  'needBy',
  'accountAssignments',
] as const;
export type LineField = (typeof LINE_FIELDS)[number];

export type PurchaseOrderChange =
  | { kind: 'header'; field: HeaderField; value: string }
  | { kind: 'lineAdded'; lineId: string; line: PurchaseOrderLine }
  | { kind: 'lineRemoved'; lineId: string }
  /** `line` is the line as wanted; only `fields` are taken from it. */
  | { kind: 'lineChanged'; lineId: string; fields: LineField[]; line: PurchaseOrderLine };

/** A change as reported on the message: what changed, without the line's whole content. */
export type ChangeSummary =
  | { kind: 'header'; field: HeaderField }
  | { kind: 'lineAdded' | 'lineRemoved'; lineId: string }
  | { kind: 'lineChanged'; lineId: string; fields: LineField[] };

/** The changes that turn `base` into `wanted`; empty when they hold the same order. */
export function diffPurchaseOrder(base: PurchaseOrderContent, wanted: PurchaseOrderContent): PurchaseOrderChange[] {
  const changes: PurchaseOrderChange[] = [];
  for (const field of HEADER_FIELDS) {
    if (base[field] !== wanted[field]) changes.push({ kind: 'header', field, value: wanted[field] });
  }
  const baseLines = new Map(base.lines.map((line) => [line.lineId, line]));
  const wantedIds = new Set(wanted.lines.map((line) => line.lineId));
  for (const line of base.lines) {
    if (!wantedIds.has(line.lineId)) changes.push({ kind: 'lineRemoved', lineId: line.lineId });
  }
  for (const line of wanted.lines) {
    const before = baseLines.get(line.lineId);
    if (before === undefined) {
      changes.push({ kind: 'lineAdded', lineId: line.lineId, line });
      continue;
    }
    const fields = LINE_FIELDS.filter((field) => !sameValue(before[field], line[field]));
    if (fields.length > 0) changes.push({ kind: 'lineChanged', lineId: line.lineId, fields, line });
  }
  return changes;
}

/**
 * `base` with the changes applied. A changed line that is gone from `base` comes back whole, an added line
 * that is there already takes the wanted content, and kept lines keep their order (added ones go last).
 */
export function applyChanges(
  base: PurchaseOrderContent,
  changes: readonly PurchaseOrderChange[],
): PurchaseOrderContent {
  const result: PurchaseOrderContent = { ...base, lines: [...base.lines] };
  for (const change of changes) {
    if (change.kind === 'header') {
      result[change.field] = change.value;
      continue;
    }
    const index = result.lines.findIndex((line) => line.lineId === change.lineId);
    if (change.kind === 'lineRemoved') {
      if (index >= 0) result.lines.splice(index, 1);
    } else if (index < 0) {
      result.lines.push(change.line);
    } else if (change.kind === 'lineAdded') {
      result.lines[index] = change.line;
    } else {
      result.lines[index] = withFields(result.lines[index], change.line, change.fields);
    }
  }
  return result;
}

/**
 * What to send to a PO whose ERP copy is `base`, for a version that wants `wanted` and changed its header by
 * `changes`. Header fields: only the changed ones are re-applied, so a buyer's edit of another header field in
 * the ERP stays. Lines, when the version changed any: the version's lines whole (added, changed and removed as
 * needed), never the changes re-applied to the ERP's reading of them, because that reading may be
 * - another form of the same lines: Business Central and ERPNext read a split line back as amount splits of
 *   quantity 1, and a quantity change re-applied there keeps the old amounts (the change is lost);
 * - a half-done earlier attempt: Business Central replaces lines by deleting all and posting them one by one,
 *   so a failure midway leaves lines missing that the version's changes do not mention.
 * The lines read back are kept when they already are the wanted ones, so nothing is written needlessly.
 */
export function reconcile(
  base: PurchaseOrderContent,
  changes: readonly PurchaseOrderChange[],
  wanted: PurchaseOrderContent,
): PurchaseOrderContent {
  const headerChanges = changes.filter((change) => change.kind === 'header');
  const header = applyChanges({ ...base, lines: [] }, headerChanges);
  // A version that changed no line leaves the lines alone: an ERP reads some lines back in another form (a split
  // line as amount splits) that never equals the pack's, and replacing them would undo a buyer's line edits.
  const changesLines = headerChanges.length < changes.length;
  return { ...header, lines: !changesLines || sameLineSet(base.lines, wanted.lines) ? base.lines : wanted.lines };
}

/** The same lines, whatever their order (an ERP may number and sort its lines itself). */
function sameLineSet(held: readonly PurchaseOrderLine[], wanted: readonly PurchaseOrderLine[]): boolean {
  if (held.length !== wanted.length) return false;
  const byId = new Map(held.map((line) => [line.lineId, line]));
  return wanted.every((line) => byId.has(line.lineId) && sameValue(byId.get(line.lineId), line));
}

/** Only the fields in which `target` differs from `base`; `lines` (the whole set) when any line differs. */
export function patchBetween(base: PurchaseOrderContent, target: PurchaseOrderContent): PurchaseOrderPatch {
  const patch: PurchaseOrderPatch = {};
  for (const field of HEADER_FIELDS) {
    if (base[field] !== target[field]) patch[field] = target[field];
  }
  if (!sameValue(base.lines, target.lines)) patch.lines = target.lines;
  return patch;
}

export function isEmptyPatch(patch: PurchaseOrderPatch): boolean {
  return Object.keys(patch).length === 0;
}

export function summarise(changes: readonly PurchaseOrderChange[]): ChangeSummary[] {
  return changes.map((change) => {
    switch (change.kind) {
      case 'header':
        return { kind: 'header', field: change.field };
      case 'lineChanged':
        return { kind: 'lineChanged', lineId: change.lineId, fields: [...change.fields] };
      default:
        return { kind: change.kind, lineId: change.lineId };
    }
  });
}

/** JSON with sorted keys and without undefined members: one text per value, however its keys are ordered. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

function withFields(
  line: PurchaseOrderLine,
  wanted: PurchaseOrderLine,
  fields: readonly LineField[],
): PurchaseOrderLine {
  const merged: Record<string, unknown> = { ...line };
  for (const field of fields) {
    if (wanted[field] === undefined) delete merged[field];
    else merged[field] = wanted[field];
  }
  return merged as unknown as PurchaseOrderLine;
}
