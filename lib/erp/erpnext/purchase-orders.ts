/**
 * Purchase Orders in ERPNext: create (insert the draft, then submit it), change (PurchaseOrderRevisions),
 * cancel (`docstatus: 2`), read back as the pack's canonical order, and find by the reference Custom Field or
 * down the amendment chain (`amended_from`).
 */
import { FinanceError } from '../../errors';
import { fromMinorUnits, minorOf, splitByPercent } from '../../model/money';
import type { ErpRef, PurchaseOrder, PurchaseOrderLine } from '../../model/types';
import type { CallContext, ErpPurchaseOrder, PurchaseOrderKey, PurchaseOrderPatch, PurchaseOrderRef } from '../dialect';
import { jsonNumber } from '../json-number';
import { isRecord } from '../records';
import { fitReference } from '../reference';
import type { ErpnextContext } from './context';
import type { FrappeClient } from './frappe-client';
import { itemTaxTemplate, progressOf, sameOrder, type PoItem, type Progress } from './order-items';
import { PurchaseOrderRevisions } from './purchase-order-revision';
import { decimalText, FRAPPE_DATA_LENGTH, invalid, isStale, numberOfName, PO, type Doc } from './shared';

/** How far an amendment chain (`amended_from`) is followed. */
const MAX_AMENDMENTS = 50;

export class ErpnextPurchaseOrders {
  readonly #erp: ErpnextContext;
  readonly #api: FrappeClient;
  readonly #revisions: PurchaseOrderRevisions;

  constructor(erp: ErpnextContext) {
    this.#erp = erp;
    this.#api = erp.api;
    this.#revisions = new PurchaseOrderRevisions(erp);
  }

  async upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    const existing = po.erpRef?.documentId
      ? await this.#currentPurchaseOrder(po.erpRef.documentId, ctx)
      : await this.findPurchaseOrder(po.externalReference, ctx, true);
    const desired = await this.#purchaseOrderBody(po, ctx);
    if (!existing) {
      const draft = await this.#api.insert(PO, desired, ctx);
      this.#revisions.requireCanonicalAmounts(draft, desired, po.externalReference, 'draft');
      const submitted = await this.#api.submit(PO, draft, ctx);
      return { ...this.#erp.ref(submitted), action: 'created', version: String(submitted.modified) };
    }
    if (existing.docstatus === 0) {
      // A draft left by an attempt that stopped before submitting: bring it up to date, then submit.
      const submitted = await this.#revisions.finishDraft(existing, desired, String(existing.modified), ctx);
      return { ...this.#erp.ref(submitted), action: 'updated', version: String(submitted.modified) };
    }
    if (existing.docstatus === 2 || sameOrder(existing, desired)) {
      return { ...this.#erp.ref(existing), action: 'unchanged', version: String(existing.modified) };
    }
    const revised = await this.#revisions.revise(existing, desired, String(existing.modified), ctx);
    return { ...this.#erp.ref(revised), action: 'updated', version: String(revised.modified) };
  }

  /**
   * The Purchase Order that stands for `documentId` now. ERPNext changes a submitted order by cancelling it
   * and inserting an amendment (`amended_from`, named `<id>-1`), so an id handed out earlier may name a
   * cancelled order whose content lives on in its amendment; a retry after a lost answer must continue with
   * that amendment. Answers the first live (draft or submitted) document down the chain, the last cancelled
   * one when none is live, undefined when `documentId` does not exist.
   */
  async #currentPurchaseOrder(documentId: string, ctx: CallContext): Promise<Doc | undefined> {
    let doc = await this.#api.get(PO, documentId, ctx);
    // An amendment always names an older document, so the chain ends; the bound only guards a corrupt one.
    for (let step = 0; doc?.docstatus === 2 && step < MAX_AMENDMENTS; step += 1) {
      const amendment = await this.#amendmentOf(String(doc.name), ctx);
      if (!amendment) return doc;
      doc = amendment;
    }
    return doc;
  }

  /** The amendment of a cancelled order: its live one, else a cancelled one to follow further. */
  async #amendmentOf(name: string, ctx: CallContext): Promise<Doc | undefined> {
    const rows = await this.#api.list(
      PO,
      {
        filters: [
          ['amended_from', '=', name],
          ['company', '=', this.#erp.company],
        ],
        fields: ['name', 'docstatus'],
        orderBy: 'modified desc',
        limit: 20,
      },
      ctx,
    );
    const live = rows.filter((row) => row.docstatus !== 2);
    if (live.length > 1) {
      const names = live.map((row) => String(row.name)).join(', ');
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#erp.system}" (ERPNext) holds ${live.length} live amendments of Purchase Order ${name} (${names}), so the order is committed more than once. Cancel the ones that should not exist in ERPNext, then replay the dead letter.`,
        { details: { documentId: name, amendments: live.map((row) => String(row.name)) } },
      );
    }
    const chosen = live[0] ?? rows[0];
    return chosen ? this.#api.get(PO, String(chosen.name), ctx) : undefined;
  }

  async cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    const found = key.documentId
      ? await this.#currentPurchaseOrder(key.documentId, ctx)
      : await this.findPurchaseOrder(key.externalReference, ctx, false);
    if (!found) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#erp.system}" has no Purchase Order with ${this.#erp.referenceField} "${key.externalReference}", so there is nothing to cancel.`,
        {
          details: { externalReference: key.externalReference },
        },
      );
    }
    if (found.docstatus === 2) return this.#erp.ref(found);
    if (found.docstatus === 0) {
      await this.#api.call({ method: 'DELETE', path: this.#api.docPath(PO, String(found.name)) }, ctx);
      return { ...this.#erp.ref(found), status: 'cancelled' };
    }
    for (let attempt = 0; ; attempt += 1) {
      const current = attempt === 0 ? found : await this.#api.get(PO, String(found.name), ctx);
      if (!current) throw new FinanceError('ERP_NOT_FOUND', `Purchase Order ${String(found.name)} is gone.`);
      // Cancelled by someone in between: ERPNext refuses to cancel it again, and it is what was asked.
      if (current.docstatus === 2) return this.#erp.ref(current);
      const progress = progressOf(current);
      if (progress) throw this.#notCancellable(current, progress);
      try {
        return this.#erp.ref(await this.#api.put(PO, current, { docstatus: 2, modified: current.modified }, ctx));
      } catch (error) {
        if (attempt > 0 || !isStale(error)) throw error;
      }
    }
  }

  /**
   * A submitted order with a Purchase Receipt or Purchase Invoice: ERPNext refuses its cancel (LinkExistsError,
   * check_no_back_links_exist). Closing it (purchase_order.update_status "Closed") would release what is not
   * received, but also stops billing what was received and leaves the order in force: a person's decision, not
   * the pack's reading of "cancelled". So refused before anything is written, saying how.
   */
  #notCancellable(current: Doc, progress: Progress): FinanceError {
    const name = String(current.name);
    return new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} in ERP "${this.#erp.system}" (ERPNext) is ${progress.received}% received and ${progress.billed}% billed, so it cannot be cancelled: ERPNext refuses to cancel an order that has a Purchase Receipt or Purchase Invoice (LinkExistsError). Nothing was written. Do not retry: in ERPNext, close ${name} (Status > Close) to stop what is not received yet, or cancel its receipts and invoices and send the cancel again.`,
      {
        httpStatus: 409,
        retryable: false,
        details: {
          documentId: name,
          vendorCode: 'ORDER_RECEIVED_OR_BILLED',
          perReceived: progress.received,
          perBilled: progress.billed,
        },
      },
    );
  }

  async getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    const doc = await this.#currentPurchaseOrder(documentId, ctx);
    if (!doc) throw new FinanceError('ERP_NOT_FOUND', `ERP "${this.#erp.system}" has no Purchase Order ${documentId}.`);
    return this.#canonical(doc);
  }

  async patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    const current = await this.#currentPurchaseOrder(documentId, ctx);
    if (!current)
      throw new FinanceError('ERP_NOT_FOUND', `ERP "${this.#erp.system}" has no Purchase Order ${documentId}.`);
    if (current.docstatus === 2) throw this.#cancelledWithoutAmendment(documentId, String(current.name));
    const canonical = this.#canonical(current);
    const merged: PurchaseOrder = {
      docType: 'PurchaseOrder',
      sourceRef: { system: this.#erp.system, id: String(current.name) },
      externalReference: String(current[this.#erp.referenceField] ?? ''),
      supplierId: patch.supplierId ?? canonical.supplierId,
      orderDate: patch.orderDate ?? canonical.orderDate,
      currency: patch.currency ?? canonical.currency,
      total: canonical.total,
      lines: patch.lines ?? canonical.lines,
    };
    const desired = await this.#purchaseOrderBody(merged, ctx);
    desired[this.#erp.referenceField] = current[this.#erp.referenceField];
    // A draft or an amendment already holding the content is what an earlier attempt left: carry on with it.
    if (current.docstatus === 0)
      return this.#canonical(await this.#revisions.finishDraft(current, desired, ifMatch, ctx));
    if (sameOrder(current, desired)) return this.#canonical(current);
    return this.#canonical(await this.#revisions.revise(current, desired, ifMatch, ctx));
  }

  /**
   * Not amended again: ERPNext refuses to cancel a cancelled order, and whether a user cancelled it or an
   * earlier attempt of this change stopped between the cancel and the amendment cannot be told from here.
   */
  #cancelledWithoutAmendment(documentId: string, name: string): FinanceError {
    return new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} is cancelled in ERP "${this.#erp.system}" (ERPNext) and has no live amendment, so this change has no order to go to. Either it was cancelled in ERPNext, or an earlier attempt of this change stopped after the cancel; check ${name} in ERPNext, amend it there by hand with the new content if the order should stand, then resolve the dead letter.`,
      { details: { documentId, cancelled: name, vendorCode: 'CANCELLED_WITHOUT_AMENDMENT' } },
    );
  }

  async #purchaseOrderBody(po: PurchaseOrder, ctx: CallContext): Promise<Doc> {
    const items: PoItem[] = [];
    for (const [index, line] of po.lines.entries()) {
      const where = `lines[${index}]`;
      if (line.description.length > FRAPPE_DATA_LENGTH)
        throw invalid(`${where}.description has more than ${FRAPPE_DATA_LENGTH} characters (item_name)`);
      const split = line.accountAssignments.length > 1;
      const amounts = !split
        ? [line.amount]
        : line.accountAssignments.every((a) => a.percent !== undefined)
          ? splitByPercent(
              line.amount,
              line.accountAssignments.map((a) => a.percent as string),
              `${where}.accountAssignments`,
            )
          : line.accountAssignments.map((a, i) => {
              if (!a.amount) throw invalid(`${where}.accountAssignments[${i}] needs a percent or an amount`);
              return a.amount;
            });
      for (const [i, assignment] of line.accountAssignments.entries()) {
        const item: PoItem = {
          item_code: line.itemCode ?? this.#erp.defaultItem,
          item_name: line.description,
          description: line.description,
          qty: split ? 1 : jsonNumber(line.quantity, `${where}.quantity`),
          uom: line.unitOfMeasure ?? 'Nos',
          conversion_factor: 1,
          rate: split
            ? jsonNumber(amounts[i].amount, `${where}.accountAssignments[${i}] amount`)
            : jsonNumber(line.unitPrice.amount, `${where}.unitPrice`),
          schedule_date: line.needBy ?? po.orderDate,
          ...itemTaxTemplate(line.taxCode, `${where}.taxCode`),
          ...(await this.#erp.dimensions(assignment.dimensions, `${where}.accountAssignments[${i}]`, ctx)),
        };
        this.#erp.expectedAmounts.set(item, amounts[i]);
        items.push(item);
      }
    }
    return {
      supplier: po.supplierId,
      company: this.#erp.company,
      transaction_date: po.orderDate,
      schedule_date: po.orderDate,
      currency: po.currency,
      [this.#erp.referenceField]: fitReference(po.externalReference, FRAPPE_DATA_LENGTH),
      items,
    };
  }

  #canonical(doc: Doc): ErpPurchaseOrder {
    const currency = String(doc.currency);
    const items = Array.isArray(doc.items) ? doc.items.filter(isRecord) : [];
    const lines: PurchaseOrderLine[] = items.map((item) => {
      const unitPrice = this.#api.money(item.rate, currency, 'rate');
      return {
        lineId: String(item.idx),
        description: String(item.item_name ?? ''),
        ...(item.item_code && item.item_code !== this.#erp.defaultItem ? { itemCode: String(item.item_code) } : {}),
        ...(item.item_tax_template ? { taxCode: String(item.item_tax_template) } : {}),
        quantity: decimalText(Number(item.qty)),
        unitOfMeasure: String(item.uom),
        unitPrice,
        amount: this.#api.money(item.amount, currency, 'amount'),
        accountAssignments: [
          {
            dimensions: {
              glAccount: numberOfName(String(item.expense_account)),
              ...(item.cost_center ? { costCenter: numberOfName(String(item.cost_center)) } : {}),
              ...(item.project ? { project: String(item.project) } : {}),
            },
          },
        ],
      };
    });
    const total = lines.reduce((sum, line) => sum + minorOf(line.amount), 0n);
    return {
      erpRef: this.#erp.ref(doc),
      externalReference: String(doc[this.#erp.referenceField] ?? ''),
      supplierId: String(doc.supplier),
      orderDate: String(doc.transaction_date),
      currency,
      total: fromMinorUnits(total, currency),
      status:
        doc.docstatus === 2 ? 'cancelled' : doc.status === 'Closed' || doc.status === 'Completed' ? 'closed' : 'open',
      lines,
    };
  }

  async findPurchaseOrder(externalReference: string, ctx: CallContext, liveOnly: boolean): Promise<Doc | undefined> {
    const rows = await this.#api.list(
      PO,
      {
        filters: [
          [this.#erp.referenceField, '=', fitReference(externalReference, FRAPPE_DATA_LENGTH)],
          ['company', '=', this.#erp.company],
        ],
        fields: ['name', 'docstatus'],
        orderBy: 'modified desc',
        limit: 20,
      },
      ctx,
    );
    const live = rows.find((row) => row.docstatus !== 2);
    const chosen = live ?? (liveOnly ? undefined : rows[0]);
    return chosen ? this.#api.get(PO, String(chosen.name), ctx) : undefined;
  }
}
