/**
 * API_SUPPLIERINVOICE_PROCESS_SRV of the simulator (OData v2): supplier invoices without purchase order
 * reference, posted with G/L account items. Documentation only, no EDMX in specs: entity and property names
 * and lengths come from SAP's API documentation and a published copy of the service's metadata (see API.md).
 *
 * - POST A_SupplierInvoice: deep insert with `to_SupplierInvoiceItemGLAcct: {results: [...]}`; the invoice is
 *   posted at once (SupplierInvoiceStatus 5 [U]) and answered 201 with SupplierInvoice and FiscalYear;
 * - refused: a PostingDate in a posting period that is not open (F5/201 "Posting period 003 2026 is not open"
 *   [3P message text], as in an SAP whose periods were closed in "Manage Posting Periods"; the company's
 *   open periods, CompanyState.openPostingPeriods, every month by default), unknown properties, an unknown
 *   invoicing party (a sandbox supplier, or an employee, whom SAP
 *   pays through an employee supplier account), unknown or blocked G/L accounts, unknown cost centers or WBS
 *   elements, items that do not add up to InvoiceGrossAmount (the simulator computes no tax, also with
 *   TaxIsCalculatedAutomatically: item TaxCode, 2 characters, is kept as sent, upper-cased),
 *   and the same Reference (SupplierInvoiceIDByInvcgParty) for the same invoicing party and company code
 *   again (duplicate invoice check, M8/108 [U code]);
 * - GET A_SupplierInvoice with `$filter` (e.g. SupplierInvoiceIDByInvcgParty and CompanyCode) and
 *   A_SupplierInvoice(SupplierInvoice='5100000001',FiscalYear='2026'), `$expand=to_SupplierInvoiceItemGLAcct`.
 */
import { minorOf, money } from '../../model/money';
import { matchesFilter, parseFilter, parseResourcePath } from '../odata';
import type { SandboxResponse } from '../types';
import {
  SapError,
  checkProperties,
  companyOf,
  decimal,
  fieldError,
  isoDate,
  objectBody,
  single,
  text,
  type Entity,
  type SapRequest,
} from './common';

const SERVICE = 'API_SUPPLIERINVOICE_PROCESS_SRV';

export interface SupplierInvoice extends Entity {
  SupplierInvoice: string;
  FiscalYear: string;
  items: Entity[];
}

const HEADER_WRITABLE = [
  'CompanyCode',
  'DocumentDate',
  'PostingDate',
  'SupplierInvoiceIDByInvcgParty',
  'InvoicingParty',
  'DocumentCurrency',
  'InvoiceGrossAmount',
  'DocumentHeaderText',
  'TaxIsCalculatedAutomatically',
  'AccountingDocumentType',
  'PaymentTerms',
];

const GL_ITEM_WRITABLE = [
  'SupplierInvoiceItem',
  'CompanyCode',
  'GLAccount',
  'CostCenter',
  'WBSElement',
  'DocumentCurrency',
  'SupplierInvoiceItemAmount',
  'DebitCreditCode',
  'SupplierInvoiceItemText',
  'TaxCode',
  'AssignmentReference',
];

function keyOf(invoice: { SupplierInvoice: unknown; FiscalYear: unknown }): string {
  return `SupplierInvoice='${String(invoice.SupplierInvoice)}',FiscalYear='${String(invoice.FiscalYear)}'`;
}

function view(request: SapRequest, invoice: SupplierInvoice, expand: boolean): Entity {
  const { items, ...header } = invoice;
  const uri = `${request.serviceRoot}/A_SupplierInvoice(${keyOf(invoice)})`;
  return {
    __metadata: { id: uri, uri, type: `${SERVICE}.A_SupplierInvoiceType` },
    ...header,
    ...(expand
      ? {
          to_SupplierInvoiceItemGLAcct: {
            results: items.map((item) => ({
              __metadata: { type: `${SERVICE}.A_SupplierInvoiceItemGLAcctType` },
              ...item,
            })),
          },
        }
      : {}),
  };
}

export function readSupplierInvoices(invoices: Map<string, SupplierInvoice>, request: SapRequest): SandboxResponse {
  const [first] = parseResourcePath(request.segments);
  const expand = (request.query.get('$expand') ?? '').includes('to_SupplierInvoiceItemGLAcct');
  if (!first) return { status: 200, body: { d: { EntitySets: ['A_SupplierInvoice', 'A_SupplierInvoiceItemGLAcct'] } } };
  if (first.name === 'A_SupplierInvoice' && first.keys === undefined) {
    const filters = parseFilter(request.query.get('$filter'));
    const found = [...invoices.values()].filter((invoice) => matchesFilter(invoice, filters));
    const skip = Number(request.query.get('$skip') ?? '0');
    const top = Number(request.query.get('$top') ?? '100');
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: { d: { results: found.slice(skip, skip + top).map((invoice) => view(request, invoice, expand)) } },
    };
  }
  if (first.name === 'A_SupplierInvoice' && first.keys) {
    const invoice = invoices.get(`${first.keys.SupplierInvoice}/${first.keys.FiscalYear}`);
    if (!invoice)
      throw new SapError(
        404,
        'M8/041',
        `Document ${first.keys.SupplierInvoice} ${first.keys.FiscalYear} does not exist`,
      );
    return single(view(request, invoice, expand));
  }
  throw new SapError(404, '/IWBEP/CM_MGW_RT/021', `Resource not found for segment '${request.segments.join('/')}'`);
}

export function writeSupplierInvoice(
  invoices: Map<string, SupplierInvoice>,
  request: SapRequest,
  nextNumber: () => number,
): SandboxResponse {
  const [first] = parseResourcePath(request.segments);
  if (first?.name !== 'A_SupplierInvoice' || first.keys !== undefined || request.method !== 'POST') {
    // Posted invoices are changed by reversal (function import Cancel), not by PATCH or DELETE [D].
    throw new SapError(
      405,
      '/IWBEP/CM_MGW_RT/021',
      `${request.method} is not supported on ${request.segments.join('/')}`,
    );
  }
  const body = objectBody(request.body);
  checkProperties(body, HEADER_WRITABLE, 'A_SupplierInvoice');
  const companyCode = text(body, 'CompanyCode', 4, true) as string;
  const company = companyOf(request, companyCode);
  const reference = text(body, 'SupplierInvoiceIDByInvcgParty', 16) ?? '';
  const party = text(body, 'InvoicingParty', 10, true) as string;
  if (!company.records('suppliers').has(party) && !company.records('employees').has(party)) {
    throw fieldError('InvoicingParty', `Supplier ${party} is not defined in company code ${companyCode}`);
  }
  const currency = text(body, 'DocumentCurrency', 5, true) as string;
  const documentDate = isoDate(body.DocumentDate);
  const postingDate = isoDate(body.PostingDate);
  if (documentDate === undefined || postingDate === undefined) {
    throw new SapError(400, '/IWBEP/CM_MGW_RT/022', 'DocumentDate and PostingDate are Edm.DateTime: send /Date(ms)/');
  }
  if (!company.isPostingPeriodOpen(postingDate)) {
    // Fiscal year variant K4: the periods are the calendar months, written with three digits.
    const message = `Posting period ${postingDate.slice(5, 7).padStart(3, '0')} ${postingDate.slice(0, 4)} is not open`;
    throw new SapError(400, 'F5/201', message, [{ code: 'F5/201', message, severity: 'error', target: 'PostingDate' }]);
  }
  const gross = decimal(body, 'InvoiceGrossAmount');
  if (gross === undefined) throw fieldError('InvoiceGrossAmount', 'Enter the gross invoice amount');
  text(body, 'DocumentHeaderText', 25);
  const duplicate = [...invoices.values()].find(
    (invoice) =>
      reference !== '' &&
      invoice.SupplierInvoiceIDByInvcgParty === reference &&
      invoice.InvoicingParty === party &&
      invoice.CompanyCode === companyCode,
  );
  if (duplicate) {
    const message = `Check if invoice already entered under accounting document ${duplicate.SupplierInvoice} ${duplicate.FiscalYear}`;
    throw new SapError(400, 'M8/108', message, [
      { code: 'M8/108', message, severity: 'error', target: 'SupplierInvoiceIDByInvcgParty' },
    ]);
  }
  const raw = body.to_SupplierInvoiceItemGLAcct as { results?: unknown } | undefined;
  const results = raw?.results;
  if (!Array.isArray(results) || results.length === 0) {
    throw fieldError(
      'to_SupplierInvoiceItemGLAcct',
      'An invoice without purchase order reference needs G/L account items',
    );
  }
  let total = 0n;
  const items = results.map((each, index) => {
    const item = objectBody(each);
    checkProperties(item, GL_ITEM_WRITABLE, 'A_SupplierInvoiceItemGLAcct');
    const glAccount = text(item, 'GLAccount', 10, true) as string;
    const account = company.records('glAccounts').get(glAccount) as { open?: boolean } | undefined;
    if (!account)
      throw fieldError('GLAccount', `G/L account ${glAccount} does not exist in company code ${companyCode}`);
    if (account.open === false) throw fieldError('GLAccount', `G/L account ${glAccount} is blocked for posting`);
    const costCenter = text(item, 'CostCenter', 10) ?? '';
    if (costCenter !== '' && !company.records('costCenters').has(costCenter)) {
      throw fieldError('CostCenter', `Cost center ${costCenter} does not exist`);
    }
    const wbs = text(item, 'WBSElement', 24) ?? '';
    if (wbs !== '' && !company.records('projects').has(wbs))
      throw fieldError('WBSElement', `WBS element ${wbs} does not exist`);
    const amount = decimal(item, 'SupplierInvoiceItemAmount');
    if (amount === undefined) throw fieldError('SupplierInvoiceItemAmount', `Item ${index + 1}: enter an amount`);
    const debitCredit = text(item, 'DebitCreditCode', 1) ?? 'S';
    const minor = minorOf(money(amount, currency));
    total += debitCredit === 'H' ? -minor : minor;
    return {
      SupplierInvoiceItem: text(item, 'SupplierInvoiceItem', 4) ?? String(index + 1).padStart(4, '0'),
      CompanyCode: companyCode,
      GLAccount: glAccount,
      CostCenter: costCenter,
      WBSElement: wbs,
      DocumentCurrency: currency,
      SupplierInvoiceItemAmount: amount,
      DebitCreditCode: debitCredit,
      SupplierInvoiceItemText: text(item, 'SupplierInvoiceItemText', 50) ?? '',
      TaxCode: (text(item, 'TaxCode', 2) ?? '').toUpperCase(),
    };
  });
  if (total !== minorOf(money(gross, currency))) {
    const message = `Balance is not zero: the items add up to a different amount than the gross amount ${gross} ${currency}`;
    throw new SapError(400, 'M8/534', message, [
      { code: 'M8/534', message, severity: 'error', target: 'InvoiceGrossAmount' },
    ]);
  }
  const number = String(nextNumber());
  const invoice: SupplierInvoice = {
    SupplierInvoice: number,
    FiscalYear: postingDate.slice(0, 4),
    CompanyCode: companyCode,
    DocumentDate: body.DocumentDate,
    PostingDate: body.PostingDate,
    SupplierInvoiceIDByInvcgParty: reference,
    InvoicingParty: party,
    DocumentCurrency: currency,
    InvoiceGrossAmount: gross,
    DocumentHeaderText: String(body.DocumentHeaderText ?? ''),
    SupplierInvoiceStatus: '5',
    items,
  };
  invoices.set(`${number}/${invoice.FiscalYear}`, invoice);
  return single(view(request, invoice, true), 201);
}
