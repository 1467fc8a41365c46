/**
 * Changes to a submitted Purchase Order, made as an ERPNext user makes them: Update Items
 * (update_child_qty_rate) for quantities, rates, dates and removed lines; cancel + amend for anything else,
 * with the previous version submitted again when ERPNext refuses the amendment (putBack); and the check that
 * ERPNext computed the order's amounts as the pack did (requireCanonicalAmounts).
 */
import { FinanceError, isFinanceError } from '../../errors';
import { fromMinorUnits, minorOf, sameAmount, sum } from '../../model/money';
import type { Money } from '../../model/types';
import type { CallContext } from '../dialect';
import { isRecord } from '../records';
import type { ErpnextContext } from './context';
import type { FrappeClient } from './frappe-client';
import {
  itemPlan,
  headerChanges,
  orderContent,
  progressOf,
  sameOrder,
  type ItemPlan,
  type PoItem,
  type Progress,
} from './order-items';
import { isRefused, PO, type Doc } from './shared';

const UPDATE_CHILD_QTY_RATE = 'erpnext.controllers.accounts_controller.update_child_qty_rate';
/** What #requireCanonicalAmounts says happened to the order. */
const AMOUNTS_OUTCOME: Record<'draft' | 'amendment' | 'applied', (name: string) => string> = {
  draft: (name) => `The order was not submitted; draft ${name} is left.`,
  amendment: (name) => `Amendment ${name} was not submitted.`,
  applied: (name) => `The change is applied to ${name} with ERPNext's amounts.`,
};
/** details.vendorCode of #requireCanonicalAmounts. */
const AMOUNTS_DIFFER = 'AMOUNTS_DIFFER';

function isAmountsDiffer(error: unknown): error is FinanceError {
  return isFinanceError(error) && error.details?.vendorCode === AMOUNTS_DIFFER;
}

export class PurchaseOrderRevisions {
  readonly #erp: ErpnextContext;
  readonly #api: FrappeClient;

  constructor(erp: ErpnextContext) {
    this.#erp = erp;
    this.#api = erp.api;
  }

  /**
   * A change to a submitted order, made as an ERPNext user makes it. A change of quantities, rates, units or
   * dates of its lines, or removing lines, goes through "Update Items" (update_child_qty_rate): the order keeps
   * its name (the number the supplier has) and its receipts and bills, and ERPNext refuses what it refuses
   * there (checked first here, #refuseItemUpdate). Anything else (supplier, currency, order date, a line's
   * item, description, account, cost center, project or tax template, an added line, which Update Items would
   * give the Item's defaults instead of the line's account assignment) needs cancel + amend (#amend), which
   * ERPNext refuses once the order has a Purchase Receipt or Purchase Invoice (LinkExistsError): refused here
   * before anything is written (#notAmendable).
   */
  async revise(current: Doc, desired: Doc, version: string, ctx: CallContext): Promise<Doc> {
    const plan = itemPlan(current, desired);
    const header = headerChanges(current, desired);
    if (header.length === 0 && plan.added.length === 0) return this.#updateItems(current, desired, plan, version, ctx);
    const progress = progressOf(current);
    if (progress) throw this.#notAmendable(current, progress, header, plan);
    return this.#amend(current, desired, version, ctx);
  }

  /**
   * POST erpnext.controllers.accounts_controller.update_child_qty_rate with every line to keep (its row's
   * docname, qty, rate, uom, conversion_factor, schedule_date, description): ERPNext deletes the rows left out,
   * updates the others and checks the budget again, all in one request. It takes no `modified`, so the
   * version is compared here first (what ERPNext's save does, check_if_latest). Read back afterwards: the
   * answer holds no document.
   */
  async #updateItems(current: Doc, desired: Doc, plan: ItemPlan, version: string, ctx: CallContext): Promise<Doc> {
    const name = String(current.name);
    if (version !== String(current.modified)) {
      throw new FinanceError(
        'ERP_CONFLICT',
        `Purchase Order ${name} was changed in ERP "${this.#erp.system}" (ERPNext) after version ${version} (now ${String(current.modified)}); read it again and apply the change to what it holds.`,
        { httpStatus: 412, retryable: false, details: { documentId: name, vendorCode: 'TimestampMismatchError' } },
      );
    }
    this.#refuseItemUpdate(current, plan);
    const transItems = plan.pairs.map(({ row, item }) => ({
      docname: row.name,
      idx: row.idx,
      item_code: row.item_code,
      qty: item.qty,
      rate: item.rate,
      uom: item.uom,
      conversion_factor: item.conversion_factor,
      schedule_date: item.schedule_date,
      description: item.description,
    }));
    await this.#api.call(
      {
        method: 'POST',
        path: `/api/method/${UPDATE_CHILD_QTY_RATE}`,
        body: {
          parent_doctype: PO,
          parent_doctype_name: name,
          child_docname: 'items',
          trans_items: JSON.stringify(transItems),
        },
      },
      ctx,
    );
    const updated = await this.#api.get(PO, name, ctx);
    if (!updated)
      throw new FinanceError('ERP_NOT_FOUND', `Purchase Order ${name} is gone after its items were updated.`);
    if (!sameOrder(updated, desired)) {
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#erp.system}" (ERPNext) took the item update of Purchase Order ${name} (Update Items), but the order does not hold the change afterwards (its lines differ from the purchase order's). Do not retry: compare ${name} in ERPNext with the purchase order, correct it there with Update Items, then resolve the dead letter.`,
        { retryable: false, details: { documentId: name, vendorCode: 'ITEM_UPDATE_NOT_HELD' } },
      );
    }
    this.requireCanonicalAmounts(updated, desired, String(current[this.#erp.referenceField] ?? name), 'applied');
    return updated;
  }

  /** What ERPNext's Update Items refuses (validate_child_on_delete, validate_quantity, the billed amount), first. */
  #refuseItemUpdate(current: Doc, plan: ItemPlan): void {
    const currency = String(current.currency);
    const problems: string[] = [];
    for (const row of plan.removed) {
      const received = Number(row.received_qty ?? 0);
      const billed = Number(row.billed_amt ?? 0);
      if (received > 0 || billed > 0)
        problems.push(
          `row ${String(row.idx)} (${String(row.item_name)}) would be removed, but ${received > 0 ? `${received} of it ${received === 1 ? 'was' : 'were'} received` : ''}${received > 0 && billed > 0 ? ' and ' : ''}${billed > 0 ? `${billed} ${currency} of it was billed` : ''}`,
        );
    }
    for (const { row, item } of plan.pairs) {
      const received = Number(row.received_qty ?? 0);
      if (item.qty < received)
        problems.push(
          `row ${String(row.idx)} (${item.item_name}) would order ${item.qty}, but ${received} ${row.uom === undefined ? '' : `${String(row.uom)} `}were received`,
        );
      const expected = this.#erp.expectedAmounts.get(item);
      const billed = minorOf(this.#api.money(row.billed_amt ?? 0, currency, 'billed_amt'));
      if (expected && billed > minorOf(expected))
        problems.push(
          `row ${String(row.idx)} (${item.item_name}) would amount to ${expected.amount} ${currency}, but ${fromMinorUnits(billed, currency).amount} ${currency} of it was billed`,
        );
    }
    if (problems.length === 0) return;
    const name = String(current.name);
    throw new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} in ERP "${this.#erp.system}" (ERPNext) cannot take this change: ${problems.join('; ')}. ERPNext refuses to remove or reduce a line below what was received or billed. Nothing was written. Do not retry: change the purchase order in the source so it keeps what was received and billed, or cancel the Purchase Receipt / Purchase Invoice in ERPNext first, then replay.`,
      {
        httpStatus: 409,
        retryable: false,
        details: { documentId: name, vendorCode: 'BELOW_RECEIVED_OR_BILLED', problems },
      },
    );
  }

  /** A change only cancel + amend can make, of an order ERPNext will not cancel (it has receipts or bills). */
  #notAmendable(current: Doc, progress: Progress, header: string[], plan: ItemPlan): FinanceError {
    const name = String(current.name);
    const what = [
      ...header,
      ...(plan.added.length > 0
        ? [
            `${plan.added.length} line${plan.added.length === 1 ? '' : 's'} with a new item, description, account, cost center, project or tax template`,
          ]
        : []),
    ].join(', ');
    // Another supplier or currency is another order.
    const newOrder = header.some((change) => /^(supplier|currency) /.test(change));
    return new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} in ERP "${this.#erp.system}" (ERPNext) is ${progress.received}% received and ${progress.billed}% billed, so this change cannot be made to it: ${what}. ERPNext makes such a change only by cancelling the order and submitting an amendment, and refuses to cancel an order that has a Purchase Receipt or Purchase Invoice (LinkExistsError); its Update Items changes only quantities, rates and dates. Nothing was written. Do not retry: ${newOrder ? `for another supplier or currency, close ${name} in ERPNext (Status > Close) and issue a new purchase order in the source` : `change only quantities, prices and dates of ${name} (or remove lines not received), put new or re-assigned lines on a new purchase order, or cancel the receipts and invoices of ${name} in ERPNext first and send the change again`}.`,
      {
        httpStatus: 409,
        retryable: false,
        details: {
          documentId: name,
          vendorCode: 'ORDER_RECEIVED_OR_BILLED',
          perReceived: progress.received,
          perBilled: progress.billed,
          changes: what,
        },
      },
    );
  }

  /**
   * The amounts ERPNext computed for an order (each item's qty x rate, and the total) against the canonical
   * ones #purchaseOrderBody recorded: ERPNext rounds qty x rate by System Settings "Rounding Method", where
   * the pack rounds half away from zero. "Banker's Rounding" rounds a half to even (2.5 x 0.05 = 0.12 there,
   * 0.13 here); the default "Banker's Rounding (legacy)" does so for a currency without decimals (2.5 x 1 JPY =
   * 2 there, 3 here) and rounds up otherwise [S frappe/utils/data.py rounded, _bankers_rounding_legacy];
   * "Commercial Rounding" is the pack's rule. A draft that differs is not submitted (as #refuseAddedCharges
   * for an invoice). Content not built from a document (a put-back) is not checked.
   */
  requireCanonicalAmounts(doc: Doc, desired: Doc, reference: string, outcome: 'draft' | 'amendment' | 'applied'): void {
    const wanted = (desired.items as PoItem[]).map((item) => this.#erp.expectedAmounts.get(item));
    if (wanted.length === 0 || wanted.some((amount) => amount === undefined)) return;
    const currency = String(doc.currency);
    const items = (Array.isArray(doc.items) ? doc.items.filter(isRecord) : []).sort(
      (a, b) => Number(a.idx) - Number(b.idx),
    );
    const differences: string[] = [];
    wanted.forEach((want, i) => {
      const held = this.#api.money(items[i]?.amount, currency, 'amount');
      if (!sameAmount(held, want as Money))
        differences.push(`row ${i + 1}: ${held.amount} ${currency} (the purchase order: ${(want as Money).amount})`);
    });
    const total = this.#api.money(doc.total, currency, 'total');
    const expected = sum(wanted as Money[], currency);
    if (differences.length === 0 && sameAmount(total, expected)) return;
    const name = String(doc.name);
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#erp.system}" (ERPNext) computed Purchase Order ${name} for ${reference} with other amounts than the purchase order: ${differences.join('; ') || 'the items match'}; total ${total.amount} ${currency} (the purchase order: ${expected.amount}). ERPNext rounds quantity x rate by System Settings "Rounding Method"; "Banker's Rounding", and "Banker's Rounding (legacy)" for a currency without decimals, round a half to even, the pack rounds it away from zero. ${AMOUNTS_OUTCOME[outcome](name)} Do not retry: set System Settings > Rounding Method to "Commercial Rounding"${outcome === 'applied' ? ` (${name} keeps its amounts until its lines change)` : outcome === 'draft' ? ` and delete draft ${name}` : ''}, or change the line in the source so that quantity x price needs no rounding; then replay.`,
      {
        retryable: false,
        details: {
          documentId: name,
          vendorCode: AMOUNTS_DIFFER,
          externalReference: reference,
          held: total,
          expected,
          differences,
        },
      },
    );
  }

  /**
   * Cancels the submitted order (with its version) and submits its amendment. Three writes: an answer lost
   * after any of them is picked up by the next call through #currentPurchaseOrder, which continues with the
   * amendment instead of amending the (by then cancelled) original a second time. An amendment ERPNext
   * refuses is answered by #putBack, so the previous version stays in force.
   *
   * The cancel has to come first, and nothing can be checked by ERPNext before it: Frappe refuses to insert an
   * amendment of a document that is not cancelled ("cannot be amended because it is not cancelled",
   * Document.validate_amended_from, frappe/frappe#28617, in v15 and later) [S]; a cancelled document takes no
   * further change, so a cancel cannot be undone (check_docstatus_transition) [S]; and the budget check that
   * refuses most revisions runs only when the order is submitted [S erpnext purchase_order.py on_submit].
   */
  async #amend(current: Doc, desired: Doc, version: string, ctx: CallContext): Promise<Doc> {
    await this.#api.put(PO, current, { docstatus: 2, modified: version }, ctx);
    let draft: Doc | undefined;
    try {
      draft = await this.#api.insert(PO, { ...desired, amended_from: current.name }, ctx);
      this.requireCanonicalAmounts(
        draft,
        desired,
        String(current[this.#erp.referenceField] ?? current.name),
        'amendment',
      );
      return await this.#api.submit(PO, draft, ctx);
    } catch (error) {
      throw await this.#putBack(current, draft, error, ctx);
    }
  }

  /** Brings a draft to the desired content (only when it differs; `version` guards that save) and submits it. */
  async finishDraft(draft: Doc, desired: Doc, version: string, ctx: CallContext): Promise<Doc> {
    let latest = draft;
    try {
      if (!sameOrder(draft, desired)) latest = await this.#api.put(PO, draft, { ...desired, modified: version }, ctx);
      this.requireCanonicalAmounts(
        latest,
        desired,
        String(draft[this.#erp.referenceField] ?? draft.name),
        draft.amended_from ? 'amendment' : 'draft',
      );
      return await this.#api.submit(PO, latest, ctx);
    } catch (error) {
      // The draft amendment an earlier attempt left: the order it amends is cancelled and holds the version in force.
      const amended =
        (isRefused(error) || isAmountsDiffer(error)) && draft.amended_from
          ? await this.#api.get(PO, String(draft.amended_from), ctx)
          : undefined;
      if (amended?.docstatus !== 2) throw error;
      throw await this.#putBack(amended, latest, error, ctx);
    }
  }

  /**
   * ERPNext refused the amendment of `cancelled` (its insert, save or submit), after `cancelled` was cancelled
   * for it: left so, no order would be in force while the pack still holds the previous version as open. So
   * the previous version is submitted again as the amendment: the refused draft, when there is one, is brought
   * back to the cancelled order's content, else an amendment with that content is inserted. Its budget fits,
   * as the cancelled order no longer counts. Answers the error to throw: the refusal (still a refusal to the
   * pack), naming the order that holds the previous version; or, when that failed too, an ERP_CONFLICT for a
   * person. Only a refusal proves the write was not applied: after a lost answer it may have been, and the
   * retry continues with what it left (#currentPurchaseOrder), so any other error is answered as it is.
   */
  async #putBack(cancelled: Doc, draft: Doc | undefined, refusal: unknown, ctx: CallContext): Promise<unknown> {
    // Amounts ERPNext rounded otherwise: the draft was not submitted, so the change is not applied either.
    if (!isRefused(refusal) && !isAmountsDiffer(refusal)) return refusal;
    const previous = orderContent(cancelled, this.#erp.referenceField);
    let restored: Doc;
    try {
      const ready = !draft
        ? await this.#api.insert(PO, { ...previous, amended_from: cancelled.name }, ctx)
        : sameOrder(draft, previous)
          ? draft
          : await this.#api.put(PO, draft, { ...previous, modified: draft.modified }, ctx);
      restored = await this.#api.submit(PO, ready, ctx);
    } catch (failure) {
      const why = isFinanceError(failure) ? failure.message : String(failure);
      return new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#erp.system}" (ERPNext) refused the change of Purchase Order ${String(cancelled.name)} after the order was cancelled for it (ERPNext changes a submitted order by cancelling it and submitting an amendment): ${refusal.message}. Submitting the previous version again as its amendment failed too (${why}), so no submitted order may hold this purchase order now${draft ? `; draft ${String(draft.name)} is left` : ''}. In ERPNext, amend ${String(cancelled.name)} with its previous content (or correct${draft ? ' and submit the draft' : ' the change'}) and submit it, then resolve the dead letter.`,
        {
          retryable: false,
          details: {
            documentId: String(cancelled.name),
            vendorCode: 'AMENDMENT_NOT_RESTORED',
            refusal: { code: refusal.code, message: refusal.message },
            failure: isFinanceError(failure) ? { code: failure.code, message: failure.message } : why,
          },
          cause: refusal,
        },
      );
    }
    return new FinanceError(
      refusal.code,
      `${refusal.message} The change was not applied: ERPNext had cancelled Purchase Order ${String(cancelled.name)} to amend it and a cancel cannot be undone, so its previous version was submitted again as ${String(restored.name)}.`,
      {
        httpStatus: refusal.httpStatus,
        retryable: refusal.retryable,
        retryAfterMs: refusal.retryAfterMs,
        details: { ...refusal.details, cancelled: String(cancelled.name), restoredAs: String(restored.name) },
        cause: refusal,
      },
    );
  }
}
