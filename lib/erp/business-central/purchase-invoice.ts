/**
 * Payables as purchase invoices (vendorInvoiceNumber from the reference, prices including tax), posted with
 * Microsoft.NAV.post; one found under the number must be this posting and still book it.
 */
import { FinanceError } from '../../errors';
import { fromMinorUnits, minorOf, sameAmount } from '../../model/money';
import { jsonNumber } from '../json-number';
import type { CallContext, FoundDocument, PostingRef, PostingRequest } from '../dialect';
import type { Entity } from './odata';
import { BC_LENGTHS, invalidPosting, taxCodeField, vendorInvoiceNumberOf } from './fields';
import { asEntities, describeDimensions, dimensionsOf, quote, sameDimensions, sumMinor } from './odata';
import type { BcContext } from './context';

/**
 * The purchase invoice to create, checked before anything is written. The vendor is the posting's supplier,
 * else the reimbursed employee's vendor: BC pays an employee's expenses through a vendor, and API v2.0 links
 * no vendor to an employee, so it is the vendor numbered like the employee (README "Business Central"), as
 * SAP's supplier invoice falls back to the employee's number too.
 */
export async function invoiceBody(bc: BcContext, posting: PostingRequest, ctx: CallContext): Promise<Entity> {
  const lines = posting.lines.map((line, index) => {
    if (!line.dimensions.glAccount) throw invalidPosting(`lines[${index}]: dimensions.glAccount is required`);
    return {
      lineType: 'Account',
      lineObjectNumber: line.dimensions.glAccount,
      description: (line.description ?? posting.externalReference).slice(0, BC_LENGTHS.description),
      quantity: 1,
      unitCost: jsonNumber(line.amount.amount, `lines[${index}].amount`),
      ...taxCodeField(line.taxCode, `lines[${index}].taxCode`, invalidPosting),
      dimensionSetLines: bc.dimensionSetLines(line.dimensions),
    };
  });
  return {
    vendorNumber: await payee(bc, posting, ctx),
    vendorInvoiceNumber: vendorInvoiceNumberOf(posting.externalReference),
    invoiceDate: posting.postingDate,
    postingDate: posting.postingDate,
    currencyCode: posting.currency === (await bc.localCurrency(ctx)) ? '' : posting.currency,
    // An expense amount is what was paid, tax included, on every line: a line without a tax code still
    // gets the VAT product posting group of its G/L account, and with the vendor's default (often prices
    // excluding VAT) BC would add that VAT on top and owe the employee more than they paid.
    pricesIncludeTax: true,
    purchaseInvoiceLines: lines,
  };
}

/** The vendor number a payable is owed to (a Code[20], upper case in BC): see invoiceBody. */
async function payee(bc: BcContext, posting: PostingRequest, ctx: CallContext): Promise<string> {
  if (posting.supplierId) return posting.supplierId.toUpperCase();
  if (!posting.employeeId) {
    throw invalidPosting('a payable needs supplierId (the BC vendor number) or employeeId (whose vendor is paid)');
  }
  const number = posting.employeeId.toUpperCase();
  const [vendor] = await bc.all(`${await bc.standardPath()}/vendors`, { $filter: `number eq ${quote(number)}` }, ctx);
  if (vendor) return number;
  throw new FinanceError(
    'ERP_REJECTED',
    `ERP "${bc.system}" (Business Central) has no vendor ${number} for employee ${posting.employeeId}: an expense report posted as a payable is owed to the vendor numbered like the employee. Create that vendor in Business Central (one per reimbursed employee, with the employee's bank account), or post expense reports as journals; then replay the dead letter.`,
    { retryable: false, details: { vendorCode: 'NO_EMPLOYEE_VENDOR', employeeId: posting.employeeId } },
  );
}

export async function postInvoice(bc: BcContext, body: Entity, ctx: CallContext): Promise<PostingRef> {
  const invoices = `${await bc.standardPath()}/purchaseInvoices`;
  const { data } = await bc.call({ method: 'POST', path: invoices, body }, ctx);
  return postedInvoice(bc, bc.entity(data, 'the created purchase invoice'), ctx);
}

/** Posts `invoice` if it is a draft, and answers it as BC holds it then. */
export async function postedInvoice(bc: BcContext, invoice: Entity, ctx: CallContext): Promise<PostingRef> {
  const path = `${await bc.standardPath()}/purchaseInvoices(${String(invoice.id)})`;
  if (invoice.status !== 'Draft') return invoiceRef(bc, invoice, ctx);
  await bc.call({ method: 'POST', path: `${path}/Microsoft.NAV.post` }, ctx);
  const { data } = await bc.call({ method: 'GET', path }, ctx);
  return invoiceRef(bc, bc.entity(data, 'the posted purchase invoice'), ctx);
}

/**
 * The purchase invoice under the posting's vendor invoice number, draft or posted, or null. It must be this
 * posting: the same total and currency, and per line the same G/L account, dimensions and amount (tax
 * included, as sent). One that differs is another version of the report or was changed in BC, and one
 * cancelled or corrected in BC (liveInvoice) no longer books it: ERP_CONFLICT for a person, never posted or
 * taken as posted.
 */
export async function invoiceOf(bc: BcContext, posting: PostingRequest, ctx: CallContext): Promise<Entity | null> {
  const reference = vendorInvoiceNumberOf(posting.externalReference);
  const found = await bc.all(
    `${await bc.standardPath()}/purchaseInvoices`,
    {
      $filter: `vendorInvoiceNumber eq ${quote(reference)}`,
      $expand: 'purchaseInvoiceLines($expand=dimensionSetLines)',
    },
    ctx,
  );
  if (found.length === 0) return null;
  const invoice = liveInvoice(bc, found, reference);
  const currency = bc.currency(invoice, await bc.localCurrency(ctx));
  const held = bc.money(invoice.totalAmountIncludingTax, currency, 'totalAmountIncludingTax');
  const want = fromMinorUnits(sumMinor(posting.lines.map((line) => line.amount)), posting.currency);
  const differences = sameAmount(held, want)
    ? invoiceLineDifferences(bc, asEntities(invoice.purchaseInvoiceLines), posting, currency)
    : [`it totals ${held.amount} ${held.currency}, the posting ${want.amount} ${want.currency}`];
  if (differences.length === 0) return invoice;
  const draft = invoice.status === 'Draft';
  throw new FinanceError(
    'ERP_CONFLICT',
    `ERP "${bc.system}" (Business Central) has ${draft ? 'draft purchase invoice' : 'purchase invoice'} ${String(invoice.number)} under vendor invoice number ${reference}, but not as this posting: ${differences.join('; ')}. It is another version of the report or was changed in Business Central, so it is neither posted nor taken as this posting. Do not retry: ${draft ? 'correct the draft to the report (or delete it), then replay this posting' : 'Business Central keeps the vendor invoice number of a posted invoice even once it is cancelled, so post this version by hand (with another vendor invoice number, after cancelling the invoice with a credit memo if it is wrong), then mark the posting as done'}. (A cost center or project that Business Central added as the vendor's or G/L account's default dimension shows here as a difference too: if that is all, the invoice is this posting${draft ? '; post it in Business Central' : ''}, so mark the posting as done.)`,
    {
      retryable: false,
      details: { invoice: invoice.number, vendorInvoiceNumber: reference, held, expected: want, differences },
    },
  );
}

/**
 * The invoice under a vendor invoice number that still books something. A posted invoice cancelled in BC
 * (API status Canceled: a corrective credit memo reverses it) or corrected (Corrective) books nothing, yet
 * BC keeps its vendor invoice number [D "Correct or cancel unpaid purchase invoices"], so the posting can
 * be neither taken as done nor posted again under that number: ERP_CONFLICT for a person. One pending
 * approval (In Review) is not posted and cannot be posted until approved.
 */
function liveInvoice(bc: BcContext, found: Entity[], reference: string): Entity {
  const live = found.filter((invoice) => !CANCELLED_INVOICE.has(String(invoice.status)));
  const invoice = live[0];
  if (invoice === undefined) {
    const cancelled = found[0];
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${bc.system}" (Business Central) has purchase invoice ${String(cancelled.number)} under vendor invoice number ${reference}, ${cancelled.status === 'Corrective' ? 'corrected' : 'cancelled'} in Business Central (status ${String(cancelled.status)}), so the report is not booked, and Business Central refuses another invoice of the vendor with that number. Nothing was posted. Post the report by hand with another vendor invoice number (or leave it unbooked if the cancel was meant), then mark the posting as done; replaying would only meet this invoice again.`,
      {
        retryable: false,
        details: { invoice: cancelled.number, vendorInvoiceNumber: reference, status: cancelled.status },
      },
    );
  }
  if (invoice.status === 'In_x0020_Review') {
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${bc.system}" (Business Central) has purchase invoice ${String(invoice.number)} under vendor invoice number ${reference} pending approval, so it is not posted and cannot be posted yet. Approve it in Business Central (or reopen it), then replay this posting.`,
      {
        retryable: false,
        details: { invoice: invoice.number, vendorInvoiceNumber: reference, status: invoice.status },
      },
    );
  }
  return invoice;
}

/**
 * How an invoice's lines differ from the posting's: G/L account, cost center and project (exactly: a line
 * whose cost center or project a revision took off is another version; other dimensions BC adds are not
 * compared), and amount tax included.
 */
function invoiceLineDifferences(bc: BcContext, lines: Entity[], posting: PostingRequest, currency: string): string[] {
  const describeHeld = (line: Entity) =>
    `${String(line.amountIncludingTax)} on G/L account ${String(line.lineObjectNumber)} with ${describeDimensions(dimensionsOf(line.dimensionSetLines))}`;
  const unmatched = [...lines];
  const differences: string[] = [];
  for (const line of posting.lines) {
    const dimensions = dimensionsOf(bc.dimensionSetLines(line.dimensions));
    const index = unmatched.findIndex(
      (held) =>
        held.lineObjectNumber === line.dimensions.glAccount &&
        sameDimensions(bc.ownDimensions(held.dimensionSetLines), dimensions) &&
        bc.minor(held.amountIncludingTax, currency, 'amountIncludingTax') === minorOf(line.amount),
    );
    if (index >= 0) unmatched.splice(index, 1);
    else {
      differences.push(
        `no line of ${line.amount.amount} on G/L account ${String(line.dimensions.glAccount)} with ${describeDimensions(dimensions)}`,
      );
    }
  }
  for (const held of unmatched) differences.push(`a line of ${describeHeld(held)} that the posting does not have`);
  return differences;
}

export async function invoiceRef(bc: BcContext, invoice: Entity, ctx: CallContext): Promise<PostingRef> {
  const currency = bc.currency(invoice, await bc.localCurrency(ctx));
  return {
    system: bc.system,
    dialect: bc.dialect,
    documentType: 'posting',
    documentId: String(invoice.id),
    number: String(invoice.number),
    status: invoiceStatus(invoice.status),
    total: bc.money(invoice.totalAmountIncludingTax, currency, 'totalAmountIncludingTax'),
  };
}

/** A payable found by reference without posting a draft: a lookup must not change the ERP. */
export async function findPostingReadOnly(
  bc: BcContext,
  externalReference: string,
  ctx: CallContext,
): Promise<FoundDocument | null> {
  const reference = vendorInvoiceNumberOf(externalReference);
  const invoices = await bc.all(
    `${await bc.standardPath()}/purchaseInvoices`,
    { $filter: `vendorInvoiceNumber eq ${quote(reference)}` },
    ctx,
  );
  const invoice = invoices.find((each) => !CANCELLED_INVOICE.has(String(each.status))) ?? invoices[0];
  if (!invoice) return null;
  return {
    system: bc.system,
    dialect: bc.dialect,
    documentType: 'posting',
    documentId: String(invoice.id),
    number: String(invoice.number),
    status: invoiceStatus(invoice.status),
    raw: invoice,
  };
}

/** Purchase invoice statuses [S invoiceEntityAggregateStatus] of an invoice that no longer books anything. */
const CANCELLED_INVOICE = new Set(['Canceled', 'Corrective']);

/** ErpRef.status of a purchase invoice: posted once BC posted it (Open, Paid), else what it is. */
function invoiceStatus(status: unknown): string {
  if (status === 'Draft') return 'draft';
  if (status === 'In_x0020_Review') return 'in review';
  if (CANCELLED_INVOICE.has(String(status))) return 'cancelled';
  return 'posted';
}
