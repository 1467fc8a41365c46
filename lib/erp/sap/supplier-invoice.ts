/**
 * Postings on SAP S/4HANA as supplier invoices without purchase order reference: API_SUPPLIERINVOICE_PROCESS_SRV
 * (OData v2, communication scenario SAP_COM_0057), A_SupplierInvoice with G/L account items
 * (to_SupplierInvoiceItemGLAcct) in one deep insert. Documentation only, no EDMX in specs: the service is not in
 * ../shared/specs; names and lengths come from SAP's API documentation and a published copy of the service's
 * metadata [D/3P]. Check them against your system's $metadata.
 *
 * Why this service: an approved expense report is money the company owes the employee, and S/4HANA pays
 * employees through a supplier account (the employee as invoicing party), so the report is posted as a
 * payable with one G/L item per line (cost center or WBS element, debit), which also gives the payment run
 * something to pay. The alternative, the SOAP journal entry service (JournalEntryCreateRequestConfirmation_In,
 * SAP_COM_0002), posts G/L lines only and leaves the payable to be built by hand; an invoice from a supplier
 * (`kind: payable`) uses the same call with the supplier as invoicing party.
 *
 * Tax: a G/L item's amount is net when SAP calculates the tax by code, and expense amounts are gross, so a
 * posting with a tax-coded line is refused before anything is written (../expense-tax-codes.ts).
 *
 * Idempotency: the lookup key is the header's Reference, SupplierInvoiceIDByInvcgParty (16 characters), holding
 * the external reference or its digest (lib/erp/reference.ts); SAP's duplicate invoice check (same reference,
 * invoicing party and company code) refuses a second one as a backstop. Posted invoices are not changed: a
 * correction is a reversal in SAP. So an invoice found under the reference is this posting only when it holds
 * the posting's gross amount, currency and invoicing party, and its G/L items (read with
 * $expand=to_SupplierInvoiceItemGLAcct) charge the same amounts to the same G/L accounts, cost centers and WBS
 * elements; anything else (an earlier version of the report with other amounts or re-coded lines, another
 * document whose reference differs only in letter case) is an ERP_CONFLICT for a person, never "posted".
 *
 * Dates: DocumentDate is the report's or invoice's own date (PostingRequest.documentDate, else the posting
 * date), PostingDate the date the posting rule chose; SAP derives the posting period from PostingDate and
 * refuses one that is not open (F5/201), which reaches the caller as ERP_REJECTED with SAP's message.
 */
import { refuseTaxCodedExpenseLines } from '../expense-tax-codes';
import { FinanceError } from '../../errors';
import { fromMinorUnits, minorOf } from '../../model/money';
import type { CallContext, FoundDocument, PostingRef, PostingRequest } from '../dialect';
import { fitReference } from '../reference';
import { fitDecimal, type DecimalFacets } from './decimals';
import { odataString, type SapService } from './service';
import {
  addToTally,
  differenceDetails,
  tallyDifferences,
  type AmountTally,
  type TallyDifference,
} from '../amount-tally';

export const SUPPLIER_INVOICE_SERVICE = 'API_SUPPLIERINVOICE_PROCESS_SRV';

/** MaxLength of the properties written [D/3P, no EDMX in specs]. */
export const SUPPLIER_INVOICE_LENGTHS = {
  SupplierInvoiceIDByInvcgParty: 16,
  InvoicingParty: 10,
  GLAccount: 10,
  CostCenter: 10,
  WBSElement: 24,
  SupplierInvoiceItemText: 50,
} as const;

/**
 * Edm.Decimal facets of the amounts written [3P: published copies of the service's metadata give both as
 * precision 14, scale 3; no EDMX in specs]: at most 11 digits before the point.
 */
export const SUPPLIER_INVOICE_DECIMALS = {
  InvoiceGrossAmount: { precision: 14, scale: 3 },
  SupplierInvoiceItemAmount: { precision: 14, scale: 3 },
} as const satisfies Record<string, DecimalFacets>;

const SPLIT_IT = 'Post it as several documents, or in a currency SAP can hold it in.';

/** The navigation property of a supplier invoice's G/L account items [3P: published CAP imports of the service]. */
const GL_ITEMS = 'to_SupplierInvoiceItemGLAcct';

export interface SupplierInvoiceConfig {
  system: string;
  companyCode: string;
  service: SapService;
}

/**
 * The Reference as SAP keeps it: upper case. Published copies of the service's metadata give
 * SupplierInvoiceIDByInvcgParty sap:display-format="UpperCase" [3P, no EDMX in specs], unlike the purchase
 * order's Your Reference; sent otherwise, the lookup would not find what SAP stored. References that differ only
 * in letter case share a Reference: the amount, currency and party check of findSupplierInvoicePosting stops
 * such a second document.
 */
function reference(externalReference: string): string {
  return fitReference(externalReference, SUPPLIER_INVOICE_LENGTHS.SupplierInvoiceIDByInvcgParty, { upperCase: true });
}

/** Who the invoice is owed to: the employee for an expense report, the supplier (else the employee) for a payable. */
function invoicingParty(posting: PostingRequest): string | undefined {
  return posting.kind === 'journal' ? posting.employeeId : (posting.supplierId ?? posting.employeeId);
}

function invalid(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Posting for SAP: ${problem}.`);
}

function fit(value: string, max: number, where: string): string {
  if (value.length > max) throw invalid(`${where} has ${value.length} characters; SAP keeps ${max}`);
  return value;
}

function sapDate(isoDate: string): string {
  const ms = Date.parse(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(ms)) throw invalid(`"${isoDate}" is not a date YYYY-MM-DD`);
  return `/Date(${ms})/`;
}

function refOf(config: SupplierInvoiceConfig, entity: Record<string, unknown>): PostingRef {
  const currency = String(entity.DocumentCurrency ?? '');
  const gross = typeof entity.InvoiceGrossAmount === 'string' ? entity.InvoiceGrossAmount : undefined;
  return {
    system: config.system,
    dialect: 'sap',
    documentType: 'posting',
    documentId: `${String(entity.SupplierInvoice)}/${String(entity.FiscalYear)}`,
    number: String(entity.SupplierInvoice),
    status: 'posted',
    ...(gross !== undefined && currency !== ''
      ? { total: fromMinorUnits(minorOf({ amount: scaled(gross, currency), currency }), currency) }
      : {}),
  };
}

/** "120.500" -> "120.50" for a 2-decimal currency: SAP pads amounts to 3 decimals. */
function scaled(value: string, currency: string): string {
  const exponent = fromMinorUnits(0n, currency).amount.split('.')[1]?.length ?? 0;
  const [whole, fraction = ''] = value.split('.');
  return exponent === 0 ? whole : `${whole}.${fraction.padEnd(exponent, '0').slice(0, exponent)}`;
}

/** The supplier invoice under a Reference; `withItems` also reads its G/L account items. */
export async function findSupplierInvoice(
  config: SupplierInvoiceConfig,
  externalReference: string,
  ctx: CallContext,
  withItems = false,
): Promise<(FoundDocument & PostingRef) | null> {
  const { service } = config;
  const { data } = await service.read(
    {
      path: `${service.path}/A_SupplierInvoice`,
      query: {
        $filter: `SupplierInvoiceIDByInvcgParty eq ${odataString(reference(externalReference))} and CompanyCode eq ${odataString(config.companyCode)}`,
        $top: 1,
        ...(withItems ? { $expand: GL_ITEMS } : {}),
      },
    },
    ctx,
  );
  const [found] = service.results(data, 'the supplier invoice lookup').results;
  return found ? { ...refOf(config, found), raw: found } : null;
}

/**
 * The supplier invoice under the posting's Reference, checked to be this posting (see the module comment): the
 * lookup before a post, and the ledger's lookup (ErpDialect.findPosting).
 */
export async function findSupplierInvoicePosting(
  config: SupplierInvoiceConfig,
  posting: PostingRequest,
  ctx: CallContext,
): Promise<(FoundDocument & PostingRef) | null> {
  const found = await findSupplierInvoice(config, posting.externalReference, ctx, true);
  if (found) requireSamePosting(config, found, posting);
  return found;
}

function requireSamePosting(
  config: SupplierInvoiceConfig,
  found: FoundDocument & PostingRef,
  posting: PostingRequest,
): void {
  const expected = fromMinorUnits(
    posting.lines.reduce((sum, line) => sum + minorOf(line.amount), 0n),
    posting.currency,
  );
  const party = invoicingParty(posting);
  const raw = (found.raw ?? {}) as Record<string, unknown>;
  const foundParty = typeof raw.InvoicingParty === 'string' ? raw.InvoicingParty : undefined;
  const sameTotal =
    found.total !== undefined &&
    found.total.currency === expected.currency &&
    minorOf(found.total) === minorOf(expected);
  const sameParty = party === undefined || foundParty === undefined || sameSupplier(foundParty, party);
  const booked = bookedCodings(raw, found);
  const differences = booked === undefined ? undefined : tallyDifferences(booked, postingCodings(posting));
  if (sameTotal && sameParty && differences?.length === 0) return;
  const bookedText = found.total
    ? `${found.total.amount} ${found.total.currency}`
    : 'an amount the dialect cannot read';
  // Items SAP answered in a shape the dialect cannot read leave it unable to tell: a person decides.
  const lines =
    differences === undefined
      ? ', and SAP answered the invoice without G/L items the dialect can read, so it cannot tell whether that invoice is this posting'
      : differences.length > 0
        ? ` with other G/L items (${differences.map((d) => describe(d, posting.currency)).join('; ')})`
        : '';
  const verdict =
    differences === undefined && sameTotal && sameParty
      ? 'SAP does not change a posted invoice'
      : 'it is an earlier version of this document or another document, and SAP does not change a posted invoice';
  throw new FinanceError(
    'ERP_CONFLICT',
    `ERP "${config.system}" (SAP S/4HANA) has supplier invoice ${String(found.number)} under Reference ${reference(posting.externalReference)} (external reference "${posting.externalReference}") for ${bookedText}${foundParty ? `, invoicing party ${foundParty}` : ''}, but this posting is ${expected.amount} ${expected.currency}${party ? ` for ${party}` : ''}${lines}: ${verdict}. Nothing was posted. Do not retry: compare that invoice in SAP with the document, reverse it or post the difference by hand, then mark the posting as done.`,
    {
      retryable: false,
      details: {
        supplierInvoice: found.documentId,
        booked: found.total,
        expected,
        ...(foundParty ? { bookedInvoicingParty: foundParty } : {}),
        ...(party ? { invoicingParty: party } : {}),
        ...(differences && differences.length > 0
          ? {
              differences: differenceDetails(differences, posting.currency),
            }
          : {}),
      },
    },
  );
}

/** Where a G/L item charges its amount. */
interface Coding {
  glAccount: string;
  costCenter?: string;
  wbsElement?: string;
}

/** Signed amounts (debit positive) in minor units per coding, keyed by codingKey. */
type Codings = AmountTally<Coding>;

/**
 * A key that is the same for a coding as sent and as SAP answers it: SAP keeps these codes upper case, and a
 * numeric one may come with or without the leading zeros SAP stores (ALPHA conversion), as in sameSupplier.
 */
function codingKey(coding: Coding): string {
  const plain = (value: string | undefined) => {
    const code = (value ?? '').trim().toUpperCase();
    return /^\d+$/.test(code) ? code.replace(/^0+(?=\d)/, '') : code;
  };
  return JSON.stringify([plain(coding.glAccount), plain(coding.costCenter), plain(coding.wbsElement)]);
}

function addCoding(codings: Codings, coding: Coding, minor: bigint): void {
  addToTally(codings, codingKey(coding), coding, minor);
}

/**
 * What the posting charges per coding. Lines are summed per coding: two lines on one account and cost center
 * post what one line of their sum posts, so a revision that only splits or merges them is the same posting.
 */
function postingCodings(posting: PostingRequest): Codings {
  const codings: Codings = new Map();
  for (const line of posting.lines) {
    const d = line.dimensions;
    addCoding(
      codings,
      {
        glAccount: d.glAccount ?? '',
        ...(d.costCenter ? { costCenter: d.costCenter } : {}),
        ...(d.project ? { wbsElement: d.project } : {}),
      },
      minorOf(line.amount),
    );
  }
  return codings;
}

/**
 * What the invoice SAP holds charges per coding, from its G/L account items (S debit, H credit); undefined
 * when SAP answered without them or with an amount that is not one, which the caller reports.
 */
function bookedCodings(raw: Record<string, unknown>, found: PostingRef): Codings | undefined {
  const navigation = raw[GL_ITEMS] as { results?: unknown } | undefined;
  const items = navigation?.results;
  if (!Array.isArray(items)) return undefined;
  const currency = String(raw.DocumentCurrency ?? found.total?.currency ?? '');
  const codings: Codings = new Map();
  for (const item of items as Array<Record<string, unknown>>) {
    const amount = item.SupplierInvoiceItemAmount;
    if (typeof amount !== 'string' || !/^-?\d+(\.\d+)?$/.test(amount)) return undefined;
    let minor: bigint;
    try {
      minor = minorOf({ amount: scaled(amount, currency), currency });
    } catch {
      return undefined;
    }
    const text = (name: string) =>
      typeof item[name] === 'string' && item[name] !== '' ? String(item[name]) : undefined;
    const costCenter = text('CostCenter');
    const wbsElement = text('WBSElement');
    addCoding(
      codings,
      {
        glAccount: text('GLAccount') ?? '',
        ...(costCenter ? { costCenter } : {}),
        ...(wbsElement ? { wbsElement } : {}),
      },
      item.DebitCreditCode === 'H' ? -minor : minor,
    );
  }
  return codings;
}

function describe(difference: TallyDifference<Coding>, currency: string): string {
  const { place: coding } = difference;
  const where = [
    `G/L account ${coding.glAccount}`,
    ...(coding.costCenter ? [`cost center ${coding.costCenter}`] : []),
    ...(coding.wbsElement ? [`WBS element ${coding.wbsElement}`] : []),
  ].join(', ');
  const amount = (minor: bigint | undefined) =>
    minor === undefined ? 'none' : `${fromMinorUnits(minor, currency).amount} ${currency}`;
  return `${where}: ${amount(difference.booked)} in SAP, ${amount(difference.expected)} in this posting`;
}

/** The same supplier number: SAP answers a numeric one without the leading zeros it keeps (ALPHA conversion). */
function sameSupplier(a: string, b: string): boolean {
  const plain = (value: string) => (/^\d+$/.test(value) ? value.replace(/^0+(?=\d)/, '') : value);
  return plain(a) === plain(b);
}

export async function postSupplierInvoice(
  config: SupplierInvoiceConfig,
  posting: PostingRequest,
  ctx: CallContext,
): Promise<PostingRef> {
  const party = invoicingParty(posting);
  if (!party) {
    throw invalid(
      posting.kind === 'journal'
        ? 'an expense posting needs the employee (employeeId), whose supplier account SAP pays'
        : 'a payable needs the supplier (supplierId)',
    );
  }
  if (posting.lines.length === 0) throw invalid('there are no lines to post');
  const existing = await findSupplierInvoicePosting(config, posting, ctx);
  if (existing) return existing;
  refuseTaxCodedExpenseLines(
    posting,
    'an SAP supplier invoice (its G/L item amounts are net when SAP calculates the tax)',
  );
  let total = 0n;
  const items = posting.lines.map((line, index) => {
    const where = `lines[${index}]`;
    if (line.amount.currency !== posting.currency)
      throw invalid(`${where} is in ${line.amount.currency}, the posting in ${posting.currency}`);
    const d = line.dimensions;
    if (!d.glAccount) throw invalid(`${where} needs a G/L account (dimensions.glAccount)`);
    const minor = minorOf(line.amount);
    total += minor;
    const magnitude = fromMinorUnits(minor < 0n ? -minor : minor, posting.currency).amount;
    return {
      SupplierInvoiceItem: String(index + 1).padStart(4, '0'),
      CompanyCode: config.companyCode,
      GLAccount: fit(d.glAccount, SUPPLIER_INVOICE_LENGTHS.GLAccount, `${where}.glAccount`),
      ...(d.costCenter
        ? { CostCenter: fit(d.costCenter, SUPPLIER_INVOICE_LENGTHS.CostCenter, `${where}.costCenter`) }
        : {}),
      ...(d.project ? { WBSElement: fit(d.project, SUPPLIER_INVOICE_LENGTHS.WBSElement, `${where}.project`) } : {}),
      DocumentCurrency: posting.currency,
      SupplierInvoiceItemAmount: fitDecimal(
        magnitude,
        SUPPLIER_INVOICE_DECIMALS.SupplierInvoiceItemAmount,
        { property: 'SupplierInvoiceItemAmount', where: `${where}.amount`, remedy: SPLIT_IT },
        invalid,
      ),
      // S debit (an expense), H credit (a refund line).
      DebitCreditCode: minor < 0n ? 'H' : 'S',
      // The item text is descriptive only; a longer description is cut rather than the posting refused.
      ...(line.description
        ? { SupplierInvoiceItemText: line.description.slice(0, SUPPLIER_INVOICE_LENGTHS.SupplierInvoiceItemText) }
        : {}),
    };
  });
  if (total <= 0n)
    throw invalid(
      'the lines add up to zero or less; SAP posts a credit memo for that, which this dialect does not send',
    );
  const { service } = config;
  const { data } = await service.write(
    {
      method: 'POST',
      path: `${service.path}/A_SupplierInvoice`,
      body: {
        CompanyCode: config.companyCode,
        // The document's own date (the report's, the invoice's); SAP takes the period from PostingDate.
        DocumentDate: sapDate(posting.documentDate ?? posting.postingDate),
        PostingDate: sapDate(posting.postingDate),
        SupplierInvoiceIDByInvcgParty: reference(posting.externalReference),
        InvoicingParty: fit(
          party,
          SUPPLIER_INVOICE_LENGTHS.InvoicingParty,
          posting.kind === 'journal' ? 'employeeId' : 'supplierId',
        ),
        DocumentCurrency: posting.currency,
        InvoiceGrossAmount: fitDecimal(
          fromMinorUnits(total, posting.currency).amount,
          SUPPLIER_INVOICE_DECIMALS.InvoiceGrossAmount,
          { property: 'InvoiceGrossAmount', where: 'the total of the lines', remedy: SPLIT_IT },
          invalid,
        ),
        TaxIsCalculatedAutomatically: false,
        to_SupplierInvoiceItemGLAcct: { results: items },
      },
    },
    ctx,
  );
  const created = service.entity(data, 'the posted supplier invoice', 'SupplierInvoice');
  return { ...refOf(config, created), postedAt: new Date().toISOString() };
}
