/**
 * What the parts of the ERPNext dialect share for one connection: its settings (company, field names, default
 * item, payable account), the Frappe API, and what is read once and kept (document names by number, the
 * company currency, the fiscal years, the canonical amounts of the order items being written).
 */
import { FinanceError } from '../../errors';
import type { Dimensions, ErpRef, Money } from '../../model/types';
import type { ErpHttp } from '../client';
import type { CallContext, DialectConfig } from '../dialect';
import { FiscalYears } from './fiscal-years';
import { FrappeClient } from './frappe-client';
import type { PoItem } from './order-items';
import { invalid, type Doc } from './shared';

export class ErpnextContext {
  readonly api: FrappeClient;
  readonly fiscalYears: FiscalYears;
  readonly system: string;
  readonly company: string;
  readonly referenceField: string;
  readonly defaultItem: string;
  readonly payableAccount?: string;
  readonly employeeField: string;
  /** The canonical amount of each item a purchase order body was built with (PurchaseOrderRevisions.requireCanonicalAmounts). */
  readonly expectedAmounts = new WeakMap<PoItem, Money>();
  readonly #names = new Map<string, Promise<string>>();
  #companyCurrency?: Promise<string>;

  constructor(http: ErpHttp, config: DialectConfig) {
    const options = config.options ?? {};
    const where = `ERP connection "${config.name ?? 'erp'}" (ERPNext)`;
    this.system = config.name ?? 'erpnext';
    if (!config.company?.trim())
      throw new FinanceError('CONFIG_INVALID', `${where}: company (the ERPNext Company name) is required.`);
    this.company = config.company.trim();
    const site = options.site?.trim() || undefined;
    this.referenceField = options.referenceField?.trim() || 'custom_external_ref';
    if (!/^[a-z][a-z0-9_]*$/.test(this.referenceField)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${where}: referenceField must be a field name such as custom_external_ref.`,
      );
    }
    this.defaultItem = options.defaultItem?.trim() || 'Services';
    this.payableAccount = options.payableAccount?.trim() || undefined;
    this.employeeField = options.employeeField?.trim() || 'custom_employee';
    if (!/^[a-z][a-z0-9_]*$/.test(this.employeeField)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${where}: employeeField must be a field name of Supplier such as custom_employee.`,
      );
    }
    this.api = new FrappeClient(http, this.system, site);
    this.fiscalYears = new FiscalYears(this.api, this.system, this.company);
  }

  async dimensions(
    d: Dimensions,
    where: string,
    ctx: CallContext,
  ): Promise<{ expense_account: string; cost_center?: string; project?: string }> {
    if (!d.glAccount) throw invalid(`${where}: a G/L account (dimensions.glAccount) is required`);
    return {
      expense_account: await this.nameOf('Account', 'account_number', d.glAccount, ctx),
      ...(d.costCenter
        ? { cost_center: await this.nameOf('Cost Center', 'cost_center_number', d.costCenter, ctx) }
        : {}),
      ...(d.project ? { project: d.project } : {}),
    };
  }

  /** The document name of an account / cost center by its number in this company (cached). */
  nameOf(doctype: string, numberField: string, number: string, ctx: CallContext): Promise<string> {
    const key = `${doctype}|${number}`;
    let name = this.#names.get(key);
    if (!name) {
      name = (async () => {
        const rows = await this.api.list(
          doctype,
          {
            filters: [
              [numberField, '=', number],
              ['company', '=', this.company],
            ],
            fields: ['name'],
            limit: 1,
          },
          ctx,
        );
        if (!rows[0])
          throw new FinanceError(
            'ERP_REJECTED',
            `ERP "${this.system}" has no ${doctype} numbered ${number} in company ${this.company}.`,
          );
        return String(rows[0].name);
      })();
      this.#names.set(key, name);
      name.catch(() => this.#names.delete(key));
    }
    return name;
  }

  ref(doc: Doc, documentType = 'purchaseOrder'): ErpRef {
    return {
      system: this.system,
      dialect: 'erpnext',
      documentType,
      documentId: String(doc.name),
      number: String(doc.name),
      status:
        doc.docstatus === 2
          ? 'cancelled'
          : doc.docstatus === 1
            ? documentType === 'posting'
              ? 'posted'
              : 'open'
            : 'draft',
      etag: typeof doc.modified === 'string' ? doc.modified : undefined,
    };
  }

  /**
   * The company currency when `currency` is it; else CURRENCY_MISMATCH. Journal Entry amounts
   * (`*_in_account_currency` on company-currency accounts) and budget figures are company-currency amounts,
   * and this dialect sends no exchange rate: a JPY amount would be booked, or a EUR figure labelled, as the
   * other currency.
   */
  async requireCompanyCurrency(currency: string, what: string, ctx: CallContext): Promise<string> {
    const companyCurrency = await this.currencyOfCompany(ctx);
    if (currency === companyCurrency) return companyCurrency;
    throw new FinanceError(
      'CURRENCY_MISMATCH',
      `${what} is in ${currency}, but ERPNext company ${this.company} (ERP "${this.system}") keeps its books in ${companyCurrency} and this connection sends no exchange rate. Convert the amounts to ${companyCurrency} in the source system (or book this one by hand in ERPNext); retrying will not help.`,
      { retryable: false, details: { currency, companyCurrency, company: this.company } },
    );
  }

  /** The Company's `default_currency`, read once per connection (a failed read is tried again next time). */
  currencyOfCompany(ctx: CallContext): Promise<string> {
    if (!this.#companyCurrency) {
      const read = (async () => {
        const company = await this.api.get('Company', this.company, ctx);
        if (!company) {
          throw new FinanceError(
            'CONFIG_INVALID',
            `ERP "${this.system}" (ERPNext) has no Company "${this.company}"; set company to the Company's name as ERPNext shows it.`,
          );
        }
        const currency = company.default_currency;
        if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
          throw this.api.unexpected(`Company ${this.company}`, 'no default_currency');
        return currency;
      })();
      this.#companyCurrency = read;
      read.catch(() => {
        if (this.#companyCurrency === read) this.#companyCurrency = undefined;
      });
    }
    return this.#companyCurrency;
  }
}
