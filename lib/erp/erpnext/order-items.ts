/**
 * A Purchase Order's items as the dialect writes them, and how an order's rows compare with the wanted items:
 * the same order, the same line (Update Items can change it), what a change would alter, how far it is
 * received and billed.
 */
import { isRecord } from '../records';
import { FRAPPE_DATA_LENGTH, invalid, type Doc } from './shared';

export interface PoItem {
  item_code: string;
  item_name: string;
  description: string;
  qty: number;
  uom: string;
  conversion_factor: number;
  rate: number;
  schedule_date: string;
  expense_account: string;
  cost_center?: string;
  project?: string;
  item_tax_template?: string;
}

/** How far an order is received and billed (percent), when anything is; else undefined. */
export interface Progress {
  received: number;
  billed: number;
}

export function progressOf(doc: Doc): Progress | undefined {
  const items = Array.isArray(doc.items) ? doc.items.filter(isRecord) : [];
  const received = Number(doc.per_received ?? 0);
  const billed = Number(doc.per_billed ?? 0);
  const rows = items.some((item) => Number(item.received_qty ?? 0) > 0 || Number(item.billed_amt ?? 0) > 0);
  return received > 0 || billed > 0 || rows ? { received, billed } : undefined;
}

/** The header fields a change would alter that ERPNext does not change on a submitted order. */
export function headerChanges(current: Doc, desired: Doc): string[] {
  const changes: string[] = [];
  if (current.supplier !== desired.supplier)
    changes.push(`supplier ${String(current.supplier)} -> ${String(desired.supplier)}`);
  if (current.currency !== desired.currency)
    changes.push(`currency ${String(current.currency)} -> ${String(desired.currency)}`);
  if (current.transaction_date !== desired.transaction_date)
    changes.push(`order date ${String(current.transaction_date)} -> ${String(desired.transaction_date)}`);
  return changes;
}

/**
 * The order's rows against the wanted items, in order: a row is the same line when its item, name, account,
 * cost center, project and tax template are the wanted item's (Update Items can change its quantity, rate,
 * unit and date); the rows no wanted item takes are removed; a wanted item no row matches is added (or a row
 * whose assignment changed: Update Items cannot change that).
 */
export interface ItemPlan {
  pairs: Array<{ row: Doc; item: PoItem }>;
  removed: Doc[];
  added: PoItem[];
}

export function itemPlan(current: Doc, desired: Doc): ItemPlan {
  const rows = (Array.isArray(current.items) ? current.items.filter(isRecord) : []).sort(
    (a, b) => Number(a.idx) - Number(b.idx),
  );
  const plan: ItemPlan = { pairs: [], removed: [], added: [] };
  let next = 0;
  for (const item of desired.items as PoItem[]) {
    const at = rows.findIndex((row, index) => index >= next && sameLine(row, item));
    if (at < 0) {
      plan.added.push(item);
      continue;
    }
    plan.removed.push(...rows.slice(next, at));
    plan.pairs.push({ row: rows[at], item });
    next = at + 1;
  }
  plan.removed.push(...rows.slice(next));
  return plan;
}

export function sameLine(row: Doc, item: PoItem): boolean {
  return (
    row.item_code === item.item_code &&
    row.item_name === item.item_name &&
    row.expense_account === item.expense_account &&
    (row.cost_center || undefined) === item.cost_center &&
    (row.project || undefined) === item.project &&
    (item.item_tax_template === undefined || row.item_tax_template === item.item_tax_template)
  );
}

/** The header and item fields #purchaseOrderBody writes. */
export const ORDER_FIELDS = ['supplier', 'company', 'transaction_date', 'schedule_date', 'currency'];
export const ORDER_ITEM_FIELDS: ReadonlyArray<keyof PoItem> = [
  'item_code',
  'item_name',
  'description',
  'qty',
  'uom',
  'conversion_factor',
  'rate',
  'schedule_date',
  'expense_account',
  'cost_center',
  'project',
  'item_tax_template',
];

/** What `doc` holds of the fields this dialect writes: the body of an order with the same content. */
export function orderContent(doc: Doc, referenceField: string): Doc {
  const items = (Array.isArray(doc.items) ? doc.items.filter(isRecord) : []).map((item) =>
    Object.fromEntries(
      ORDER_ITEM_FIELDS.filter((field) => item[field] !== undefined && item[field] !== null && item[field] !== '').map(
        (field) => [field, item[field]],
      ),
    ),
  );
  return {
    ...Object.fromEntries(ORDER_FIELDS.map((field) => [field, doc[field]])),
    [referenceField]: doc[referenceField],
    items,
  };
}

export function sameOrder(current: Doc, desired: Doc): boolean {
  if (
    current.supplier !== desired.supplier ||
    current.transaction_date !== desired.transaction_date ||
    current.currency !== desired.currency
  )
    return false;
  const have = Array.isArray(current.items) ? current.items.filter(isRecord) : [];
  const want = desired.items as PoItem[];
  return (
    have.length === want.length &&
    want.every((item, i) => {
      const h = have[i];
      return (
        h.item_code === item.item_code &&
        h.item_name === item.item_name &&
        Number(h.qty) === item.qty &&
        Number(h.rate) === item.rate &&
        h.uom === item.uom &&
        h.expense_account === item.expense_account &&
        (h.cost_center || undefined) === item.cost_center &&
        (h.project || undefined) === item.project &&
        // Only a wanted template counts: an item sent without one may get the Item's own template from ERPNext.
        (item.item_tax_template === undefined || h.item_tax_template === item.item_tax_template)
      );
    })
  );
}

/** `{ item_tax_template }` for a line with a tax code: the Item Tax Template's name (a Link, Data length). */
export function itemTaxTemplate(taxCode: string | undefined, where: string): { item_tax_template?: string } {
  if (taxCode === undefined) return {};
  if (taxCode.length > FRAPPE_DATA_LENGTH)
    throw invalid(`${where} has more than ${FRAPPE_DATA_LENGTH} characters (item_tax_template)`);
  return { item_tax_template: taxCode };
}
