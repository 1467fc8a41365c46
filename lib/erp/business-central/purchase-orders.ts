/**
 * Purchase orders on Business Central: create (deep insert), revision (only the lines that differ, refused
 * before writing when BC's order cannot take it, put back when BC refuses part-way), cancel (delete), reads.
 */
import { FinanceError, isFinanceError } from '../../errors';
import { fromMinorUnits } from '../../model/money';
import type { ErpRef, PurchaseOrder, PurchaseOrderLine } from '../../model/types';
import { isFinalRefusal, notPutBack } from '../http-errors';
import type {
  CallContext,
  ErpPurchaseOrder,
  FoundDocument,
  PurchaseOrderKey,
  PurchaseOrderPatch,
  PurchaseOrderRef,
} from '../dialect';
import { fitReference } from '../reference';
import type { Entity } from './odata';
import { BC_LENGTHS, invalidPo, readTaxCode } from './fields';
import { asEntities, changedFields, decimalText, etagOf, GUID, isStale, quote } from './odata';
import {
  NO_LINE_CHANGE,
  bcLines,
  canonicalDimensions,
  invoiced,
  isEmptyPlan,
  lineBody,
  lineName,
  linePath,
  planLines,
  received,
} from './purchase-order-lines';
import type { AppliedLines, LinePlan } from './purchase-order-lines';
import type { BcContext } from './context';

export async function upsertPurchaseOrder(
  bc: BcContext,
  po: PurchaseOrder,
  ctx: CallContext,
): Promise<PurchaseOrderRef> {
  const knownId = po.erpRef?.documentId ?? (await findPurchaseOrder(bc, po.externalReference, ctx))?.id;
  if (knownId !== undefined) return updatePurchaseOrder(bc, String(knownId), po, ctx);
  const body: Entity = {
    ...headerFields(bc, po, await bc.localCurrency(ctx)),
    ...(bc.referenceApi ? { yourReference: fitReference(po.externalReference, BC_LENGTHS.yourReference) } : {}),
    purchaseOrderLines: bcLines(bc, po.lines),
  };
  const { data } = await bc.call({ method: 'POST', path: await bc.purchaseOrderPath(), body }, ctx);
  const created = bc.entity(data, 'the created purchase order');
  return { ...poRef(bc, created), action: 'created', version: etagOf(created) };
}

async function updatePurchaseOrder(
  bc: BcContext,
  id: string,
  po: PurchaseOrder,
  ctx: CallContext,
): Promise<PurchaseOrderRef> {
  for (let attempt = 0; ; attempt += 1) {
    const current = await fetchPurchaseOrder(bc, id, ctx);
    const headerChange = changedFields(current, headerFields(bc, po, await bc.localCurrency(ctx)));
    const plan = planLines(asEntities(current.purchaseOrderLines), bcLines(bc, po.lines));
    if (Object.keys(headerChange).length === 0 && isEmptyPlan(plan)) {
      return { ...poRef(bc, current), action: 'unchanged', version: etagOf(current) };
    }
    try {
      const updated = await applyChange(bc, id, current, headerChange, plan, ctx);
      return { ...poRef(bc, updated), action: 'updated', version: etagOf(updated) };
    } catch (error) {
      if (attempt > 0 || !isStale(error)) throw error;
    }
  }
}

/**
 * PATCH of the header with If-Match (also when only lines change, to test the version), then only the lines
 * that differ, one request each (API v2.0 has no deep update): removed lines deleted, changed lines PATCHed
 * with their own If-Match (a line keeps its id, so what BC posted against it, receipts and invoices, stays
 * attached), added lines posted. Before anything is written, a change BC's order would not take or that
 * would undo what was received or invoiced is refused (refusalOf). A line BC refuses part-way (an unknown VAT
 * group, a blocked account) would leave the order with part of the change while the pack still holds the
 * old version as the one applied and no retry comes; so the order is put back as it was (restore) and the
 * refusal thrown as it came.
 */
async function applyChange(
  bc: BcContext,
  id: string,
  current: Entity,
  header: Entity,
  plan: LinePlan,
  ctx: CallContext,
  ifMatch = etagOf(current),
): Promise<Entity> {
  const refusal = refusalOf(bc, current, header, plan);
  if (refusal !== undefined) {
    // Judged on the order as BC holds it now; a change computed on an older copy is read again first.
    if (ifMatch !== etagOf(current)) throw changedSince(current, ifMatch);
    throw refusal;
  }
  const path = `${await bc.purchaseOrderPath()}(${id})`;
  await bc.call({ method: 'PATCH', path, body: header, ifMatch }, ctx);
  const done: AppliedLines = { removed: [], changed: [] };
  try {
    for (const line of plan.remove) {
      await bc.call({ method: 'DELETE', path: linePath(path, line), ifMatch: etagOf(line) }, ctx);
      done.removed.push(line);
    }
    for (const change of plan.change) {
      await bc.call(
        { method: 'PATCH', path: linePath(path, change.line), body: change.body, ifMatch: etagOf(change.line) },
        ctx,
      );
      done.changed.push(change);
    }
    for (const line of plan.add) {
      await bc.call({ method: 'POST', path: `${path}/purchaseOrderLines`, body: line }, ctx);
    }
  } catch (error) {
    // Any other failure may have been applied: the retry of the whole change compares the lines again.
    if (!isFinalRefusal(error)) throw error;
    throw await restore(bc, id, current, header, done, error, ctx);
  }
  return fetchPurchaseOrder(bc, id, ctx);
}

/**
 * Why BC's order cannot take this change, or undefined when it can. BC allows no line insert, change or
 * delete and no vendor or currency change unless the order's Status is Open (API status `Draft`)
 * [S TestStatusOpen in Purchase Line OnInsert/OnDelete/OnValidate, Purchase Header Buy-from Vendor No.];
 * the API's `Open` is BC's Released (or Pending Prepayment) and `In_x0020_Review` its Pending Approval
 * [S codeunit 5497]. What was received or invoiced against a line is BC's record of goods and money: a line
 * with either is never removed or re-coded, its quantity never goes below it, and the vendor or currency of
 * an order with receipts never changes. Refused before anything is written, so BC's order stays whole.
 */
function refusalOf(bc: BcContext, current: Entity, header: Entity, plan: LinePlan): FinanceError | undefined {
  const number = String(current.number ?? current.id);
  const lines = asEntities(current.purchaseOrderLines);
  const vendorChange = header.vendorNumber !== undefined && header.vendorNumber !== current.vendorNumber;
  const currencyChange = header.currencyCode !== undefined && header.currencyCode !== current.currencyCode;
  const status = current.status;
  if (typeof status === 'string' && status !== 'Draft' && (!isEmptyPlan(plan) || vendorChange || currencyChange)) {
    return poConflict(
      current,
      `PO ${number} is ${statusInBc(status)} (API status ${status}), and Business Central takes no change of its lines, vendor or currency then; nothing was changed. Reopen it in Business Central, then replay this change`,
      { status },
    );
  }
  const problems: string[] = [];
  for (const line of plan.remove) {
    if (received(line) > 0 || invoiced(line) > 0) {
      problems.push(
        `${lineName(line)} has ${decimalText(received(line))} received and ${decimalText(invoiced(line))} invoiced, so it cannot be removed or moved to another G/L account or dimension`,
      );
    }
  }
  for (const { line, body } of plan.change) {
    const quantity = typeof body.quantity === 'number' ? body.quantity : Number(line.quantity);
    const floor = Math.max(received(line), invoiced(line));
    if (quantity < floor) {
      problems.push(
        `${lineName(line)} would go to quantity ${decimalText(quantity)}, below the ${decimalText(floor)} already received or invoiced`,
      );
    }
  }
  if ((vendorChange || currencyChange) && lines.some((line) => received(line) > 0 || invoiced(line) > 0)) {
    const what = [vendorChange ? 'vendor' : '', currencyChange ? 'currency' : ''].filter(Boolean).join(' and ');
    problems.push(`its ${what} cannot change once anything is received (a new vendor or currency is a new order)`);
  }
  if (problems.length === 0) return undefined;
  return poConflict(
    current,
    `PO ${number} in Business Central: ${problems.join('; ')}. Nothing was changed. Settle it in Business Central (undo the receipt, or raise a new purchase order for what changed), then replay this change or discard it`,
    { problems },
  );
}

/**
 * Puts an order back as `current` held it after a change failed part-way: the lines added since are deleted
 * (read again, so a line whose POST answered with an error but was saved goes too), the header fields the
 * change patched get their old values back, then the changed lines their old fields, and the old lines that
 * were deleted are added again (they fitted before). A field that no longer holds the change's value
 * was changed by someone else meanwhile and is left as it is. Answers the error to throw: the failure as it
 * came, or, when the order could not be put back, one that says so.
 */
export async function restore(
  bc: BcContext,
  id: string,
  current: Entity,
  header: Entity,
  done: AppliedLines,
  failure: FinanceError,
  ctx: CallContext,
): Promise<FinanceError> {
  const path = `${await bc.purchaseOrderPath()}(${id})`;
  const old = new Set(asEntities(current.purchaseOrderLines).map((line) => line.id));
  try {
    const now = await fetchPurchaseOrder(bc, id, ctx);
    const nowLines = asEntities(now.purchaseOrderLines);
    for (const line of nowLines.filter((each) => !old.has(each.id))) {
      await bc.call({ method: 'DELETE', path: linePath(path, line), ifMatch: etagOf(line) }, ctx);
    }
    const back = Object.keys(header).filter((name) => now[name] === header[name] && now[name] !== current[name]);
    let headerError: unknown;
    if (back.length > 0) {
      try {
        // Every line written changes the order's ETag: the PATCH needs the one BC holds now.
        const latest = await fetchPurchaseOrder(bc, id, ctx);
        const body = Object.fromEntries(back.map((name) => [name, current[name]]));
        await bc.call({ method: 'PATCH', path, body, ifMatch: etagOf(latest) }, ctx);
      } catch (error) {
        headerError = error; // the old lines are still added back: an order without its lines is worse
      }
    }
    for (const { line, body } of done.changed) {
      const held = nowLines.find((each) => each.id === line.id);
      if (held === undefined) continue;
      const back = Object.keys(body).filter((name) => held[name] === body[name]);
      if (back.length === 0) continue;
      const previous = Object.fromEntries(back.map((name) => [name, line[name] ?? '']));
      await bc.call({ method: 'PATCH', path: linePath(path, held), body: previous, ifMatch: etagOf(held) }, ctx);
    }
    for (const line of done.removed) {
      await bc.call({ method: 'POST', path: `${path}/purchaseOrderLines`, body: lineBody(line) }, ctx);
    }
    if (headerError !== undefined) throw headerError;
    return failure;
  } catch (restoreError) {
    return notPutBack(
      failure,
      restoreError,
      `check purchase order ${String(current.number)} in Business Central (vendor, dates and lines) against the last version the pack applied.`,
    );
  }
}

export async function cancelPurchaseOrder(bc: BcContext, key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
  const id = key.documentId ?? (await findPurchaseOrder(bc, key.externalReference, ctx))?.id;
  if (id === undefined) {
    throw new FinanceError(
      'ERP_NOT_FOUND',
      `ERP "${bc.system}" has no purchase order with external reference "${key.externalReference}"` +
        (bc.referenceApi
          ? ''
          : ' (without the custom reference API page, Business Central can only be asked by document id)') +
        '. Check the reference, or create the purchase order first.',
      { details: { externalReference: key.externalReference } },
    );
  }
  for (let attempt = 0; ; attempt += 1) {
    let current: Entity;
    try {
      current = await fetchPurchaseOrder(bc, String(id), ctx);
    } catch (error) {
      // Deleted already (by an earlier attempt or in BC): the outcome asked for holds.
      if (isFinanceError(error) && error.httpStatus === 404) return cancelledRef(bc, String(id));
      throw error;
    }
    const booked = asEntities(current.purchaseOrderLines).filter((line) => received(line) > 0 || invoiced(line) > 0);
    if (booked.length > 0) {
      throw poConflict(
        current,
        `PO ${String(current.number)} in Business Central has ${booked.map((line) => `${lineName(line)} with ${decimalText(received(line))} received and ${decimalText(invoiced(line))} invoiced`).join('; ')}; deleting the order would cut those receipts and invoices off from it, so nothing was deleted. Finish it in Business Central instead (reduce the open quantities to what was received and invoice the receipts, after which Business Central removes the order), then replay this cancel`,
        { lines: booked.map((line) => line.description2) },
      );
    }
    try {
      await bc.call(
        { method: 'DELETE', path: `${await bc.purchaseOrderPath()}(${String(id)})`, ifMatch: etagOf(current) },
        ctx,
      );
      return { ...poRef(bc, current), status: 'cancelled', etag: undefined };
    } catch (error) {
      if (attempt > 0 || !isStale(error)) throw error;
    }
  }
}

function cancelledRef(bc: BcContext, id: string): ErpRef {
  return {
    system: bc.system,
    dialect: bc.dialect,
    documentType: 'purchaseOrder',
    documentId: id,
    status: 'cancelled',
  };
}

export async function getPurchaseOrder(bc: BcContext, documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
  return erpPurchaseOrder(bc, await fetchPurchaseOrder(bc, documentId, ctx), await bc.localCurrency(ctx));
}

export async function patchPurchaseOrder(
  bc: BcContext,
  documentId: string,
  patch: PurchaseOrderPatch,
  ifMatch: string,
  ctx: CallContext,
): Promise<ErpPurchaseOrder> {
  const current = await fetchPurchaseOrder(bc, documentId, ctx);
  const wanted: Entity = {};
  if (patch.supplierId !== undefined) wanted.vendorNumber = patch.supplierId;
  if (patch.orderDate !== undefined) wanted.orderDate = patch.orderDate;
  if (patch.currency !== undefined) {
    wanted.currencyCode = patch.currency === (await bc.localCurrency(ctx)) ? '' : patch.currency;
  }
  const plan =
    patch.lines === undefined
      ? NO_LINE_CHANGE
      : planLines(asEntities(current.purchaseOrderLines), bcLines(bc, patch.lines));
  const updated = await applyChange(bc, documentId, current, changedFields(current, wanted), plan, ctx, ifMatch);
  return erpPurchaseOrder(bc, updated, await bc.localCurrency(ctx));
}

/** The header fields the dialect writes; the local currency is a blank currencyCode in BC. */
function headerFields(
  bc: BcContext,
  po: Pick<PurchaseOrder, 'supplierId' | 'orderDate' | 'currency'>,
  localCurrency: string,
): Entity {
  return {
    vendorNumber: po.supplierId,
    orderDate: po.orderDate,
    currencyCode: po.currency === localCurrency ? '' : po.currency,
  };
}

function erpPurchaseOrder(bc: BcContext, entity: Entity, localCurrency: string): ErpPurchaseOrder {
  const currency = bc.currency(entity, localCurrency);
  const groups = new Map<string, Entity[]>();
  for (const line of asEntities(entity.purchaseOrderLines)) {
    const key = String(line.description2 || line.sequence);
    groups.set(key, [...(groups.get(key) ?? []), line]);
  }
  const lines: PurchaseOrderLine[] = [...groups].map(([lineId, bcLines]) => {
    const amounts = bcLines.map((line) => bc.minor(line.amountExcludingTax, currency, 'amountExcludingTax'));
    const total = amounts.reduce((sum, value) => sum + value, 0n);
    const first = bcLines[0];
    const single = bcLines.length === 1;
    return {
      lineId,
      description: String(first.description ?? ''),
      ...readTaxCode(first),
      quantity: single ? String(first.quantity) : '1',
      unitPrice: single ? bc.money(first.directUnitCost, currency, 'directUnitCost') : fromMinorUnits(total, currency),
      amount: fromMinorUnits(total, currency),
      accountAssignments: bcLines.map((line, i) => ({
        dimensions: canonicalDimensions(bc, line),
        ...(single ? {} : { amount: fromMinorUnits(amounts[i], currency) }),
      })),
    };
  });
  return {
    erpRef: poRef(bc, entity),
    externalReference: typeof entity.yourReference === 'string' ? entity.yourReference : '',
    supplierId: String(entity.vendorNumber),
    orderDate: String(entity.orderDate),
    currency,
    total: bc.money(entity.totalAmountExcludingTax, currency, 'totalAmountExcludingTax'),
    status: 'open',
    lines,
  };
}

async function fetchPurchaseOrder(bc: BcContext, id: string, ctx: CallContext): Promise<Entity> {
  if (!GUID.test(id)) throw invalidPo(`"${id}" is not a Business Central document id (a GUID)`);
  const { data } = await bc.call(
    {
      method: 'GET',
      path: `${await bc.purchaseOrderPath()}(${id})`,
      query: { $expand: 'purchaseOrderLines($expand=dimensionSetLines)' },
    },
    ctx,
  );
  return bc.entity(data, `purchase order ${id}`);
}

export async function findPurchaseOrder(
  bc: BcContext,
  externalReference: string,
  ctx: CallContext,
): Promise<Entity | undefined> {
  if (!bc.referenceApi) return undefined;
  const reference = fitReference(externalReference, BC_LENGTHS.yourReference);
  const found = await bc.all(await bc.purchaseOrderPath(), { $filter: `yourReference eq ${quote(reference)}` }, ctx);
  return found[0];
}

/** A purchase order by the number BC gave it (a person found it there), or null. */
export async function findPurchaseOrderByNumber(
  bc: BcContext,
  number: string,
  ctx: CallContext,
): Promise<FoundDocument | null> {
  const found = await bc.all(await bc.purchaseOrderPath(), { $filter: `number eq ${quote(number)}` }, ctx);
  return found[0] ? { ...poRef(bc, found[0]), raw: found[0] } : null;
}

export function poRef(bc: BcContext, entity: Entity): ErpRef {
  return {
    system: bc.system,
    dialect: bc.dialect,
    documentType: 'purchaseOrder',
    documentId: String(entity.id),
    number: typeof entity.number === 'string' ? entity.number : undefined,
    status: poStatus(entity.status),
    etag: typeof entity['@odata.etag'] === 'string' ? entity['@odata.etag'] : undefined,
  };
}

/** BC's Status behind the API's status of a purchase order [S codeunit 5497 SetStatusOptionFromPurchaseHeader]. */
function statusInBc(status: string): string {
  if (status === 'Open') return 'Released (or Pending Prepayment)';
  if (status === 'In_x0020_Review') return 'Pending Approval';
  return status;
}

/** The order's state for ErpRef.status: draft (BC Open), in review (Pending Approval), released. */
function poStatus(status: unknown): string {
  if (status === 'Open') return 'released';
  if (status === 'In_x0020_Review') return 'in review';
  return status === 'Draft' ? 'draft' : 'open';
}

/** A change or cancel BC's order cannot take: for a person, never retried; nothing was written. */
function poConflict(order: Entity, message: string, details: Record<string, unknown>): FinanceError {
  return new FinanceError('ERP_CONFLICT', `${message}.`, {
    retryable: false,
    httpStatus: 409,
    details: { documentId: order.id, number: order.number, ...details },
  });
}

/**
 * The order changed in BC since the copy a patch was computed on: answered like BC's 412, without writing,
 * so the caller reads the order again and computes its change anew.
 */
function changedSince(order: Entity, ifMatch: string): FinanceError {
  return new FinanceError(
    'ERP_CONFLICT',
    `Purchase order ${String(order.number)} changed in Business Central since the copy this change was computed on (version ${ifMatch}); read it again and reapply the change.`,
    { retryable: false, httpStatus: 412, details: { documentId: order.id } },
  );
}
