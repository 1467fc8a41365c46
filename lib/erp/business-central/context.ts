/**
 * What every part of the Business Central dialect shares: the connection's settings, the OData paths of the
 * company's APIs, the caches read once per connection (company id, local currency, the configured journal
 * batch), and the reading of BC's answers (collections with paging, entities, decimals as money).
 */
import { FinanceError } from '../../errors';
import { minorOf, money } from '../../model/money';
import type { Dimensions, Money } from '../../model/types';
import type { ErpHttp, ErpRequest, ErpResponse } from '../client';
import { UNKNOWN_SHAPE_ADVICE } from '../http-errors';
import type { CallContext, DialectConfig } from '../dialect';
import { isRecord } from '../records';
import type { Entity } from './odata';
import { asEntities, decimalText, dimensionsOf, GUID, quote } from './odata';

/** A required option, trimmed; CONFIG_INVALID naming it when missing. */
function required(value: string | undefined, what: string, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new FinanceError('CONFIG_INVALID', `${where}: ${what} is required.`);
  }
  return value.trim();
}

export class BcContext {
  /** ErpRef.dialect of every document this dialect answers. */
  readonly dialect = 'business-central';
  readonly http: ErpHttp;
  /** The connection's name, for messages and ErpRef.system. */
  readonly system: string;
  /** The company: its name or id as configured. */
  readonly company: string;
  /** /v2.0/{tenant}/{environment} */
  readonly root: string;
  /** "<publisher>/<group>/<version>" of the custom API page that adds yourReference to purchase orders. */
  readonly referenceApi?: string;
  /** The configured journal batch: the balancing account of every posting's own batch. */
  readonly journalCode: string;
  readonly costCenterDimension: string;
  readonly projectDimension: string;
  /** The G/L budget name budget checks read (Code[10], kept upper case); undefined: the only one found. */
  readonly budgetName?: string;
  /** The path part of the base URL, which @odata.nextLink repeats. */
  readonly basePath: string;
  #companyId?: Promise<string>;
  #lcy?: Promise<string>;
  #journal?: Promise<Entity>;

  constructor(http: ErpHttp, config: DialectConfig) {
    const options = config.options ?? {};
    const where = `ERP connection "${config.name ?? 'erp'}" (Business Central)`;
    const tenant = required(options.tenant, 'tenant (the Entra ID tenant id or domain)', where);
    const environment = required(options.environment, 'environment (e.g. Production or Sandbox)', where);
    this.company = required(config.company, 'company (the BC company name or id)', where);
    this.http = http;
    this.system = config.name ?? 'business-central';
    this.root = `/v2.0/${encodeURIComponent(tenant)}/${encodeURIComponent(environment)}`;
    this.basePath = config.baseUrl ? new URL(config.baseUrl).pathname.replace(/\/+$/, '') : '';
    const referenceApi = options.referenceApi?.trim().replace(/^\/+|\/+$/g, '');
    if (referenceApi !== undefined && referenceApi !== '') {
      if (!/^[\w-]+\/[\w-]+\/v\d+\.\d+$/.test(referenceApi)) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `${where}: referenceApi must be "<publisher>/<group>/<version>" of the custom API page, e.g. finsync/finance/v1.0.`,
        );
      }
      this.referenceApi = referenceApi;
    }
    this.journalCode = options.journal?.trim() || 'EXPENSES';
    this.costCenterDimension = options.costCenterDimension?.trim() || 'DEPARTMENT';
    this.projectDimension = options.projectDimension?.trim() || 'PROJECT';
    const budgetName = options.budgetName?.trim().toUpperCase();
    if (budgetName) this.budgetName = budgetName;
  }

  async standardPath(): Promise<string> {
    return `${this.root}/api/v2.0/companies(${await this.resolveCompany()})`;
  }

  async analyticsPath(): Promise<string> {
    return `${this.root}/api/microsoft/analytics/v1.0/companies(${await this.resolveCompany()})`;
  }

  async purchaseOrderPath(): Promise<string> {
    const api = this.referenceApi ? `api/${this.referenceApi}` : 'api/v2.0';
    return `${this.root}/${api}/companies(${await this.resolveCompany()})/purchaseOrders`;
  }

  /** The company id: the configured GUID, or looked up once by name. */
  resolveCompany(): Promise<string> {
    if (GUID.test(this.company)) return Promise.resolve(this.company);
    this.#companyId ??= (async () => {
      const { data } = await this.http.request<unknown>({
        method: 'GET',
        path: `${this.root}/api/v2.0/companies`,
        query: { $filter: `name eq ${quote(this.company)}` },
      });
      const found = isRecord(data) && Array.isArray(data.value) ? asEntities(data.value)[0] : undefined;
      if (!found) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `ERP "${this.system}" has no company named "${this.company}" in this environment; enter the company name exactly as BC shows it (or its id).`,
        );
      }
      return String(found.id);
    })();
    this.#companyId.catch(() => {
      this.#companyId = undefined;
    });
    return this.#companyId;
  }

  /** Every page of a collection, following @odata.nextLink. */
  async all(path: string, query: Record<string, string>, ctx: CallContext): Promise<Entity[]> {
    const items: Entity[] = [];
    let request: ErpRequest = { method: 'GET', path, query };
    for (;;) {
      const { data } = await this.call(request, ctx);
      if (!isRecord(data) || !Array.isArray(data.value)) throw this.unexpected(path, 'no value list');
      items.push(...asEntities(data.value));
      const next = data['@odata.nextLink'];
      if (typeof next !== 'string') return items;
      request = { method: 'GET', ...this.pathOfLink(next) };
    }
  }

  call(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    return this.http.request<unknown>({ ...request, correlationId: ctx.correlationId });
  }

  entity(data: unknown, what: string): Entity {
    if (!isRecord(data) || typeof data.id !== 'string') throw this.unexpected(what, 'no id');
    return data;
  }

  /** The document's currency: BC leaves currencyCode blank for the local currency (generalLedgerSetup). */
  currency(entity: Entity, localCurrency: string): string {
    const code = entity.currencyCode;
    return typeof code === 'string' && code !== '' ? code : localCurrency;
  }

  localCurrency(ctx: CallContext): Promise<string> {
    this.#lcy ??= (async () => {
      const setup = await this.all(`${await this.standardPath()}/generalLedgerSetup`, {}, ctx);
      const code = setup[0]?.localCurrencyCode;
      if (typeof code !== 'string' || code === '') throw this.unexpected('generalLedgerSetup', 'no localCurrencyCode');
      return code;
    })();
    this.#lcy.catch(() => {
      this.#lcy = undefined;
    });
    return this.#lcy;
  }

  minor(value: unknown, currency: string, what: string): bigint {
    return minorOf(this.money(value, currency, what));
  }

  money(value: unknown, currency: string, what: string): Money {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.unexpected(what, 'not a decimal number');
    try {
      return money(decimalText(value), currency, { allowNegative: true, path: what });
    } catch {
      throw this.unexpected(what, `${value} has more decimals than ${currency}`);
    }
  }

  unexpected(what: string, problem: string): FinanceError {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.system}" (Business Central) answered ${what} in a shape this dialect does not know (${problem}). Check the base URL, tenant and environment; ${UNKNOWN_SHAPE_ADVICE}`,
      { retryable: false },
    );
  }

  /** An absolute @odata.nextLink back into a path below the base URL and its query. */
  pathOfLink(link: string): Pick<ErpRequest, 'path' | 'query'> {
    const url = new URL(link, 'http://next.link');
    let path = url.pathname;
    if (this.basePath && path.startsWith(this.basePath)) path = path.slice(this.basePath.length);
    if (!path.startsWith(`${this.root}/`)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `The paging cursor does not belong to this Business Central environment; start the sync again.`,
      );
    }
    return { path, query: Object.fromEntries(url.searchParams) };
  }

  /**
   * The batch named by the connection's journal option: the balancing account of every posting's own batch.
   * Read once per connection (like the local currency), not on every posting.
   */
  configuredJournal(ctx: CallContext): Promise<Entity> {
    this.#journal ??= (async () => {
      const journals = await this.all(
        `${await this.standardPath()}/journals`,
        { $filter: `code eq ${quote(this.journalCode)}` },
        ctx,
      );
      const journal = journals[0];
      if (!journal) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `ERP "${this.system}" has no general journal batch ${this.journalCode}; create it in Business Central (General Journals) or set the journal option of the connection.`,
        );
      }
      return journal;
    })();
    this.#journal.catch(() => {
      this.#journal = undefined;
    });
    return this.#journal;
  }

  /**
   * The currency the company books in, or CURRENCY_MISMATCH: journal lines have no currency field in API v2.0
   * (BC books their amount in the local currency), and budgets and actuals are local-currency figures.
   */
  async requireLocalCurrency(currency: string, use: 'journal' | 'budget', ctx: CallContext): Promise<string> {
    const local = await this.localCurrency(ctx);
    if (currency === local) return local;
    const what =
      use === 'journal'
        ? `books journal lines in its local currency ${local} (a journal line has no currency in API v2.0), but this posting is in ${currency}. Convert the expense report to ${local} in the source system or the mapping before posting, or post it as a payable (a purchase invoice carries its currency)`
        : `keeps G/L budgets and actuals in its local currency ${local}, but the budget check asks in ${currency}. Convert the requested amount to ${local} before the check`;
    throw new FinanceError('CURRENCY_MISMATCH', `Business Central company "${this.company}" ${what}.`, {
      retryable: false,
      details: { currency, localCurrency: local },
    });
  }

  /**
   * The cost center and project in the dimension set lines BC holds: the dimensions the pack writes, without
   * the others BC may add (a G/L account's or vendor's default dimensions).
   */
  ownDimensions(lines: unknown): Record<string, string> {
    const held = dimensionsOf(lines);
    return Object.fromEntries(
      [this.costCenterDimension, this.projectDimension]
        .filter((code) => code in held)
        .map((code) => [code, held[code]]),
    );
  }

  dimensionSetLines(dimensions: Dimensions): Array<{ code: string; valueCode: string }> {
    return [
      ...(dimensions.costCenter ? [{ code: this.costCenterDimension, valueCode: dimensions.costCenter }] : []),
      ...(dimensions.project ? [{ code: this.projectDimension, valueCode: dimensions.project }] : []),
    ];
  }
}
